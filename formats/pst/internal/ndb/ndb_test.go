package ndb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats/pst/pstcrypt"
	"mailferry/internal/psttest"
	"mailferry/internal/testutil"
)

// TestCRC checks the CRC of [MS-PST] 5.3 against a value computed by hand
// from its definition (table-driven, initial value 0, no inversion).
func TestCRC(t *testing.T) {
	ref := func(b []byte) uint32 {
		var c uint32
		for _, x := range b {
			c ^= uint32(x)
			for range 8 {
				if c&1 != 0 {
					c = c>>1 ^ 0xEDB88320
				} else {
					c >>= 1
				}
			}
		}
		return c
	}
	for _, s := range []string{"", "a", "123456789", strings.Repeat("pst", 100)} {
		if got, want := crc([]byte(s)), ref([]byte(s)); got != want {
			t.Errorf("crc(%q) = %#x, want %#x", s, got, want)
		}
	}
}

func TestSignature(t *testing.T) {
	// [MS-PST] 5.5: the XOR of offset and BID, folded to 16 bits.
	if got := signature(0x2f5000, 0x492a); got != 0x1905 {
		t.Errorf("signature = %#x, want 0x1905", got)
	}
}

func TestFormatOf(t *testing.T) {
	head := func(ver uint16) []byte {
		b := make([]byte, 12)
		copy(b, "!BDN")
		binary.LittleEndian.PutUint16(b[10:], ver)
		return b
	}
	for ver, want := range map[uint16]Format{14: ANSI, 15: ANSI, 23: Unicode, 36: Unicode4K, 19: 0, 0: 0} {
		got, ok := FormatOf(head(ver))
		if got != want || ok != (want != 0) {
			t.Errorf("FormatOf(wVer %d) = %v %v, want %v", ver, got, ok, want)
		}
	}
	if _, ok := FormatOf([]byte("!BD")); ok {
		t.Error("FormatOf(short) ok")
	}
}

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Corpus(t, filepath.Join("pst", name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openBytes(t *testing.T, b []byte) (*File, error) {
	t.Helper()
	return Open(bytes.NewReader(b), int64(len(b)), "test.pst")
}

// readEverything reads every node's data and subnodes.
func readEverything(f *File) error {
	return f.Nodes(func(nd Node) error {
		tr, err := f.Tree(nd.Data)
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr.Reader()); err != nil {
			return err
		}
		return f.Subnodes(nd.Sub).Each(func(s Node) error {
			st, err := f.Tree(s.Data)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, st.Reader())
			return err
		})
	})
}

// TestCorruptBlock: a changed byte in a data block is reported with the
// file name and the block's offset.
func TestCorruptBlock(t *testing.T) {
	b := readCorpus(t, "java-libpst-passworded.pst")
	f, err := openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.Node(0x21)
	if err != nil {
		t.Fatal(err)
	}
	be, err := f.blockEntry(n.Data)
	if err != nil {
		t.Fatal(err)
	}
	b[be.ref.IB+3] ^= 0x40
	f, err = openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Block(n.Data)
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != "test.pst" || ce.Offset != be.ref.IB || !strings.Contains(err.Error(), "CRC") {
		t.Fatalf("Block of a changed block = %v, want a CRC error at %#x", err, be.ref.IB)
	}
}

// setPageEntry rewrites a B-tree page in b (an intermediate one) so that
// its first entry points at ref, and fixes the page's CRC.
func rewritePage(t *testing.T, f *File, b []byte, page BREF, edit func(p []byte)) {
	t.Helper()
	p := b[page.IB : page.IB+int64(f.l.pageSize)]
	edit(p)
	sum := crc(p[:f.l.pageSize-f.l.pageTrailer])
	tr := p[f.l.pageSize-f.l.pageTrailer:]
	if f.Format == ANSI {
		binary.LittleEndian.PutUint32(tr[8:], sum)
	} else {
		binary.LittleEndian.PutUint32(tr[4:], sum)
	}
}

