package formats

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// BenchmarkCRLFWriter measures the line-ending normalization the EML,
// Maildir and Apple Mail readers apply to every message (the mbox splitter
// does its own in the same pass as the splitting): LF files, files that
// already have CRLF, and a mix with bare CRs, written in 32 KiB pieces as
// io.Copy does.
func BenchmarkCRLFWriter(b *testing.B) {
	line := "Some body text of a mail message, long enough to look like prose.\n"
	inputs := map[string]string{
		"lf":    strings.Repeat(line, 4096),
		"crlf":  strings.ReplaceAll(strings.Repeat(line, 4096), "\n", "\r\n"),
		"mixed": strings.Repeat(line+"old\rmac\r\n", 2048),
	}
	for _, name := range []string{"lf", "crlf", "mixed"} {
		in := []byte(inputs[name])
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			w := NewCRLFWriter(io.Discard)
			for b.Loop() {
				w.Reset(io.Discard)
				for p := in; len(p) > 0; {
					n := min(len(p), 32<<10)
					if _, err := w.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			if want := int64(len(bytes.ReplaceAll(bytes.ReplaceAll(bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n")), []byte("\n"), []byte("\r\n")))); w.N() != want {
				b.Fatalf("wrote %d bytes, want %d", w.N(), want)
			}
		})
	}
}
