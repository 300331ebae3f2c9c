package pst

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
	"mailferry/formats/pst/internal/ndb"
)

// maxValue bounds a value read whole through Get. Larger values (an
// attachment of hundreds of megabytes) are read through Open; Get fails
// for them with an error that says so.
const maxValue = 64 << 20

// object is the properties of a message, attachment or folder: a property
// context in the file. It implements mapi.Properties.
type object struct {
	store *Store
	pc    *ltp.PC
}

var _ mapi.Properties = (*object)(nil)

func (o *object) Get(id mapi.PropID) (mapi.Value, bool, error) {
	p, ok := o.pc.Find(uint16(id))
	if !ok {
		return mapi.Value{}, false, nil
	}
	r, err := o.pc.Value(p)
	if err != nil {
		return mapi.Value{}, true, err
	}
	b, err := r.Bytes(maxValue)
	if err != nil {
		return mapi.Value{}, true, fmt.Errorf("property %#04x: %w", uint16(id), err)
	}
	return mapi.Value{Type: mapi.PropType(p.Type), Data: b}, true, nil
}

func (o *object) Open(id mapi.PropID) (io.ReadCloser, int64, bool, error) {
	p, ok := o.pc.Find(uint16(id))
	if !ok {
		return nil, 0, false, nil
	}
	r, err := o.pc.Value(p)
	if err != nil {
		return nil, 0, true, err
	}
	if mapi.PropType(p.Type) == mapi.TypeObject {
		// An object's value is a reference to the subnode holding its data
		// ([MS-PST] 2.3.3.5): the NID and the size.
		nid, _, err := objectRef(r)
		if err != nil {
			return nil, 0, true, fmt.Errorf("property %#04x: %w", uint16(id), err)
		}
		s, err := o.pc.Node().Sub.Lookup(nid)
		if err != nil {
			return nil, 0, true, err
		}
		t, err := o.store.f.Tree(s.Data)
		if err != nil {
			return nil, 0, true, err
		}
		return io.NopCloser(t.Reader()), t.Size(), true, nil
	}
	rd, size, err := r.Open()
	if err != nil {
		return nil, 0, true, err
	}
	return io.NopCloser(rd), size, true, nil
}

func (o *object) Resolve(n mapi.Name) (mapi.PropID, bool) { return o.store.names.resolve(n) }

// objectRef reads the value of an object property: the subnode's NID and
// the object's size ([MS-PST] 2.3.3.5).
func objectRef(r ltp.Ref) (ndb.NID, uint32, error) {
	if len(r.Inline) != 8 || r.Subnode() != 0 {
		return 0, 0, errors.New("object reference is not 8 bytes in the heap")
	}
	return ndb.NID(le32(r.Inline)), le32(r.Inline[4:]), nil
}

// row is one row of a table (a recipient), its values copied out of the
// file so that it outlives the walk of the table.
type row struct {
	store  *Store
	values map[mapi.PropID]mapi.Value
}

var _ mapi.Properties = (*row)(nil)

func (r *row) Get(id mapi.PropID) (mapi.Value, bool, error) {
	v, ok := r.values[id]
	return v, ok, nil
}

func (r *row) Open(id mapi.PropID) (io.ReadCloser, int64, bool, error) {
	v, ok := r.values[id]
	if !ok {
		return nil, 0, false, nil
	}
	return io.NopCloser(bytes.NewReader(v.Data)), int64(len(v.Data)), true, nil
}

func (r *row) Resolve(n mapi.Name) (mapi.PropID, bool) { return r.store.names.resolve(n) }

// maxRowValue bounds a value of a table row copied into memory (a
// recipient's name or address): rows hold small values.
const maxRowValue = 1 << 20

