package ndb

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Block types of internal blocks ([MS-PST] 2.2.2.8.3.2, 2.2.2.8.3.3).
const (
	btypeData    = 0x01 // XBLOCK (cLevel 1), XXBLOCK (cLevel 2)
	btypeSubnode = 0x02 // SLBLOCK (cLevel 0), SIBLOCK (cLevel 1)
)

// Tree is a node's data: one data block, or a data tree of XBLOCKs (and
// an XXBLOCK above them) listing data blocks in order ([MS-PST]
// 2.2.2.8.3.2). Only the lists of one level are kept, never the data.
type Tree struct {
	f     *File
	root  BID
	size  int64 // lcbTotal, or the single block's size
	level int   // 0: a single data block; 1: XBLOCK; 2: XXBLOCK
	ids   []BID // level 1: data blocks; level 2: XBLOCKs
	empty bool
}

// Tree opens the data tree rooted at bid; bid 0 is an empty tree.
func (f *File) Tree(bid BID) (*Tree, error) {
	t := &Tree{f: f, root: bid}
	if bid == 0 {
		t.empty = true
		return t, nil
	}
	if !bid.Internal() {
		b, err := f.Block(bid)
		if err != nil {
			return nil, err
		}
		t.size = int64(len(b))
		return t, nil
	}
	level, total, ids, err := f.xblock(bid, 0)
	if err != nil {
		return nil, err
	}
	if total > f.maxTree() {
		return nil, &CorruptError{File: f.name, Offset: -1, What: fmt.Sprintf("data tree %#x of %d bytes in a file of %d", uint64(bid), total, f.size)}
	}
	t.level, t.size, t.ids = level, total, ids
	return t, nil
}

// maxTree bounds a data tree's size by what the file can hold: every block
// takes at least its data in the file, except compressed blocks of the 4K
// layout, which inflate at most from 512 bytes to 64 KiB. The bound keeps
// a tree that lists one block many times from being read for long.
func (f *File) maxTree() int64 {
	if f.Format == Unicode4K {
		return f.size * 128
	}
	return f.size
}

