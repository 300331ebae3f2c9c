package pst

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/internal/psttest"
)

// pattern is an endless stream of pseudo-random bytes (xorshift), the
// same for the same seed: attachment data that does not compress and that
// needs no memory to produce or to check.
type pattern struct{ x uint64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		p.x ^= p.x << 13
		p.x ^= p.x >> 7
		p.x ^= p.x << 17
		b[i] = byte(p.x >> 32)
	}
	return len(b), nil
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// sampler hashes what is written to it and samples the live heap every
// few megabytes.
type sampler struct {
	h    io.Writer
	n    int64
	peak uint64
}

func (s *sampler) Write(b []byte) (int, error) {
	s.n += int64(len(b))
	if s.n >= 4<<20 {
		s.n = 0
		s.peak = max(s.peak, liveHeap())
	}
	return s.h.Write(b)
}

// TestLargeFileStreams writes files larger than any buffer the reader
// keeps, with attachments of 17 MiB, larger than an XBLOCK can list in
// either layout (so their data trees have an XXBLOCK on top), and reads
// them through the whole reader and the MIME conversion: every
// attachment comes out with its exact bytes, and the memory in use stays
// far below the file's size while it does.
func TestLargeFileStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads files of about 90 MB")
	}
	const messages, attSize = 5, 17<<20 + 12345
	for _, v := range []psttest.Options{{Format: psttest.ANSI, Crypt: psttest.CryptCyclic}, {Format: psttest.Unicode, Crypt: psttest.CryptPermute}} {
		t.Run(formatName(v.Format), func(t *testing.T) {
			dir := t.TempDir()
			want := map[string][32]byte{}
			var msgs []*psttest.Message
			for i := range messages {
				seed := uint64(i + 1)
				h := sha256.New()
				if _, err := io.CopyN(h, &pattern{seed}, attSize); err != nil {
					t.Fatal(err)
				}
				name := "data" + string(rune('A'+i)) + ".bin"
				want[name] = [32]byte(h.Sum(nil))
				msgs = append(msgs, &psttest.Message{
					Props: []psttest.Prop{psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, "large "+name), psttest.String(0x1000, "see attachment")},
					Attachments: []*psttest.Attachment{{Props: []psttest.Prop{
						psttest.Int32(0x3705, 1), psttest.String(0x3707, name), psttest.String(0x370E, "application/octet-stream"),
						psttest.Stream(0x3701, attSize, func() io.Reader { return io.LimitReader(&pattern{seed}, attSize) }),
					}}},
				})
			}
			p := filepath.Join(dir, "large.pst")
			if err := psttest.Write(p, v, []*psttest.Folder{{Name: "Inbox", Role: psttest.RoleInbox, Messages: msgs}}); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() < messages*attSize {
				t.Fatalf("file of %d bytes, want at least %d", st.Size(), messages*attSize)
			}

			base := liveHeap()
			var warnings []string
			// The conversion's output is sampled as it is written, so the
			// peak covers reading the file as well as the spool.
			var conv sampler
			convert := func(w io.Writer, m mapi.Message) (Meta, error) {
				conv.h = w
				return ConvertMIME(&conv, m)
			}
			opts := formats.Options{TempDir: dir, MemLimit: 1 << 20, Warn: func(w formats.Warning) { warnings = append(warnings, w.String()) }}
			r, err := OpenWith(p, Config{Options: opts, Convert: convert})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got := map[string][32]byte{}
			var peak uint64
			for {
				m, err := r.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if m.Skip != "" {
					t.Fatalf("%v: skipped: %s", m.Pos, m.Skip)
				}
				rc, err := m.Open()
				if err != nil {
					t.Fatal(err)
				}
				name, sum, pk := attachmentSum(t, rc)
				rc.Close()
				got[name] = sum
				peak = max(peak, pk)
			}
			if len(warnings) > 0 {
				t.Errorf("warnings: %q", warnings)
			}
			if len(got) != len(want) {
				t.Errorf("%d attachments read, want %d", len(got), len(want))
			}
			for name, sum := range want {
				if got[name] != sum {
					t.Errorf("%s: bytes differ from those written", name)
				}
			}
			if conv.peak == 0 {
				t.Fatal("no sample taken while converting")
			}
			grown := int64(max(peak, conv.peak)) - int64(base)
			t.Logf("file %d MB, live heap grew by at most %d KB", st.Size()>>20, grown>>10)
			if grown > 16<<20 {
				t.Errorf("live heap grew by %d MB reading a file of %d MB: the reader does not stream", grown>>20, st.Size()>>20)
			}

			// pffexport, another reader, finds the same bytes in the file:
			// the two-level data trees are as [MS-PST] has them.
			out := t.TempDir()
			run(t, out, "pffexport", "-q", "-t", filepath.Join(out, "x"), p)
			pff := map[string][32]byte{}
			err = filepath.WalkDir(filepath.Join(out, "x.export"), func(path string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || filepath.Base(filepath.Dir(path)) != "Attachments" {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				_, name, _ := strings.Cut(d.Name(), "_")
				pff[name] = sha256.Sum256(b)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(pff) != fmt.Sprint(want) {
				t.Errorf("pffexport's attachments differ from those written (%d of %d)", len(pff), len(want))
			}
		})
	}
}

// attachmentSum returns the name and SHA-256 of the one attachment of a
// message, decoded as it streams past, and the live heap's peak meanwhile.
func attachmentSum(t *testing.T, rc io.Reader) (string, [32]byte, uint64) {
	t.Helper()
	m, err := mail.ReadMessage(rc)
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			t.Fatalf("no attachment: %v", err)
		}
		_, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if dp["filename"] == "" {
			continue
		}
		h := sha256.New()
		s := &sampler{h: h}
		if _, err := io.Copy(s, base64.NewDecoder(base64.StdEncoding, p)); err != nil {
			t.Fatal(err)
		}
		return dp["filename"], [32]byte(h.Sum(nil)), s.peak
	}
}

// BenchmarkReadWritten reads a written Unicode file of 300 messages with
// an attachment of 100 KB each (about 30 MB) through the reader and the
// MIME conversion: the speed is the file's bytes per second. The corpus's
// largest file (BenchmarkRead) holds mostly items that are not mail.
func BenchmarkReadWritten(b *testing.B) {
	const messages, attSize = 300, 100 << 10
	var msgs []*psttest.Message
	for i := range messages {
		seed := uint64(i + 1)
		msgs = append(msgs, &psttest.Message{
			Props: []psttest.Prop{psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, fmt.Sprint("message ", i)), psttest.Int32(0x0E07, 1), psttest.String(0x1000, "see the attachment")},
			Attachments: []*psttest.Attachment{{Props: []psttest.Prop{
				psttest.Int32(0x3705, 1), psttest.String(0x3707, "data.bin"),
				psttest.Stream(0x3701, attSize, func() io.Reader { return io.LimitReader(&pattern{seed}, attSize) }),
			}}},
		})
	}
	dir := b.TempDir()
	p := filepath.Join(dir, "bench.pst")
	if err := psttest.Write(p, psttest.Options{Format: psttest.Unicode, Crypt: psttest.CryptPermute}, []*psttest.Folder{{Name: "Inbox", Messages: msgs}}); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		r, err := Open(p, formats.Options{TempDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			m, err := r.Next(context.Background())
			if err == io.EOF {
				break
			}
			if err != nil || m.Skip != "" {
				b.Fatalf("%v %v", err, m)
			}
			n++
		}
		r.Close()
		if n != messages {
			b.Fatalf("%d messages, want %d", n, messages)
		}
	}
}
