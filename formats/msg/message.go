package msg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"mailferry/formats/mapi"
	"mailferry/formats/msg/cfb"
)

// ErrNotMsg is returned (wrapped) for a compound file that is not an
// Outlook message (a Word document, a damaged .msg).
var ErrNotMsg = errors.New("not an Outlook message")

// Limits against damaged or hostile files.
const (
	// maxValue bounds a property read whole (Get): bodies and headers.
	// Attachment data is streamed through Open and has no limit.
	maxValue = 128 << 20
	// maxPropStream bounds a __properties_version1.0 stream.
	maxPropStream = 16 << 20
	// maxMultiItems bounds the values of one multi-valued property.
	maxMultiItems = 1 << 16
)

// Stream and storage names of [MS-OXMSG] 2.2.
const (
	propStreamName = "__properties_version1.0"
	nameIDStorage  = "__nameid_version1.0"
	recipPrefix    = "__recip_version1.0_#"
	attachPrefix   = "__attach_version1.0_#"
	substgPrefix   = "__substg1.0_"
)

// objKind is the kind of object a storage holds; it decides the size of
// its property stream's header ([MS-OXMSG] 2.4.1).
type objKind int

const (
	kindTop objKind = iota
	kindEmbedded
	kindRecipient
	kindAttachment
)

func (k objKind) headerSize() int {
	switch k {
	case kindTop:
		return 32
	case kindEmbedded:
		return 24
	}
	return 8
}

// propEntry is one entry of a property stream: the type, and for
// fixed-size types the value itself.
type propEntry struct {
	typ   mapi.PropType
	value [8]byte
}

// object is one storage's properties: the message, a recipient, an
// attachment, or an attached message. It implements mapi.Properties.
type object struct {
	f       *cfb.File
	e       *cfb.Entry
	names   *nameMap
	kind    objKind
	props   map[mapi.PropID]propEntry
	streams map[string]*cfb.Entry // children by upper-cased name
	depth   int                   // nesting of attached messages
}

func newObject(f *cfb.File, e *cfb.Entry, names *nameMap, kind objKind, depth int) (*object, error) {
	o := &object{f: f, e: e, names: names, kind: kind, props: map[mapi.PropID]propEntry{}, streams: map[string]*cfb.Entry{}}
	o.depth = depth
	for _, c := range f.Children(e) {
		o.streams[strings.ToUpper(c.Name)] = c
	}
	ps, ok := o.streams[strings.ToUpper(propStreamName)]
	if !ok || ps.Type != cfb.TypeStream {
		return nil, fmt.Errorf("%w: %s missing", ErrNotMsg, propStreamName)
	}
	b, err := f.ReadAll(ps, maxPropStream)
	if err != nil {
		return nil, err
	}
	// [MS-OXMSG] 2.4.2: after the header, 16-byte entries: the property
	// tag (type in the low 16 bits, ID in the high), flags, then the
	// value (fixed-size types) or its size (the others).
	hs := kind.headerSize()
	if len(b) < hs {
		// Writers that leave the header of an attached message at 32
		// bytes, or cut it: read what entries there are.
		hs = len(b)
	}
	for i := hs; i+16 <= len(b); i += 16 {
		tag := binary.LittleEndian.Uint32(b[i:])
		id, typ := mapi.PropID(tag>>16), mapi.PropType(tag&0xFFFF)
		if _, dup := o.props[id]; dup {
			continue
		}
		var pe propEntry
		pe.typ = typ
		copy(pe.value[:], b[i+8:i+16])
		o.props[id] = pe
	}
	return o, nil
}

// fixed reports whether a type's value lives in the property stream.
func fixed(t mapi.PropType) bool {
	switch t {
	case mapi.TypeInteger16, mapi.TypeInteger32, mapi.TypeFloating32, mapi.TypeFloating64,
		mapi.TypeCurrency, mapi.TypeFloatingTime, mapi.TypeErrorCode, mapi.TypeBoolean,
		mapi.TypeInteger64, mapi.TypeTime:
		return true
	}
	return false
}

