// Package formatstest is the contract every formats.Reader must keep,
// checked the same way for every store kind: mailboxes before messages,
// exact sizes, CRLF bytes, increasing positions, io.EOF at the end, and
// prompt stopping on a cancelled context.
package formatstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"mailferry/formats"
)

// Collected is a message read into memory, for assertions in tests.
type Collected struct {
	*formats.Message
	Bytes []byte // what Open yielded; nil for skipped messages without Open
}

// Want is what Run expects of a reader beyond the contract itself.
type Want struct {
	// Mailboxes are the DisplayPath of every mailbox, in any order. Nil
	// means "do not check".
	Mailboxes []string
	// Messages is the number of messages yielded, skipped ones included;
	// -1 means "do not check".
	Messages int
	// Skipped is the number of messages with Skip set; -1 means "do not
	// check".
	Skipped int
	// Check, when set, makes further assertions on the collected messages.
	Check func(t *testing.T, boxes []*formats.Mailbox, msgs []Collected)
}

// Run checks the reader contract on readers made by open (it is called
// more than once: each check gets a fresh reader) and the expectations in
// want.
func Run(t *testing.T, open func(t *testing.T) formats.Reader, want Want) {
	t.Helper()
	t.Run("contract", func(t *testing.T) {
		r := open(t)
		defer r.Close()
		boxes, msgs := Collect(t, r)
		if want.Mailboxes != nil {
			var got []string
			for _, b := range boxes {
				got = append(got, b.DisplayPath())
			}
			g, w := slices.Clone(got), slices.Clone(want.Mailboxes)
			sort.Strings(g)
			sort.Strings(w)
			if !slices.Equal(g, w) {
				t.Errorf("mailboxes = %q, want %q", g, w)
			}
		}
		if want.Messages >= 0 && len(msgs) != want.Messages {
			t.Errorf("read %d messages, want %d", len(msgs), want.Messages)
		}
		if want.Skipped >= 0 {
			n := 0
			for _, m := range msgs {
				if m.Skip != "" {
					n++
				}
			}
			if n != want.Skipped {
				t.Errorf("%d messages skipped, want %d", n, want.Skipped)
			}
		}
		if want.Check != nil {
			want.Check(t, boxes, msgs)
		}
	})
	t.Run("eof-stays", func(t *testing.T) {
		r := open(t)
		defer r.Close()
		Collect(t, r)
		for range 2 {
			if _, err := r.Next(context.Background()); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		r := open(t)
		defer r.Close()
		ctx, cancel := context.WithCancel(context.Background())
		if _, err := r.Mailboxes(ctx); err != nil {
			t.Fatalf("Mailboxes: %v", err)
		}
		cancel()
		// A reader may finish the message it had in hand, but must stop soon.
		for i := 0; ; i++ {
			_, err := r.Next(ctx)
			if errors.Is(err, context.Canceled) {
				if err != context.Canceled {
					t.Errorf("Next on a cancelled context returned %v; want context.Canceled unwrapped", err)
				}
				return
			}
			if err == io.EOF {
				return // nothing (left) to read
			}
			if i > 1 {
				t.Fatalf("Next kept going on a cancelled context (err %v)", err)
			}
		}
	})
}

// Collect reads a whole reader into memory, checking the contract as it
// goes: Mailboxes before messages, every message's mailbox among them,
// Size equal to the bytes Open yields (twice), CRLF-only line endings and a
// final CRLF (except for skipped and quarantined ones, whose bytes are
// the source's), no \Deleted or \Recent flags, no future dates, and increasing
// positions within a file.
func Collect(t testing.TB, r formats.Reader) ([]*formats.Mailbox, []Collected) {
	t.Helper()
	ctx := context.Background()
	boxes, err := r.Mailboxes(ctx)
	if err != nil {
		t.Fatalf("Mailboxes: %v", err)
	}
	known := map[*formats.Mailbox]bool{}
	for _, b := range boxes {
		if b == nil {
			t.Fatalf("Mailboxes returned a nil mailbox")
		}
		known[b] = true
	}
	var msgs []Collected
	lastPos := map[string]formats.Pos{}
	for {
		m, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next after %d messages: %v", len(msgs), err)
		}
		if m.Mailbox == nil || !known[m.Mailbox] {
			t.Errorf("%v: message's mailbox %v is not among Mailboxes()", m.Pos, m.Mailbox)
		}
		c := Collected{Message: m}
		checkMessage(t, m, &c)
		if prev, ok := lastPos[m.Pos.File]; ok && m.Pos.File != "" {
			if m.Pos.Offset < prev.Offset || m.Pos.Line < prev.Line || (m.Pos.Index != 0 && m.Pos.Index <= prev.Index) {
				t.Errorf("%v: position does not increase after %v", m.Pos, prev)
			}
		}
		lastPos[m.Pos.File] = m.Pos
		msgs = append(msgs, c)
	}
	return boxes, msgs
}

