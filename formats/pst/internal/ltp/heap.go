// Package ltp reads the lists, tables and properties layer of .pst and
// .ost files ([MS-PST] 2.3) on top of package ndb: the heap-on-node (HN),
// the B-tree-on-heap (BTH), property contexts (PC) and table contexts
// (TC), with values kept in the heap or in the node's subnodes.
//
// A node's heap is its data tree: every data block is one heap page that
// starts with the offset of its page map, and a heap ID (HID) names a
// page and an allocation in it. Values too large for the heap (over 3580
// bytes) live in a subnode instead, named by a NID where a HID would be
// (an HNID: its low five bits, the NID type, are zero for a HID).
package ltp

import (
	"encoding/binary"
	"fmt"

	"mailferry/formats/pst/internal/ndb"
)

// HID names an allocation in a heap ([MS-PST] 2.3.1.1): 5 bits of type
// (zero), 11 bits of 1-based index, 16 bits of page (block) index.
type HID uint32

// IsHID reports whether an HNID is a heap ID rather than a subnode NID.
func IsHID(hnid uint32) bool { return hnid&0x1F == 0 }

// Client signatures of heaps ([MS-PST] 2.3.1.2 bClientSig).
const (
	SigTC  = 0x7C // table context
	SigBTH = 0xB5 // B-tree on heap
	SigPC  = 0xBC // property context
)

// Node is a node as the LTP layer sees it: its data tree (the heap) and
// its subnodes (the large values).
type Node struct {
	F    *ndb.File
	ID   ndb.NID
	Tree *ndb.Tree
	Sub  ndb.Subnodes
}

// OpenNode opens a node of the node B-tree.
func OpenNode(f *ndb.File, n ndb.Node) (*Node, error) {
	t, err := f.Tree(n.Data)
	if err != nil {
		return nil, err
	}
	return &Node{F: f, ID: n.NID, Tree: t, Sub: f.Subnodes(n.Sub)}, nil
}

// SubNode opens one of the node's subnodes.
func (n *Node) SubNode(nid ndb.NID) (*Node, error) {
	s, err := n.Sub.Lookup(nid)
	if err != nil {
		return nil, err
	}
	return OpenNode(n.F, s)
}

// Heap is a heap-on-node ([MS-PST] 2.3.1).
type Heap struct {
	node      *Node
	ClientSig byte
	UserRoot  HID
}

func (n *Node) corrupt(format string, args ...any) error {
	return &ndb.CorruptError{File: n.F.Name(), Offset: -1, What: fmt.Sprintf("node %#x: ", uint32(n.ID)) + fmt.Sprintf(format, args...)}
}

// Heap reads the node's heap header (HNHDR, [MS-PST] 2.3.1.2).
func (n *Node) Heap() (*Heap, error) {
	b, err := n.Tree.Block(0)
	if err != nil {
		return nil, err
	}
	if len(b) < 12 || b[2] != 0xEC {
		return nil, n.corrupt("not a heap (no 0xEC signature)")
	}
	return &Heap{node: n, ClientSig: b[3], UserRoot: HID(binary.LittleEndian.Uint32(b[4:]))}, nil
}

// Item returns the bytes of a heap allocation; HID 0 is an empty value.
// The slice is shared with the block cache: callers must not change it.
func (h *Heap) Item(hid HID) ([]byte, error) {
	if hid == 0 {
		return nil, nil
	}
	n := h.node
	if !IsHID(uint32(hid)) {
		return nil, n.corrupt("%#x is not a heap ID", uint32(hid))
	}
	index, page := int(hid>>5&0x7FF), int(hid>>16)
	b, err := n.Tree.Block(page)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	if len(b) < 2 {
		return nil, n.corrupt("heap page %d is %d bytes", page, len(b))
	}
	// Every page starts with ibHnpm, the offset of its page map
	// (HNHDR, HNPAGEHDR and HNBITMAPHDR alike).
	pm := int(le.Uint16(b))
	if pm+4 > len(b) {
		return nil, n.corrupt("heap page %d: page map at %d beyond %d bytes", page, pm, len(b))
	}
	count := int(le.Uint16(b[pm:]))
	if index < 1 || index > count || pm+4+2*(count+1) > len(b) {
		return nil, n.corrupt("heap ID %#x: allocation %d of %d on page %d", uint32(hid), index, count, page)
	}
	start := int(le.Uint16(b[pm+4+2*(index-1):]))
	end := int(le.Uint16(b[pm+4+2*index:]))
	if start > end || end > pm {
		return nil, n.corrupt("heap ID %#x: allocation [%d, %d) outside page data of %d bytes", uint32(hid), start, end, pm)
	}
	return b[start:end], nil
}
