package ndb

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"mailferry/formats/pst/pstcrypt"
)

// CorruptError says that a structure in the file is not what [MS-PST]
// allows. Offset is the structure's position in the file (-1 when the
// problem is not at one place).
type CorruptError struct {
	File   string
	Offset int64
	What   string
	Err    error // an underlying cause, if any
}

func (e *CorruptError) Error() string {
	s := e.File
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %#x", e.Offset)
	}
	s += ": " + e.What
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CorruptError) Unwrap() error { return e.Err }

// ErrNotFound says a node or block is not in its B-tree.
var ErrNotFound = errors.New("not found")

// File reads the node database of one .pst or .ost file. Its methods are
// safe for concurrent use; the caches are bounded, so memory does not grow
// with the file.
type File struct {
	Header
	name string
	r    io.ReaderAt
	size int64
	l    layout

	// unchecked skips CRC comparisons (OpenUnchecked, for fuzzing).
	unchecked bool

	mu     sync.Mutex
	pages  *lru[int64, []byte]
	blocks *lru[BID, []byte]
	bbt    *lru[BID, blockEntry] // recent BBT lookups
}

// Cache sizes: B-tree pages and decoded blocks kept in memory.
const (
	pageCacheEntries  = 256
	blockCacheEntries = 128
	bbtCacheEntries   = 1024
)

// Open reads the header of the file in r (size bytes long; name is used in
// errors).
func Open(r io.ReaderAt, size int64, name string) (*File, error) {
	return open(r, size, name, false)
}

// OpenUnchecked is Open without the CRC comparisons of the header, pages
// and blocks, and only for fuzzing: a fuzzer cannot make CRCs match, and
// without this its changes would never reach the layers above. Every
// other check stays.
func OpenUnchecked(r io.ReaderAt, size int64, name string) (*File, error) {
	return open(r, size, name, true)
}

func open(r io.ReaderAt, size int64, name string, unchecked bool) (*File, error) {
	head := make([]byte, min(size, HeaderSize))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: read header: %w", name, err)
	}
	h, err := parseHeader(head, unchecked)
	if err != nil {
		if errors.Is(err, ErrNotPST) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, &CorruptError{File: name, Offset: 0, What: "file header", Err: err}
	}
	f := &File{Header: h, name: name, r: r, size: size, l: layoutOf(h.Format), unchecked: unchecked,
		pages:  newLRU[int64, []byte](pageCacheEntries),
		blocks: newLRU[BID, []byte](blockCacheEntries),
		bbt:    newLRU[BID, blockEntry](bbtCacheEntries),
	}
	return f, nil
}

// Name is the file name given to Open.
func (f *File) Name() string { return f.name }

// Size is the file's size in bytes.
func (f *File) Size() int64 { return f.size }

// MaxBlockData is the most data one block may hold.
func (f *File) MaxBlockData() int { return f.l.maxBlock }

// IDSize is the size of BIDs and NIDs in subnode and data-tree blocks, and
// of row IDs' indexes in tables: 4 (ANSI) or 8.
func (f *File) IDSize() int { return f.l.idSize }

func (f *File) corrupt(off int64, format string, args ...any) error {
	return &CorruptError{File: f.name, Offset: off, What: fmt.Sprintf(format, args...)}
}

// readAt reads exactly len(b) bytes at off, which must lie in the file.
func (f *File) readAt(b []byte, off int64) error {
	if off < 0 || off > f.size || int64(len(b)) > f.size-off {
		return f.corrupt(off, "%d bytes at this offset lie outside the file (%d bytes)", len(b), f.size)
	}
	n, err := f.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%s: read at offset %#x: %w", f.name, off, err)
}

