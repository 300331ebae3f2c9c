// Package mbox reads mbox files of every common variant (mboxo, mboxrd,
// mboxcl, mboxcl2). It owns how an mbox file is split into messages, how
// ">From " quoting is undone, and how the mutt/Dovecot status headers
// become IMAP flags.
//
// The Splitter is the shared core: it turns one mbox stream into messages
// with their From_ line, header and exact CRLF bytes. Other readers
// (Thunderbird) build on it. Reader presents one mbox file as one mailbox of
// the common message stream (formats.Reader).
//
// # Where a message begins
//
// A line starting "From " followed by header fields (two, folded lines
// allowed; one, when the From_ line has a sender and a date) starts a
// message. A preceding blank line (or the start of the file) is expected;
// without one the line still separates, with a warning, as Python and old
// Thunderbird would have split there too.
//
// A "From " line after a blank line that is not followed by header fields
// depends on whose file it is (SplitOptions.Separators):
//
//   - In a plain mbox file (EnvelopeSeparators, the default) it starts a
//     message when it carries a complete envelope: a sender and an asctime
//     date with weekday, month, day, time and year, as RFC 4155 describes
//     the From_ line and as mutt (is_from), Python's mailbox module and
//     Apache Tika split. Tika's own simple.mbox test file holds two such
//     messages without header fields. Body text such as "From Russia with
//     love" or "From here on" has no envelope and stays body text. The
//     rest of the corpus (mutt, MimeKit, mox, Perl's Mail::Mbox parsers,
//     git, pipermail archives) splits the same under both rules.
//   - In Thunderbird's own folders (ThunderbirdSeparators), Thunderbird's
//     rule applies (MboxMsgInputStream.cpp, IsReallyReallyFromLine): header
//     fields must follow. Thunderbird wrote bodies unescaped for years, so
//     a body line with an envelope is more likely quoted mail than a new
//     message there.
//
// Body lines that do not separate are kept with a warning ("unescaped
// From in the body").
//
// # Text before the first message
//
// A byte order mark and blank lines before the first From_ line are
// dropped with a warning. Text that starts with header fields is a message
// without a From_ line. Any other text up to the first separator (a
// damaged or hand-edited file, or a file that is no mbox at all) is
// yielded first, as an Entry (and formats.Message) with Quarantine set to
// QuarantineLeadingText: its bytes exactly as in the file, position line 1
// offset 0, spooled like any large message. It is never uploaded, but kept
// and counted.
package mbox

import (
	"mailferry/formats"
)

// Variant is the mbox quoting convention of a file.
type Variant int

// The variants a Splitter knows.
//
// Auto applies this heuristic: a file is mboxrd when it has a
// line matching "^>>+From " or a From_ line as Thunderbird 128+ writes it,
// else mboxo. Since mboxo and mboxrd only differ on "^>>+From " lines, and
// the presence of such a line is what makes the heuristic say mboxrd, the
// heuristic unquotes exactly like MboxRD on every line, read in one pass.
// Splitter.Variant reports what the evidence said. Users who know their file
// is mboxo (and has original ">>From " lines) choose MboxO.
const (
	Auto    Variant = iota // decide per file (the heuristic above)
	MboxO                  // remove one '>' only from "^>From "
	MboxRD                 // remove one '>' from "^>+From "
	MboxCL2                // trust Content-Length, no unquoting
	Raw                    // no unquoting at all
)

var variantNames = [...]string{"auto", "mboxo", "mboxrd", "mboxcl2", "raw"}

// String names the variant, for warnings and tests.
func (v Variant) String() string {
	if v < 0 || int(v) >= len(variantNames) {
		return "unknown"
	}
	return variantNames[v]
}

// Separators says which "From " lines after a blank line start a message
// when no header fields follow them (see the package comment).
type Separators int

// The separator rules a Splitter knows.
const (
	// EnvelopeSeparators: a "From " line with a complete envelope (sender
	// and asctime date) after a blank line starts a message, header
	// fields or not (RFC 4155, mutt, Python's mailbox). The default.
	EnvelopeSeparators Separators = iota
	// ThunderbirdSeparators: only a "From " line followed by header
	// fields starts a message, as Thunderbird reads its own folders.
	ThunderbirdSeparators
)

// SplitOptions configure a Splitter.
type SplitOptions struct {
	formats.Options // Warn, TempDir, MemLimit
	Variant         Variant
	Separators      Separators
	// StripFields are header fields removed from the message bytes
	// (case-insensitive), e.g. X-Mozilla-Status, X-Mozilla-Status2,
	// X-Mozilla-Keys. Entry.Header still has them.
	StripFields []string
}
