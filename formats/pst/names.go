package pst

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"

	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
)

// Property sets with fixed numbers in the name-to-ID map ([MS-PST]
// 2.4.7.1: wGuid 1 and 2), in stored byte order.
var (
	psMAPI          = mapi.GUID{0x28, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
	psPublicStrings = mapi.GUID{0x29, 0x03, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46}
)

type lidKey struct {
	set mapi.GUID
	lid uint32
}

type strKey struct {
	set  mapi.GUID
	name string
}

// nameMap is the store's name-to-ID map ([MS-PST] 2.4.7): which property
// ID (0x8000 and up) each named property has in this file.
type nameMap struct {
	byLID map[lidKey]mapi.PropID
	byStr map[strKey]mapi.PropID
}

func (m *nameMap) resolve(n mapi.Name) (mapi.PropID, bool) {
	if n.Str == "" && n.Set == psMAPI && n.LID < 0x8000 {
		return mapi.PropID(n.LID), true // PS_MAPI names are the tags themselves
	}
	if n.Str != "" {
		id, ok := m.byStr[strKey{n.Set, n.Str}]
		return id, ok
	}
	id, ok := m.byLID[lidKey{n.Set, n.LID}]
	return id, ok
}

// Properties of the name-to-ID map's property context ([MS-PST] 2.4.7).
const (
	propNameidStreamGUID   mapi.PropID = 0x0002
	propNameidStreamEntry  mapi.PropID = 0x0003
	propNameidStreamString mapi.PropID = 0x0004
)

// maxNamed bounds the entries read: property IDs 0x8000..0xFFFE.
const maxNamed = 0x7FFF

func readNameMap(pc *ltp.PC) (*nameMap, error) {
	get := func(id mapi.PropID) ([]byte, error) {
		p, ok := pc.Find(uint16(id))
		if !ok {
			return nil, nil
		}
		r, err := pc.Value(p)
		if err != nil {
			return nil, err
		}
		return r.Bytes(maxValue)
	}
	guids, err := get(propNameidStreamGUID)
	if err != nil {
		return nil, err
	}
	entries, err := get(propNameidStreamEntry)
	if err != nil {
		return nil, err
	}
	strs, err := get(propNameidStreamString)
	if err != nil {
		return nil, err
	}
	m := &nameMap{byLID: map[lidKey]mapi.PropID{}, byStr: map[strKey]mapi.PropID{}}
	le := binary.LittleEndian
	for i := 0; i+8 <= len(entries) && i/8 < maxNamed; i += 8 {
		e := entries[i:]
		// NAMEID: dwPropertyID, then N (bit 0) and wGuid (bits 1-15), wPropIdx.
		prop, kind, idx := le.Uint32(e), le.Uint16(e[4:]), le.Uint16(e[6:])
		id := mapi.PropID(0x8000 + uint32(idx))
		if uint32(idx) >= maxNamed {
			continue
		}
		var set mapi.GUID
		switch g := int(kind >> 1); g {
		case 0: // no property set
		case 1:
			set = psMAPI
		case 2:
			set = psPublicStrings
		default:
			k := (g - 3) * 16
			if k+16 > len(guids) {
				return nil, fmt.Errorf("named property %#04x refers to property set %d of %d", uint16(id), g-3, len(guids)/16)
			}
			copy(set[:], guids[k:])
		}
		if kind&1 == 0 {
			m.byLID[lidKey{set, prop}] = id
			continue
		}
		// A string name: its offset in the string stream, where a 4-byte
		// length precedes the UTF-16LE name.
		off := int64(prop)
		if off+4 > int64(len(strs)) {
			return nil, fmt.Errorf("named property %#04x: name at %d beyond %d bytes", uint16(id), off, len(strs))
		}
		n := int64(le.Uint32(strs[off:]))
		if n%2 != 0 || off+4+n > int64(len(strs)) {
			return nil, fmt.Errorf("named property %#04x: name of %d bytes at %d beyond %d bytes", uint16(id), n, off, len(strs))
		}
		u := make([]uint16, n/2)
		for j := range u {
			u[j] = le.Uint16(strs[off+4+int64(2*j):])
		}
		m.byStr[strKey{set, string(utf16.Decode(u))}] = id
	}
	return m, nil
}