// page reads and checks the B-tree page ref points at: its trailer's type,
// signature, CRC and BID ([MS-PST] 2.2.2.7.1).
func (f *File) page(ref BREF, ptype byte) ([]byte, error) {
	f.mu.Lock()
	p, ok := f.pages.get(ref.IB)
	f.mu.Unlock()
	if ok {
		return p, nil
	}
	if ref.IB%512 != 0 {
		return nil, f.corrupt(ref.IB, "B-tree page not on a 512-byte boundary")
	}
	p = make([]byte, f.l.pageSize)
	if err := f.readAt(p, ref.IB); err != nil {
		return nil, err
	}
	t := p[f.l.pageSize-f.l.pageTrailer:]
	le := binary.LittleEndian
	var sum uint32
	var bid BID
	if f.Format == ANSI {
		bid, sum = BID(le.Uint32(t[4:])), le.Uint32(t[8:])
	} else {
		sum, bid = le.Uint32(t[4:]), BID(le.Uint64(t[8:]))
	}
	switch {
	case t[0] != ptype || t[1] != ptype:
		return nil, f.corrupt(ref.IB, "page type %#02x/%#02x, want %#02x", t[0], t[1], ptype)
	case bid.key() != ref.BID.key():
		return nil, f.corrupt(ref.IB, "page BID %#x, want %#x", bid, ref.BID)
	case le.Uint16(t[2:]) != signature(ref.IB, bid):
		return nil, f.corrupt(ref.IB, "page signature %#04x, want %#04x", le.Uint16(t[2:]), signature(ref.IB, bid))
	case !f.unchecked && crc(p[:f.l.pageSize-f.l.pageTrailer]) != sum:
		return nil, f.corrupt(ref.IB, "page CRC %#08x, want %#08x", crc(p[:f.l.pageSize-f.l.pageTrailer]), sum)
	}
	f.mu.Lock()
	f.pages.put(ref.IB, p)
	f.mu.Unlock()
	return p, nil
}

// btPage is a parsed B-tree page ([MS-PST] 2.2.2.7.7.1).
type btPage struct {
	entries []byte
	n, size int
	level   int
}

func (f *File) btPage(ref BREF, ptype byte) (btPage, error) {
	p, err := f.page(ref, ptype)
	if err != nil {
		return btPage{}, err
	}
	m := f.l.btMeta
	var bp btPage
	if f.l.wideCounts {
		bp.n = int(binary.LittleEndian.Uint16(p[m:]))
		bp.size, bp.level = int(p[m+4]), int(p[m+5])
	} else {
		bp.n, bp.size, bp.level = int(p[m]), int(p[m+2]), int(p[m+3])
	}
	want := f.entrySize(ptype, bp.level)
	if bp.size != want || bp.n*bp.size > m {
		return btPage{}, f.corrupt(ref.IB, "B-tree page with %d entries of %d bytes (level %d), want entries of %d bytes in %d bytes", bp.n, bp.size, bp.level, want, m)
	}
	bp.entries = p[:bp.n*bp.size]
	return bp, nil
}

// Page types of B-tree pages ([MS-PST] 2.2.2.7.1).
const (
	ptypeBBT = 0x80
	ptypeNBT = 0x81
)

func (f *File) entrySize(ptype byte, level int) int {
	id := f.l.idSize
	switch {
	case level > 0:
		return 3 * id // BTENTRY: key, BREF
	case ptype == ptypeNBT && id == 4:
		return 16 // NBTENTRY (ANSI)
	case ptype == ptypeNBT:
		return 32
	case id == 4:
		return 12 // BBTENTRY (ANSI)
	default:
		return 24
	}
}

