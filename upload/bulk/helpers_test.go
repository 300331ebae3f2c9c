package bulk

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"mailferry/internal/corpusgen"
)

// testMsg is a generated message as the client sends it.
type testMsg struct {
	data  []byte // CRLF
	flags []string
	date  time.Time
}

// testMessages generates n messages (CRLF, flags, dates) with corpusgen;
// attachRate and huge as in corpusgen.Options.
func testMessages(n int, seed uint64, attachRate float64) []testMsg {
	g := corpusgen.New(corpusgen.Options{Seed: seed, Messages: n, AttachmentRate: attachRate, HugeEvery: -1})
	var out []testMsg
	for {
		m, ok := g.Next()
		if !ok {
			return out
		}
		out = append(out, testMsg{
			data:  bytes.ReplaceAll(m.Data, []byte("\n"), []byte("\r\n")),
			flags: append([]string(nil), m.Flags...),
			date:  m.Date,
		})
	}
}

func items(msgs []testMsg) []Item {
	out := make([]Item, len(msgs))
	for i, m := range msgs {
		out[i] = Item{Flags: m.flags, Date: m.date, Size: int64(len(m.data)), Open: opener(m.data)}
	}
	return out
}

func opener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// login connects to addr (plain TCP), logs in and selects mailbox.
func login(t testing.TB, addr, user, pass, mailbox string, opts Options) *Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(conn, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Login(ctx, user, pass); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if mailbox != "" {
		if _, err := c.Select(ctx, mailbox); err != nil {
			t.Fatalf("Select(%q): %v", mailbox, err)
		}
	}
	return c
}

func hasFlagFold(l []string, f string) bool {
	for _, x := range l {
		if equalFold(x, f) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// sameFlags compares flag sets, ignoring case and \Recent.
func sameFlags(got, want []string) bool {
	n := 0
	for _, g := range got {
		if equalFold(g, `\Recent`) {
			continue
		}
		n++
		if !hasFlagFold(want, g) {
			return false
		}
	}
	return n == len(want)
}
