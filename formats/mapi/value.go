package mapi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrType is returned (wrapped) when a value does not have a type the
// decoding function accepts.
var ErrType = errors.New("property has an unexpected type")

// ErrMalformed is returned (wrapped) when a value's bytes do not fit its
// type (a 3-byte Integer32, a multi-valued count past the end).
var ErrMalformed = errors.New("malformed property value")

// Base returns the type without MultipleFlag.
func (t PropType) Base() PropType { return t &^ MultipleFlag }

// Multi reports whether t is a multi-valued type.
func (t PropType) Multi() bool { return t&MultipleFlag != 0 }

// FixedSize is the size of one value of a fixed-size type (ignoring
// MultipleFlag), 0 for the variable-size ones (strings, binaries,
// objects).
func (t PropType) FixedSize() int { return fixedSize(t) }

func fixedSize(t PropType) int {
	switch t.Base() {
	case TypeInteger16:
		return 2
	case TypeInteger32, TypeFloating32, TypeErrorCode:
		return 4
	case TypeBoolean:
		return 2 // [MS-OXCDATA] 2.11.1: a 16-bit value; containers may pad it
	case TypeFloating64, TypeCurrency, TypeFloatingTime, TypeInteger64, TypeTime:
		return 8
	case TypeGUID:
		return 16
	}
	return 0
}

// Integer decodes an Integer16, Integer32, Integer64, ErrorCode or
// Boolean value. Containers store fixed-size values in a slot that may be
// wider than the type (a .msg file keeps every Integer32 in 8 bytes):
// only the type's own bytes are read.
func Integer(v Value) (int64, error) {
	switch v.Type {
	case TypeInteger16:
		if len(v.Data) < 2 {
			return 0, fmt.Errorf("%w: Integer16 of %d bytes", ErrMalformed, len(v.Data))
		}
		return int64(int16(binary.LittleEndian.Uint16(v.Data))), nil
	case TypeBoolean:
		if len(v.Data) < 1 {
			return 0, fmt.Errorf("%w: Boolean of %d bytes", ErrMalformed, len(v.Data))
		}
		if v.Data[0] != 0 || (len(v.Data) > 1 && v.Data[1] != 0) {
			return 1, nil
		}
		return 0, nil
	case TypeInteger32, TypeErrorCode:
		if len(v.Data) < 4 {
			return 0, fmt.Errorf("%w: Integer32 of %d bytes", ErrMalformed, len(v.Data))
		}
		return int64(int32(binary.LittleEndian.Uint32(v.Data))), nil
	case TypeInteger64, TypeCurrency:
		if len(v.Data) < 8 {
			return 0, fmt.Errorf("%w: Integer64 of %d bytes", ErrMalformed, len(v.Data))
		}
		return int64(binary.LittleEndian.Uint64(v.Data)), nil
	}
	return 0, fmt.Errorf("%w: %#04x where an integer was expected", ErrType, uint16(v.Type))
}

// Boolean decodes a Boolean value (any non-zero is true); integers are
// accepted too, as some writers store flags that way.
func Boolean(v Value) (bool, error) {
	n, err := Integer(v)
	return n != 0, err
}

// filetimeUnixEpoch is 1970-01-01 in FILETIME units (100 ns since 1601).
const filetimeUnixEpoch = 116444736000000000

// Time decodes a Time value (FILETIME: 100-nanosecond intervals since
// 1601-01-01 UTC) in UTC. A zero FILETIME and MAPI's "no date"
// (4501-01-01, and anything from the year 4000 on) decode to the zero
// time.Time.
func Time(v Value) (time.Time, error) {
	if v.Type != TypeTime {
		return time.Time{}, fmt.Errorf("%w: %#04x where a time was expected", ErrType, uint16(v.Type))
	}
	if len(v.Data) < 8 {
		return time.Time{}, fmt.Errorf("%w: Time of %d bytes", ErrMalformed, len(v.Data))
	}
	return filetime(binary.LittleEndian.Uint64(v.Data)), nil
}

func filetime(ft uint64) time.Time {
	if ft == 0 || ft > math.MaxInt64 {
		return time.Time{}
	}
	d := int64(ft) - filetimeUnixEpoch
	t := time.Unix(d/1e7, (d%1e7)*100).UTC()
	if t.Year() >= 4000 {
		return time.Time{}
	}
	return t
}

