package mbox

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"mailferry/internal/testutil"
)

// TestEnvelopeSeparators checks the separator rule outside Thunderbird's
// folders both ways: "From " lines with a complete envelope after a blank
// line start a message even without header fields (RFC 4155, mutt,
// Python's mailbox, Tika), while body lines that merely start with "From "
// do not; and Thunderbird's rule, which wants header fields.
func TestEnvelopeSeparators(t *testing.T) {
	tests := []struct {
		name        string
		input       string
		envelope    int // messages with EnvelopeSeparators
		thunderbird int // messages with ThunderbirdSeparators
	}{
		{"bodies without header fields",
			"From a@example.org Mon Jun 01 10:00:00 2009\n\nbody one\n\nFrom b@example.org Mon Jun 01 11:00:00 2010\n\nbody two\n", 2, 1},
		{"no sender, zone after the time",
			"From a Mon Jun  1 10:00:00 2009\nSubject: x\n\none\n\nFrom Tue Jun  2 10:00:00 +0200 2009\nno header here\n", 2, 1},
		{"body lines starting with From are not separators",
			"From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nMy favourite film:\n\nFrom Russia with love\n\nFrom here on, nothing.\n\nFrom Monday on we meet at 10:00, 2020\n\nFrom me to you\n", 1, 1},
		{"an envelope without a blank line before it is body text",
			"From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nquoted mbox:\nFrom b@example.org Mon Jun 01 11:00:00 2010\nbody\n", 1, 1},
		{"a date without a time is no envelope",
			"From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\none\n\nFrom Mon Jun 01 2009\nbody\n", 1, 1},
		{"header fields separate under both rules",
			"From a Mon Jun 01 10:00:00 2009\nSubject: x\n\none\n\nFrom b\nSubject: y\nTo: z\n\ntwo\n", 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []struct {
				sep  Separators
				want int
			}{{EnvelopeSeparators, tt.envelope}, {ThunderbirdSeparators, tt.thunderbird}} {
				for _, input := range []string{tt.input, strings.ReplaceAll(tt.input, "\n", "\r\n")} {
					msgs, warns, err := splitAll(t, strings.NewReader(input), SplitOptions{Separators: c.sep}, bufSize)
					if err != nil {
						t.Fatal(err)
					}
					if len(msgs) != c.want {
						t.Errorf("rule %d: %d messages, want %d", c.sep, len(msgs), c.want)
					}
					checkTiling(t, []byte(input), msgs, warns)
				}
			}
		})
	}
}

// TestEnvelopeSeparatorsCorpus: Apache Tika's simple.mbox holds two
// messages without header fields; Tika's own test asserts 2, and so does
// the envelope rule. Thunderbird's rule would see one.
func TestEnvelopeSeparatorsCorpus(t *testing.T) {
	b, err := os.ReadFile(testutil.Corpus(t, "external/tika/simple.mbox"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		sep  Separators
		want []string
	}{
		{EnvelopeSeparators, []string{"Test content 1", "Test content 2"}},
		{ThunderbirdSeparators, []string{"Test content 1"}},
	} {
		msgs, _, err := splitAll(t, bytes.NewReader(b), SplitOptions{Separators: c.sep}, bufSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != len(c.want) {
			t.Fatalf("rule %d: %d messages, want %d", c.sep, len(msgs), len(c.want))
		}
		for i, w := range c.want {
			if !bytes.Contains(msgs[i].Bytes, []byte(w)) || msgs[i].FromLine == "" {
				t.Errorf("rule %d: message %d = %q (From_ line %q), want it to hold %q", c.sep, i+1, msgs[i].Bytes, msgs[i].FromLine, w)
			}
		}
	}
}