// fallbackTypes are the stream-held types looked for when a property has
// a stream but no entry in the property stream (some writers omit it).
var fallbackTypes = []mapi.PropType{
	mapi.TypeString, mapi.TypeString8, mapi.TypeBinary, mapi.TypeGUID,
	mapi.TypeString | mapi.MultipleFlag, mapi.TypeString8 | mapi.MultipleFlag, mapi.TypeBinary | mapi.MultipleFlag,
	mapi.TypeInteger32 | mapi.MultipleFlag, mapi.TypeInteger64 | mapi.MultipleFlag, mapi.TypeTime | mapi.MultipleFlag,
	mapi.TypeGUID | mapi.MultipleFlag,
}

func streamName(id mapi.PropID, t mapi.PropType) string {
	return fmt.Sprintf("%s%04X%04X", substgPrefix, uint16(id), uint16(t))
}

func (o *object) stream(name string) (*cfb.Entry, bool) {
	e, ok := o.streams[strings.ToUpper(name)]
	return e, ok && e.Type == cfb.TypeStream
}

// typeOf returns the type a property is stored with.
func (o *object) typeOf(id mapi.PropID) (mapi.PropType, bool) {
	if pe, ok := o.props[id]; ok {
		return pe.typ, true
	}
	for _, t := range fallbackTypes {
		if _, ok := o.stream(streamName(id, t)); ok {
			return t, true
		}
	}
	return 0, false
}

// Get implements mapi.Properties.
func (o *object) Get(id mapi.PropID) (mapi.Value, bool, error) {
	t, ok := o.typeOf(id)
	if !ok {
		return mapi.Value{}, false, nil
	}
	if fixed(t) {
		v := o.props[id].value
		return mapi.Value{Type: t, Data: v[:]}, true, nil
	}
	if t.Multi() && t.FixedSize() == 0 {
		data, ok, err := o.multi(id, t)
		return mapi.Value{Type: t, Data: data}, ok, err
	}
	if t == mapi.TypeObject {
		return mapi.Value{}, false, nil // a storage, reached through Embedded
	}
	e, ok := o.stream(streamName(id, t))
	if !ok {
		// An entry without its stream: an empty value, as writers omit
		// the stream of an empty string.
		return mapi.Value{Type: t, Data: nil}, true, nil
	}
	b, err := o.f.ReadAll(e, maxValue)
	if err != nil {
		return mapi.Value{}, false, fmt.Errorf("read property %#04x: %w", uint16(id), err)
	}
	return mapi.Value{Type: t, Data: trimTerminator(b, t)}, true, nil
}

// trimTerminator drops the NUL that some writers store at the end of a
// string's stream ([MS-OXMSG] 2.1.2 counts it in the size, not the
// stream, but both occur).
func trimTerminator(b []byte, t mapi.PropType) []byte {
	switch t.Base() {
	case mapi.TypeString:
		for len(b) >= 2 && b[len(b)-1] == 0 && b[len(b)-2] == 0 {
			b = b[:len(b)-2]
		}
	case mapi.TypeString8:
		for len(b) > 0 && b[len(b)-1] == 0 {
			b = b[:len(b)-1]
		}
	}
	return b
}

// multi reads a multi-valued variable-size property ([MS-OXMSG]
// 2.1.4.2.2): a length stream (4 bytes per string, 8 per binary), then
// one stream per value named with its index, and returns it in the
// shared encoding (mapi.MultiValues).
func (o *object) multi(id mapi.PropID, t mapi.PropType) ([]byte, bool, error) {
	name := streamName(id, t)
	le, ok := o.stream(name)
	if !ok {
		return mapi.EncodeMulti(nil), true, nil
	}
	lengths, err := o.f.ReadAll(le, 8*maxMultiItems)
	if err != nil {
		return nil, false, fmt.Errorf("read property %#04x: %w", uint16(id), err)
	}
	per := 4
	if t.Base() == mapi.TypeBinary {
		per = 8
	}
	count := len(lengths) / per
	items := make([][]byte, 0, count)
	total := 0
	for i := 0; i < count; i++ {
		e, ok := o.stream(fmt.Sprintf("%s-%08X", name, i))
		if !ok {
			items = append(items, nil)
			continue
		}
		b, err := o.f.ReadAll(e, maxValue)
		if err != nil {
			return nil, false, fmt.Errorf("read property %#04x value %d: %w", uint16(id), i, err)
		}
		if total += len(b); total > maxValue {
			return nil, false, fmt.Errorf("property %#04x: values over %d bytes", uint16(id), maxValue)
		}
		items = append(items, trimTerminator(b, t))
	}
	return mapi.EncodeMulti(items), true, nil
}

