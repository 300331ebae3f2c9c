package mbox

import (
	"bytes"
	"context"
	"io"

	"mailferry/formats"
)

const (
	// bufSize is the read buffer. Lines longer than this are handled in
	// pieces; the separator heuristic looks ahead at most this far.
	bufSize = 256 << 10
	// maxFromLine bounds a separator line (without its line ending). A
	// sender of at most 254 bytes and a date fit easily (Thunderbird's
	// MboxParser.ParseFromLine has the same limits); a longer line starting
	// "From " is body text.
	maxFromLine = 4096
	// maxHeader bounds the header bytes kept for Entry.Header; the message
	// bytes are not affected.
	maxHeader = 1 << 20
	// maxFieldName bounds what the separator heuristic accepts as a header
	// field name; real ones are far shorter.
	maxFieldName = 256
	// sizesOnlyChunk is how many message bytes SizesOnly gathers before it
	// counts and drops them.
	sizesOnlyChunk = 64 << 10
)

var (
	fromPrefix = []byte("From ")
	utf8BOM    = []byte("\xef\xbb\xbf")
	// contentLength is the field MboxCL2 trusts.
	contentLength = []byte("Content-Length")
)

// Entry is one message as split from an mbox file.
type Entry struct {
	// Pos holds File, Line and Offset of the From_ line (or of the first
	// byte, for a message without one), and the 1-based Index.
	Pos formats.Pos
	// FromLine is the From_ line without line ending; "" if the message had
	// none.
	FromLine string
	// Header holds all header fields as found (stripped ones included).
	Header formats.Header
	// Size is the exact size of the bytes Open yields.
	Size int64
	// Open yields the message: CRLF line endings, a final CRLF (unless the
	// message is empty), quoting undone, StripFields removed. It is valid
	// until the next call to Next and may be called more than once.
	Open func() (io.ReadCloser, error)
	// End is the input offset just past this message: its From_ line, its
	// lines and the blank line that precedes the next separator all lie in
	// [Pos.Offset, End). Consecutive entries tile the input; only a byte
	// order mark and blank lines before the first message are reported by
	// a warning instead.
	End int64
	// Quarantine, when not empty, says why these bytes are not a message:
	// text before the first From_ line (QuarantineLeadingText). Open then
	// yields the bytes exactly as they are in the input (no CRLF, no
	// unquoting), Header and FromLine are empty, and Pos.Index is 0.
	Quarantine string
}

// QuarantineLeadingText is the reason given for text before the first
// From_ line of a file that is not a message: it is kept and counted, but
// never uploaded.
const QuarantineLeadingText = "text before the first From_ line of an mbox file, not a message"

// Splitter splits one mbox stream into messages. It reads the stream once,
// front to back, with memory bounded by its buffer and MemLimit (larger
// messages are spooled to a temporary file). It is not safe for concurrent
// use.
type Splitter struct {
	lineBuffer
	message // the message being built

	ra   io.ReaderAt // for Content-Length confirmation (MboxCL2); may be nil
	base int64       // offset in ra of src's first byte
	file string
	opts SplitOptions

	strip [][]byte

	started bool
	warned  [warnKinds]int // warnings given per kind
	atFrom  bool           // the line at the read position is the next message's From_ line
	index   int
	rdSeen  bool // evidence of mboxrd
	err     error
	// slow turns off bodyRun and the raw header (tests compare both ways)
	slow bool
}

// NewSplitter returns a Splitter reading r; file names the source in
// positions and warnings. When r is also an io.ReaderAt and io.Seeker (an
// *os.File), MboxCL2 uses it to check Content-Length values that point past
// the read buffer; Next never moves r's position except by reading.
func NewSplitter(r io.Reader, file string, opts SplitOptions) *Splitter {
	return newSplitter(r, file, opts, bufSize)
}

// newSplitter is NewSplitter with a chosen buffer size, so that tests can
// reach the long-line and lookahead limits with small inputs.
func newSplitter(r io.Reader, file string, opts SplitOptions, size int) *Splitter {
	limit := opts.MemLimit
	if limit <= 0 {
		limit = formats.DefaultMemLimit
	}
	if opts.SizesOnly {
		// The bytes are counted and dropped in pieces that stay in the
		// CPU cache (flush).
		limit = sizesOnlyChunk
	}
	s := &Splitter{
		lineBuffer: lineBuffer{src: r, buf: make([]byte, size), line: 1, other: '\r', otherAt: -1},
		message:    message{limit: limit, clEnd: -1},
		file:       file,
		opts:       opts,
	}
	s.beforeMove = s.keepRawHeader
	if ra, ok := r.(io.ReaderAt); ok {
		if sk, ok := r.(io.Seeker); ok {
			if pos, err := sk.Seek(0, io.SeekCurrent); err == nil {
				s.ra, s.base = ra, pos
			}
		}
	}
	for _, f := range opts.StripFields {
		s.strip = append(s.strip, []byte(f))
	}
	return s
}

