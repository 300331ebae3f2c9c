package pst

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
	"mailferry/formats/convert"
	"mailferry/formats/formatstest"
	"mailferry/formats/pst/internal/ndb"
	"mailferry/internal/psttest"
	"mailferry/internal/testutil"
)

// FuzzReader reads mutated Outlook files through the whole reader (all
// three layers and the MIME conversion): no panic, no endless loop, exact
// sizes. Seeds are the small corpus files, read at test time, and the
// written sample mailbox (mail with attachments, an attached message,
// RTF) in the three layouts, encoded (the 4K one with compressed blocks).
//
// Run it with -fuzzminimizetime 0 (or a few seconds): the seeds are tens
// of kilobytes, and minimising every new input for the default minute
// leaves the fuzzer all but stalled (a handful of runs in 30 s).
func FuzzReader(f *testing.F) {
	for _, name := range []string{"go-pst-32-bit.pst", "java-libpst-passworded.pst"} {
		p := filepath.Join(testutil.ProjectRoot(f), "..", "shared", "corpus", "pst", name)
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	dir := f.TempDir()
	for _, opts := range []psttest.Options{{Format: psttest.ANSI, Crypt: psttest.CryptCyclic}, {Format: psttest.Unicode, Crypt: psttest.CryptCyclic}, {Format: psttest.Unicode4K, Crypt: psttest.CryptPermute}} {
		p := filepath.Join(dir, "seed.pst")
		if err := psttest.Write(p, opts, sampleFolders()); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Without CRC checks, so that changes reach every layer.
		s, err := newStore(bytes.NewReader(b), int64(len(b)), "fuzz.pst", ndb.OpenUnchecked)
		if err != nil {
			return
		}
		r, err := newReader(s, Config{Options: formats.Options{TempDir: dir}})
		if err != nil {
			return
		}
		defer r.Close()
		formatstest.CheckStream(t, r)
	})
}

// BenchmarkRead reads the largest corpus file with the MIME conversion;
// the speed is the file's bytes per second.
func BenchmarkRead(b *testing.B) {
	p := testutil.Corpus(b, filepath.Join("pst", "pst-extractor-test-2013.ost"))
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		r, err := OpenWith(p, Config{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for {
			m, err := r.Next(ctx)
			if err != nil {
				break
			}
			_ = m
		}
		r.Close()
	}
}

// TestConvertEndToEnd converts a .pst with formats/convert into a Maildir:
// every message of the mail folders is written, the others skipped, and
// the totals add up.
func TestConvertEndToEnd(t *testing.T) {
	p := testutil.Corpus(t, filepath.Join("pst", "pst-extractor-test-2013.ost"))
	r, err := OpenWith(p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep, err := convert.Convert(context.Background(), r, convert.Options{Format: convert.FormatMaildir, Out: filepath.Join(t.TempDir(), "out"), Source: p})
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	if tot.Found != 183 || tot.Written != 14 || tot.Skipped != 169 || tot.Failed != 0 {
		t.Errorf("totals %+v, want 183 found, 14 written, 169 skipped", tot)
	}
	if tot.Written+tot.Skipped+tot.Failed != tot.Found {
		t.Errorf("totals do not add up: %+v", tot)
	}
}
