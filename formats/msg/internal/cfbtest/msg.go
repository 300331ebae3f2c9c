package cfbtest

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf16"
)

// Prop is one property of a built message. Value is a string (String or
// String8 types; String8 is written as the string's bytes), []byte
// (Binary, or a String8 in some code page), int32 (Integer32), int16,
// int64, bool, time.Time, or []string (multi-valued String).
type Prop struct {
	ID    uint16
	Type  uint16
	Value any
}

// Named maps a named property to its ID in the built file: a property
// set (stored byte order) and a string name or a numeric LID.
type Named struct {
	Set  [16]byte
	Name string // empty: LID
	LID  uint32
	ID   uint16 // 0x8000 and up
}

// Message is a message to build as a .msg file.
type Message struct {
	Props       []Prop
	Recipients  [][]Prop
	Attachments []Attachment
	Named       []Named // only on the top-level message
}

// Attachment is an attachment of a built message; Embedded, when set, is
// written as the attached message storage (set PidTagAttachMethod 5).
type Attachment struct {
	Props    []Prop
	Embedded *Message
}

// Build writes m as a .msg file.
func (m *Message) Build(v4 bool) []byte {
	nodes := m.nodes(32)
	if len(m.Named) > 0 {
		nodes = append(nodes, nameID(m.Named))
	}
	return Build(nodes, v4)
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func substg(id, typ uint16) string { return fmt.Sprintf("__substg1.0_%04X%04X", id, typ) }

// propNodes writes a property stream with a header of headerSize bytes
// (its counts filled in for messages) and the value streams.
func propNodes(props []Prop, header []byte) []*Node {
	le := binary.LittleEndian
	ps := append([]byte{}, header...)
	var nodes []*Node
	for _, p := range props {
		entry := make([]byte, 16)
		le.PutUint32(entry, uint32(p.ID)<<16|uint32(p.Type))
		le.PutUint32(entry[4:], 6)
		switch v := p.Value.(type) {
		case int32:
			le.PutUint32(entry[8:], uint32(v))
		case int16:
			le.PutUint16(entry[8:], uint16(v))
		case int64:
			le.PutUint64(entry[8:], uint64(v))
		case bool:
			if v {
				entry[8] = 1
			}
		case time.Time:
			le.PutUint64(entry[8:], uint64(v.Unix()*1e7+int64(v.Nanosecond()/100)+116444736000000000))
		case string:
			data := []byte(v)
			term := 1
			if p.Type == 0x001F {
				data, term = utf16le(v), 2
			}
			le.PutUint32(entry[8:], uint32(len(data)+term))
			nodes = append(nodes, Stream(substg(p.ID, p.Type), data))
		case []byte:
			le.PutUint32(entry[8:], uint32(len(v)))
			nodes = append(nodes, Stream(substg(p.ID, p.Type), v))
		case []string:
			lengths := make([]byte, 4*len(v))
			for i, s := range v {
				data := utf16le(s)
				le.PutUint32(lengths[4*i:], uint32(len(data)+2))
				nodes = append(nodes, Stream(fmt.Sprintf("%s-%08X", substg(p.ID, p.Type), i), data))
			}
			le.PutUint32(entry[8:], uint32(len(lengths)))
			nodes = append(nodes, Stream(substg(p.ID, p.Type), lengths))
		default:
			panic(fmt.Sprintf("cfbtest: property %#04x: unsupported value %T", p.ID, p.Value))
		}
		ps = append(ps, entry...)
	}
	return append(nodes, Stream("__properties_version1.0", ps))
}

func (m *Message) nodes(headerSize int) []*Node {
	le := binary.LittleEndian
	header := make([]byte, headerSize)
	le.PutUint32(header[8:], uint32(len(m.Recipients)))
	le.PutUint32(header[12:], uint32(len(m.Attachments)))
	le.PutUint32(header[16:], uint32(len(m.Recipients)))
	le.PutUint32(header[20:], uint32(len(m.Attachments)))
	nodes := propNodes(m.Props, header)
	for i, r := range m.Recipients {
		nodes = append(nodes, Storage(fmt.Sprintf("__recip_version1.0_#%08X", i), propNodes(r, make([]byte, 8))...))
	}
	for i, a := range m.Attachments {
		props := a.Props
		if a.Embedded != nil {
			props = append(props, Prop{ID: 0x3701, Type: 0x000D, Value: []byte(nil)})
		}
		kids := propNodes(props, make([]byte, 8))
		if a.Embedded != nil {
			// The object property has a storage, not a stream.
			for j, k := range kids {
				if k.Name == substg(0x3701, 0x000D) {
					kids[j] = Storage(k.Name, a.Embedded.nodes(24)...)
				}
			}
		}
		nodes = append(nodes, Storage(fmt.Sprintf("__attach_version1.0_#%08X", i), kids...))
	}
	return nodes
}

// nameID writes the named property mapping ([MS-OXMSG] 2.2.3).
func nameID(named []Named) *Node {
	le := binary.LittleEndian
	var guids, entries, strs []byte
	guidIndex := map[[16]byte]int{}
	psMAPI := [16]byte{0x28, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
	psPublic := [16]byte{0x29, 0x03, 0x02, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}
	for _, n := range named {
		gi := 0
		switch n.Set {
		case psMAPI:
			gi = 1
		case psPublic:
			gi = 2
		default:
			i, ok := guidIndex[n.Set]
			if !ok {
				i = len(guids)/16 + 3
				guidIndex[n.Set] = i
				guids = append(guids, n.Set[:]...)
			}
			gi = i
		}
		e := make([]byte, 8)
		info := uint32(n.ID-0x8000)<<16 | uint32(gi)<<1
		if n.Name != "" {
			info |= 1
			le.PutUint32(e, uint32(len(strs)))
			name := utf16le(n.Name)
			strs = le.AppendUint32(strs, uint32(len(name)))
			strs = append(strs, name...)
			for len(strs)%4 != 0 {
				strs = append(strs, 0)
			}
		} else {
			le.PutUint32(e, n.LID)
		}
		le.PutUint32(e[4:], info)
		entries = append(entries, e...)
	}
	return Storage("__nameid_version1.0",
		Stream("__substg1.0_00020102", guids),
		Stream("__substg1.0_00030102", entries),
		Stream("__substg1.0_00040102", strs))
}
