package cfb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/formats/msg/cfb"
	"mailferry/formats/msg/internal/cfbtest"
	"mailferry/internal/testutil"
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

var sizes = []int{0, 1, 63, 64, 65, 4095, 4096, 5000, 100_000}

func sampleTree() []*cfbtest.Node {
	var streams []*cfbtest.Node
	for i, n := range sizes {
		streams = append(streams, cfbtest.Stream("stream"+string(rune('A'+i)), pattern(n, byte(i))))
	}
	return append(streams, cfbtest.Storage("Sub",
		cfbtest.Stream("Inner", pattern(300, 9)),
		cfbtest.Storage("Empty")))
}

func open(t testing.TB, b []byte) *cfb.File {
	t.Helper()
	f, err := cfb.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	for _, v4 := range []bool{false, true} {
		name := "v3"
		if v4 {
			name = "v4"
		}
		t.Run(name, func(t *testing.T) {
			f := open(t, cfbtest.Build(sampleTree(), v4))
			kids := f.Children(f.Root())
			if len(kids) != len(sizes)+1 {
				t.Fatalf("%d children, want %d", len(kids), len(sizes)+1)
			}
			// Tree order: shorter names first.
			if kids[0].Name != "Sub" {
				t.Errorf("first child %q, want Sub (the shortest name)", kids[0].Name)
			}
			for i, n := range sizes {
				e, ok := f.Lookup(f.Root(), "STREAM"+string(rune('a'+i)))
				if !ok {
					t.Fatalf("stream %d not found (case-insensitive lookup)", i)
				}
				got, err := f.ReadAll(e, 1<<20)
				if err != nil {
					t.Fatalf("ReadAll(%s): %v", e.Name, err)
				}
				if !bytes.Equal(got, pattern(n, byte(i))) {
					t.Errorf("stream of %d bytes read back differently", n)
				}
			}
			sub, _ := f.Lookup(f.Root(), "Sub")
			inner, ok := f.Lookup(sub, "Inner")
			if !ok || !sub.IsStorage() {
				t.Fatalf("Sub/Inner not found")
			}
			r, err := f.Open(inner)
			if err != nil {
				t.Fatal(err)
			}
			// Small reads across mini sector boundaries.
			var got []byte
			buf := make([]byte, 7)
			for {
				n, err := r.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, pattern(300, 9)) {
				t.Errorf("Sub/Inner read back differently")
			}
			if _, err := f.ReadAll(inner, 10); !errors.Is(err, cfb.ErrFormat) {
				t.Errorf("ReadAll over its limit: %v", err)
			}
		})
	}
}

func TestDIFAT(t *testing.T) {
	// More than 109 FAT sectors (109*128 sectors of 512 bytes): the FAT is
	// found through DIFAT sectors.
	big := pattern(8<<20, 3)
	b := cfbtest.Build([]*cfbtest.Node{cfbtest.Stream("big", big), cfbtest.Stream("small", []byte("x"))}, false)
	if n := binary.LittleEndian.Uint32(b[0x48:]); n == 0 {
		t.Fatalf("the built file has no DIFAT sectors")
	}
	f := open(t, b)
	e, _ := f.Lookup(f.Root(), "big")
	got, err := f.ReadAll(e, 16<<20)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big stream through the DIFAT: %v", err)
	}
}

