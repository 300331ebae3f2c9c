package mbox

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"mailferry/formats"
	"mailferry/internal/testutil"
)

// splitBoth splits input once with the fast paths (bodyRun, the header
// parsed in the read buffer), once line by line and once for sizes only,
// and fails when any entry, byte or warning differs.
func splitBoth(t *testing.T, input []byte, opts SplitOptions, size int) int {
	t.Helper()
	run := func(slow, sizesOnly bool) ([]split, []formats.Warning, error) {
		var warns []formats.Warning
		o := opts
		o.Warn = func(w formats.Warning) { warns = append(warns, w) }
		o.SizesOnly = sizesOnly
		s := newSplitter(bytes.NewReader(input), "test.mbox", o, size)
		s.slow = slow
		defer s.Close()
		var out []split
		for {
			e, err := s.Next(context.Background())
			if err == io.EOF {
				return out, warns, nil
			}
			if err != nil {
				return out, warns, err
			}
			var b []byte
			if sizesOnly {
				if _, err := e.Open(); err != formats.ErrNoBytes {
					t.Fatalf("sizes only: message %d: Open gave %v, want ErrNoBytes", len(out)+1, err)
				}
			} else {
				b = readEntry(t, e)
			}
			e.Open = nil
			out = append(out, split{Entry: *e, Bytes: b})
		}
	}
	fast, fw, ferr := run(false, false)
	slow, sw, serr := run(true, false)
	sized, zw, zerr := run(false, true)
	if (ferr == nil) != (zerr == nil) || len(sized) != len(fast) || !reflect.DeepEqual(fw, zw) {
		t.Fatalf("%v, buffer %d: sizes only: %d messages, error %v, warnings %v; with bytes: %d, %v, %v",
			opts.Variant, size, len(sized), zerr, zw, len(fast), ferr, fw)
	}
	for i := range sized {
		if !reflect.DeepEqual(sized[i].Entry, fast[i].Entry) {
			t.Fatalf("%v, buffer %d, message %d: sizes only %+v, with bytes %+v", opts.Variant, size, i+1, sized[i].Entry, fast[i].Entry)
		}
	}
	if (ferr == nil) != (serr == nil) {
		t.Fatalf("%v, buffer %d: fast error %v, line by line %v", opts.Variant, size, ferr, serr)
	}
	if len(fast) != len(slow) {
		t.Fatalf("%v, buffer %d: %d messages fast, %d line by line", opts.Variant, size, len(fast), len(slow))
	}
	for i := range fast {
		if !reflect.DeepEqual(fast[i].Entry, slow[i].Entry) || !bytes.Equal(fast[i].Bytes, slow[i].Bytes) {
			t.Fatalf("%v, buffer %d, message %d differs:\nfast %+v\n%q\nslow %+v\n%q", opts.Variant, size, i+1,
				fast[i].Entry, fast[i].Bytes, slow[i].Entry, slow[i].Bytes)
		}
	}
	if !reflect.DeepEqual(fw, sw) {
		t.Fatalf("%v, buffer %d: warnings differ:\nfast %v\nslow %v", opts.Variant, size, fw, sw)
	}
	return len(fast)
}

func fastSeeds(tb testing.TB) [][]byte {
	root := testutil.ProjectRoot(tb)
	var out [][]byte
	for _, pattern := range []string{"testdata/mbox/*", "../shared/corpus/mbox/*/*", "../shared/corpus/thunderbird/*/*"} {
		m, _ := filepath.Glob(filepath.Join(root, pattern))
		for _, p := range m {
			if b, err := os.ReadFile(p); err == nil && len(b) <= 100<<10 {
				out = append(out, b)
			}
		}
	}
	return append(out,
		[]byte("From a Mon Jan  1 00:00:00 2001\nA: b\n\nbody\n\n\nFrom b\nx\n>From c\nFrom d Mon Jan  1 00:00:00 2001\nX: y\n\n"),
		[]byte("From a\r\nA: b\r\nB: c\r\n\r\nline\r\n\r\nmore\rstray\r\n\r\nFrom b\r\nA: b\r\nB: c\r\n\r\n\r\n"),
		[]byte("From x\nA: b\n\n\n\n\nF\nFr\nFrom\nFrom \n>\n\n"),
		[]byte("From a\nA: b\n\nbody\x00 with a NUL\nmore\n\nFrom b\nA: c\n\nclean\n\nFrom c\nA: \x00\n\nx\n"),
	)
}

// TestFastPathSame compares the fast paths with the line-by-line code on
// the fixtures, the shared corpus (when present) and a generated mbox,
// with small buffers and spooling limits that cut through headers, lines
// and messages.
func TestFastPathSame(t *testing.T) {
	inputs := fastSeeds(t)
	path, _ := writeBenchMbox(t, 2<<20)
	big, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	inputs = append(inputs, big)
	total := 0
	for _, in := range inputs {
		for _, v := range []Variant{Auto, MboxO, Raw} {
			for _, size := range []int{bufSize, 4096, 97} {
				total += splitBoth(t, in, SplitOptions{Variant: v}, size)
			}
			total += splitBoth(t, in, SplitOptions{Variant: v, Options: formats.Options{MemLimit: 300, TempDir: t.TempDir()}}, 4096)
			total += splitBoth(t, in, SplitOptions{Variant: v, StripFields: StatusFields}, 4096)
		}
	}
	if total == 0 {
		t.Fatalf("no messages compared")
	}
}

// FuzzFastPath is TestFastPathSame on any input.
func FuzzFastPath(f *testing.F) {
	for _, s := range fastSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		for _, size := range []int{bufSize, 64} {
			splitBoth(t, input, SplitOptions{}, size)
		}
		splitBoth(t, input, SplitOptions{Options: formats.Options{MemLimit: 50, TempDir: t.TempDir()}, StripFields: StatusFields}, 128)
	})
}
