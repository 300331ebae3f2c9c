// Package mbox reads mbox files of every common variant (mboxo, mboxrd,
// mboxcl, mboxcl2): the Splitter turns one file into messages (FORMATS.md
// 4.4), and Reader presents one mbox file as one mailbox of the common
// message stream, with flags from mutt/Dovecot-style Status headers.
package mbox

import (
	"context"
	"errors"
	"io"
	"time"

	"mailferry/formats"
)

// Variant is the mbox quoting convention of a file (FORMATS.md 4.1).
type Variant int

// The variants a Splitter knows.
const (
	Auto    Variant = iota // decide per file (FORMATS.md 4.3 heuristic)
	MboxO                  // remove one '>' only from "^>From "
	MboxRD                 // remove one '>' from "^>+From "
	MboxCL2                // trust Content-Length, no unquoting
	Raw                    // no unquoting at all
)

// SplitOptions configure a Splitter.
type SplitOptions struct {
	formats.Options // Warn, TempDir, MemLimit
	Variant         Variant
	// StripFields are header fields removed from the message bytes
	// (case-insensitive), e.g. X-Mozilla-Status, X-Mozilla-Status2,
	// X-Mozilla-Keys.
	StripFields []string
}

// Entry is one message as split from an mbox file.
type Entry struct {
	// Pos holds File, Line and Offset of the From_ line (or of the first
	// byte), and the 1-based Index.
	Pos formats.Pos
	// FromLine is the From_ line without line ending; "" if the message had
	// none.
	FromLine string
	// Header holds all header fields as found (stripped ones included).
	Header formats.Header
	// Size is the exact size of the bytes Open yields.
	Size int64
	// Open yields the message: CRLF, final CRLF, unquoted, StripFields
	// removed. It is valid until the next call to Next.
	Open func() (io.ReadCloser, error)
}

// Splitter splits one mbox stream into messages.
type Splitter struct {
	file string
	opts SplitOptions
	r    io.Reader
}

// NewSplitter returns a Splitter reading r; file names the source in
// positions and warnings.
func NewSplitter(r io.Reader, file string, opts SplitOptions) *Splitter {
	return &Splitter{file: file, opts: opts, r: r}
}

// Next returns the next message, or io.EOF at the end.
func (s *Splitter) Next(ctx context.Context) (*Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("mbox: not implemented yet")
}

// Close releases the spool. It does not close the underlying reader.
func (s *Splitter) Close() error { return nil }

// ParseFromLine splits "From sender date..." into sender and date; a date
// without a zone is in loc.
func ParseFromLine(line string, loc *time.Location) (sender string, t time.Time, ok bool) {
	return "", time.Time{}, false
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	SplitOptions
	// Location is the zone of From_ line dates that carry none; nil means
	// UTC.
	Location *time.Location
}

// Reader reads one mbox file as one mailbox and implements formats.Reader.
type Reader struct{}

// Open opens the mbox file at path as the mailbox box (nil: one named after
// the file).
func Open(path string, box *formats.Mailbox, opts ReaderOptions) (*Reader, error) {
	return nil, errors.New("mbox: not implemented yet")
}

// Mailboxes returns the one mailbox.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	return nil, errors.New("mbox: not implemented yet")
}

// Next returns the next message, or io.EOF.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	return nil, errors.New("mbox: not implemented yet")
}

// Close closes the file.
func (r *Reader) Close() error { return nil }

var _ formats.Reader = (*Reader)(nil)
