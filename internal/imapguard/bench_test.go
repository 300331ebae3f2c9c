package imapguard

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"mailferry/internal/corpusgen"
)

// fetchStream is a FETCH answer of generated messages (headers and bodies
// as literals, the way the pre-scan and verify read them), about 8 MB.
func fetchStream(tb testing.TB) []byte {
	tb.Helper()
	g := corpusgen.New(corpusgen.Options{Seed: 4, Bytes: 8 << 20, AttachmentRate: 0.05, HugeEvery: -1})
	var b bytes.Buffer
	for m, ok := g.Next(); ok; m, ok = g.Next() {
		data := bytes.ReplaceAll(m.Data, []byte("\n"), []byte("\r\n"))
		hdr, _, _ := bytes.Cut(data, []byte("\r\n\r\n"))
		fmt.Fprintf(&b, "* %d FETCH (UID %d RFC822.SIZE %d FLAGS (\\Seen $Forwarded) BODY[HEADER] {%d}\r\n", m.Index, m.Index, len(data), len(hdr)+4)
		b.Write(hdr)
		b.WriteString("\r\n\r\n BODY[] {")
		fmt.Fprintf(&b, "%d}\r\n", len(data))
		b.Write(data)
		b.WriteString(")\r\n")
	}
	b.WriteString("A1 OK Fetch completed.\r\n")
	return b.Bytes()
}

// loopConn serves the same bytes over and over.
type loopConn struct {
	net.Conn
	data []byte
	off  int
}

func (c *loopConn) Read(p []byte) (int, error) {
	n := copy(p, c.data[c.off:])
	c.off = (c.off + n) % len(c.data)
	return n, nil
}

func (c *loopConn) Close() error { return nil }

// BenchmarkGuard reads a FETCH stream through 4 KB reads (go-imap's
// buffer), directly and through the guard: the guard's cost in MB/s.
//
//	go test -run '^$' -bench Guard ./internal/imapguard/
func BenchmarkGuard(b *testing.B) {
	stream := fetchStream(b)
	for _, tc := range []struct {
		name  string
		guard bool
	}{{"direct", false}, {"guarded", true}} {
		b.Run(tc.name, func(b *testing.B) {
			var r io.Reader = &loopConn{data: stream}
			if tc.guard {
				g := New(&loopConn{data: stream}, Limits{MaxLiteral: 32 << 20, MaxResponse: 32 << 20})
				defer g.Close()
				g.Expect(Budget{Within: time.Hour, MinRate: 1})
				r = g
			}
			buf := make([]byte, 4096)
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				for n := 0; n < len(stream); {
					k, err := r.Read(buf)
					if err != nil {
						b.Fatal(err)
					}
					n += k
				}
			}
		})
	}
}
