package formats

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// crlfSpec is what CRLFWriter must produce for the whole input, however it
// is cut into writes: CRLF and bare CR and LF all become CRLF, and
// non-empty output ends with CRLF.
func crlfSpec(in []byte) []byte {
	s := bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
	s = bytes.ReplaceAll(s, []byte("\r"), []byte("\n"))
	s = bytes.ReplaceAll(s, []byte("\n"), []byte("\r\n"))
	if len(s) > 0 && !bytes.HasSuffix(s, []byte("\r\n")) {
		s = append(s, '\r', '\n')
	}
	return s
}

// crlfChunked writes in through a CRLFWriter in pieces of the given sizes
// (cycled).
func crlfChunked(t testing.TB, in []byte, sizes []int) []byte {
	var out bytes.Buffer
	w := NewCRLFWriter(&out)
	for k := 0; len(in) > 0; k++ {
		n := min(len(in), max(1, sizes[k%len(sizes)]))
		if m, err := w.Write(in[:n]); err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d", m, err, n)
		}
		in = in[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.N() != int64(out.Len()) {
		t.Fatalf("N() = %d, wrote %d", w.N(), out.Len())
	}
	return out.Bytes()
}

func TestCRLFWriterAnyChunking(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\r\n\r\n ")
	for range 2000 {
		in := make([]byte, rng.IntN(200))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		want := crlfSpec(in)
		for _, sizes := range [][]int{{1 << 20}, {1}, {2, 3}, {rng.IntN(7) + 1, rng.IntN(50) + 1}} {
			if got := crlfChunked(t, in, sizes); !bytes.Equal(got, want) {
				t.Fatalf("input %q in pieces of %v:\n got %q\nwant %q", in, sizes, got, want)
			}
		}
	}
}

func FuzzCRLFWriter(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r\r\n"), 3)
	f.Add([]byte("\r"), 1)
	f.Add([]byte("no line end"), 100)
	f.Fuzz(func(t *testing.T, in []byte, size int) {
		size = 1 + (size&0xffff)%(len(in)+1)
		if got, want := crlfChunked(t, in, []int{size}), crlfSpec(in); !bytes.Equal(got, want) {
			t.Fatalf("pieces of %d:\n got %q\nwant %q", size, got, want)
		}
	})
}
