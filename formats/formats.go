// Package formats defines the common message stream that every mail-store
// reader produces (Mailbox, Message, Pos, Reader) and the small helpers that
// readers share: line-ending normalization with bounded memory (Spool),
// header parsing and lenient date parsing.
//
// Nothing in formats or its sub-packages knows about IMAP, terminals or
// progress bars. Readers only ever read their sources.
package formats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Folder is a folder path as a list of names, e.g. {"Archive", "2019"}.
// It is never pre-joined: the uploader joins it with the server's delimiter.
type Folder []string

// String joins the path with "/" for display (scan, logs, --include globs).
func (f Folder) String() string { return strings.Join(f, "/") }

// Equal reports whether two paths have the same elements.
func (f Folder) Equal(g Folder) bool {
	if len(f) != len(g) {
		return false
	}
	for i := range f {
		if f[i] != g[i] {
			return false
		}
	}
	return true
}

// Special says what role a folder plays for the mail client. The uploader
// maps it to the server's SPECIAL-USE folders (RFC 6154) or to INBOX.
type Special string

// Folder roles. SpecialNone is an ordinary folder.
const (
	SpecialNone      Special = ""
	SpecialInbox     Special = "inbox"
	SpecialSent      Special = "sent"
	SpecialDrafts    Special = "drafts"
	SpecialTrash     Special = "trash"
	SpecialJunk      Special = "junk"
	SpecialArchive   Special = "archive"
	SpecialTemplates Special = "templates"
	SpecialOutbox    Special = "outbox" // unsent messages; still uploaded as a folder
)

// Mailbox describes one source folder. Readers return every mailbox, empty
// ones too, before the first message.
type Mailbox struct {
	// Account is the account the folder belongs to, for display only
	// ("Local Folders", "pop.example.com"); empty when the store has no accounts.
	Account string
	// Path is the folder's path inside its account, with real (decoded,
	// unhashed) names. Inboxes are {"Inbox"} or {"INBOX"}; Special says so.
	Path Folder
	// Special is the folder's role, derived from the store's own metadata
	// where it has any, else from conventional names.
	Special Special
	// Store names the kind of store and layout ("thunderbird-mbox",
	// "thunderbird-maildir", "mbox", "maildir", "emlx", "eml").
	Store string
	// Location is the file or directory holding the folder's messages, for
	// messages and reports. It may be empty for folders that exist only as
	// parents.
	Location string
	// Skip, when not empty, says why the folder is not mail (an Outlook
	// calendar or contacts folder): it is not created on the server, and
	// each of its items comes as a Message with this Skip reason, so that
	// the counts still add up.
	Skip string
	// FlagSource says where the folder's flags and keywords were taken
	// from, for stores that keep them in two places (Thunderbird: the
	// folder's .msf summary, or the X-Mozilla-Status headers in the mbox
	// when the summary is missing or out of date), and FlagNote why, in
	// words. The reader sets both when it opens the folder, before the
	// folder's first message; they are final once the folder has been
	// read. Both are empty for stores that keep flags in one place.
	FlagSource FlagSource
	FlagNote   string
}

// FlagSource is where a folder's flags and keywords come from.
type FlagSource string

// Where flags come from, for stores that keep them in two places.
const (
	FlagsUnknown     FlagSource = ""        // one place only, or not read yet
	FlagsFromSummary FlagSource = "summary" // the store's index (Thunderbird's .msf)
	FlagsFromHeaders FlagSource = "headers" // the messages' own headers (X-Mozilla-Status)
)

// DisplayPath is the path scan shows and --include/--exclude match: the
// account (when there is one) followed by the folder path.
func (m *Mailbox) DisplayPath() string {
	if m.Account == "" {
		return m.Path.String()
	}
	return m.Account + "/" + m.Path.String()
}

// DateSource says where a message's received date came from, so that scan
// can count them and nobody mistakes a guess for a fact.
type DateSource string

// Where a received date came from.
const (
	DateUnknown   DateSource = ""                // no date found: the server will use its own time
	DateReceived  DateSource = "received-header" // top-most Received: header
	DateHeader    DateSource = "date-header"     // Date: header
	DateFromLine  DateSource = "from-line"       // mbox From_ line
	DateStore     DateSource = "store-metadata"  // the store's own record (emlx plist date-received)
	DateFileMtime DateSource = "file-mtime"      // modification time of the file
	DateFileName  DateSource = "file-name"       // time encoded in the file name (Maildir)
)

// Pos says where a message is, precisely enough to open the file there.
// Line and Offset are the message's first line (1-based) and byte offset;
// Index is the message's 1-based number within its file or folder.
type Pos struct {
	File   string
	Line   int64
	Offset int64
	Index  int
}

