package mbox

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
)

// TestLeadingTextQuarantined: text before the first From_ line is yielded
// as it is, as a quarantined entry with its position, before the first
// message; the Reader passes it on without flags or date.
func TestLeadingTextQuarantined(t *testing.T) {
	lead := "Saved by hand\r\nnot a message\n\n\tstill not\n"
	input := lead + "\n" + "From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"
	r := NewReader(strings.NewReader(input), "hand.mbox", nil, time.Time{}, ReaderOptions{Location: time.UTC})
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	if len(msgs) != 2 {
		t.Fatalf("%d entries, want 2", len(msgs))
	}
	q := msgs[0]
	if q.Quarantine != QuarantineLeadingText || string(q.Bytes) != lead+"\n" || q.Size != int64(len(lead)+1) {
		t.Errorf("first entry: Quarantine %q, bytes %q, Size %d; want the text as it is", q.Quarantine, q.Bytes, q.Size)
	}
	if q.Pos != (formats.Pos{File: "hand.mbox", Line: 1, Offset: 0}) || len(q.Flags) != 0 || !q.Date.IsZero() || q.Skip != "" {
		t.Errorf("first entry: Pos %+v, flags %v, date %v, skip %q", q.Pos, q.Flags, q.Date, q.Skip)
	}
	m := msgs[1]
	if m.Quarantine != "" || m.Pos.Index != 1 || m.Pos.Line != 6 || m.Pos.Offset != int64(len(lead)+1) {
		t.Errorf("message: Quarantine %q, Pos %+v", m.Quarantine, m.Pos)
	}
}

// TestLeadingBlanksNotQuarantined: a byte order mark and lines of blanks
// hold nothing to keep; they are only warned about.
func TestLeadingBlanksNotQuarantined(t *testing.T) {
	input := "\xef\xbb\xbf\n  \n\t\r\nFrom a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"
	msgs, warns, err := splitAll(t, strings.NewReader(input), SplitOptions{}, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Quarantine != "" {
		t.Fatalf("entries %+v, want one message", msgs)
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "ignored 10 bytes") {
		t.Errorf("warnings %v, want one about 10 ignored bytes", warns)
	}
	checkTiling(t, []byte(input), msgs, warns)
}

// TestLeadingTextSpooled: a large unreadable region goes through the
// spool (a temporary file past MemLimit), never whole into memory, and
// with SizesOnly it is only counted.
func TestLeadingTextSpooled(t *testing.T) {
	junk := bytes.Repeat([]byte("binary\x00junk without any separator \xff\xfe\n"), 20000) // ~800 KB
	input := append(append([]byte{}, junk...), "From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"...)
	opts := SplitOptions{}
	opts.MemLimit = 64 << 10
	opts.TempDir = t.TempDir()
	s := NewSplitter(bytes.NewReader(input), "big.mbox", opts)
	defer s.Close()
	e, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if e.Quarantine == "" || e.Size != int64(len(junk)) || e.End != int64(len(junk)) {
		t.Fatalf("entry: Quarantine %q, Size %d, End %d; want %d quarantined bytes", e.Quarantine, e.Size, e.End, len(junk))
	}
	if !s.spilled || len(s.out) > opts.MemLimit {
		t.Errorf("the text was not spooled: spilled %v, %d bytes in memory", s.spilled, len(s.out))
	}
	if got := readEntry(t, e); !bytes.Equal(got, junk) {
		t.Errorf("quarantined bytes differ from the input (%d vs %d bytes)", len(got), len(junk))
	}
	if e, err = s.Next(context.Background()); err != nil || e.Quarantine != "" || e.Pos.Index != 1 {
		t.Fatalf("second entry %+v, %v; want message #1", e, err)
	}

	opts.SizesOnly = true
	s2 := NewSplitter(bytes.NewReader(input), "big.mbox", opts)
	defer s2.Close()
	e, err = s2.Next(context.Background())
	if err != nil || e.Size != int64(len(junk)) {
		t.Fatalf("SizesOnly: %+v, %v; want Size %d", e, err, len(junk))
	}
	if _, err := e.Open(); !errors.Is(err, formats.ErrNoBytes) {
		t.Errorf("SizesOnly: Open = %v, want ErrNoBytes", err)
	}
}
