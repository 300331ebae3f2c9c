package mapi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"time"
	"unicode/utf16"
)

// fakeProps is an in-memory Properties for tests.
type fakeProps struct {
	vals  map[PropID]Value
	names map[string]PropID // key: GUID + "/" + Str or LID
	// failOpen makes Open fail for this ID (an unreadable attachment).
	failOpen map[PropID]bool
}

func props(kv ...any) fakeProps {
	p := fakeProps{vals: map[PropID]Value{}, names: map[string]PropID{}}
	for i := 0; i+1 < len(kv); i += 2 {
		p.vals[kv[i].(PropID)] = kv[i+1].(Value)
	}
	return p
}

func nameKey(n Name) string {
	if n.Str != "" {
		return n.Set.String() + "/" + n.Str
	}
	return n.Set.String() + "#" + string(rune(n.LID))
}

func (p *fakeProps) Get(id PropID) (Value, bool, error) {
	v, ok := p.vals[id]
	return v, ok, nil
}

func (p *fakeProps) Open(id PropID) (io.ReadCloser, int64, bool, error) {
	if p.failOpen[id] {
		return nil, 0, false, errors.New("simulated read failure")
	}
	v, ok := p.vals[id]
	if !ok {
		return nil, 0, false, nil
	}
	return io.NopCloser(bytes.NewReader(v.Data)), int64(len(v.Data)), true, nil
}

func (p *fakeProps) Resolve(n Name) (PropID, bool) {
	id, ok := p.names[nameKey(n)]
	return id, ok
}

type fakeMessage struct {
	fakeProps
	recips []Properties
	atts   []Attachment
}

func (m *fakeMessage) Recipients() ([]Properties, error)  { return m.recips, nil }
func (m *fakeMessage) Attachments() ([]Attachment, error) { return m.atts, nil }

type fakeAttachment struct {
	fakeProps
	embedded *fakeMessage
}

func (a *fakeAttachment) Embedded() (Message, error) {
	if a.embedded == nil {
		return nil, errors.New("no embedded message")
	}
	return a.embedded, nil
}

func ustr(s string) Value {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return Value{Type: TypeString, Data: b}
}

func str8(b []byte) Value { return Value{Type: TypeString8, Data: b} }
func bin(b []byte) Value  { return Value{Type: TypeBinary, Data: b} }

func i32(n int32) Value {
	b := make([]byte, 8) // as .msg files store it: in an 8-byte slot
	binary.LittleEndian.PutUint32(b, uint32(n))
	return Value{Type: TypeInteger32, Data: b}
}

func boolean(v bool) Value {
	b := make([]byte, 8)
	if v {
		b[0] = 1
	}
	return Value{Type: TypeBoolean, Data: b}
}

func ftime(t time.Time) Value {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(t.Unix()*1e7+int64(t.Nanosecond()/100)+filetimeUnixEpoch))
	return Value{Type: TypeTime, Data: b}
}

func multiStr(ss ...string) Value {
	items := make([][]byte, len(ss))
	for i, s := range ss {
		items[i] = ustr(s).Data
	}
	return Value{Type: TypeString | MultipleFlag, Data: EncodeMulti(items)}
}

func recipient(typ int32, name, addrType, email string, extra ...any) Properties {
	p := props(append([]any{PidTagRecipientType, i32(typ), PidTagDisplayName, ustr(name),
		PidTagAddressType, ustr(addrType), PidTagEmailAddress, ustr(email)}, extra...)...)
	return &p
}
