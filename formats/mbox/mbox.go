// Package mbox reads mbox files of every common variant (mboxo, mboxrd,
// mboxcl, mboxcl2; FORMATS.md section 4). It owns how an mbox file is split
// into messages, how ">From " quoting is undone, and how the mutt/Dovecot
// status headers become IMAP flags.
//
// The Splitter is the shared core: it turns one mbox stream into messages
// with their From_ line, header and exact CRLF bytes. Other readers
// (Thunderbird) build on it. Reader presents one mbox file as one mailbox of
// the common message stream (formats.Reader).
//
// Where a message begins (FORMATS.md 4.4, Thunderbird's rule in
// MboxMsgInputStream.cpp IsReallyReallyFromLine): a line starting "From " is
// a separator only when the lines after it look like header fields. A
// preceding blank line (or the start of the file) is expected; without one
// the line still separates, with a warning, as Python and old Thunderbird
// would have split there too. A "From " line after a blank line that is not
// followed by header fields is body text (also with a warning): this is the
// unescaped "From Russia with love" of a body, not a new message.
package mbox

import (
	"mailferry/formats"
)

// Variant is the mbox quoting convention of a file (FORMATS.md 4.1).
type Variant int

// The variants a Splitter knows.
//
// Auto applies the FORMATS.md 4.3 heuristic: a file is mboxrd when it has a
// line matching "^>>+From " or a From_ line as Thunderbird 128+ writes it,
// else mboxo. Since mboxo and mboxrd only differ on "^>>+From " lines, and
// the presence of such a line is what makes the heuristic say mboxrd, the
// heuristic unquotes exactly like MboxRD on every line, read in one pass.
// Splitter.Variant reports what the evidence said. Users who know their file
// is mboxo (and has original ">>From " lines) choose MboxO.
const (
	Auto    Variant = iota // decide per file (FORMATS.md 4.3 heuristic)
	MboxO                  // remove one '>' only from "^>From "
	MboxRD                 // remove one '>' from "^>+From "
	MboxCL2                // trust Content-Length, no unquoting
	Raw                    // no unquoting at all
)

var variantNames = [...]string{"auto", "mboxo", "mboxrd", "mboxcl2", "raw"}

// String returns the name used by --mbox-variant.
func (v Variant) String() string {
	if v < 0 || int(v) >= len(variantNames) {
		return "unknown"
	}
	return variantNames[v]
}

// ParseVariant parses a --mbox-variant value ("auto", "mboxo", "mboxrd",
// "mboxcl2", "raw"; "mboxcl" means mboxo quoting with Content-Length
// ignored, so it maps to MboxO).
func ParseVariant(s string) (Variant, bool) {
	if s == "mboxcl" {
		return MboxO, true
	}
	for i, n := range variantNames {
		if n == s {
			return Variant(i), true
		}
	}
	return Auto, false
}

// SplitOptions configure a Splitter.
type SplitOptions struct {
	formats.Options // Warn, TempDir, MemLimit
	Variant         Variant
	// StripFields are header fields removed from the message bytes
	// (case-insensitive), e.g. X-Mozilla-Status, X-Mozilla-Status2,
	// X-Mozilla-Keys. Entry.Header still has them.
	StripFields []string
}