func (f *File) id(b []byte) uint64 {
	if f.l.idSize == 4 {
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

// maxDepth bounds a B-tree's height; real files have 2 to 4 levels.
const maxDepth = 32

// lookup finds the leaf entry with key in the B-tree at root. Levels must
// decrease strictly from page to page, so a lookup always ends.
func (f *File) lookup(root BREF, ptype byte, key uint64) ([]byte, error) {
	ref, level := root, -1
	for depth := 0; ; depth++ {
		bp, err := f.btPage(ref, ptype)
		if err != nil {
			return nil, err
		}
		if depth > maxDepth || (level >= 0 && bp.level >= level) {
			return nil, f.corrupt(ref.IB, "B-tree page at level %d below level %d (a cycle)", bp.level, level)
		}
		level = bp.level
		// The last entry whose key is <= key.
		i := -1
		for j := 0; j < bp.n; j++ {
			k := f.id(bp.entries[j*bp.size:])
			if ptype == ptypeBBT {
				k &^= 1
			}
			if k > key {
				break
			}
			i = j
		}
		if level == 0 {
			if i < 0 {
				return nil, ErrNotFound
			}
			e := bp.entries[i*bp.size : (i+1)*bp.size]
			k := f.id(e)
			if ptype == ptypeBBT {
				k &^= 1
			}
			if k != key {
				return nil, ErrNotFound
			}
			return e, nil
		}
		if i < 0 {
			return nil, ErrNotFound
		}
		e := bp.entries[i*bp.size:]
		id := f.l.idSize
		ref = BREF{BID(f.id(e[id:])), int64(f.id(e[2*id:]))}
	}
}

// walk calls fn with every leaf entry of the B-tree at root, in key order.
// It visits at most as many pages as the file can hold, so a cyclic tree
// ends with an error instead of looping.
func (f *File) walk(root BREF, ptype byte, fn func(entry []byte) error) error {
	return f.walkTree(root, ptype, false, fn)
}

// walkTree is walk; with skipDamaged, a page below the root that is
// damaged (a *CorruptError) is left out with its subtree and the walk
// goes on with the next: the damaged pages are reported together at the
// end, joined, and the entries of every other page are still passed to fn.
func (f *File) walkTree(root BREF, ptype byte, skipDamaged bool, fn func(entry []byte) error) error {
	budget := f.size/int64(f.l.pageSize) + 1
	var damaged []error
	var visit func(ref BREF, parentLevel int) error
	visit = func(ref BREF, parentLevel int) error {
		if budget--; budget < 0 {
			return f.corrupt(ref.IB, "B-tree has more pages than the file can hold (a cycle)")
		}
		bp, err := f.btPage(ref, ptype)
		if err != nil {
			return err
		}
		if parentLevel >= 0 && bp.level >= parentLevel {
			return f.corrupt(ref.IB, "B-tree page at level %d below level %d (a cycle)", bp.level, parentLevel)
		}
		// Copy: the page may leave the cache while the children are read.
		entries := bytes.Clone(bp.entries)
		for j := 0; j < bp.n; j++ {
			e := entries[j*bp.size : (j+1)*bp.size]
			if bp.level == 0 {
				if err := fn(e); err != nil {
					return err
				}
				continue
			}
			id := f.l.idSize
			if err := visit(BREF{BID(f.id(e[id:])), int64(f.id(e[2*id:]))}, bp.level); err != nil {
				var ce *CorruptError
				if skipDamaged && errors.As(err, &ce) && !errors.Is(err, errCallback) {
					damaged = append(damaged, err)
					continue
				}
				return err
			}
		}
		return nil
	}
	if err := visit(root, -1); err != nil {
		return err
	}
	return errors.Join(damaged...)
}

// errCallback marks an error of walk's callback, which ends a walk even
// when damaged pages are skipped.
var errCallback = errors.New("callback")

type callbackError struct{ err error }

func (e callbackError) Error() string   { return e.err.Error() }
func (e callbackError) Unwrap() []error { return []error{e.err, errCallback} }

// Node is a leaf entry of the node B-tree ([MS-PST] 2.2.2.7.7.4).
type Node struct {
	NID    NID
	Data   BID // the node's data tree
	Sub    BID // its subnode tree; 0 when it has none
	Parent NID
}

func (f *File) node(e []byte) Node {
	id := f.l.idSize
	return Node{
		NID:    NID(f.id(e)),
		Data:   BID(f.id(e[id:])),
		Sub:    BID(f.id(e[2*id:])),
		Parent: NID(binary.LittleEndian.Uint32(e[3*id:])),
	}
}

// Node looks nid up in the node B-tree. The error is ErrNotFound (wrapped)
// when the file has no such node.
func (f *File) Node(nid NID) (Node, error) {
	e, err := f.lookup(f.NBT, ptypeNBT, uint64(nid))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Node{}, fmt.Errorf("%s: node %#x: %w", f.name, uint32(nid), ErrNotFound)
		}
		return Node{}, err
	}
	return f.node(e), nil
}

// Nodes calls fn with every node of the node B-tree, in NID order. Pages
// of the tree that are damaged are skipped with the nodes they list: fn
// still sees every other node, and the error, a join of *CorruptError
// values, names the damaged pages. An error of fn ends the walk and is
// returned as it is.
func (f *File) Nodes(fn func(Node) error) error {
	err := f.walkTree(f.NBT, ptypeNBT, true, func(e []byte) error {
		if err := fn(f.node(e)); err != nil {
			return callbackError{err}
		}
		return nil
	})
	var cb callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	return err
}

// blockEntry is a leaf entry of the block B-tree ([MS-PST] 2.2.2.7.7.3).
type blockEntry struct {
	ref      BREF
	cb       int // stored size
	inflated int // size after inflating (4K layout); cb otherwise
}

func (f *File) blockEntry(bid BID) (blockEntry, error) {
	key := bid.key()
	f.mu.Lock()
	be, ok := f.bbt.get(key)
	f.mu.Unlock()
	if ok {
		return be, nil
	}
	e, err := f.lookup(f.BBT, ptypeBBT, uint64(key))
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return blockEntry{}, &CorruptError{File: f.name, Offset: -1, What: fmt.Sprintf("block %#x is not in the block B-tree", uint64(bid)), Err: ErrNotFound}
		}
		return blockEntry{}, err
	}
	id := f.l.idSize
	le := binary.LittleEndian
	be = blockEntry{ref: BREF{BID(f.id(e)), int64(f.id(e[id:]))}, cb: int(le.Uint16(e[2*id:]))}
	be.inflated = be.cb
	if f.Format == Unicode4K {
		be.inflated = int(le.Uint16(e[2*id+2:]))
	}
	f.mu.Lock()
	f.bbt.put(key, be)
	f.mu.Unlock()
	return be, nil
}

