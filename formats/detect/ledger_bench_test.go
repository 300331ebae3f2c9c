package detect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
)

// BenchmarkLedger accounts for a Maildir of 5000 messages with a few
// files beside it: the walk after the read stats every file and sniffs
// only the ones no reader took.
func BenchmarkLedger(b *testing.B) {
	root := b.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, "Maildir", d), 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 5000 {
		p := filepath.Join(root, "Maildir", "cur", fmt.Sprintf("%d.%d.host:2,S", 1275904800+i, i))
		if err := os.WriteFile(p, []byte(msgA), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "Documents"), 0o755); err != nil {
		b.Fatal(err)
	}
	for name, content := range map[string]string{"a.txt": "text\n", "b.pdf": "%PDF"} {
		if err := os.WriteFile(filepath.Join(root, "Documents", name), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		src, err := Open(root, Auto, formats.Options{SizesOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := src.Reader.Next(context.Background()); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		l, err := src.Ledger()
		if err != nil || l.Read.Files != 5000 {
			b.Fatalf("ledger %+v, %v", l, err)
		}
		src.Reader.Close()
	}
}
