package ltp

import (
	"encoding/binary"
	"fmt"

	"mailferry/formats/pst/internal/ndb"
)

// Column describes one column of a table context (TCOLDESC, [MS-PST]
// 2.3.4.2).
type Column struct {
	ID, Type uint16
	Offset   int // in the row
	Size     int // bytes in the row
	Bit      int // cell existence bit
}

// TC is a table context ([MS-PST] 2.3.4): rows of fixed size, each with a
// row ID, the columns' values (or HNIDs of them) and a bitmap of the
// cells that exist.
type TC struct {
	heap    *Heap
	Columns []Column
	rowSize int
	cebOff  int
	rows    uint32 // hnidRows
	count   int    // rows, from the row index
}

// TC reads the node as a table context.
func (n *Node) TC() (*TC, error) {
	h, err := n.Heap()
	if err != nil {
		return nil, err
	}
	if h.ClientSig != SigTC {
		return nil, n.corrupt("heap of type %#02x, want a table context", h.ClientSig)
	}
	b, err := h.Item(h.UserRoot)
	if err != nil {
		return nil, err
	}
	// TCINFO: bType, cCols, rgib[4], hidRowIndex, hnidRows, hidIndex, columns.
	if len(b) < 22 || b[0] != SigTC {
		return nil, n.corrupt("table context header missing")
	}
	le := binary.LittleEndian
	cols := int(b[1])
	if len(b) < 22+8*cols {
		return nil, n.corrupt("table context header of %d bytes for %d columns", len(b), cols)
	}
	tc := &TC{heap: h, cebOff: int(le.Uint16(b[6:])), rowSize: int(le.Uint16(b[8:])), rows: le.Uint32(b[14:])}
	cebSize := (cols + 7) / 8
	if tc.rowSize < 4 || tc.cebOff+cebSize > tc.rowSize {
		return nil, n.corrupt("table rows of %d bytes with the cell bitmap at %d", tc.rowSize, tc.cebOff)
	}
	for i := range cols {
		d := b[22+8*i:]
		c := Column{Type: le.Uint16(d), ID: le.Uint16(d[2:]), Offset: int(le.Uint16(d[4:])), Size: int(d[6]), Bit: int(d[7])}
		if c.Offset+c.Size > tc.cebOff || c.Bit >= 8*cebSize {
			return nil, n.corrupt("table column %#04x at [%d, %d) bit %d outside rows of %d bytes", c.ID, c.Offset, c.Offset+c.Size, c.Bit, tc.rowSize)
		}
		tc.Columns = append(tc.Columns, c)
	}
	// The row index maps row IDs to row numbers; its size is the number of
	// rows in use.
	ix, err := h.BTH(HID(le.Uint32(b[10:])))
	if err != nil {
		return nil, err
	}
	err = ix.Each(func(_, _ []byte) error { tc.count++; return nil })
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// Len is the number of rows.
func (tc *TC) Len() int { return tc.count }

// Row is one row of a table; it is only valid during the call that
// passed it.
type Row struct {
	tc   *TC
	data []byte
}

// ID is the row ID (dwRowID): for hierarchy and contents tables the NID
// of the folder or message, for attachment tables the attachment's
// subnode.
func (r *Row) ID() uint32 { return binary.LittleEndian.Uint32(r.data) }

// Has reports whether the row has a value in column c.
func (r *Row) Has(c Column) bool {
	return r.data[r.tc.cebOff+c.Bit/8]&(0x80>>(c.Bit%8)) != 0
}

// Value says where the row's value in column c is. Fixed-size values of
// up to eight bytes are in the row; others through an HNID ([MS-PST]
// 2.3.4.4.1).
func (r *Row) Value(c Column) (Ref, error) {
	cell := r.data[c.Offset : c.Offset+c.Size]
	if n := FixedSize(c.Type); n > 0 && n <= 8 {
		if c.Size != n {
			return Ref{}, r.tc.heap.node.corrupt("table column %#04x of type %#04x has %d bytes, want %d", c.ID, c.Type, c.Size, n)
		}
		return Ref{Inline: cell}, nil
	}
	if c.Size != 4 {
		return Ref{}, r.tc.heap.node.corrupt("table column %#04x of type %#04x has %d bytes, want an HNID", c.ID, c.Type, c.Size)
	}
	return r.tc.heap.ref(binary.LittleEndian.Uint32(cell))
}

// Find returns the column with the given property ID.
func (tc *TC) Find(id uint16) (Column, bool) {
	for _, c := range tc.Columns {
		if c.ID == id {
			return c, true
		}
	}
	return Column{}, false
}

// Rows calls fn with every row, in table order. The row matrix is a heap
// allocation or a subnode's data tree whose blocks each hold whole rows
// ([MS-PST] 2.3.4.4).
func (tc *TC) Rows(fn func(*Row) error) error {
	if tc.count == 0 || tc.rows == 0 {
		return nil
	}
	done := 0
	each := func(b []byte) error {
		for i := 0; i+tc.rowSize <= len(b) && done < tc.count; i += tc.rowSize {
			done++
			if err := fn(&Row{tc: tc, data: b[i : i+tc.rowSize]}); err != nil {
				return err
			}
		}
		return nil
	}
	var err error
	if IsHID(tc.rows) {
		var b []byte
		if b, err = tc.heap.Item(HID(tc.rows)); err == nil {
			err = each(b)
		}
	} else {
		var t *ndb.Tree
		var s ndb.Node
		if s, err = tc.heap.node.Sub.Lookup(ndb.NID(tc.rows)); err == nil {
			if t, err = tc.heap.node.F.Tree(s.Data); err == nil {
				err = t.Blocks(each)
			}
		}
	}
	if err != nil {
		return err
	}
	if done < tc.count {
		return tc.heap.node.corrupt("table has %d rows in its index but %d in its row matrix", tc.count, done)
	}
	return nil
}

// Node is the node the table belongs to (for its subnodes).
func (tc *TC) Node() *Node { return tc.heap.node }

// String describes the table for debugging.
func (tc *TC) String() string {
	return fmt.Sprintf("table of %d rows, %d columns, rows of %d bytes", tc.count, len(tc.Columns), tc.rowSize)
}