// TestCyclicTree: a B-tree page that lists itself as its child (with a
// valid CRC) ends lookups and walks with an error instead of a loop.
func TestCyclicTree(t *testing.T) {
	b := readCorpus(t, "pst-extractor-test-2013.ost")
	f, err := openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	root := f.BBT
	bp, err := f.btPage(root, ptypeBBT)
	if err != nil || bp.level == 0 {
		t.Fatalf("block B-tree root: level %d, %v; want an intermediate page", bp.level, err)
	}
	rewritePage(t, f, b, root, func(p []byte) {
		binary.LittleEndian.PutUint64(p[8:], uint64(root.BID))
		binary.LittleEndian.PutUint64(p[16:], uint64(root.IB))
	})
	f, err = openBytes(t, b)
	if err != nil {
		t.Fatal(err)
	}
	var ce *CorruptError
	if _, err := f.Block(4); !errors.As(err, &ce) {
		t.Errorf("lookup in a cyclic tree: %v, want a CorruptError", err)
	}
	if err := f.walk(f.BBT, ptypeBBT, func([]byte) error { return nil }); !errors.As(err, &ce) {
		t.Errorf("walk of a cyclic tree: %v, want a CorruptError", err)
	}
}

// TestReencoded re-encodes every data block of a file with each encoding
// (fixing the block CRCs and the header) and reads the file again: the
// decoded data must be the same. This runs the cyclic ("high") decoding,
// which no corpus file uses.
func TestReencoded(t *testing.T) {
	for _, name := range []string{"java-libpst-passworded.pst", "go-pst-32-bit.pst"} {
		orig := readCorpus(t, name)
		f, err := openBytes(t, orig)
		if err != nil {
			t.Fatal(err)
		}
		want := nodeData(t, f)
		for _, method := range []byte{CryptNone, CryptCyclic} {
			b := reencode(t, orig, method)
			g, err := openBytes(t, b)
			if err != nil {
				t.Fatal(err)
			}
			if g.Crypt != method {
				t.Fatalf("encoding %d after rewriting, want %d", g.Crypt, method)
			}
			got := nodeData(t, g)
			if len(got) != len(want) {
				t.Fatalf("%s, encoding %d: %d nodes, want %d", name, method, len(got), len(want))
			}
			for nid, d := range want {
				if !bytes.Equal(got[nid], d) {
					t.Errorf("%s, encoding %d: node %#x differs", name, method, nid)
				}
			}
		}
	}
}

