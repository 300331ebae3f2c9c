package ltp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"mailferry/formats/pst/internal/ndb"
)

// Property types whose size is fixed ([MS-OXCDATA] 2.11.1); every other
// type (strings, binaries, objects, multi-valued) is variable.
func FixedSize(typ uint16) int {
	switch typ {
	case 0x0002: // Integer16
		return 2
	case 0x0003, 0x0004, 0x000A: // Integer32, Floating32, ErrorCode
		return 4
	case 0x000B: // Boolean
		return 1
	case 0x0005, 0x0006, 0x0007, 0x0014, 0x0040: // Floating64, Currency, FloatingTime, Integer64, Time
		return 8
	case 0x0048: // GUID
		return 16
	}
	return 0
}

// Ref says where a property's value is: inline bytes (a small fixed-size
// value, or a heap allocation), or a subnode whose data tree holds it.
type Ref struct {
	Inline []byte
	node   *Node
	sub    ndb.NID // non-zero: the value is this subnode's data
}

// ref resolves an HNID of node n's heap h.
func (h *Heap) ref(hnid uint32) (Ref, error) {
	if IsHID(hnid) {
		b, err := h.Item(HID(hnid))
		return Ref{Inline: b}, err
	}
	return Ref{node: h.node, sub: ndb.NID(hnid)}, nil
}

// Subnode is the subnode holding the value, 0 when the value is inline.
func (r Ref) Subnode() ndb.NID { return r.sub }

func (r Ref) tree() (*ndb.Tree, error) {
	s, err := r.node.Sub.Lookup(r.sub)
	if err != nil {
		return nil, err
	}
	return r.node.F.Tree(s.Data)
}

// Open streams the value and says how large it is.
func (r Ref) Open() (io.Reader, int64, error) {
	if r.sub == 0 {
		return bytes.NewReader(r.Inline), int64(len(r.Inline)), nil
	}
	t, err := r.tree()
	if err != nil {
		return nil, 0, err
	}
	return t.Reader(), t.Size(), nil
}

// ErrTooLarge says a value is larger than the caller's limit for reading
// it whole.
type ErrTooLarge struct{ Size, Limit int64 }

func (e *ErrTooLarge) Error() string {
	return fmt.Sprintf("value of %d bytes exceeds the %d bytes read whole", e.Size, e.Limit)
}

// Bytes reads the whole value, refusing values over limit bytes. Inline
// values are shared with the cache: callers must not change them.
func (r Ref) Bytes(limit int64) ([]byte, error) {
	if r.sub == 0 {
		return r.Inline, nil
	}
	rd, size, err := r.Open()
	if err != nil {
		return nil, err
	}
	if size > limit {
		return nil, &ErrTooLarge{Size: size, Limit: limit}
	}
	// The declared size is checked against the blocks as they are read, so
	// it bounds the allocation only after the limit above.
	b := make([]byte, 0, size)
	buf := bytes.NewBuffer(b)
	if _, err := io.Copy(buf, rd); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Prop is one property of a property context: its ID, type and the
// raw dwValueHnid (the value itself for fixed-size types of up to four
// bytes).
type Prop struct {
	ID   uint16
	Type uint16
	raw  uint32
}

// PC is a property context ([MS-PST] 2.3.3): a BTH from property ID to
// (type, value or HNID).
type PC struct {
	heap  *Heap
	props []Prop // sorted by ID
}

// PC reads the node as a property context.
func (n *Node) PC() (*PC, error) {
	h, err := n.Heap()
	if err != nil {
		return nil, err
	}
	if h.ClientSig != SigPC {
		return nil, n.corrupt("heap of type %#02x, want a property context", h.ClientSig)
	}
	t, err := h.BTH(h.UserRoot)
	if err != nil {
		return nil, err
	}
	if t.KeySize != 2 || t.DataSize != 6 {
		return nil, n.corrupt("property context with %d-byte keys and %d-byte data", t.KeySize, t.DataSize)
	}
	pc := &PC{heap: h}
	le := binary.LittleEndian
	err = t.Each(func(k, d []byte) error {
		pc.props = append(pc.props, Prop{ID: le.Uint16(k), Type: le.Uint16(d), raw: le.Uint32(d[2:])})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(pc.props, func(i, j int) bool { return pc.props[i].ID < pc.props[j].ID })
	return pc, nil
}

// Props lists the properties in ID order.
func (pc *PC) Props() []Prop { return pc.props }

// Find returns the property with the given ID.
func (pc *PC) Find(id uint16) (Prop, bool) {
	i := sort.Search(len(pc.props), func(i int) bool { return pc.props[i].ID >= id })
	if i < len(pc.props) && pc.props[i].ID == id {
		return pc.props[i], true
	}
	return Prop{}, false
}

// Value says where p's value is. Fixed-size values of up to four bytes
// are stored in the record itself; all others through an HNID
// ([MS-PST] 2.3.3.3).
func (pc *PC) Value(p Prop) (Ref, error) {
	if n := FixedSize(p.Type); n > 0 && n <= 4 {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], p.raw)
		return Ref{Inline: b[:n]}, nil
	}
	r, err := pc.heap.ref(p.raw)
	if err != nil {
		return Ref{}, err
	}
	if n := FixedSize(p.Type); n > 0 && (r.sub != 0 || len(r.Inline) != n) {
		return Ref{}, pc.heap.node.corrupt("property %#04x of type %#04x: %d bytes, want %d", p.ID, p.Type, len(r.Inline), n)
	}
	return r, nil
}

// Node is the node the context belongs to (for its subnodes).
func (pc *PC) Node() *Node { return pc.heap.node }
