package msg

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"

	"mailferry/formats/mapi"
	"mailferry/formats/msg/cfb"
)

// nameMap is a file's named property mapping (the __nameid_version1.0
// storage, [MS-OXMSG] 2.2.3): which property ID (0x8000 and up) each
// named property has in this file. Attached messages share their file's.
type nameMap struct {
	byLID map[lidKey]mapi.PropID
	byStr map[strKey]mapi.PropID
	fold  map[strKey]mapi.PropID // names upper-cased, for a case-insensitive second try
}

type lidKey struct {
	set mapi.GUID
	lid uint32
}

type strKey struct {
	set  mapi.GUID
	name string
}

// maxNames bounds the entries read from the mapping.
const maxNames = 1 << 16

// readNameMap reads the mapping; a file without one (or with a damaged
// one) has no named properties, which is not an error: they are extras.
func readNameMap(f *cfb.File) *nameMap {
	m := &nameMap{byLID: map[lidKey]mapi.PropID{}, byStr: map[strKey]mapi.PropID{}, fold: map[strKey]mapi.PropID{}}
	st, ok := f.Lookup(f.Root(), nameIDStorage)
	if !ok || !st.IsStorage() {
		return m
	}
	read := func(name string) []byte {
		e, ok := f.Lookup(st, name)
		if !ok || e.Type != cfb.TypeStream {
			return nil
		}
		b, err := f.ReadAll(e, 16<<20)
		if err != nil {
			return nil
		}
		return b
	}
	guids := read("__substg1.0_00020102")
	entries := read("__substg1.0_00030102")
	stringsStream := read("__substg1.0_00040102")
	le := binary.LittleEndian
	for i := 0; i+8 <= len(entries) && i/8 < maxNames; i += 8 {
		// An entry: the LID or the string's offset, then the property
		// index (high 16 bits), the GUID index (bits 1-15) and the kind
		// (bit 0: 1 for a string name).
		idOrOffset := le.Uint32(entries[i:])
		info := le.Uint32(entries[i+4:])
		isString := info&1 != 0
		guidIndex := int(info>>1) & 0x7FFF
		id := mapi.PropID(0x8000 + info>>16)
		var set mapi.GUID
		switch {
		case guidIndex == 1:
			set = mapi.PSMAPI
		case guidIndex == 2:
			set = mapi.PSPublicStrings
		case guidIndex >= 3 && 16*(guidIndex-3)+16 <= len(guids):
			copy(set[:], guids[16*(guidIndex-3):])
		default:
			continue
		}
		if !isString {
			m.byLID[lidKey{set, idOrOffset}] = id
			continue
		}
		off := int(idOrOffset)
		if off < 0 || off+4 > len(stringsStream) {
			continue
		}
		n := int(le.Uint32(stringsStream[off:]))
		if n < 0 || n > len(stringsStream)-off-4 {
			continue
		}
		raw := stringsStream[off+4 : off+4+n]
		u := make([]uint16, len(raw)/2)
		for j := range u {
			u[j] = le.Uint16(raw[2*j:])
		}
		name := strings.TrimRight(string(utf16.Decode(u)), "\x00")
		m.byStr[strKey{set, name}] = id
		m.fold[strKey{set, strings.ToUpper(name)}] = id
	}
	return m
}

func (m *nameMap) resolve(n mapi.Name) (mapi.PropID, bool) {
	if n.Str == "" {
		id, ok := m.byLID[lidKey{n.Set, n.LID}]
		return id, ok
	}
	if id, ok := m.byStr[strKey{n.Set, n.Str}]; ok {
		return id, true
	}
	id, ok := m.fold[strKey{n.Set, strings.ToUpper(n.Str)}]
	return id, ok
}
