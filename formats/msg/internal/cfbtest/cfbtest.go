// Package cfbtest builds Compound File Binary files ([MS-CFB]) and
// Outlook .msg files ([MS-OXMSG]) in memory, for the tests of packages
// cfb and msg: version 3 and 4 files, streams in the mini stream and in
// regular sectors, DIFAT sectors when the FAT outgrows the header, and a
// message builder with recipients, attachments, attached messages and
// named properties. It writes what the readers must accept; it is not a
// general writer (every storage's children hang as a chain of right
// siblings, which a reader need not balance).
package cfbtest

import (
	"encoding/binary"
	"sort"
	"strings"
	"unicode/utf16"
)

// Node is a storage (Children, possibly none, and Storage true) or a
// stream (Data).
type Node struct {
	Name     string
	Storage  bool
	Data     []byte
	Children []*Node
}

// Stream returns a stream node.
func Stream(name string, data []byte) *Node { return &Node{Name: name, Data: data} }

// Storage returns a storage node.
func Storage(name string, children ...*Node) *Node {
	return &Node{Name: name, Storage: true, Children: children}
}

const (
	endOfChain = 0xFFFFFFFE
	freeSect   = 0xFFFFFFFF
	fatSect    = 0xFFFFFFFD
	difSect    = 0xFFFFFFFC
	noStream   = 0xFFFFFFFF
	cutoff     = 4096
)

type dirEntry struct {
	node               *Node
	typ                byte
	left, right, child uint32
	start              uint32
	size               uint64
}

