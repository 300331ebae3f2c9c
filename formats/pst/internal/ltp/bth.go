package ltp

import (
	"encoding/binary"
)

// BTH is a B-tree on a heap ([MS-PST] 2.3.2): records of KeySize bytes of
// key and DataSize bytes of data, under BTHHEADER at a heap allocation.
type BTH struct {
	heap     *Heap
	KeySize  int
	DataSize int
	levels   int
	root     HID
}

// maxLevels bounds a BTH's index levels (bIdxLevels); real ones have at
// most two.
const maxLevels = 8

// BTH opens the B-tree on heap whose header is at hid.
func (h *Heap) BTH(hid HID) (*BTH, error) {
	b, err := h.Item(hid)
	if err != nil {
		return nil, err
	}
	if len(b) < 8 || b[0] != SigBTH {
		return nil, h.node.corrupt("B-tree-on-heap header at %#x missing", uint32(hid))
	}
	t := &BTH{heap: h, KeySize: int(b[1]), DataSize: int(b[2]), levels: int(b[3]), root: HID(binary.LittleEndian.Uint32(b[4:]))}
	switch t.KeySize {
	case 2, 4, 8, 16:
	default:
		return nil, h.node.corrupt("B-tree-on-heap key size %d", t.KeySize)
	}
	if t.DataSize < 1 || t.DataSize > 32 || t.levels > maxLevels {
		return nil, h.node.corrupt("B-tree-on-heap data size %d, %d levels", t.DataSize, t.levels)
	}
	return t, nil
}

// Each calls fn with every record's key and data, in key order. The slices
// are only valid during the call.
func (t *BTH) Each(fn func(key, data []byte) error) error {
	if t.root == 0 {
		return nil // an empty tree
	}
	// Every record takes at least its size in the heap, so the bytes of
	// the node bound a walk even of a tree whose index entries repeat.
	budget := t.heap.node.Tree.Size()
	var visit func(hid HID, level int) error
	visit = func(hid HID, level int) error {
		b, err := t.heap.Item(hid)
		if err != nil {
			return err
		}
		size := t.KeySize + t.DataSize
		if level > 0 {
			size = t.KeySize + 4 // key, hidNextLevel
		}
		if len(b)%size != 0 {
			return t.heap.node.corrupt("B-tree-on-heap records of %d bytes in an allocation of %d", size, len(b))
		}
		if budget -= int64(len(b)); budget < 0 {
			return t.heap.node.corrupt("B-tree-on-heap larger than its heap (a cycle)")
		}
		for i := 0; i < len(b); i += size {
			r := b[i : i+size]
			if level > 0 {
				if err := visit(HID(binary.LittleEndian.Uint32(r[t.KeySize:])), level-1); err != nil {
					return err
				}
				continue
			}
			if err := fn(r[:t.KeySize], r[t.KeySize:]); err != nil {
				return err
			}
		}
		return nil
	}
	return visit(t.root, t.levels)
}
