package detect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"mailferry/formats"
	"mailferry/internal/corpusgen"
)

// benchMessages is the size of the corpus each reader benchmark reads: the
// generator's text messages (2-20 KB), without the attachments and 10 MB
// messages, which would only measure the copying of large bodies.
const benchMessages = 2000

// writeStore writes the generated corpus as one store of the given kind
// under dir and returns the path to open, as a user would give it.
func writeStore(tb testing.TB, kind Kind, dir string) string {
	tb.Helper()
	gen := corpusgen.New(corpusgen.Options{Seed: 3, Messages: benchMessages, AttachmentRate: -1, HugeEvery: -1})
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	var root string
	switch kind {
	case Thunderbird, Mbox:
		folder := dir
		root = filepath.Join(dir, "Inbox")
		if kind == Thunderbird {
			// A profile: Mail/Local Folders holds the mbox files.
			folder = filepath.Join(dir, "Mail", "Local Folders")
			must(os.MkdirAll(folder, 0o755))
			must(os.WriteFile(filepath.Join(dir, "prefs.js"), []byte("// Mozilla User Preferences\n"), 0o644))
			root = dir
		}
		f, err := os.Create(filepath.Join(folder, "Inbox"))
		must(err)
		w := corpusgen.NewMboxWriter(f)
		for m, ok := gen.Next(); ok; m, ok = gen.Next() {
			must(w.Write(m))
		}
		must(w.Flush())
		must(f.Close())
	case Maildir:
		root = filepath.Join(dir, "Maildir")
		w, err := corpusgen.NewMaildirWriter(root)
		must(err)
		for m, ok := gen.Next(); ok; m, ok = gen.Next() {
			must(w.Write(m))
		}
		must(w.Close())
	case EML:
		root = filepath.Join(dir, "eml")
		must(os.MkdirAll(root, 0o755))
		for m, ok := gen.Next(); ok; m, ok = gen.Next() {
			must(os.WriteFile(filepath.Join(root, fmt.Sprintf("%05d.eml", m.Index)), m.Data, 0o644))
		}
	case AppleMail:
		// An Apple Mail V10 "On My Mac" mailbox: byte count, message,
		// property list.
		root = filepath.Join(dir, "Mail")
		msgs := filepath.Join(root, "V10", "Mailboxes", "Archive.mbox", "Messages")
		must(os.MkdirAll(msgs, 0o755))
		plist := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>date-received</key>
	<integer>1420070400</integer>
	<key>flags</key>
	<integer>8590195713</integer>
</dict>
</plist>
`)
		for m, ok := gen.Next(); ok; m, ok = gen.Next() {
			var b bytes.Buffer
			b.WriteString(strconv.Itoa(len(m.Data)) + "\n")
			b.Write(m.Data)
			b.Write(plist)
			must(os.WriteFile(filepath.Join(msgs, fmt.Sprintf("%d.emlx", m.Index)), b.Bytes(), 0o644))
		}
	default:
		tb.Fatalf("no writer for %s", kind)
	}
	return root
}

// BenchmarkReaders reads the same generated messages from every kind of
// store through Open (as scan and upload do), every message's bytes read
// to the end: MB/s of message bytes (CRLF, as uploaded), msgs/s and
// allocations per message.
func BenchmarkReaders(b *testing.B) {
	for _, kind := range []Kind{Mbox, Thunderbird, Maildir, EML, AppleMail} {
		b.Run(string(kind), func(b *testing.B) {
			path := writeStore(b, kind, b.TempDir())
			ctx := context.Background()
			var bytesRead int64
			n := 0
			b.ReportAllocs()
			for b.Loop() {
				src, err := Open(path, kind, formats.Options{})
				if err != nil {
					b.Fatal(err)
				}
				n, bytesRead = 0, 0
				for {
					m, err := src.Reader.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					rc, err := m.Open()
					if err != nil {
						b.Fatal(err)
					}
					k, err := io.Copy(io.Discard, rc)
					rc.Close()
					if err != nil {
						b.Fatal(err)
					}
					bytesRead += k
					n++
				}
				src.Reader.Close()
				if n != benchMessages {
					b.Fatalf("%s: read %d messages, want %d", kind, n, benchMessages)
				}
			}
			b.SetBytes(bytesRead)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
