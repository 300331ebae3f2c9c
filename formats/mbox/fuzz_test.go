package mbox

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// FuzzSplit checks what must hold for any input: no panic, Size equal to
// the bytes Open yields, CRLF output, quarantined text exactly as it is in
// the input, and every input byte accounted for in some entry or in the
// one warning about blank bytes before the first From_ line; for Raw, each
// message is exactly its input range. Seeds are the
// fixtures in testdata/mbox and, when present, the shared corpus.
func FuzzSplit(f *testing.F) {
	root := testutil.ProjectRoot(f)
	var seeds []string
	for _, pattern := range []string{
		"testdata/mbox/*",
		"../shared/corpus/mbox/*/*",
		"../shared/corpus/thunderbird/*/*",
	} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		seeds = append(seeds, m...)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil || len(b) > 100<<10 {
			continue // directories, and files too big to be useful seeds
		}
		f.Add(b)
	}
	f.Add([]byte("From a\r\n\r\nFrom b\rX: y\rZ: w\r\r>From c\r"))
	f.Add([]byte("\xef\xbb\xbf\n\nFrom \nA: b\n C\nD: e\n\n>>From x\nFrom y\n\x00"))
	f.Fuzz(func(t *testing.T, input []byte) {
		for i, v := range []Variant{Auto, MboxO, MboxRD, MboxCL2, Raw} {
			for _, size := range []int{bufSize, 64} {
				sep := Separators(i % 2) // both rules, without doubling the work
				msgs, warns, err := splitAll(t, bytes.NewReader(input), SplitOptions{Variant: v, Separators: sep}, size)
				if err != nil {
					t.Fatalf("%v, buffer %d: %v", v, size, err)
				}
				checkTiling(t, input, msgs, warns)
				for j, m := range msgs {
					if m.Quarantine != "" {
						if j != 0 || !bytes.Equal(m.Bytes, input[:m.End]) {
							t.Fatalf("%v, buffer %d: quarantined entry #%d is not the input's first %d bytes as they are", v, size, j, m.End)
						}
						continue
					}
					if err := formatstest.CheckCRLF(m.Bytes); err != nil {
						t.Fatalf("%v, buffer %d, message #%d: %v", v, size, m.Pos.Index, err)
					}
				}
				if v == Raw {
					checkRaw(t, input, msgs)
				}
			}
		}
		r := NewReader(bytes.NewReader(input), "fuzz", nil, time.Time{}, ReaderOptions{Location: time.UTC})
		defer r.Close()
		formatstest.CheckStream(t, r)
	})
}
