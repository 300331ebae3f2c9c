package maildir

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailferry/formats"
)

// BenchmarkScan reads a maildir of 1000 small messages, the way scan and
// upload do (Open, every message's bytes into the spool).
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	msg := []byte("From: a@example.org\nSubject: benchmark\nDate: Mon, 2 Mar 2020 12:00:00 +0000\n\n" + "body line\n")
	var total int64
	for i := range 1000 {
		p := filepath.Join(dir, "cur", fmt.Sprintf("%d.M%dP1.host:2,S", 1583150400+i*60, i))
		if err := os.WriteFile(p, msg, 0o644); err != nil {
			b.Fatal(err)
		}
		mt := time.Unix(int64(1583150400+i*60), 0)
		if err := os.Chtimes(p, mt, mt); err != nil {
			b.Fatal(err)
		}
		total += int64(len(msg))
	}
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(dir, formats.Options{})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}