// readRow copies the values of a table row.
func (s *Store) readRow(tc *ltp.TC, r *ltp.Row) (*row, error) {
	out := &row{store: s, values: make(map[mapi.PropID]mapi.Value, len(tc.Columns))}
	for _, c := range tc.Columns {
		if !r.Has(c) {
			continue
		}
		ref, err := r.Value(c)
		if err != nil {
			return nil, err
		}
		b, err := ref.Bytes(maxRowValue)
		if err != nil {
			return nil, fmt.Errorf("table column %#04x: %w", c.ID, err)
		}
		out.values[mapi.PropID(c.ID)] = mapi.Value{Type: mapi.PropType(c.Type), Data: append([]byte(nil), b...)}
	}
	return out, nil
}

// message is a message in the file: its property context and the node
// whose subnodes hold its recipient and attachment tables.
type message struct {
	object
	node  *ltp.Node
	depth int // embedding depth: 0 for a folder's message
}

var _ mapi.Message = (*message)(nil)

// Subnodes of a message ([MS-PST] 2.4.5, 2.4.6).
const (
	nidRecipientTable  ndb.NID = 0x692
	nidAttachmentTable ndb.NID = 0x671
)

func (m *message) table(nid ndb.NID) (*ltp.TC, error) {
	n, err := m.node.SubNode(nid)
	if errors.Is(err, ndb.ErrNotFound) {
		return nil, nil // a message without recipients or attachments
	}
	if err != nil {
		return nil, err
	}
	return n.TC()
}

func (m *message) Recipients() ([]mapi.Properties, error) {
	tc, err := m.table(nidRecipientTable)
	if err != nil || tc == nil {
		return nil, err
	}
	var out []mapi.Properties
	err = tc.Rows(func(r *ltp.Row) error {
		p, err := m.store.readRow(tc, r)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

func (m *message) Attachments() ([]mapi.Attachment, error) {
	tc, err := m.table(nidAttachmentTable)
	if err != nil || tc == nil {
		return nil, err
	}
	var ids []ndb.NID
	err = tc.Rows(func(r *ltp.Row) error {
		ids = append(ids, ndb.NID(r.ID()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]mapi.Attachment, 0, len(ids))
	for _, id := range ids {
		n, err := m.node.SubNode(id)
		if err != nil {
			return nil, fmt.Errorf("attachment %#x: %w", uint32(id), err)
		}
		pc, err := n.PC()
		if err != nil {
			return nil, fmt.Errorf("attachment %#x: %w", uint32(id), err)
		}
		out = append(out, &attachment{object: object{store: m.store, pc: pc}, node: n, depth: m.depth})
	}
	return out, nil
}

// attachment is an attachment's property context; its subnodes hold an
// embedded message.
type attachment struct {
	object
	node  *ltp.Node
	depth int
}

var _ mapi.Attachment = (*attachment)(nil)

// maxEmbedding bounds how deep messages may be attached to messages, so
// that a file whose attachment refers to itself ends.
const maxEmbedding = 16

// ErrNotEmbedded says an attachment holds no message.
var ErrNotEmbedded = errors.New("attachment is not an embedded message")

func (a *attachment) Embedded() (mapi.Message, error) {
	p, ok := a.pc.Find(uint16(propAttachDataObject))
	if !ok || mapi.PropType(p.Type) != mapi.TypeObject {
		return nil, ErrNotEmbedded
	}
	if a.depth >= maxEmbedding {
		return nil, fmt.Errorf("messages embedded more than %d deep", maxEmbedding)
	}
	r, err := a.pc.Value(p)
	if err != nil {
		return nil, err
	}
	nid, _, err := objectRef(r)
	if err != nil {
		return nil, err
	}
	n, err := a.node.SubNode(nid)
	if err != nil {
		return nil, fmt.Errorf("embedded message %#x: %w", uint32(nid), err)
	}
	pc, err := n.PC()
	if err != nil {
		return nil, fmt.Errorf("embedded message %#x: %w", uint32(nid), err)
	}
	return &message{object: object{store: a.store, pc: pc}, node: n, depth: a.depth + 1}, nil
}
