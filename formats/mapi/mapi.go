// Package mapi is the property model that Outlook's files share: a .pst or
// .ost file (package pst) and a .msg file (package msg) both store a
// message as MAPI properties, with tables of recipients and attachments,
// and attachments that may themselves be messages. The containers differ;
// what a property means does not. This package holds what they share: the
// types below, the known property IDs, and the one conversion from
// properties to an Internet message (MIME), its flags, keywords and date,
// so that a message converts the same from either container.
//
// The files: props.go (property IDs, property sets), value.go and
// codepage.go (decoding values and 8-bit text), state.go (flags,
// categories, received date, message class), rtf.go ([MS-OXRTFCP]
// decompression), deencap.go ([MS-OXRTFEX] de-encapsulation), mime.go,
// header.go and attach.go (WriteMIME), notes.go (what a conversion could
// not rebuild). docs/outlook.md explains the conversion's choices.
//
// Nothing here knows about IMAP or terminals.
package mapi

import (
	"io"
)

// PropID is a property's 16-bit identifier. IDs from 0x8000 up are named
// properties, whose meaning is given per store by a name (see Name and
// Properties.Resolve).
type PropID uint16

// PropType is the type of a property's value ([MS-OXCDATA] 2.11.1). A
// multi-valued type is the single type with MultipleFlag set.
type PropType uint16

// Property types used by Outlook's files.
const (
	TypeInteger16    PropType = 0x0002
	TypeInteger32    PropType = 0x0003
	TypeFloating32   PropType = 0x0004
	TypeFloating64   PropType = 0x0005
	TypeCurrency     PropType = 0x0006
	TypeFloatingTime PropType = 0x0007
	TypeErrorCode    PropType = 0x000A
	TypeBoolean      PropType = 0x000B
	TypeObject       PropType = 0x000D
	TypeInteger64    PropType = 0x0014
	TypeString8      PropType = 0x001E // 8-bit string in the message's code page
	TypeString       PropType = 0x001F // UTF-16LE string
	TypeTime         PropType = 0x0040 // FILETIME: 100 ns since 1601-01-01 UTC
	TypeGUID         PropType = 0x0048
	TypeBinary       PropType = 0x0102
	MultipleFlag     PropType = 0x1000
)

// Value is one property's value as the container stores it: the type and
// the little-endian bytes (strings without a terminating NUL; for
// multi-valued types, the container's encoding as [MS-PST] 2.3.3.4.2
// gives it, which both containers share).
type Value struct {
	Type PropType
	Data []byte
}

// GUID is a property set's identifier, in its stored (little-endian
// fields) byte order.
type GUID [16]byte

// Name names a named property: a property set and either a numeric ID
// (LID) or a string name.
type Name struct {
	Set  GUID
	LID  uint32 // used when Str is empty
	Str  string
	Kind PropType // the expected value type, for the caller's convenience
}

// Properties are one object's properties: a message, a recipient row, an
// attachment, a folder.
type Properties interface {
	// Get returns a property's whole value; ok is false when the object
	// has no such property. Values may be large (a body): callers that
	// only stream should use Open.
	Get(id PropID) (v Value, ok bool, err error)
	// Open streams a property's value (Binary, String, String8 or the data
	// of an Object): attachment data of any size goes through Open, never
	// through memory. ok is false when the property is absent.
	Open(id PropID) (rc io.ReadCloser, size int64, ok bool, err error)
	// Resolve returns the ID a named property has in this store; ok is
	// false when the store knows no such name.
	Resolve(n Name) (id PropID, ok bool)
}

// Message is a message with its recipient and attachment tables.
type Message interface {
	Properties
	// Recipients returns the rows of the recipient table, in order.
	Recipients() ([]Properties, error)
	// Attachments returns the message's attachments, in order.
	Attachments() ([]Attachment, error)
}

// Attachment is one attachment of a message.
type Attachment interface {
	Properties
	// Embedded opens the attached message of an attachment whose
	// PidTagAttachMethod is afEmbeddedMessage (5).
	Embedded() (Message, error)
}
