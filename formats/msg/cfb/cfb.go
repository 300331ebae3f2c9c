// Package cfb reads Compound File Binary files ([MS-CFB]), the container
// of Outlook's .msg files (and of old Office documents): a small file
// system of storages (directories) and streams (files) inside one file,
// laid out in fixed-size sectors that are chained through a file
// allocation table (FAT).
//
// What it reads, in [MS-CFB]'s terms: the 512-byte header (version 3
// with 512-byte sectors, version 4 with 4096-byte sectors), the DIFAT
// (the header's 109 entries, then DIFAT sectors) that locates the FAT
// sectors, the FAT, the MiniFAT and the mini stream (streams smaller than
// the cutoff, 4096 bytes, live in 64-byte mini sectors inside the root
// entry's stream), and the directory: 128-byte entries whose children
// hang in a red-black tree of left and right siblings.
//
// It only reads, through an io.ReaderAt, and streams stream data: memory
// does not grow with a stream's size. FAT sectors are read when a chain
// needs them (a few are cached); the directory, the DIFAT list, the
// MiniFAT and the list of the mini stream's sectors are held in memory,
// each bounded. Every chain walk is bounded by the number of sectors in
// the file, so that a cycle ends in an error, and no input makes it
// panic.
package cfb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
)

// ErrFormat is returned (wrapped) for anything that is not a valid
// compound file, or a damaged one: a bad signature, a sector outside the
// file, a chain that loops or ends too early.
var ErrFormat = errors.New("not a valid compound file")

// Signature is the first 8 bytes of every compound file.
var Signature = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// Special sector numbers ([MS-CFB] 2.1).
const (
	maxRegSect = 0xFFFFFFFA
	difSect    = 0xFFFFFFFC
	fatSect    = 0xFFFFFFFD
	endOfChain = 0xFFFFFFFE
	freeSect   = 0xFFFFFFFF
	noStream   = 0xFFFFFFFF
)

// Limits against damaged or hostile files.
const (
	maxEntries     = 1 << 18 // directory entries (32 MiB of directory)
	maxMiniFAT     = 1 << 22 // MiniFAT entries (a 256 MiB mini stream)
	fatCacheSize   = 16      // FAT sectors kept
	miniSectorSize = 64
)

// EntryType is a directory entry's object type.
type EntryType byte

// Object types ([MS-CFB] 2.6.1).
const (
	TypeUnknown EntryType = 0
	TypeStorage EntryType = 1
	TypeStream  EntryType = 2
	TypeRoot    EntryType = 5
)

// Entry is one directory entry: a storage or a stream.
type Entry struct {
	Name string
	Type EntryType
	// Size is a stream's size in bytes (for the root entry, the mini
	// stream's).
	Size int64

	id                 int // index in the directory
	start              uint32
	left, right, child uint32
	children           []int // indexes into File.entries, in tree order; built on first use
	childrenBuilt      bool
}

// IsStorage reports whether e holds other entries (a storage or the root).
func (e *Entry) IsStorage() bool { return e.Type == TypeStorage || e.Type == TypeRoot }

// File is an open compound file. It is not safe for concurrent use (its
// FAT cache is shared).
type File struct {
	r          io.ReaderAt
	size       int64
	shift      uint
	ss         int64  // sector size
	sectors    uint32 // sectors in the file
	miniCutoff int64
	fatSectors []uint32
	miniFAT    []uint32
	miniStream []uint32 // the mini stream's sectors, in order
	entries    []Entry

	cache [fatCacheSize]struct {
		index uint32
		ok    bool
		data  []byte
	}
}

// IsCompoundFile reports whether b starts with the compound file
// signature.
func IsCompoundFile(b []byte) bool {
	return len(b) >= len(Signature) && string(b[:len(Signature)]) == string(Signature)
}

