package mbox

import (
	"bytes"
	"context"
	"io"
	"testing"

	gombox "github.com/emersion/go-mbox"
)

// TestWhyNotGoMbox documents why this package does not use
// github.com/emersion/go-mbox (docs/mbox.md, Why not go-mbox): it splits at
// every line starting "From " (so an unescaped body line makes a bogus
// message), it only unquotes ">From " (so mboxrd's ">>From " keeps its extra
// '>'), and it drops the From_ line, the only place the delivery date lives.
// If go-mbox ever fixes these, this test fails and the question is open
// again.
func TestWhyNotGoMbox(t *testing.T) {
	goMbox := func(input []byte) [][]byte {
		r := gombox.NewReader(bytes.NewReader(input))
		var out [][]byte
		for {
			m, err := r.NextMessage()
			if err != nil {
				if err != io.EOF {
					t.Fatalf("go-mbox: %v", err)
				}
				return out
			}
			b, err := io.ReadAll(m)
			if err != nil {
				t.Fatalf("go-mbox: %v", err)
			}
			out = append(out, b)
		}
	}

	// Unescaped From lines in the body.
	input := fixture(t, "unescaped-from.mbox")
	ours, _, err := splitAll(t, bytes.NewReader(input), SplitOptions{}, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	theirs := goMbox(input)
	if len(ours) != 2 || len(theirs) <= len(ours) {
		t.Errorf("unescaped-from.mbox: we split %d messages (want 2), go-mbox %d (expected more: bogus splits)", len(ours), len(theirs))
	}

	// mboxrd quoting.
	input = fixture(t, "quoted.mbox")
	ours, _, err = splitAll(t, bytes.NewReader(input), SplitOptions{Variant: MboxRD}, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	theirs = goMbox(input)
	if len(theirs) == 0 || !bytes.Contains(theirs[0], []byte("\n>>From a quote")) || !bytes.Contains(ours[0].Bytes, []byte("\n>From a quote")) {
		t.Errorf("quoted.mbox: expected go-mbox to keep \">>From a quote\" and mboxrd to make it \">From a quote\"")
	}

	// The From_ line and its date.
	s := NewSplitter(bytes.NewReader(fixture(t, "two.mbox")), "two.mbox", SplitOptions{})
	e, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := ParseFromLine(e.FromLine, nil); !ok {
		t.Errorf("no envelope date from %q", e.FromLine)
	}
	if len(theirs) > 0 && bytes.HasPrefix(theirs[0], []byte("From ")) {
		t.Errorf("go-mbox now keeps the From_ line")
	}
}