// Build writes a compound file holding the children of root, with
// 512-byte sectors (version 3) or, with v4, 4096-byte sectors.
func Build(root []*Node, v4 bool) []byte {
	shift := uint(9)
	if v4 {
		shift = 12
	}
	ss := 1 << shift
	per := ss / 4

	// Directory: the root, then every node depth-first.
	entries := []*dirEntry{{node: &Node{Name: "Root Entry", Storage: true, Children: root}, typ: 5}}
	var add func(e *dirEntry)
	add = func(e *dirEntry) {
		kids := append([]*Node{}, e.node.Children...)
		sort.SliceStable(kids, func(i, j int) bool { return less(kids[i].Name, kids[j].Name) })
		prev := -1
		for _, k := range kids {
			ce := &dirEntry{node: k, typ: 2, left: noStream, right: noStream, child: noStream}
			if k.Storage {
				ce.typ = 1
			}
			idx := len(entries)
			entries = append(entries, ce)
			if prev < 0 {
				e.child = uint32(idx)
			} else {
				entries[prev].right = uint32(idx)
			}
			prev = idx
			if k.Storage {
				add(ce)
			}
		}
	}
	entries[0].left, entries[0].right, entries[0].child = noStream, noStream, noStream
	add(entries[0])

	// Mini stream: streams under the cutoff, in 64-byte mini sectors.
	var mini []byte
	var miniFAT []uint32
	var big []*dirEntry
	for _, e := range entries[1:] {
		if e.typ != 2 {
			continue
		}
		e.size = uint64(len(e.node.Data))
		if len(e.node.Data) >= cutoff {
			big = append(big, e)
			continue
		}
		if len(e.node.Data) == 0 {
			e.start = endOfChain
			continue
		}
		first := uint32(len(mini) / 64)
		n := (len(e.node.Data) + 63) / 64
		for i := 0; i < n; i++ {
			if i == n-1 {
				miniFAT = append(miniFAT, endOfChain)
			} else {
				miniFAT = append(miniFAT, first+uint32(i)+1)
			}
		}
		e.start = first
		mini = append(mini, e.node.Data...)
		mini = append(mini, make([]byte, n*64-len(e.node.Data))...)
	}
	sectors := func(n int) int { return (n + ss - 1) / ss }
	dirSectors := sectors(len(entries) * 128)
	miniFATSectors := sectors(len(miniFAT) * 4)
	miniSectors := sectors(len(mini))
	bigSectors := 0
	for _, e := range big {
		bigSectors += sectors(len(e.node.Data))
	}
	other := dirSectors + miniFATSectors + miniSectors + bigSectors
	numFAT, numDIFAT := 0, 0
	for {
		nf := (other + numFAT + numDIFAT + per - 1) / per
		nd := 0
		if nf > 109 {
			nd = (nf - 109 + per - 2) / (per - 1)
		}
		if nf == numFAT && nd == numDIFAT {
			break
		}
		numFAT, numDIFAT = nf, nd
	}
	total := numFAT + numDIFAT + other
	fat := make([]uint32, numFAT*per)
	for i := range fat {
		fat[i] = freeSect
	}
	next := 0
	alloc := func(n int) int { // a chain of n sectors
		first := next
		for i := 0; i < n; i++ {
			if i == n-1 {
				fat[next] = endOfChain
			} else {
				fat[next] = uint32(next + 1)
			}
			next++
		}
		return first
	}
	fatStart := next
	for i := 0; i < numFAT; i++ {
		fat[next] = fatSect
		next++
	}
	difatStart := next
	for i := 0; i < numDIFAT; i++ {
		fat[next] = difSect
		next++
	}
	dirStart := alloc(dirSectors)
	miniFATStart := endOfChain
	if miniFATSectors > 0 {
		miniFATStart = alloc(miniFATSectors)
	}
	miniStart := endOfChain
	if miniSectors > 0 {
		miniStart = alloc(miniSectors)
	}
	for _, e := range big {
		e.start = uint32(alloc(sectors(len(e.node.Data))))
	}
	entries[0].start = uint32(miniStart)
	entries[0].size = uint64(len(mini))

	out := make([]byte, ss*(total+1))
	le := binary.LittleEndian
	h := out[:512]
	copy(h, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1})
	le.PutUint16(h[0x18:], 0x3E)
	if v4 {
		le.PutUint16(h[0x1A:], 4)
		le.PutUint32(h[0x28:], uint32(dirSectors))
	} else {
		le.PutUint16(h[0x1A:], 3)
	}
	le.PutUint16(h[0x1C:], 0xFFFE)
	le.PutUint16(h[0x1E:], uint16(shift))
	le.PutUint16(h[0x20:], 6)
	le.PutUint32(h[0x2C:], uint32(numFAT))
	le.PutUint32(h[0x30:], uint32(dirStart))
	le.PutUint32(h[0x38:], cutoff)
	le.PutUint32(h[0x3C:], uint32(miniFATStart))
	le.PutUint32(h[0x40:], uint32(miniFATSectors))
	if numDIFAT > 0 {
		le.PutUint32(h[0x44:], uint32(difatStart))
	} else {
		le.PutUint32(h[0x44:], endOfChain)
	}
	le.PutUint32(h[0x48:], uint32(numDIFAT))
	sector := func(s int) []byte { return out[(s+1)*ss : (s+2)*ss] }
	for i := 0; i < 109; i++ {
		v := uint32(freeSect)
		if i < numFAT {
			v = uint32(fatStart + i)
		}
		le.PutUint32(h[0x4C+4*i:], v)
	}
	for d := 0; d < numDIFAT; d++ {
		b := sector(difatStart + d)
		for j := 0; j < per-1; j++ {
			k := 109 + d*(per-1) + j
			v := uint32(freeSect)
			if k < numFAT {
				v = uint32(fatStart + k)
			}
			le.PutUint32(b[4*j:], v)
		}
		nextDIFAT := uint32(endOfChain)
		if d+1 < numDIFAT {
			nextDIFAT = uint32(difatStart + d + 1)
		}
		le.PutUint32(b[4*(per-1):], nextDIFAT)
	}
	for i, v := range fat {
		le.PutUint32(sector(fatStart + i/per)[4*(i%per):], v)
	}
	dir := make([]byte, dirSectors*ss)
	for i, e := range entries {
		b := dir[128*i:]
		u := utf16.Encode([]rune(e.node.Name))
		for j, c := range u {
			le.PutUint16(b[2*j:], c)
		}
		le.PutUint16(b[64:], uint16(2*len(u)+2))
		b[66] = e.typ
		b[67] = 1 // black
		le.PutUint32(b[68:], e.left)
		le.PutUint32(b[72:], e.right)
		le.PutUint32(b[76:], e.child)
		le.PutUint32(b[116:], e.start)
		le.PutUint64(b[120:], e.size)
	}
	for i := len(entries); i < len(dir)/128; i++ { // unused entries
		b := dir[128*i:]
		le.PutUint32(b[68:], noStream)
		le.PutUint32(b[72:], noStream)
		le.PutUint32(b[76:], noStream)
	}
	copy(out[(dirStart+1)*ss:], dir)
	mf := make([]byte, miniFATSectors*ss)
	for i := range mf {
		mf[i] = 0xFF
	}
	for i, v := range miniFAT {
		le.PutUint32(mf[4*i:], v)
	}
	if miniFATSectors > 0 {
		copy(out[(miniFATStart+1)*ss:], mf)
	}
	if miniSectors > 0 {
		copy(out[(miniStart+1)*ss:], mini)
	}
	for _, e := range big {
		copy(out[(int(e.start)+1)*ss:], e.node.Data)
	}
	return out
}

// less orders names as [MS-CFB] 2.6.4 does: shorter first, then by the
// upper-cased name.
func less(a, b string) bool {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	if len(ua) != len(ub) {
		return len(ua) < len(ub)
	}
	return strings.ToUpper(a) < strings.ToUpper(b)
}
