package mapi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrRTF is returned (wrapped) for compressed RTF that cannot be
// decompressed: a bad header, an unknown compression type, a size or
// checksum that does not match.
var ErrRTF = errors.New("bad compressed RTF")

// MaxRTFSize bounds the decompressed size DecompressRTF accepts, so that
// a corrupt RAWSIZE cannot make a huge buffer.
const MaxRTFSize = 64 << 20

// The two compression types of [MS-OXRTFCP] 2.1.3.1.1.
const (
	rtfCompressed   = 0x75465A4C // "LZFu"
	rtfUncompressed = 0x414C454D // "MELA"
)

// rtfPrebuf is the dictionary's initial content ([MS-OXRTFCP] 2.1.3.1.1):
// common RTF that compressed streams refer to from their first byte.
const rtfPrebuf = `{\rtf1\ansi\mac\deff0\deftab720{\fonttbl;}{\f0\fnil \froman \fswiss \fmodern \fscript \fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\colortbl\red0\green0\blue0` + "\r\n" + `\par \pard\plain\f0\fs20\b\i\u\tab\tx`

// DecompressRTF decompresses the value of PidTagRtfCompressed
// ([MS-OXRTFCP]): a 16-byte header (COMPSIZE, RAWSIZE, COMPTYPE, CRC),
// then either the raw RTF ("MELA") or LZ77-style runs ("LZFu"): a control
// byte whose bits, lowest first, say whether each of the next eight
// tokens is a literal byte or a 2-byte big-endian reference (12-bit
// offset into a 4096-byte circular dictionary, 4-bit length minus 2). A
// reference to the current write position ends the data. The CRC of the
// compressed bytes is checked.
//
// When the checksum does not match or the data is cut short, what could
// be decompressed is returned together with an error wrapping ErrRTF, so
// that a caller may still use it.
func DecompressRTF(b []byte) ([]byte, error) {
	if len(b) < 16 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", ErrRTF, len(b))
	}
	compSize := binary.LittleEndian.Uint32(b[0:])
	rawSize := binary.LittleEndian.Uint32(b[4:])
	compType := binary.LittleEndian.Uint32(b[8:])
	crc := binary.LittleEndian.Uint32(b[12:])
	if rawSize > MaxRTFSize {
		return nil, fmt.Errorf("%w: RAWSIZE %d is over the limit", ErrRTF, rawSize)
	}
	// COMPSIZE counts the bytes after itself; writers pad, and some
	// containers cut the padding, so a mismatch is tolerated as long as
	// the data is there.
	data := b[16:]
	if int64(compSize)-12 >= 0 && int64(compSize)-12 < int64(len(data)) {
		data = data[:compSize-12]
	}
	switch compType {
	case rtfUncompressed:
		if int64(rawSize) > int64(len(data)) {
			return nil, fmt.Errorf("%w: RAWSIZE %d but %d bytes of uncompressed RTF", ErrRTF, rawSize, len(data))
		}
		return data[:rawSize], nil
	case rtfCompressed:
	default:
		return nil, fmt.Errorf("%w: unknown compression type %#08x", ErrRTF, compType)
	}
	out, err := lzfu(data, int(rawSize))
	if err != nil {
		if len(out) == 0 {
			out = nil
		}
		return out, err
	}
	if got := rtfCRC(data); got != crc {
		return out, fmt.Errorf("%w: CRC %#08x, header says %#08x", ErrRTF, got, crc)
	}
	return out, nil
}

func lzfu(data []byte, rawSize int) ([]byte, error) {
	var dict [4096]byte
	copy(dict[:], rtfPrebuf)
	wpos := len(rtfPrebuf)
	// A reference of 2 bytes writes at most 17: the output cannot be more
	// than 9 times the input, whatever RAWSIZE claims.
	out := make([]byte, 0, min(rawSize, 9*len(data)+16))
	i := 0
	for i < len(data) {
		control := data[i]
		i++
		for bit := 0; bit < 8; bit++ {
			if i >= len(data) {
				// Data ended without the end reference: writers that pad
				// to the control byte's boundary do this; take what came.
				return trimRaw(out, rawSize), nil
			}
			if control&(1<<bit) == 0 {
				c := data[i]
				i++
				dict[wpos] = c
				wpos = (wpos + 1) & 4095
				out = append(out, c)
			} else {
				if i+1 >= len(data) {
					return trimRaw(out, rawSize), fmt.Errorf("%w: reference cut at byte %d", ErrRTF, i)
				}
				ref := int(data[i])<<8 | int(data[i+1])
				i += 2
				off, n := ref>>4, ref&15+2
				if off == wpos {
					return trimRaw(out, rawSize), nil
				}
				// Byte by byte: a reference may overlap the bytes it
				// writes (a run repeating a short pattern).
				for k := 0; k < n; k++ {
					c := dict[(off+k)&4095]
					dict[wpos] = c
					wpos = (wpos + 1) & 4095
					out = append(out, c)
				}
			}
			if len(out) > rawSize+16 || len(out) > MaxRTFSize {
				return nil, fmt.Errorf("%w: more than RAWSIZE %d bytes", ErrRTF, rawSize)
			}
		}
	}
	return trimRaw(out, rawSize), nil
}

// trimRaw cuts the output to RAWSIZE: the last run may write past it.
func trimRaw(out []byte, rawSize int) []byte {
	if len(out) > rawSize {
		return out[:rawSize]
	}
	return out
}

var crcTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i)
		for range 8 {
			if c&1 != 0 {
				c = 0xEDB88320 ^ c>>1
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

// rtfCRC is the checksum of [MS-OXRTFCP] 2.1.3.2: CRC-32's table and
// polynomial, but starting from 0 and without the final inversion.
func rtfCRC(b []byte) uint32 {
	var crc uint32
	for _, c := range b {
		crc = crcTable[byte(crc)^c] ^ crc>>8
	}
	return crc
}