// Variant returns the variant in use: the one configured, or for Auto what
// the file's evidence says so far (MboxRD once a "^>>+From " line or a
// Thunderbird 128+ From_ line was seen, else MboxO).
func (s *Splitter) Variant() Variant {
	if s.opts.Variant != Auto {
		return s.opts.Variant
	}
	if s.rdSeen {
		return MboxRD
	}
	return MboxO
}

// Close releases the spool file, if any. It does not close the underlying
// reader.
func (s *Splitter) Close() error {
	if s.spool != nil {
		return s.spool.Close()
	}
	return nil
}

// Next returns the next message, or io.EOF at the end. Read errors are
// returned as *formats.MessageError with the position of the message being
// read, and end the stream.
func (s *Splitter) Next(ctx context.Context) (*Entry, error) {
	if s.err != nil {
		return nil, s.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.resetMessage(); err != nil {
		s.err = &formats.MessageError{Pos: s.pos(), Op: "reset spool", Err: err}
		return nil, s.err
	}
	if !s.started {
		s.started = true
		leading, err := s.begin()
		if err == nil && leading {
			var e *Entry
			if e, err = s.leadingEntry(); err == nil {
				return e, nil
			}
		}
		if err == nil {
			err = s.resetMessage() // drop the byte order mark and blank lines begin kept
		}
		if err != nil {
			s.err = &formats.MessageError{Pos: formats.Pos{File: s.file, Line: 1}, Op: "keep text before the first From_ line", Err: err}
			return nil, s.err
		}
	}
	line, complete := s.peekLine()
	if line == nil {
		if s.rerr != nil {
			s.err = &formats.MessageError{Pos: s.pos(), Op: "read mbox", Err: s.rerr}
		} else {
			s.err = io.EOF
		}
		s.warnSuppressed()
		return nil, s.err
	}
	s.index++
	e := &Entry{Pos: s.pos()}
	if s.atFrom {
		c := trimEOL(line)
		e.FromLine = string(c)
		if s.opts.Variant == Auto && !s.rdSeen && isTB128FromLine(line, c) {
			s.rdSeen = true
		}
		s.consume(len(line), complete)
		s.atFrom = false
	}
	if err := s.readMessage(e); err != nil {
		s.err = &formats.MessageError{Pos: e.Pos, Op: "spool message", Err: err}
		return nil, s.err
	}
	if s.rerr != nil {
		s.err = &formats.MessageError{Pos: e.Pos, Op: "read mbox", Err: s.rerr}
		return nil, s.err
	}
	e.End = s.off
	if !s.nul && bytes.IndexByte(s.out, 0) >= 0 {
		s.nul = true
	}
	if s.nul {
		// Kept: the uploader decides (some servers, Gmail among them,
		// drop the connection on NUL).
		s.warn(warnNUL, e.Pos, "message contains NUL bytes")
	}
	e.Size = s.spooled + int64(len(s.out))
	if e.Size == 0 {
		s.warn(warnEmpty, e.Pos, "empty message (a From_ line with nothing after it)")
	}
	if err := s.setOpen(e); err != nil {
		s.err = &formats.MessageError{Pos: e.Pos, Op: "spool message", Err: err}
		return nil, s.err
	}
	e.Header = s.header
	if len(e.Header) == 0 && e.Size > 0 {
		s.warn(warnNoHeader, e.Pos, "message has no header fields")
	}
	return e, nil
}

// Kinds of warnings that can repeat in one file. Each is given at most
// maxWarnings times per file; the rest are counted and reported once at the
// end, so that a file written without blank lines or with thousands of
// unescaped From lines does not drown the other warnings.
const (
	warnNUL = iota
	warnEmpty
	warnNoHeader
	warnBadCL
	warnInsideCL
	warnUnescaped
	warnNoBlank
	warnKinds

	maxWarnings = 10
)

var warnKindNames = [warnKinds]string{
	"messages with NUL bytes", "empty messages", "messages without header fields",
	"invalid Content-Length fields", "From_ lines inside a Content-Length",
	"unescaped \"From \" body lines", "From_ lines without a blank line before them",
}

func (s *Splitter) warn(kind int, pos formats.Pos, format string, args ...any) {
	s.warned[kind]++
	if s.warned[kind] <= maxWarnings {
		s.opts.Warnf(pos, format, args...)
	}
}

func (s *Splitter) warnSuppressed() {
	for kind, n := range s.warned {
		if n > maxWarnings {
			s.opts.Warnf(formats.Pos{File: s.file}, "%d more %s (only the first %d were reported)",
				n-maxWarnings, warnKindNames[kind], maxWarnings)
			s.warned[kind] = maxWarnings
		}
	}
}

func (s *Splitter) pos() formats.Pos {
	return formats.Pos{File: s.file, Line: s.line, Offset: s.off, Index: s.index}
}

func (s *Splitter) resetMessage() error {
	s.out = s.out[:0]
	if cap(s.out) > 2*s.limit {
		s.out = nil
	}
	s.hdr = s.hdr[:0]
	s.header, s.hdrDone, s.rawHdr = nil, false, false
	s.spooled, s.nul, s.clEnd, s.haveCL = 0, false, -1, false
	if s.spilled {
		s.spilled = false
		return s.spool.Reset()
	}
	return nil
}

// begin handles the start of the input: a UTF-8 byte order mark, blank
// lines and anything else before the first From_ line. Text that starts
// with header fields is a message without a From_ line (Thunderbird's
// MboxParser does the same: "Missing 'From ' separator"). Anything else up
// to the first separator (a damaged or hand-edited file) is kept, as it
// is, in the message being built, and begin reports true: Next yields it
// as an Entry with Quarantine set, so that it is counted and kept, never
// silently dropped. A byte order mark and blank lines alone are only
// reported by a warning: they hold nothing to keep.
//
// The bytes begin consumes go to the message being built as they are, in
// pieces no larger than the memory limit (flush spools larger ones), so a
// huge unreadable region never sits in memory.
func (s *Splitter) begin() (leading bool, err error) {
	for s.w < len(s.buf) && s.fill() { // enough to see the first line ending
	}
	s.detectLineEndings()
	var what []string
	keep := func(b []byte) error {
		s.out = append(s.out, b...)
		if len(s.out) >= s.limit {
			return s.flush()
		}
		return nil
	}
	if bytes.HasPrefix(s.buf[s.r:s.w], utf8BOM) {
		if err := keep(utf8BOM); err != nil {
			return false, err
		}
		s.consume(len(utf8BOM), false)
		what = append(what, "a UTF-8 byte order mark")
	}
	blank := false
	for {
		line, complete := s.peekLine()
		if line == nil || !complete || len(bytes.Trim(trimEOL(line), " \t")) > 0 {
			break // git's test mboxes start with lines of blanks and tabs
		}
		if err := keep(line); err != nil {
			return false, err
		}
		s.consume(len(line), true)
		blank = true
	}
	if blank {
		what = append(what, "blank lines")
	}
	line, complete := s.peekLine()
	switch {
	case line == nil:
	case complete && s.isFromLine(line):
		s.atFrom = true // BOF: the first From_ line always separates
	case s.headersFollow(0, false):
		s.opts.Warnf(s.pos(), "message without a From_ line at the start of the file; reading it as a message")
	default:
		afterBlank := true // the start of the file counts as one
		for {
			line, complete := s.peekLine()
			if line == nil {
				break
			}
			if complete && s.isFromLine(line) {
				if s.startsMessage(len(line), afterBlank) {
					s.atFrom = true
					break
				}
				line, complete = s.peekLine() // the look ahead may have moved the buffer
			}
			afterBlank = complete && len(trimEOL(line)) == 0
			if err := keep(line); err != nil {
				return false, err
			}
			s.consume(len(line), complete)
		}
		s.opts.Warnf(formats.Pos{File: s.file, Line: 1, Offset: 0},
			"%d bytes before the first From_ line (offsets 0 to %d) are not a message: kept as they are and quarantined, not uploaded",
			s.off, s.off)
		return true, nil
	}
	if s.off > 0 {
		s.opts.Warnf(formats.Pos{File: s.file, Line: 1, Offset: 0},
			"ignored %d bytes before the first From_ line (offsets 0 to %d): %s",
			s.off, s.off, joinAnd(what))
	}
	return false, nil
}

// leadingEntry is the Entry for the text begin kept.
func (s *Splitter) leadingEntry() (*Entry, error) {
	e := &Entry{
		Pos:        formats.Pos{File: s.file, Line: 1, Offset: 0},
		End:        s.off,
		Quarantine: QuarantineLeadingText,
		Size:       s.spooled + int64(len(s.out)),
	}
	if err := s.setOpen(e); err != nil {
		return nil, err
	}
	return e, nil
}

// setOpen gives e the way to open the bytes of the message built.
func (s *Splitter) setOpen(e *Entry) error {
	switch {
	case s.opts.SizesOnly:
		e.Open = func() (io.ReadCloser, error) { return nil, formats.ErrNoBytes }
	case s.spilled:
		if err := s.flush(); err != nil {
			return err
		}
		e.Open = s.spool.Open
	default:
		data := s.out
		e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	return nil
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}
