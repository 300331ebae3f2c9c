package mbox

import (
	"bytes"
	"testing"
)

// TestSplitPathological feeds inputs that break naive splitters: long runs
// of "From " lines, quote characters, bare CRs, lines without end. The
// counts are what the separator rule gives (text without any separator is
// one quarantined entry); the invariants are checked too.
func TestSplitPathological(t *testing.T) {
	const n = 5000
	tests := []struct {
		name  string
		input []byte
		count int
	}{
		{"From lines only", bytes.Repeat([]byte("From \n"), n), 1},
		{"From line and one field, repeated", bytes.Repeat([]byte("From x\nA: b\n"), n), 1},
		{"real separators", bytes.Repeat([]byte("\nFrom x\nA: b\nC: d\n\n"), n), n},
		{"quote characters, no line end", bytes.Repeat([]byte(">"), 300<<10), 1}, // quarantined, as all text without a separator
		{"bare CRs", bytes.Repeat([]byte("\r"), 300<<10), 0},
		{"CR-only From lines", bytes.Repeat([]byte("From \r"), n), 1},
		{"no line end", bytes.Repeat([]byte("x"), 300<<10), 1},
		{"From line longer than the buffer", append([]byte("From "), bytes.Repeat([]byte("x"), 300<<10)...), 1},
		{"a huge header", append([]byte("From x\n"), bytes.Repeat([]byte("A: b\n"), n)...), 1},
		{"garbage and From lines without headers", bytes.Repeat([]byte("junk\nFrom x\njunk\n"), n), 1},
		{"LF only", bytes.Repeat([]byte("\n"), n), 0},
		{"CRLF only", bytes.Repeat([]byte("\r\n"), n), 0},
		{"long field name", append([]byte("From x\n"), bytes.Repeat([]byte("A"), 300<<10)...), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{bufSize, 64} {
				msgs, warns, err := splitAll(t, bytes.NewReader(tt.input), SplitOptions{}, size)
				if err != nil {
					t.Fatal(err)
				}
				if size == bufSize && len(msgs) != tt.count { // tiny buffers give the benefit of the doubt sooner
					t.Errorf("buffer %d: %d messages, want %d", size, len(msgs), tt.count)
				}
				checkTiling(t, tt.input, msgs, warns)
			}
			msgs, _, _ := splitAll(t, bytes.NewReader(tt.input), SplitOptions{Variant: Raw}, bufSize)
			checkRaw(t, tt.input, msgs)
		})
	}
}