// String renders a position as "file:line (#index)", leaving out parts
// that are unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += fmt.Sprintf(":%d", p.Line)
	}
	if p.Index > 0 {
		s += fmt.Sprintf(" (#%d)", p.Index)
	}
	return s
}

// Message is one message of the common stream.
type Message struct {
	Mailbox *Mailbox
	// Flags holds IMAP system flags (\Seen, \Answered, \Flagged, \Draft) and
	// keywords ($Forwarded, $label1, custom tags) in IMAP spelling.
	// \Deleted and \Recent never appear here.
	Flags []string
	// Date is the received date (the IMAP internal date); zero means unknown,
	// never time.Now().
	Date       time.Time
	DateSource DateSource
	// Size is the exact number of bytes Open yields.
	Size int64
	Pos  Pos
	// Open returns the message bytes as IMAP wants them: CRLF line endings,
	// ending in CRLF, mbox quoting undone, store-private headers removed.
	// It stays valid until the following call to Next, and may be called
	// more than once.
	Open func() (io.ReadCloser, error)
	// Skip, when not empty, says why this message is not to be uploaded
	// (for example SkipDeleted). Skipped messages are still reported so that
	// the counts add up; Open may be nil for them.
	Skip string
	// Incomplete, when not empty, says why the bytes are not the complete
	// original message (a partial POP3 download, a missing attachment). Such
	// messages are uploaded, but reported as problems.
	Incomplete string
	// Quarantine, when not empty, says why these bytes are not a message
	// to upload although they must not be lost (text before the first
	// From_ line of an mbox file): they are never sent, but kept in the
	// quarantine folder (or convert's equivalent) and counted as
	// quarantined with this reason. Open yields the bytes as they are.
	Quarantine string
}

// Reasons for skipping a message, shared by the readers so that reports
// group them.
const (
	SkipDeleted = "deleted in the source (awaiting compaction or purge)"
	SkipNotMail = "not a mail message"
	SkipEmpty   = "empty file"
)

// Reader yields every mailbox (empty ones too), then messages; Next ends
// with io.EOF. A Message's Open stays valid until the following call to Next.
// Readers check ctx between messages and return ctx.Err() unwrapped.
type Reader interface {
	Mailboxes(ctx context.Context) ([]*Mailbox, error)
	Next(ctx context.Context) (*Message, error)
	Close() error
}

// Warning is something a reader noticed that the user should know but that
// does not stop the run: garbage before the first From_ line, a folder name
// that could not be recovered, a byte count that did not match.
type Warning struct {
	Pos     Pos
	Message string
}

func (w Warning) String() string {
	if w.Pos.File == "" {
		return w.Message
	}
	return w.Pos.String() + ": " + w.Message
}

// Options are shared by every reader constructor.
type Options struct {
	// Warn receives warnings; nil discards them.
	Warn func(Warning)
	// TempDir is where messages too large for memory are spooled; "" means
	// os.TempDir().
	TempDir string
	// MemLimit is the largest message kept in memory; larger ones are
	// spooled to a temporary file. 0 means DefaultMemLimit.
	MemLimit int
	// SizesOnly says the caller needs each message's header, size, flags
	// and date but never its bytes (scan, counting): a reader may then
	// skip keeping the bytes, and Message.Open may return ErrNoBytes.
	// Size stays exact.
	SizesOnly bool
	// OnFile, when not nil, is told about every file whose content a
	// reader turns into messages, as the reader opens it: err is nil when
	// the file was read, else why it could not be (the file looks like
	// mail but was not taken). detect uses it to account for every file
	// under a source. Metadata a reader consults (summaries, keyword
	// lists, plists) is not reported.
	OnFile func(path string, err error)
}

// ReportFile tells o.OnFile, if set, that the reader read path (err nil)
// or could not read it.
func (o Options) ReportFile(path string, err error) {
	if o.OnFile != nil {
		o.OnFile(path, err)
	}
}

// ErrNoBytes is what Message.Open returns when the reader was opened with
// Options.SizesOnly and did not keep the message's bytes.
var ErrNoBytes = errors.New("message bytes not kept (read for sizes only)")

// DefaultMemLimit bounds the memory one message may take before it is
// spooled to disk.
const DefaultMemLimit = 4 << 20

// Warnf reports a warning through o.Warn, if set.
func (o Options) Warnf(pos Pos, format string, args ...any) {
	if o.Warn != nil {
		o.Warn(Warning{Pos: pos, Message: fmt.Sprintf(format, args...)})
	}
}

// MessageError is an error about one message; it carries the message's
// position so that the user can open the file there.
type MessageError struct {
	Pos Pos
	Op  string
	Err error
}

func (e *MessageError) Error() string { return fmt.Sprintf("%v: %s: %v", e.Pos, e.Op, e.Err) }
func (e *MessageError) Unwrap() error { return e.Err }