func nodeData(t *testing.T, f *File) map[NID][]byte {
	t.Helper()
	out := map[NID][]byte{}
	err := f.Nodes(func(n Node) error {
		tr, err := f.Tree(n.Data)
		if err != nil {
			return err
		}
		d, err := io.ReadAll(tr.Reader())
		out[n.NID] = d
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// reencode rewrites a permute-encoded file with another encoding.
func reencode(t *testing.T, orig []byte, method byte) []byte {
	t.Helper()
	b := bytes.Clone(orig)
	f, err := openBytes(t, orig)
	if err != nil {
		t.Fatal(err)
	}
	if f.Crypt != CryptPermute {
		t.Fatalf("corpus file not permute-encoded")
	}
	err = f.walk(f.BBT, ptypeBBT, func(e []byte) error {
		bid := BID(f.id(e))
		if bid.Internal() {
			return nil
		}
		be, err := f.blockEntry(bid)
		if err != nil {
			return err
		}
		data := b[be.ref.IB : be.ref.IB+int64(be.cb)]
		pstcrypt.Unpermute(data)
		if method == CryptCyclic {
			pstcrypt.Cyclic(data, uint32(be.ref.BID))
		}
		total := (int64(be.cb) + int64(f.l.blockTrailer) + f.l.blockAlign - 1) / f.l.blockAlign * f.l.blockAlign
		tr := b[be.ref.IB+total-int64(f.l.blockTrailer):]
		if f.Format == ANSI {
			binary.LittleEndian.PutUint32(tr[8:], crc(data))
		} else {
			binary.LittleEndian.PutUint32(tr[4:], crc(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Format == ANSI {
		b[461] = method
		binary.LittleEndian.PutUint32(b[4:], crc(b[8:8+471]))
	} else {
		b[513] = method
		binary.LittleEndian.PutUint32(b[4:], crc(b[8:8+471]))
		binary.LittleEndian.PutUint32(b[524:], crc(b[8:8+516]))
	}
	return b
}

// TestTruncated: a file cut short fails with errors, never a panic.
func TestTruncated(t *testing.T) {
	b := readCorpus(t, "java-libpst-passworded.pst")
	for _, n := range []int{0, 3, 100, 600, 20000, len(b) / 2, len(b) - 1} {
		f, err := openBytes(t, b[:n])
		if err != nil {
			continue
		}
		if err := readEverything(f); err == nil && n < len(b)/2 {
			t.Errorf("file cut to %d bytes read without error", n)
		}
	}
}

// FuzzFile reads every node of mutated files. Seeds: the smallest corpus
// file (ANSI) and small written files in the Unicode and 4K layouts, one
// with a data tree and a subnode tree of two levels. Run it with
// -fuzzminimizetime 0: minimising inputs of this size for the default
// minute all but stalls it.
func FuzzFile(f *testing.F) {
	for _, name := range []string{"go-pst-32-bit.pst"} {
		p := filepath.Join(testutil.ProjectRoot(f), "..", "shared", "corpus", "pst", name)
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	msg := &psttest.Message{Props: []psttest.Prop{psttest.String(0x0037, "subject"), psttest.Binary(0x1013, bytes.Repeat([]byte("<p>html</p>"), 1000))}}
	for range 6 {
		msg.Attachments = append(msg.Attachments, &psttest.Attachment{Props: []psttest.Prop{psttest.Int32(0x3705, 1), psttest.Binary(0x3701, []byte("data"))}})
	}
	for _, format := range []psttest.Format{psttest.Unicode, psttest.Unicode4K} {
		p := filepath.Join(f.TempDir(), "seed.pst")
		opts := psttest.Options{Format: format, Crypt: psttest.CryptCyclic, SubnodesPerBlock: 3}
		if err := psttest.Write(p, opts, []*psttest.Folder{{Name: "Inbox", Messages: []*psttest.Message{msg}}}); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := OpenUnchecked(bytes.NewReader(b), int64(len(b)), "fuzz.pst")
		if err != nil {
			return
		}
		_ = readEverything(file)
	})
}

// TestNodesSkipsDamagedPages: a damaged leaf page of the node B-tree
// costs the nodes it lists, not the walk: Nodes passes every other node
// to its callback and returns a *CorruptError with the page's offset.
func TestNodesSkipsDamagedPages(t *testing.T) {
	for _, format := range []psttest.Format{psttest.ANSI, psttest.Unicode, psttest.Unicode4K} {
		var folders []*psttest.Folder
		for i := range 12 {
			f := &psttest.Folder{Name: fmt.Sprintf("folder %d", i)}
			for j := range 20 {
				f.Messages = append(f.Messages, &psttest.Message{Props: []psttest.Prop{psttest.String(0x0037, fmt.Sprintf("message %d", j))}})
			}
			folders = append(folders, f)
		}
		p := filepath.Join(t.TempDir(), "many.pst")
		if err := psttest.Write(p, psttest.Options{Format: format}, folders); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		all := map[NID]bool{}
		if err := f.Nodes(func(n Node) error { all[n.NID] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		root, err := f.btPage(f.NBT, ptypeNBT)
		if err != nil || root.level == 0 || root.n < 3 {
			t.Fatalf("%v: node B-tree root of level %d with %d entries (%v); want several pages", format, root.level, root.n, err)
		}
		// The second child of the root, damaged.
		id := f.l.idSize
		e := root.entries[root.size:]
		child := BREF{BID(f.id(e[id:])), int64(f.id(e[2*id:]))}
		var lost []NID
		if err := f.walk(child, ptypeNBT, func(e []byte) error { lost = append(lost, NID(f.id(e))); return nil }); err != nil {
			t.Fatal(err)
		}
		b[child.IB+10] ^= 0xFF
		g, err := openBytes(t, b)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		err = g.Nodes(func(n Node) error {
			seen++
			if slices.Contains(lost, n.NID) || !all[n.NID] {
				t.Errorf("%v: node %#x from the damaged page", format, n.NID)
			}
			return nil
		})
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Offset != child.IB {
			t.Errorf("%v: Nodes: %v, want a CorruptError at %#x", format, err, child.IB)
		}
		if seen != len(all)-len(lost) {
			t.Errorf("%v: %d nodes seen, want %d of %d (the damaged page lists %d)", format, seen, len(all)-len(lost), len(all), len(lost))
		}
		// An error of the callback still ends the walk.
		stop := errors.New("stop")
		if err := g.Nodes(func(Node) error { return stop }); err != stop {
			t.Errorf("%v: Nodes with a failing callback: %v, want its error", format, err)
		}
	}
}