// String decodes a String (UTF-16LE) or String8 (in code page cp, see
// Codepage) value to UTF-8. A terminating NUL, which some writers store,
// is dropped; invalid UTF-16 becomes U+FFFD. A Binary value is decoded
// as String8: some writers store text that way.
func String(v Value, cp int) (string, error) {
	switch v.Type {
	case TypeString:
		return utf16le(v.Data), nil
	case TypeString8, TypeBinary:
		return Decode(trimNUL8(v.Data), cp), nil
	}
	return "", fmt.Errorf("%w: %#04x where a string was expected", ErrType, uint16(v.Type))
}

func utf16le(b []byte) string {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	u := make([]uint16, n)
	ascii := true
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
		if u[i] >= utf8.RuneSelf {
			ascii = false
		}
	}
	if ascii {
		out := make([]byte, n)
		for i, c := range u {
			out[i] = byte(c)
		}
		return string(out)
	}
	return string(utf16.Decode(u))
}

func trimNUL8(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// Strings decodes a multi-valued String or String8 value (the encoding of
// [MS-PST] 2.3.3.4.2: a count, the offsets, then the values). A
// single-valued string gives a one-element slice.
func Strings(v Value, cp int) ([]string, error) {
	switch v.Type {
	case TypeString, TypeString8:
		s, err := String(v, cp)
		return []string{s}, err
	case TypeString | MultipleFlag, TypeString8 | MultipleFlag:
		items, err := MultiValues(v)
		if err != nil {
			return nil, err
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, err := String(Value{Type: v.Type.Base(), Data: it}, cp)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: %#04x where strings were expected", ErrType, uint16(v.Type))
}

// maxMultiValues bounds the count of a multi-valued property, so that a
// corrupt count cannot make a huge slice.
const maxMultiValues = 1 << 16

// MultiValues splits a multi-valued value into its items' bytes. Fixed-
// size types are the values back to back; variable-size ones (strings,
// binaries) have a 4-byte count, that many 4-byte offsets from the
// value's start, then the data ([MS-PST] 2.3.3.4.2).
func MultiValues(v Value) ([][]byte, error) {
	if !v.Type.Multi() {
		return nil, fmt.Errorf("%w: %#04x is not multi-valued", ErrType, uint16(v.Type))
	}
	if size := fixedSize(v.Type); size > 0 {
		if len(v.Data)%size != 0 || len(v.Data)/size > maxMultiValues {
			return nil, fmt.Errorf("%w: %d bytes of %d-byte values", ErrMalformed, len(v.Data), size)
		}
		var out [][]byte
		for i := 0; i+size <= len(v.Data); i += size {
			out = append(out, v.Data[i:i+size])
		}
		return out, nil
	}
	d := v.Data
	if len(d) < 4 {
		return nil, fmt.Errorf("%w: multi-valued property of %d bytes", ErrMalformed, len(d))
	}
	count := binary.LittleEndian.Uint32(d)
	if count > maxMultiValues || uint64(4+4*count) > uint64(len(d)) {
		return nil, fmt.Errorf("%w: %d values in %d bytes", ErrMalformed, count, len(d))
	}
	out := make([][]byte, count)
	for i := range out {
		start := binary.LittleEndian.Uint32(d[4+4*i:])
		end := uint32(len(d))
		if i+1 < int(count) {
			end = binary.LittleEndian.Uint32(d[4+4*(i+1):])
		}
		if start < 4+4*count || start > end || end > uint32(len(d)) {
			return nil, fmt.Errorf("%w: value %d at %d..%d of %d bytes", ErrMalformed, i, start, end, len(d))
		}
		out[i] = d[start:end]
	}
	return out, nil
}

// EncodeMulti is the inverse of MultiValues for variable-size types:
// containers that store the items separately (a .msg file) use it to hand
// out a multi-valued value in the shared encoding.
func EncodeMulti(items [][]byte) []byte {
	head := 4 + 4*len(items)
	size := head
	for _, it := range items {
		size += len(it)
	}
	out := make([]byte, head, size)
	binary.LittleEndian.PutUint32(out, uint32(len(items)))
	off := head
	for i, it := range items {
		binary.LittleEndian.PutUint32(out[4+4*i:], uint32(off))
		off += len(it)
		out = append(out, it...)
	}
	return out
}