func TestDamaged(t *testing.T) {
	good := cfbtest.Build(sampleTree(), false)
	le := binary.LittleEndian
	mutate := func(fn func(b []byte)) []byte {
		b := append([]byte{}, good...)
		fn(b)
		return b
	}
	fatSector := func(b []byte) []byte {
		s := le.Uint32(b[0x4C:])
		return b[(s+1)*512 : (s+2)*512]
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"no signature", mutate(func(b []byte) { b[0] = 0 })},
		{"bad sector shift", mutate(func(b []byte) { le.PutUint16(b[0x1E:], 20) })},
		{"bad byte order", mutate(func(b []byte) { le.PutUint16(b[0x1C:], 0xFEFF) })},
		{"too many FAT sectors", mutate(func(b []byte) { le.PutUint32(b[0x2C:], 1<<30) })},
		{"directory outside the file", mutate(func(b []byte) { le.PutUint32(b[0x30:], 1<<20) })},
		{"short", good[:300]},
		{"directory chain loops", mutate(func(b []byte) {
			dir := le.Uint32(b[0x30:])
			le.PutUint32(fatSector(b)[4*dir:], dir)
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cfb.Open(bytes.NewReader(tc.b), int64(len(tc.b))); err == nil {
				t.Errorf("Open accepted a damaged file")
			}
		})
	}

	// Damage that shows only when a stream is read: a chain that loops,
	// and a file cut short.
	loop := mutate(func(b []byte) {
		// The last link inside a chain (the largest stream's) points back
		// a few sectors into the same chain.
		fat := fatSector(b)
		last := -1
		for i := 0; i+4 <= len(fat); i += 4 {
			if le.Uint32(fat[i:]) == uint32(i/4+1) {
				last = i / 4
			}
		}
		le.PutUint32(fat[4*last:], uint32(last-5))
	})
	for name, b := range map[string][]byte{"loop": loop, "cut": good[:len(good)-40000]} {
		f, err := cfb.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			continue // found at open: fine too
		}
		failed := false
		for _, e := range f.Children(f.Root()) {
			if e.Type == cfb.TypeStream {
				if _, err := f.ReadAll(e, 1<<20); err != nil {
					failed = true
				}
			}
		}
		if !failed {
			t.Errorf("%s: every stream read without an error", name)
		}
	}
}

func TestCorpus(t *testing.T) {
	dir := testutil.Corpus(t, "msg")
	files, _ := filepath.Glob(filepath.Join(dir, "*.msg"))
	if len(files) == 0 {
		t.Fatalf("no .msg files in %s", dir)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := open(t, b)
		n := readTree(t, f, f.Root(), 0)
		if n < 10 {
			t.Errorf("%s: only %d streams", filepath.Base(p), n)
		}
		if _, ok := f.Lookup(f.Root(), "__properties_version1.0"); !ok {
			t.Errorf("%s: no property stream at the root", filepath.Base(p))
		}
	}
}

// readTree reads every stream below e and returns how many there were;
// errors fail the test unless t is nil-tolerant (fuzzing).
func readTree(t testing.TB, f *cfb.File, e *cfb.Entry, depth int) int {
	n := 0
	if depth > 16 {
		return 0
	}
	for _, c := range f.Children(e) {
		if c.IsStorage() {
			n += readTree(t, f, c, depth+1)
			continue
		}
		n++
		r, err := f.Open(c)
		if err != nil {
			t.Errorf("open %s: %v", c.Name, err)
			continue
		}
		got, err := io.Copy(io.Discard, r)
		if err != nil || got != c.Size {
			t.Errorf("read %s: %d of %d bytes, %v", c.Name, got, c.Size, err)
		}
	}
	return n
}

func FuzzCFB(f *testing.F) {
	f.Add(cfbtest.Build(sampleTree()[:6], false))
	f.Add(cfbtest.Build(sampleTree()[:3], true))
	if dir := corpusDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.msg"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cf, err := cfb.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		var walk func(e *cfb.Entry, depth int)
		walk = func(e *cfb.Entry, depth int) {
			if depth > 8 {
				return
			}
			for _, c := range cf.Children(e) {
				if c.IsStorage() {
					walk(c, depth+1)
					continue
				}
				if r, err := cf.Open(c); err == nil {
					_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
				}
			}
		}
		walk(cf.Root(), 0)
	})
}

// corpusDir is the shared corpus's msg directory, or "" (fuzz seeds are
// optional).
func corpusDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(d), "shared", "corpus", "msg")
			if _, err := os.Stat(p); err == nil && !strings.Contains(p, "\x00") {
				return p
			}
			return ""
		}
	}
	return ""
}
