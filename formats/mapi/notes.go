package mapi

import (
	"fmt"
	"strings"
)

// NoteKind says what a Note is about, so that callers can tell a loss
// (the message is incomplete) from a harmless reconstruction.
type NoteKind int

// What could not be rebuilt exactly.
const (
	// NoteHeaderRebuilt: the store kept no original header, so the header
	// was made from the message's properties.
	NoteHeaderRebuilt NoteKind = iota + 1
	// NoteHeaderAdded: the original header lacked a field (Date, From,
	// Subject, Message-ID) that the properties had; it was added.
	NoteHeaderAdded
	// NoteHeaderRepaired: the original header had lines that were not
	// header fields (dropped) or lines too long for mail (refolded).
	NoteHeaderRepaired
	// NoteNoAddress: a sender or recipient has no e-mail address in the
	// store (an Exchange-only address); it is kept by name.
	NoteNoAddress
	// NoteBodyDamaged: a body was used although it did not check out (an
	// RTF checksum that did not match).
	NoteBodyDamaged
	// NoteBodyLost: a body could not be read and is not in the message.
	NoteBodyLost
	// NoteAttachmentLeftOut: an attachment's content is not in the message
	// (a link to a file, an OLE object, unreadable, nested too deeply).
	NoteAttachmentLeftOut
	// NoteKeywordChanged: a category is not a valid IMAP keyword (a space,
	// a character beyond ASCII); it is uploaded with '_' for those.
	NoteKeywordChanged
)

// Loss reports whether notes of this kind mean that content of the
// original is missing from the rebuilt message.
func (k NoteKind) Loss() bool { return k == NoteBodyLost || k == NoteAttachmentLeftOut }

// Note is one thing WriteMIME could not rebuild exactly, in plain words
// for a report.
type Note struct {
	Kind NoteKind
	Text string
}

func (n Note) String() string { return n.Text }

// Notes are a message's notes, in the order they arose.
type Notes []Note

// Incomplete returns the notes that mean a loss, joined with "; " (for
// formats.Message.Incomplete), or "" when nothing is missing.
func (ns Notes) Incomplete() string { return ns.join(true) }

// Warnings returns the notes a reader should pass on as warnings: those
// that are not losses but say the original was damaged (a header line
// that was not a field, an RTF body that did not check out) or that the
// user will see something changed (a category renamed to be a keyword).
// Notes that only describe a reconstruction (a header made from
// properties, a name without an address) are common and are not warnings.
func (ns Notes) Warnings() []string {
	var out []string
	for _, n := range ns {
		switch n.Kind {
		case NoteHeaderRepaired, NoteBodyDamaged, NoteKeywordChanged:
			out = append(out, n.Text)
		}
	}
	return out
}

// String joins every note with "; ".
func (ns Notes) String() string { return ns.join(false) }

func (ns Notes) join(lossOnly bool) string {
	var parts []string
	for _, n := range ns {
		if !lossOnly || n.Kind.Loss() {
			parts = append(parts, n.Text)
		}
	}
	return strings.Join(parts, "; ")
}

func (ns *Notes) add(kind NoteKind, prefix, format string, args ...any) {
	*ns = append(*ns, Note{Kind: kind, Text: prefix + fmt.Sprintf(format, args...)})
}
