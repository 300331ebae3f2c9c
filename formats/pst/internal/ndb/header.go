// Package ndb reads the node database layer of Outlook's .pst and .ost
// files ([MS-PST] 2.2): the file header, the node and block B-trees (NBT,
// BBT), data blocks with their encodings, data trees (XBLOCK, XXBLOCK)
// and subnode trees (SLBLOCK, SIBLOCK).
//
// Three layouts exist and one File reads them all: ANSI (wVer 14 or 15,
// 32-bit identifiers and offsets, 512-byte pages), Unicode (wVer 23,
// 64-bit, 512-byte pages) and the 4 KiB-page layout Outlook 2013 and later
// write for .ost files (wVer 36). [MS-PST] does not describe the last one;
// what this package relies on was read from real files and is written
// beside the code (pages of 4096 bytes with a 24-byte trailer whose first
// 16 bytes are the Unicode trailer, blocks aligned to 512 bytes with a
// 24-byte trailer that adds the inflated size, block B-tree entries that
// give the inflated size after the stored one, block data that is zlib
// (RFC 1950) compressed when the stored size is smaller than the inflated
// one, and B-tree pages whose entry count and maximum are 16-bit). A block
// of an encoded 4K file is inflated before it is decoded: the encoding
// applies to the block's data and the compression to what is stored. No
// encoded .ost was at hand (the ones seen were not encoded); the order is
// libpff's, the reader that has seen the most real files, and the tests
// check it against pffexport with files written that way.
//
// Everything read from the file is checked before it is trusted: page and
// block trailers (type, signature, CRC, BID), B-tree levels (strictly
// decreasing, so lookups end), the number of pages a walk may visit (at
// most what the file can hold, so a cyclic tree ends), and every size
// against the file's size. Failures are *CorruptError values naming the
// file and the offset.
package ndb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Format is a file's layout.
type Format int

// The layouts ([MS-PST] 2.2.2.6 wVer).
const (
	ANSI      Format = iota + 1 // wVer 14, 15
	Unicode                     // wVer 23
	Unicode4K                   // wVer 36 (Outlook 2013+ .ost)
)

func (f Format) String() string {
	switch f {
	case ANSI:
		return "ANSI"
	case Unicode:
		return "Unicode"
	case Unicode4K:
		return "Unicode 4K"
	}
	return "unknown"
}

// Encodings of data blocks ([MS-PST] 2.2.2.6 bCryptMethod).
const (
	CryptNone    = 0x00 // NDB_CRYPT_NONE
	CryptPermute = 0x01 // NDB_CRYPT_PERMUTE ("compressible")
	CryptCyclic  = 0x02 // NDB_CRYPT_CYCLIC ("high")
)

// Magic is the file's first four bytes, "!BDN" ([MS-PST] 2.2.2.6 dwMagic).
var Magic = []byte("!BDN")

// Client magics ([MS-PST] 2.2.2.6 wMagicClient): "SM" for a .pst, "SO" for
// an .ost ("AB" is an old personal address book, not mail).
const (
	ClientPST = 0x4D53
	ClientOST = 0x4F53
)

// HeaderSize is how many bytes of the file the header may take (the
// Unicode header is 564 bytes, the ANSI one 512).
const HeaderSize = 564

// FormatOf returns the layout a header's wVer names; ok is false for
// anything else (a personal address book, garbage).
func FormatOf(head []byte) (Format, bool) {
	if len(head) < 12 || string(head[:4]) != string(Magic) {
		return 0, false
	}
	switch binary.LittleEndian.Uint16(head[10:]) {
	case 14, 15:
		return ANSI, true
	case 23:
		return Unicode, true
	case 36:
		return Unicode4K, true
	}
	return 0, false
}

// BID identifies a block ([MS-PST] 2.2.2.2). Bit 1 marks an internal block
// (a data tree or subnode tree page); bit 0 is reserved and ignored.
type BID uint64

// Internal reports whether b names an internal (never encoded) block.
func (b BID) Internal() bool { return b&2 != 0 }

func (b BID) key() BID { return b &^ 1 }

// NID identifies a node ([MS-PST] 2.2.2.1): a 5-bit type and an index.
type NID uint32

// Type is the NID's type (NID_TYPE_*).
func (n NID) Type() NIDType { return NIDType(n & 0x1F) }

// NIDType is the type part of a NID.
type NIDType uint8

// Node types ([MS-PST] 2.2.2.1) that the layers above use.
const (
	NIDTypeHID                NIDType = 0x00
	NIDTypeInternal           NIDType = 0x01
	NIDTypeNormalFolder       NIDType = 0x02
	NIDTypeSearchFolder       NIDType = 0x03
	NIDTypeNormalMessage      NIDType = 0x04
	NIDTypeAttachment         NIDType = 0x05
	NIDTypeAssocMessage       NIDType = 0x08
	NIDTypeHierarchyTable     NIDType = 0x0D
	NIDTypeContentsTable      NIDType = 0x0E
	NIDTypeAssocContentsTable NIDType = 0x0F
	NIDTypeAttachmentTable    NIDType = 0x11
	NIDTypeRecipientTable     NIDType = 0x12
)