// Block returns the data of block bid: checked against its trailer
// ([MS-PST] 2.2.2.8.1), decoded (data blocks of an encoded file) and
// inflated (compressed blocks of the 4K layout). The slice is shared with
// the cache: callers must not change it.
func (f *File) Block(bid BID) ([]byte, error) {
	key := bid.key()
	f.mu.Lock()
	b, ok := f.blocks.get(key)
	f.mu.Unlock()
	if ok {
		return b, nil
	}
	be, err := f.blockEntry(bid)
	if err != nil {
		return nil, err
	}
	b, err = f.readBlock(be)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.blocks.put(key, b)
	f.mu.Unlock()
	return b, nil
}

func (f *File) readBlock(be blockEntry) ([]byte, error) {
	ib, cb := be.ref.IB, be.cb
	if ib%64 != 0 {
		return nil, f.corrupt(ib, "block %#x not on a 64-byte boundary", uint64(be.ref.BID))
	}
	total := (int64(cb) + int64(f.l.blockTrailer) + f.l.blockAlign - 1) / f.l.blockAlign * f.l.blockAlign
	raw := make([]byte, total)
	if err := f.readAt(raw, ib); err != nil {
		return nil, err
	}
	t := raw[total-int64(f.l.blockTrailer):]
	le := binary.LittleEndian
	var sum uint32
	var bid BID
	if f.Format == ANSI {
		bid, sum = BID(le.Uint32(t[4:])), le.Uint32(t[8:])
	} else {
		sum, bid = le.Uint32(t[4:]), BID(le.Uint64(t[8:]))
	}
	data := raw[:cb]
	switch {
	case int(le.Uint16(t)) != cb:
		return nil, f.corrupt(ib, "block %#x: trailer says %d bytes, the block B-tree %d", uint64(be.ref.BID), le.Uint16(t), cb)
	case bid.key() != be.ref.BID.key():
		return nil, f.corrupt(ib, "block trailer BID %#x, want %#x", uint64(bid), uint64(be.ref.BID))
	case le.Uint16(t[2:]) != signature(ib, bid):
		return nil, f.corrupt(ib, "block %#x: signature %#04x, want %#04x", uint64(bid), le.Uint16(t[2:]), signature(ib, bid))
	case !f.unchecked && crc(data) != sum:
		return nil, f.corrupt(ib, "block %#x: CRC %#08x, want %#08x", uint64(bid), crc(data), sum)
	}
	// A compressed block of the 4K layout is inflated first and then
	// decoded: the encoding applies to the block's data, the compression to
	// what is stored (libpff reads them so; see the package comment).
	if be.inflated != cb {
		out, err := f.inflate(data, be)
		if err != nil {
			return nil, err
		}
		data = out
	}
	if !bid.Internal() {
		switch f.Crypt {
		case CryptPermute:
			pstcrypt.Unpermute(data)
		case CryptCyclic:
			pstcrypt.Cyclic(data, uint32(bid))
		}
	}
	return data, nil
}

// inflate expands a compressed block of the 4K layout: zlib data whose
// result must be exactly the size the block B-tree gives.
func (f *File) inflate(data []byte, be blockEntry) ([]byte, error) {
	if be.inflated < be.cb || be.inflated > f.l.maxBlock {
		return nil, f.corrupt(be.ref.IB, "block %#x: inflated size %d for %d stored bytes", uint64(be.ref.BID), be.inflated, be.cb)
	}
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, &CorruptError{File: f.name, Offset: be.ref.IB, What: fmt.Sprintf("block %#x: compressed data", uint64(be.ref.BID)), Err: err}
	}
	out := make([]byte, be.inflated)
	n, err := io.ReadFull(zr, out)
	if err == nil {
		// Exactly the announced size: nothing may follow.
		var one [1]byte
		if m, _ := zr.Read(one[:]); m > 0 {
			err = errors.New("more data than announced")
		}
	}
	if err != nil {
		return nil, &CorruptError{File: f.name, Offset: be.ref.IB, What: fmt.Sprintf("block %#x: inflating (%d of %d bytes)", uint64(be.ref.BID), n, be.inflated), Err: err}
	}
	return out, nil
}