// Open reads the header, the DIFAT, the directory and the MiniFAT of the
// compound file r of the given size.
func Open(r io.ReaderAt, size int64) (*File, error) {
	var h [512]byte
	if size < int64(len(h)) {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header", ErrFormat, size)
	}
	if _, err := r.ReadAt(h[:], 0); err != nil {
		return nil, fmt.Errorf("read compound file header: %w", err)
	}
	if !IsCompoundFile(h[:]) {
		return nil, fmt.Errorf("%w: no compound file signature", ErrFormat)
	}
	le := binary.LittleEndian
	if le.Uint16(h[0x1C:]) != 0xFFFE {
		return nil, fmt.Errorf("%w: byte order mark %#04x", ErrFormat, le.Uint16(h[0x1C:]))
	}
	f := &File{r: r, size: size}
	switch shift := le.Uint16(h[0x1E:]); shift {
	case 9, 12: // version 3 and version 4
		f.shift = uint(shift)
	default:
		return nil, fmt.Errorf("%w: sector shift %d", ErrFormat, shift)
	}
	if ms := le.Uint16(h[0x20:]); ms != 6 {
		return nil, fmt.Errorf("%w: mini sector shift %d", ErrFormat, ms)
	}
	f.ss = 1 << f.shift
	if n := (size - f.ss + f.ss - 1) / f.ss; n > maxRegSect {
		f.sectors = maxRegSect
	} else if n > 0 {
		f.sectors = uint32(n)
	}
	f.miniCutoff = int64(le.Uint32(h[0x38:]))
	if f.miniCutoff != 4096 {
		f.miniCutoff = 4096 // [MS-CFB] 2.2: MUST be 4096
	}
	numFAT := le.Uint32(h[0x2C:])
	firstDir := le.Uint32(h[0x30:])
	firstMiniFAT := le.Uint32(h[0x3C:])
	numMiniFAT := le.Uint32(h[0x40:])
	firstDIFAT := le.Uint32(h[0x44:])
	numDIFAT := le.Uint32(h[0x48:])

	if err := f.readDIFAT(h[0x4C:], numFAT, firstDIFAT, numDIFAT); err != nil {
		return nil, err
	}
	if err := f.readDirectory(firstDir); err != nil {
		return nil, err
	}
	root := &f.entries[0]
	if root.Type != TypeRoot {
		return nil, fmt.Errorf("%w: first directory entry is not the root", ErrFormat)
	}
	if root.Size > 0 && root.start != endOfChain {
		if err := f.readMiniFAT(firstMiniFAT, numMiniFAT, root); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func (f *File) readDIFAT(head []byte, numFAT, first, num uint32) error {
	if numFAT > f.sectors {
		return fmt.Errorf("%w: %d FAT sectors in a file of %d sectors", ErrFormat, numFAT, f.sectors)
	}
	le := binary.LittleEndian
	add := func(s uint32) {
		if uint32(len(f.fatSectors)) < numFAT && s <= maxRegSect {
			f.fatSectors = append(f.fatSectors, s)
		}
	}
	for i := 0; i < 109; i++ {
		add(le.Uint32(head[4*i:]))
	}
	per := int(f.ss/4) - 1
	buf := make([]byte, f.ss)
	s := first
	for i := uint32(0); i < num && uint32(len(f.fatSectors)) < numFAT; i++ {
		if s > maxRegSect || i > f.sectors {
			return fmt.Errorf("%w: DIFAT chain ends after %d of %d sectors", ErrFormat, i, num)
		}
		if err := f.readSector(s, buf); err != nil {
			return fmt.Errorf("read DIFAT: %w", err)
		}
		for j := 0; j < per; j++ {
			add(le.Uint32(buf[4*j:]))
		}
		s = le.Uint32(buf[4*per:])
	}
	if uint32(len(f.fatSectors)) < numFAT {
		return fmt.Errorf("%w: DIFAT lists %d of %d FAT sectors", ErrFormat, len(f.fatSectors), numFAT)
	}
	return nil
}

// readSector reads sector s whole into buf (len f.ss). A last sector cut
// short by the end of the file is padded with zeros.
func (f *File) readSector(s uint32, buf []byte) error {
	if s >= f.sectors {
		return fmt.Errorf("%w: sector %d outside the file (%d sectors)", ErrFormat, s, f.sectors)
	}
	off := (int64(s) + 1) << f.shift
	n, err := f.r.ReadAt(buf, off)
	if err == io.EOF && n > 0 {
		clear(buf[n:])
		return nil
	}
	return err
}

// next returns the sector after s in its FAT chain.
func (f *File) next(s uint32) (uint32, error) {
	per := uint32(f.ss / 4)
	idx := s / per
	if idx >= uint32(len(f.fatSectors)) {
		return 0, fmt.Errorf("%w: sector %d beyond the FAT", ErrFormat, s)
	}
	slot := &f.cache[idx%fatCacheSize]
	if !slot.ok || slot.index != idx {
		if slot.data == nil {
			slot.data = make([]byte, f.ss)
		}
		slot.ok = false
		if err := f.readSector(f.fatSectors[idx], slot.data); err != nil {
			return 0, fmt.Errorf("read FAT: %w", err)
		}
		slot.index, slot.ok = idx, true
	}
	return binary.LittleEndian.Uint32(slot.data[4*(s%per):]), nil
}

// chain calls fn for each sector of the chain starting at s, at most max
// sectors, and stops at the end of the chain. A sector reached twice is
// a loop, an error.
func (f *File) chain(s uint32, max uint32, fn func(s uint32) error) error {
	seen := newBitset(f.sectors)
	for n := uint32(0); s != endOfChain && n < max; n++ {
		if s > maxRegSect || s >= f.sectors {
			return fmt.Errorf("%w: broken sector chain (sector %#x after %d)", ErrFormat, s, n)
		}
		if seen.testAndSet(s) {
			return fmt.Errorf("%w: sector chain loops at sector %d", ErrFormat, s)
		}
		if err := fn(s); err != nil {
			return err
		}
		var err error
		if s, err = f.next(s); err != nil {
			return err
		}
	}
	return nil
}

// bitset marks sectors already visited by a chain walk: one bit per
// sector of the file.
type bitset []uint64

func newBitset(n uint32) bitset { return make(bitset, (uint64(n)+63)/64) }

func (b bitset) testAndSet(i uint32) bool {
	w, m := i/64, uint64(1)<<(i%64)
	if int(w) >= len(b) {
		return true
	}
	was := b[w]&m != 0
	b[w] |= m
	return was
}

func (f *File) readDirectory(first uint32) error {
	buf := make([]byte, f.ss)
	per := int(f.ss / 128)
	err := f.chain(first, f.sectors, func(s uint32) error {
		if len(f.entries) >= maxEntries {
			return fmt.Errorf("%w: more than %d directory entries", ErrFormat, maxEntries)
		}
		if err := f.readSector(s, buf); err != nil {
			return fmt.Errorf("read directory: %w", err)
		}
		for i := 0; i < per; i++ {
			e := parseEntry(buf[128*i:128*(i+1)], f.shift == 9)
			e.id = len(f.entries)
			f.entries = append(f.entries, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(f.entries) == 0 {
		return fmt.Errorf("%w: empty directory", ErrFormat)
	}
	return nil
}

func parseEntry(b []byte, v3 bool) Entry {
	le := binary.LittleEndian
	n := int(le.Uint16(b[64:]))
	if n > 64 {
		n = 64
	}
	u := make([]uint16, 0, 32)
	for i := 0; i+1 < n; i += 2 {
		c := le.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	size := int64(le.Uint64(b[120:]))
	if v3 || size < 0 {
		// Version 3 files keep only the low 32 bits; writers leave
		// garbage in the high ones ([MS-CFB] 2.6.3).
		size = int64(le.Uint32(b[120:]))
	}
	return Entry{
		Name:  string(utf16.Decode(u)),
		Type:  EntryType(b[66]),
		Size:  size,
		left:  le.Uint32(b[68:]),
		right: le.Uint32(b[72:]),
		child: le.Uint32(b[76:]),
		start: le.Uint32(b[116:]),
	}
}

func (f *File) readMiniFAT(first, num uint32, root *Entry) error {
	// The mini stream's own sectors, so that a mini sector is found
	// without walking the chain each time.
	want := uint32((root.Size + f.ss - 1) / f.ss)
	err := f.chain(root.start, want, func(s uint32) error {
		f.miniStream = append(f.miniStream, s)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read mini stream: %w", err)
	}
	maxEntries := min(uint64(root.Size)/miniSectorSize+1, maxMiniFAT)
	buf := make([]byte, f.ss)
	return f.chain(first, min(num, f.sectors), func(s uint32) error {
		if uint64(len(f.miniFAT)) >= maxEntries {
			return nil
		}
		if err := f.readSector(s, buf); err != nil {
			return fmt.Errorf("read MiniFAT: %w", err)
		}
		for i := 0; i+4 <= len(buf); i += 4 {
			f.miniFAT = append(f.miniFAT, binary.LittleEndian.Uint32(buf[i:]))
		}
		return nil
	})
}

// Root returns the root storage.
func (f *File) Root() *Entry { return &f.entries[0] }

// Children returns the entries of a storage, in the order of its
// directory tree (by name length, then by upper-cased name). Entries
// reached twice (a damaged tree) are listed once.
func (f *File) Children(e *Entry) []*Entry {
	if !e.IsStorage() {
		return nil
	}
	if !e.childrenBuilt {
		e.childrenBuilt = true
		// In-order walk of the red-black tree, without recursion; an
		// entry is visited once (a damaged tree may link it twice, or
		// link the storage itself).
		seen := map[uint32]bool{uint32(e.id): true}
		valid := func(i uint32) bool { return i != noStream && int64(i) < int64(len(f.entries)) && !seen[i] }
		var stack []uint32
		cur := e.child
		for {
			for valid(cur) {
				seen[cur] = true
				stack = append(stack, cur)
				cur = f.entries[cur].left
			}
			if len(stack) == 0 {
				break
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if ce := &f.entries[cur]; ce.Type == TypeStorage || ce.Type == TypeStream {
				e.children = append(e.children, int(cur))
			}
			cur = f.entries[cur].right
		}
	}
	out := make([]*Entry, len(e.children))
	for i, c := range e.children {
		out[i] = &f.entries[c]
	}
	return out
}

// Lookup finds a child of a storage by name, compared case-insensitively
// as [MS-CFB] 2.6.4 does.
func (f *File) Lookup(e *Entry, name string) (*Entry, bool) {
	for _, c := range f.Children(e) {
		if strings.EqualFold(c.Name, name) {
			return c, true
		}
	}
	return nil, false
}

// Open returns a reader of a stream's bytes.
func (f *File) Open(e *Entry) (io.Reader, error) {
	if e.Type != TypeStream {
		return nil, fmt.Errorf("%w: %q is not a stream", ErrFormat, e.Name)
	}
	sr := &streamReader{f: f, sector: e.start, remaining: e.Size, mini: e.Size < f.miniCutoff}
	if sr.mini {
		sr.secSize = miniSectorSize
		sr.seen = newBitset(uint32(len(f.miniFAT)))
	} else {
		sr.secSize = f.ss
		sr.seen = newBitset(f.sectors)
	}
	if e.Size > 0 && sr.sector <= maxRegSect {
		sr.seen.testAndSet(sr.sector)
	}
	if e.Size > 0 && sr.sector == endOfChain {
		return nil, fmt.Errorf("%w: stream %q of %d bytes has no sectors", ErrFormat, e.Name, e.Size)
	}
	return sr, nil
}

// ReadAll reads a whole stream, refusing streams larger than max bytes.
func (f *File) ReadAll(e *Entry, max int64) ([]byte, error) {
	if e.Size > max {
		return nil, fmt.Errorf("%w: stream %q of %d bytes is over the limit of %d", ErrFormat, e.Name, e.Size, max)
	}
	r, err := f.Open(e)
	if err != nil {
		return nil, err
	}
	b := make([]byte, e.Size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read stream %q: %w", e.Name, err)
	}
	return b, nil
}

// streamReader follows a stream's sector chain (in the FAT or, for small
// streams, in the MiniFAT), reading each sector's bytes as they are asked
// for.
type streamReader struct {
	f         *File
	mini      bool
	secSize   int64
	sector    uint32
	off       int64 // position in the current sector
	remaining int64
	seen      bitset // sectors (or mini sectors) visited: a loop is an error
}

func (r *streamReader) Read(p []byte) (int, error) {
	if r.remaining <= 0 {
		return 0, io.EOF
	}
	if r.off == r.secSize {
		next, err := r.nextSector()
		if err != nil {
			return 0, err
		}
		r.sector, r.off = next, 0
	}
	if r.sector == endOfChain || r.sector > maxRegSect {
		return 0, fmt.Errorf("%w: stream chain ends %d bytes early", ErrFormat, r.remaining)
	}
	n := int64(len(p))
	n = min(n, r.secSize-r.off, r.remaining)
	pos, err := r.position()
	if err != nil {
		return 0, err
	}
	k, err := r.f.r.ReadAt(p[:n], pos)
	r.off += int64(k)
	r.remaining -= int64(k)
	if err == io.EOF && int64(k) == n {
		err = nil
	}
	if err == io.EOF {
		err = fmt.Errorf("%w: stream runs past the end of the file", ErrFormat)
	}
	return k, err
}

func (r *streamReader) nextSector() (uint32, error) {
	var next uint32
	if !r.mini {
		n, err := r.f.next(r.sector)
		if err != nil {
			return 0, err
		}
		next = n
	} else {
		if r.sector >= uint32(len(r.f.miniFAT)) {
			return 0, fmt.Errorf("%w: mini sector %d beyond the MiniFAT", ErrFormat, r.sector)
		}
		next = r.f.miniFAT[r.sector]
	}
	if next <= maxRegSect && r.seen.testAndSet(next) {
		return 0, fmt.Errorf("%w: sector chain loops at sector %d", ErrFormat, next)
	}
	return next, nil
}

// position is the file offset of the current byte.
func (r *streamReader) position() (int64, error) {
	if !r.mini {
		if r.sector >= r.f.sectors {
			return 0, fmt.Errorf("%w: sector %d outside the file", ErrFormat, r.sector)
		}
		return (int64(r.sector)+1)<<r.f.shift + r.off, nil
	}
	at := int64(r.sector)*miniSectorSize + r.off
	idx := at / r.f.ss
	if idx >= int64(len(r.f.miniStream)) {
		return 0, fmt.Errorf("%w: mini sector %d outside the mini stream", ErrFormat, r.sector)
	}
	s := r.f.miniStream[idx]
	if s >= r.f.sectors {
		return 0, fmt.Errorf("%w: sector %d outside the file", ErrFormat, s)
	}
	return (int64(s)+1)<<r.f.shift + at%r.f.ss, nil
}