type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

// Open implements mapi.Properties: it streams a Binary or string
// property's stream. Objects (attached messages, OLE storages) are not
// streams: ok is false for them.
func (o *object) Open(id mapi.PropID) (io.ReadCloser, int64, bool, error) {
	t, ok := o.typeOf(id)
	if !ok || fixed(t) || t.Multi() || t == mapi.TypeObject {
		return nil, 0, false, nil
	}
	e, ok := o.stream(streamName(id, t))
	if !ok {
		return nopCloser{strings.NewReader("")}, 0, true, nil
	}
	r, err := o.f.Open(e)
	if err != nil {
		return nil, 0, false, fmt.Errorf("open property %#04x: %w", uint16(id), err)
	}
	return nopCloser{r}, e.Size, true, nil
}

// Resolve implements mapi.Properties.
func (o *object) Resolve(n mapi.Name) (mapi.PropID, bool) { return o.names.resolve(n) }

// message is a message storage: the file's root, or an attached message.
type message struct{ *object }

// Recipients implements mapi.Message.
func (m message) Recipients() ([]mapi.Properties, error) {
	var out []mapi.Properties
	for _, e := range m.numbered(recipPrefix) {
		r, err := newObject(m.f, e, m.names, kindRecipient, m.depth)
		if err != nil {
			return nil, fmt.Errorf("recipient %s: %w", e.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Attachments implements mapi.Message.
func (m message) Attachments() ([]mapi.Attachment, error) {
	var out []mapi.Attachment
	for _, e := range m.numbered(attachPrefix) {
		a, err := newObject(m.f, e, m.names, kindAttachment, m.depth)
		if err != nil {
			return nil, fmt.Errorf("attachment %s: %w", e.Name, err)
		}
		out = append(out, attachment{a})
	}
	return out, nil
}

// numbered returns the child storages named prefix + 8 hex digits, in
// the order of their numbers.
func (m message) numbered(prefix string) []*cfb.Entry {
	type numbered struct {
		n uint64
		e *cfb.Entry
	}
	var list []numbered
	for _, c := range m.f.Children(m.e) {
		if !c.IsStorage() || len(c.Name) <= len(prefix) || !strings.EqualFold(c.Name[:len(prefix)], prefix) {
			continue
		}
		n, err := strconv.ParseUint(c.Name[len(prefix):], 16, 32)
		if err != nil {
			continue
		}
		list = append(list, numbered{n, c})
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].n < list[j].n })
	out := make([]*cfb.Entry, len(list))
	for i, l := range list {
		out[i] = l.e
	}
	return out
}

// maxNesting bounds attached messages inside attached messages: the
// storage tree of a damaged file may even contain itself.
const maxNesting = 32

type attachment struct{ *object }

// Embedded implements mapi.Attachment: the attached message is the
// storage __substg1.0_3701000D ([MS-OXMSG] 2.2.2.1).
func (a attachment) Embedded() (mapi.Message, error) {
	if a.depth >= maxNesting {
		return nil, fmt.Errorf("%w: attached messages nested more than %d deep", ErrNotMsg, maxNesting)
	}
	e, ok := a.streams[strings.ToUpper(streamName(mapi.PidTagAttachData, mapi.TypeObject))]
	if !ok || !e.IsStorage() {
		return nil, fmt.Errorf("%w: attachment has no attached message storage", ErrNotMsg)
	}
	o, err := newObject(a.f, e, a.names, kindEmbedded, a.depth+1)
	if err != nil {
		return nil, err
	}
	return message{o}, nil
}