// xblock parses an XBLOCK or XXBLOCK; want is the level it must have (0:
// either).
func (f *File) xblock(bid BID, want int) (level int, total int64, ids []BID, err error) {
	b, err := f.Block(bid)
	if err != nil {
		return 0, 0, nil, err
	}
	bad := func(format string, args ...any) error {
		return &CorruptError{File: f.name, Offset: -1, What: fmt.Sprintf("data tree block %#x: ", uint64(bid)) + fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return 0, 0, nil, bad("%d bytes", len(b))
	}
	level = int(b[1])
	if b[0] != btypeData || level < 1 || level > 2 || (want != 0 && level != want) {
		return 0, 0, nil, bad("type %#02x level %d, want an XBLOCK or XXBLOCK", b[0], b[1])
	}
	n := int(binary.LittleEndian.Uint16(b[2:]))
	total = int64(binary.LittleEndian.Uint32(b[4:]))
	id := f.l.idSize
	if 8+n*id > len(b) {
		return 0, 0, nil, bad("%d entries do not fit in %d bytes", n, len(b))
	}
	ids = make([]BID, n)
	for i := range ids {
		ids[i] = BID(f.id(b[8+i*id:]))
	}
	return level, total, ids, nil
}

// Size is the tree's data size, as its root declares it.
func (t *Tree) Size() int64 { return t.size }

// Blocks calls fn with each data block in order. The slices are shared
// with the cache: fn must not change or keep them.
func (t *Tree) Blocks(fn func(b []byte) error) error {
	switch {
	case t.empty:
		return nil
	case t.level == 0:
		b, err := t.f.Block(t.root)
		if err != nil {
			return err
		}
		return fn(b)
	case t.level == 1:
		return t.eachData(t.ids, fn)
	}
	for _, x := range t.ids {
		_, _, ids, err := t.f.xblock(x, 1)
		if err != nil {
			return err
		}
		if err := t.eachData(ids, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tree) eachData(ids []BID, fn func([]byte) error) error {
	for _, id := range ids {
		if id.Internal() {
			return &CorruptError{File: t.f.name, Offset: -1, What: fmt.Sprintf("data tree %#x lists internal block %#x as data", uint64(t.root), uint64(id))}
		}
		b, err := t.f.Block(id)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// Block returns the tree's i-th data block (0-based); a heap addresses its
// pages this way.
func (t *Tree) Block(i int) ([]byte, error) {
	notFound := func() error {
		return &CorruptError{File: t.f.name, Offset: -1, What: fmt.Sprintf("data tree %#x has no block %d", uint64(t.root), i)}
	}
	switch {
	case i < 0 || t.empty:
		return nil, notFound()
	case t.level == 0:
		if i != 0 {
			return nil, notFound()
		}
		return t.f.Block(t.root)
	case t.level == 1:
		if i >= len(t.ids) || t.ids[i].Internal() {
			return nil, notFound()
		}
		return t.f.Block(t.ids[i])
	}
	for _, x := range t.ids {
		_, _, ids, err := t.f.xblock(x, 1)
		if err != nil {
			return nil, err
		}
		if i < len(ids) {
			if ids[i].Internal() {
				return nil, notFound()
			}
			return t.f.Block(ids[i])
		}
		i -= len(ids)
	}
	return nil, notFound()
}

// Reader streams the tree's data. It ends with a *CorruptError when the
// blocks do not add up to Size.
func (t *Tree) Reader() io.Reader { return &treeReader{t: t} }

type treeReader struct {
	t     *Tree
	x     int   // index into t.ids (level 2: XBLOCK)
	sub   []BID // level 2: the current XBLOCK's data blocks
	j     int   // index into the current list
	cur   []byte
	read  int64
	err   error
	start bool
}

func (r *treeReader) next() ([]byte, error) {
	t := r.t
	switch {
	case t.empty:
		return nil, io.EOF
	case t.level == 0:
		if r.start {
			return nil, io.EOF
		}
		r.start = true
		return t.f.Block(t.root)
	case t.level == 1:
		if r.j >= len(t.ids) {
			return nil, io.EOF
		}
		id := t.ids[r.j]
		r.j++
		return t.dataBlock(id)
	}
	for r.j >= len(r.sub) {
		if r.x >= len(t.ids) {
			return nil, io.EOF
		}
		_, _, ids, err := t.f.xblock(t.ids[r.x], 1)
		if err != nil {
			return nil, err
		}
		r.x++
		r.sub, r.j = ids, 0
	}
	id := r.sub[r.j]
	r.j++
	return t.dataBlock(id)
}

func (t *Tree) dataBlock(id BID) ([]byte, error) {
	if id.Internal() {
		return nil, &CorruptError{File: t.f.name, Offset: -1, What: fmt.Sprintf("data tree %#x lists internal block %#x as data", uint64(t.root), uint64(id))}
	}
	return t.f.Block(id)
}

func (r *treeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for len(r.cur) == 0 {
		b, err := r.next()
		if err == io.EOF {
			if r.read != r.t.size {
				r.err = &CorruptError{File: r.t.f.name, Offset: -1, What: fmt.Sprintf("data tree %#x holds %d bytes, its root says %d", uint64(r.t.root), r.read, r.t.size)}
				return 0, r.err
			}
			r.err = io.EOF
			return 0, io.EOF
		}
		if err != nil {
			r.err = err
			return 0, err
		}
		r.cur = b
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	r.read += int64(n)
	if r.read > r.t.size {
		r.err = &CorruptError{File: r.t.f.name, Offset: -1, What: fmt.Sprintf("data tree %#x holds more than the %d bytes its root says", uint64(r.t.root), r.t.size)}
		return n - int(r.read-r.t.size), r.err
	}
	return n, nil
}

// Subnodes is a node's subnode tree ([MS-PST] 2.2.2.8.3.3): SLBLOCKs
// listing (NID, data, subnodes) entries, below at most a level of
// SIBLOCKs. The zero BID is an empty tree.
type Subnodes struct {
	f    *File
	root BID
}

// Subnodes returns the subnode tree rooted at bid.
func (f *File) Subnodes(bid BID) Subnodes { return Subnodes{f: f, root: bid} }

// subBlock parses an SLBLOCK or SIBLOCK into its entries.
func (s Subnodes) subBlock(bid BID, parentLevel int) (level int, entries []byte, size int, err error) {
	f := s.f
	bad := func(format string, args ...any) error {
		return &CorruptError{File: f.name, Offset: -1, What: fmt.Sprintf("subnode block %#x: ", uint64(bid)) + fmt.Sprintf(format, args...)}
	}
	if !bid.Internal() {
		return 0, nil, 0, bad("not an internal block")
	}
	b, err := f.Block(bid)
	if err != nil {
		return 0, nil, 0, err
	}
	if len(b) < 4 {
		return 0, nil, 0, bad("%d bytes", len(b))
	}
	level = int(b[1])
	if b[0] != btypeSubnode || level > 1 || (parentLevel >= 0 && level >= parentLevel) {
		return 0, nil, 0, bad("type %#02x level %d below level %d", b[0], b[1], parentLevel)
	}
	n := int(binary.LittleEndian.Uint16(b[2:]))
	id := f.l.idSize
	head := 4
	if id == 8 {
		head = 8 // dwPadding in the Unicode layouts
	}
	size = 3 * id // SLENTRY
	if level == 1 {
		size = 2 * id // SIENTRY
	}
	if head+n*size > len(b) {
		return 0, nil, 0, bad("%d entries do not fit in %d bytes", n, len(b))
	}
	return level, b[head : head+n*size], size, nil
}

// Each calls fn with every subnode, in NID order.
func (s Subnodes) Each(fn func(Node) error) error {
	if s.root == 0 {
		return nil
	}
	// Every entry takes its size in the file: that bounds a walk even of a
	// tree whose SIBLOCK lists one SLBLOCK many times.
	budget := s.f.size/int64(2*s.f.l.idSize) + 1
	var visit func(bid BID, parentLevel int) error
	visit = func(bid BID, parentLevel int) error {
		level, entries, size, err := s.subBlock(bid, parentLevel)
		if err != nil {
			return err
		}
		id := s.f.l.idSize
		for i := 0; i+size <= len(entries); i += size {
			if budget--; budget < 0 {
				return &CorruptError{File: s.f.name, Offset: -1, What: fmt.Sprintf("subnode tree %#x has more entries than the file can hold (a cycle)", uint64(s.root))}
			}
			e := entries[i : i+size]
			if level == 1 {
				if err := visit(BID(s.f.id(e[id:])), level); err != nil {
					return err
				}
				continue
			}
			n := Node{NID: NID(s.f.id(e)), Data: BID(s.f.id(e[id:])), Sub: BID(s.f.id(e[2*id:]))}
			if err := fn(n); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(s.root, -1)
}

// Lookup finds the subnode nid; the error wraps ErrNotFound when there is
// none.
func (s Subnodes) Lookup(nid NID) (Node, error) {
	notFound := fmt.Errorf("%s: subnode %#x: %w", s.f.name, uint32(nid), ErrNotFound)
	if s.root == 0 {
		return Node{}, notFound
	}
	bid, parentLevel := s.root, -1
	id := s.f.l.idSize
	for {
		level, entries, size, err := s.subBlock(bid, parentLevel)
		if err != nil {
			return Node{}, err
		}
		parentLevel = level
		found := -1
		for i := 0; i+size <= len(entries); i += size {
			k := NID(s.f.id(entries[i:]))
			if level == 0 && k == nid {
				e := entries[i:]
				return Node{NID: k, Data: BID(s.f.id(e[id:])), Sub: BID(s.f.id(e[2*id:]))}, nil
			}
			if level == 1 && k <= nid {
				found = i
			}
		}
		if level == 0 || found < 0 {
			return Node{}, notFound
		}
		bid = BID(s.f.id(entries[found+id:]))
	}
}