func checkMessage(t testing.TB, m *formats.Message, c *Collected) {
	t.Helper()
	for _, f := range m.Flags {
		if f == `\Deleted` || f == `\Recent` || f == "" {
			t.Errorf("%v: flag %q must not appear in the stream", m.Pos, f)
		}
	}
	if !m.Date.IsZero() && m.Date.After(time.Now().Add(48*time.Hour)) {
		t.Errorf("%v: date %v is in the future", m.Pos, m.Date)
	}
	if m.Date.IsZero() != (m.DateSource == formats.DateUnknown) {
		t.Errorf("%v: date %v does not agree with its source %q", m.Pos, m.Date, m.DateSource)
	}
	if m.Open == nil {
		if m.Skip == "" {
			t.Errorf("%v: message without Open that is not skipped", m.Pos)
		}
		return
	}
	for i := range 2 { // Open may be called more than once
		b := read(t, m)
		if int64(len(b)) != m.Size {
			t.Errorf("%v: Size = %d, but Open yielded %d bytes (open #%d)", m.Pos, m.Size, len(b), i+1)
		}
		if i == 0 {
			c.Bytes = b
		} else if !bytes.Equal(b, c.Bytes) {
			t.Errorf("%v: a second Open yielded different bytes", m.Pos)
		}
	}
	if m.Skip != "" || m.Quarantine != "" {
		return // not uploaded: the bytes are as the source has them
	}
	if err := CheckCRLF(c.Bytes); err != nil {
		t.Errorf("%v: %v", m.Pos, err)
	}
}

func read(t testing.TB, m *formats.Message) []byte {
	t.Helper()
	rc, err := m.Open()
	if err != nil {
		t.Fatalf("%v: Open: %v", m.Pos, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%v: read: %v", m.Pos, err)
	}
	return b
}

// CheckCRLF reports an error when b has a bare CR or LF or does not end
// with CRLF (an empty b is fine).
func CheckCRLF(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	for i, c := range b {
		switch c {
		case '\r':
			if i+1 >= len(b) || b[i+1] != '\n' {
				return errors.New("bare CR in message bytes at offset " + itoa(i))
			}
		case '\n':
			if i == 0 || b[i-1] != '\r' {
				return errors.New("bare LF in message bytes at offset " + itoa(i))
			}
		}
	}
	if !bytes.HasSuffix(b, []byte("\r\n")) {
		return errors.New("message does not end with CRLF")
	}
	return nil
}

func itoa(i int) string {
	return string(appendInt(nil, i))
}

func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// CheckStream reads r to the end without failing on reader errors (fuzz
// input is mostly invalid), checking only what must hold for any input:
// no panic, exact sizes, and every per-message error carries a position.
// It returns the number of messages read.
func CheckStream(t testing.TB, r formats.Reader) int {
	t.Helper()
	ctx := context.Background()
	if _, err := r.Mailboxes(ctx); err != nil {
		return 0
	}
	n := 0
	for {
		m, err := r.Next(ctx)
		if err == io.EOF {
			return n
		}
		if err != nil {
			var me *formats.MessageError
			if errors.As(err, &me) && me.Pos.File == "" {
				t.Errorf("message error without a file in its position: %v", err)
			}
			return n
		}
		n++
		if m.Open == nil {
			continue
		}
		b := read(t, m)
		if int64(len(b)) != m.Size {
			t.Fatalf("%v: Size = %d, but Open yielded %d bytes", m.Pos, m.Size, len(b))
		}
		if m.Skip == "" && m.Quarantine == "" {
			if err := CheckCRLF(b); err != nil {
				t.Fatalf("%v: %v", m.Pos, err)
			}
		}
	}
}
