package mbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
)

// writeBenchMbox writes an mbox of about size bytes: messages of 1 to 20
// KiB with a realistic header (Received chain, DKIM, 15-20 fields), body
// lines of 40-100 characters, now and then a ">From " line.
func writeBenchMbox(tb testing.TB, size int64) (string, int) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "bench.mbox")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	word := strings.Repeat("lorem ipsum dolor sit amet consectetur adipiscing elit ", 4)
	var n int64
	count := 0
	for n < size {
		count++
		t := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(count) * time.Minute)
		var b strings.Builder
		fmt.Fprintf(&b, "From sender%d@example.org %s\n", count%100, t.Format("Mon Jan _2 15:04:05 2006"))
		fmt.Fprintf(&b, "Return-Path: <sender%d@example.org>\n", count%100)
		for i := range 3 {
			fmt.Fprintf(&b, "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\n\tby mail.example.net with ESMTPS id %x\n\tfor <me@example.net>; %s\n",
				i, i, i, rng.Uint64(), t.Format(time.RFC1123Z))
		}
		fmt.Fprintf(&b, "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1;\n\th=From:To:Subject:Date;\n\tbh=%x;\n\tb=%x%x\n", rng.Uint64(), rng.Uint64(), rng.Uint64())
		fmt.Fprintf(&b, "From: Sender %d <sender%d@example.org>\nTo: Me <me@example.net>\nSubject: message number %d\n", count%100, count%100, count)
		fmt.Fprintf(&b, "Date: %s\nMessage-ID: <%d.%x@example.org>\nMIME-Version: 1.0\n", t.Format(time.RFC1123Z), count, rng.Uint64())
		b.WriteString("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\nStatus: RO\nX-Status: A\n\n")
		bodyLen := 1024 + rng.IntN(19*1024)
		for b.Len() < bodyLen {
			if rng.IntN(200) == 0 {
				b.WriteString(">From the archives\n")
			}
			l := 40 + rng.IntN(60)
			b.WriteString(word[:l])
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
		k, err := w.WriteString(b.String())
		if err != nil {
			tb.Fatal(err)
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, count
}

// BenchmarkSplit splits a 64 MiB generated mbox from the page cache:
// "next" only asks for the entries (Size), "read" also reads every
// message's bytes as an uploader would.
func BenchmarkSplit(b *testing.B) {
	path, count := writeBenchMbox(b, 64<<20)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	// next: Next only (the bytes are kept, unread); read: every message
	// read too (upload, convert); sizes: SizesOnly (scan).
	for _, mode := range []string{"next", "read", "sizes"} {
		read := mode == "read"
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			ctx := context.Background()
			cpu0 := processCPU()
			for b.Loop() {
				f, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				s := NewSplitter(f, path, SplitOptions{Options: formats.Options{SizesOnly: mode == "sizes"}})
				n := 0
				for {
					e, err := s.Next(ctx)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
					if read {
						rc, err := e.Open()
						if err != nil {
							b.Fatal(err)
						}
						if _, err := io.Copy(io.Discard, rc); err != nil {
							b.Fatal(err)
						}
						rc.Close()
					}
				}
				s.Close()
				f.Close()
				if n != count {
					b.Fatalf("split %d messages, want %d", n, count)
				}
			}
			b.ReportMetric(float64(count), "msgs/op")
			reportCPU(b, cpu0, st.Size())
		})
	}
}

// reportCPU adds "cpu-MB/s": the bytes split per second of process CPU
// time (GC included), which stays meaningful on a loaded machine.
func reportCPU(b *testing.B, cpu0 float64, size int64) {
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/cpu/1e6, "cpu-MB/s")
	}
}

// BenchmarkReader is BenchmarkSplit/next through the whole Reader: flags,
// dates and the stripping of the status fields.
func BenchmarkReader(b *testing.B) {
	path, count := writeBenchMbox(b, 64<<20)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	ctx := context.Background()
	cpu0 := processCPU()
	for b.Loop() {
		r, err := Open(path, nil, ReaderOptions{Location: time.UTC})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != count {
			b.Fatalf("read %d messages, want %d", n, count)
		}
	}
	b.ReportMetric(float64(count), "msgs/op")
	reportCPU(b, cpu0, st.Size())
}