// WithType returns the NID with the same index and another type: a
// folder's tables share its index ([MS-PST] 2.4.4).
func (n NID) WithType(t NIDType) NID { return n&^0x1F | NID(t) }

// layout holds the sizes that differ between the formats.
type layout struct {
	idSize       int // BID, IB and B-tree key size: 4 or 8
	pageSize     int
	pageTrailer  int // bytes at the page's end: type, signature, CRC, BID (, more)
	btMeta       int // offset of cEnt in a B-tree page
	wideCounts   bool
	blockTrailer int
	blockAlign   int64
	maxBlock     int // largest data a block may hold (after inflating)
}

func layoutOf(f Format) layout {
	switch f {
	case ANSI:
		return layout{idSize: 4, pageSize: 512, pageTrailer: 12, btMeta: 496, blockTrailer: 12, blockAlign: 64, maxBlock: 8192 - 12}
	case Unicode:
		return layout{idSize: 8, pageSize: 512, pageTrailer: 16, btMeta: 488, blockTrailer: 16, blockAlign: 64, maxBlock: 8192 - 16}
	default:
		// Outlook 2013 .ost: 4 KiB pages, entry counts of 16 bits, blocks on
		// 512-byte boundaries; a block's inflated size is 16-bit.
		return layout{idSize: 8, pageSize: 4096, pageTrailer: 24, btMeta: 4056, wideCounts: true, blockTrailer: 24, blockAlign: 512, maxBlock: 65535}
	}
}

// Header is what the reader needs of the file header ([MS-PST] 2.2.2.6).
type Header struct {
	Format   Format
	Client   uint16 // ClientPST or ClientOST
	Version  uint16 // wVer
	Crypt    byte   // bCryptMethod
	FileEOF  int64  // ROOT.ibFileEof
	NBT, BBT BREF   // roots of the node and block B-trees
}

// BREF is a reference to a page or block: its BID and file offset.
type BREF struct {
	BID BID
	IB  int64
}

// crc computes the CRC of [MS-PST] 5.3: the reflected CRC-32 polynomial
// of IEEE 802.3 with an initial value of 0 and no final inversion, which
// is Go's crc32 with both inversions undone.
func crc(b []byte) uint32 { return ^crc32.Update(0xFFFFFFFF, crc32.IEEETable, b) }

// signature computes a page's or block's wSig ([MS-PST] 5.5) from the low
// 32 bits of its offset and BID.
func signature(ib int64, bid BID) uint16 {
	v := uint32(ib) ^ uint32(bid)
	return uint16(v>>16) ^ uint16(v)
}

// ErrNotPST says the file does not start with a PST header of a known
// version.
var ErrNotPST = errors.New("not an Outlook .pst or .ost file (no !BDN header of a known version)")

// ParseHeader reads the header from head (at least HeaderSize bytes, or
// the whole file when shorter). It checks the magic, the version, the
// header CRCs and the encoding.
func ParseHeader(head []byte) (Header, error) { return parseHeader(head, false) }

func parseHeader(head []byte, unchecked bool) (Header, error) {
	format, ok := FormatOf(head)
	if !ok {
		return Header{}, ErrNotPST
	}
	var h Header
	h.Format = format
	le := binary.LittleEndian
	h.Client = le.Uint16(head[8:])
	h.Version = le.Uint16(head[10:])
	if h.Client != ClientPST && h.Client != ClientOST {
		return Header{}, fmt.Errorf("%w: client signature %#04x is neither a .pst nor an .ost", ErrNotPST, h.Client)
	}
	need := 512
	if format != ANSI {
		need = HeaderSize
	}
	if len(head) < need {
		return Header{}, fmt.Errorf("header is %d bytes, want %d", len(head), need)
	}
	// dwCRCPartial covers the 471 bytes after the first 8 ([MS-PST] 2.2.2.6).
	if got, want := crc(head[8:8+471]), le.Uint32(head[4:]); got != want && !unchecked {
		return Header{}, fmt.Errorf("header CRC is %#08x, want %#08x", got, want)
	}
	if format == ANSI {
		h.FileEOF = int64(le.Uint32(head[168:]))
		h.NBT = BREF{BID(le.Uint32(head[184:])), int64(le.Uint32(head[188:]))}
		h.BBT = BREF{BID(le.Uint32(head[192:])), int64(le.Uint32(head[196:]))}
		h.Crypt = head[461]
	} else {
		// dwCRCFull covers 516 bytes after the first 8.
		if got, want := crc(head[8:8+516]), le.Uint32(head[524:]); got != want && !unchecked {
			return Header{}, fmt.Errorf("header CRC (full) is %#08x, want %#08x", got, want)
		}
		h.FileEOF = int64(le.Uint64(head[184:]))
		h.NBT = BREF{BID(le.Uint64(head[216:])), int64(le.Uint64(head[224:]))}
		h.BBT = BREF{BID(le.Uint64(head[232:])), int64(le.Uint64(head[240:]))}
		h.Crypt = head[513]
	}
	switch h.Crypt {
	case CryptNone, CryptPermute, CryptCyclic:
	default:
		return Header{}, fmt.Errorf("unknown encoding bCryptMethod %#02x", h.Crypt)
	}
	return h, nil
}
