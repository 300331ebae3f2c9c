package mbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"

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
	// [Pos.Offset, End). Consecutive entries tile the input; only bytes
	// before the first message are reported by a warning instead.
	End int64
}

// Splitter splits one mbox stream into messages. It reads the stream once,
// front to back, with memory bounded by its buffer and MemLimit (larger
// messages are spooled to a temporary file). It is not safe for concurrent
// use.
type Splitter struct {
	src  io.Reader
	ra   io.ReaderAt // for Content-Length confirmation (MboxCL2); may be nil
	base int64       // offset in ra of src's first byte
	file string
	opts SplitOptions

	strip [][]byte

	// read buffer: unread data is buf[r:w]; off is the input offset of
	// buf[r] and line the 1-based number of the line starting there.
	buf    []byte
	r, w   int
	off    int64
	line   int64
	eof    bool  // src is exhausted: everything left is in buf
	rerr   error // a read error other than io.EOF
	crMode bool  // lines end in a bare CR (old Mac files)
	other  byte  // the line-break byte that may appear inside a line's content
	// otherAt caches the buffer index of the next other byte at or after
	// the last position asked about (s.w when there is none up to s.w);
	// -1 when stale.
	otherAt int

	started bool
	warned  [warnKinds]int // warnings given per kind
	atFrom  bool           // the line at the read position is the next message's From_ line
	index   int
	rdSeen  bool // evidence of mboxrd (FORMATS.md 4.3)
	err     error

	// the message being built
	out     []byte // CRLF bytes not yet spooled
	spooled int64
	spilled bool
	spool   *formats.Spool
	limit   int
	hdr     []byte // header lines, LF-terminated, for formats.ParseHeader
	// rawHdr: the header read so far is still in buf at [hstart, r), so
	// it is parsed from there instead of being copied into hdr line by
	// line; fill copies it into hdr before it moves the buffer.
	rawHdr  bool
	hstart  int
	hdrDone bool
	header  formats.Header
	// slow turns off bodyRun and the raw header (tests compare both ways)
	slow   bool
	nul    bool
	clEnd  int64 // MboxCL2: input offset where Content-Length says the body ends; -1 if unknown
	cl     int64
	haveCL bool
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
		src:     r,
		file:    file,
		opts:    opts,
		buf:     make([]byte, size),
		line:    1,
		limit:   limit,
		other:   '\r',
		clEnd:   -1,
		otherAt: -1,
	}
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
	if !s.started {
		s.started = true
		s.begin()
	}
	if err := s.resetMessage(); err != nil {
		s.err = &formats.MessageError{Pos: s.pos(), Op: "reset spool", Err: err}
		return nil, s.err
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
		// Kept: the uploader decides (Gmail drops the connection on NUL,
		// FORMATS.md 6.8).
		s.warn(warnNUL, e.Pos, "message contains NUL bytes")
	}
	e.Size = s.spooled + int64(len(s.out))
	if e.Size == 0 {
		s.warn(warnEmpty, e.Pos, "empty message (a From_ line with nothing after it)")
	}
	switch {
	case s.opts.SizesOnly:
		e.Open = func() (io.ReadCloser, error) { return nil, formats.ErrNoBytes }
	case s.spilled:
		if err := s.flush(); err != nil {
			s.err = &formats.MessageError{Pos: e.Pos, Op: "spool message", Err: err}
			return nil, s.err
		}
		e.Open = s.spool.Open
	default:
		data := s.out
		e.Open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
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
// MboxParser does the same: "Missing 'From ' separator"); anything else up
// to the first separator is reported by a warning with its byte range and
// skipped, never silently dropped.
func (s *Splitter) begin() {
	for s.w < len(s.buf) && s.fill() { // enough to see the first line ending
	}
	s.detectLineEndings()
	var what []string
	if bytes.HasPrefix(s.buf[s.r:s.w], utf8BOM) {
		s.consume(len(utf8BOM), false)
		what = append(what, "a UTF-8 byte order mark")
	}
	blank := false
	for {
		line, complete := s.peekLine()
		if line == nil || !complete || len(trimEOL(line)) > 0 {
			break
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
		for {
			line, complete := s.peekLine()
			if line == nil {
				break
			}
			if complete && s.isFromLine(line) && s.headersFollow(len(line), true) {
				s.atFrom = true
				break
			}
			s.consume(len(line), complete)
		}
		what = append(what, "text that is not a message")
	}
	if s.off > 0 {
		s.opts.Warnf(formats.Pos{File: s.file, Line: 1, Offset: 0},
			"ignored %d bytes before the first From_ line (offsets 0 to %d): %s",
			s.off, s.off, joinAnd(what))
	}
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

// detectLineEndings decides per file whether lines end in a bare CR (old
// Mac files, FORMATS.md 4.4 step 2): the first line break is a CR not
// followed by LF. LF and CRLF files (and mixtures) split on LF.
func (s *Splitter) detectLineEndings() {
	data := s.buf[s.r:s.w]
	cr := bytes.IndexByte(data, '\r')
	if cr < 0 {
		return
	}
	lf := bytes.IndexByte(data, '\n')
	if (lf < 0 || cr < lf) && cr+1 < len(data) && data[cr+1] != '\n' || (lf < 0 && cr+1 == len(data)) {
		s.crMode, s.other = true, '\n'
	}
}

// readMessage reads the message's lines up to the next separator (left
// unread, with atFrom set) or the end of the input.
func (s *Splitter) readMessage(e *Entry) error {
	var (
		inHeader     = true
		first        = true  // the next line is the message's first line
		afterBlank   = false // the previous line was blank
		pendingBlank = false // a blank line held back: it may belong to the separator
		blankOff     int64
		stripping    = false // the current header field is being removed
		capture      = true  // header lines still go to s.hdr
	)
	s.rawHdr, s.hstart = !s.crMode && !s.slow, s.r
	defer s.endHeader()
	fast := !s.crMode && s.opts.Variant != MboxCL2 && !s.slow
	for {
		if fast && !inHeader && !first && !pendingBlank {
			if err := s.bodyRun(&afterBlank); err != nil {
				return err
			}
		}
		line, complete := s.peekLine()
		if line == nil {
			break // EOF; a held-back blank line is dropped, as Thunderbird does
		}
		if complete && s.isFromLine(line) {
			if s.separates(len(line), afterBlank, pendingBlank, blankOff) {
				s.atFrom = true
				break
			}
			line, complete = s.peekLine() // separates may have moved the buffer
		}
		c := line
		if complete {
			c = trimEOL(line)
		}
		other := s.hasOther(s.r, s.r+len(c))
		lineOff := s.off
		s.consume(len(line), complete)
		if pendingBlank {
			s.out = append(s.out, '\r', '\n')
			pendingBlank = false
		}
		drop := false // this line is not part of the output
		if inHeader {
			switch {
			case len(c) == 0 && complete && first:
				// A message starting with a blank line has no header; the
				// blank line may still be the one before a separator.
				inHeader = false
				s.rawHdr = false
				s.endHeader()
			case len(c) == 0 && complete: // the blank line ending the header
				inHeader = false
				s.endHeader()
				if s.haveCL {
					s.clEnd = s.off + s.cl
				}
				s.out = append(s.out, '\r', '\n')
				afterBlank = true
				continue
			case c[0] == ' ' || c[0] == '\t': // folded continuation
				drop = stripping
			default:
				name, ok := fieldName(c)
				if !ok {
					// Not a header field: the body starts without a blank line.
					inHeader, capture = false, false
					s.endHeader()
					break
				}
				stripping = s.stripped(name)
				drop = stripping
				if s.opts.Variant == MboxCL2 && bytes.EqualFold(name, contentLength) {
					s.parseContentLength(c[len(name):])
				}
			}
			if inHeader && capture {
				s.capture(c, complete)
			}
		}
		first = false
		if !inHeader {
			if len(c) == 0 && complete {
				pendingBlank, blankOff, afterBlank = true, lineOff, true
				continue
			}
			c = s.unquote(c)
		}
		afterBlank = false
		if !drop {
			s.emit(c, other)
		}
		for !complete { // the rest of a line longer than the buffer
			var piece []byte
			piece, complete = s.peekLine()
			if piece == nil {
				break
			}
			pc := piece
			if complete {
				pc = trimEOL(piece)
			}
			other := s.hasOther(s.r, s.r+len(pc))
			s.consume(len(piece), complete)
			if inHeader && capture {
				s.capture(pc, complete)
			}
			if !drop {
				s.emit(pc, other)
			}
			if len(s.out) >= s.limit {
				if err := s.flush(); err != nil {
					return err
				}
			}
		}
		if !drop {
			s.out = append(s.out, '\r', '\n')
		}
		if len(s.out) >= s.limit {
			if err := s.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasOther reports whether buf[from:to] (unread data) holds the line-break
// byte that may hide inside a line, the CR of an LF file: one IndexByte
// per buffer for files without them, instead of one per line.
func (s *Splitter) hasOther(from, to int) bool {
	if s.otherAt < from {
		if i := bytes.IndexByte(s.buf[from:s.w], s.other); i >= 0 {
			s.otherAt = from + i
		} else {
			s.otherAt = s.w
		}
	}
	return s.otherAt < to
}

// emit appends c, turning any line-break byte inside it into CRLF (what
// formats.CRLFWriter does with bare CR and LF); other says whether c may
// hold one.
func (s *Splitter) emit(c []byte, other bool) {
	if !other {
		s.out = append(s.out, c...)
		return
	}
	for {
		i := bytes.IndexByte(c, s.other)
		if i < 0 {
			s.out = append(s.out, c...)
			return
		}
		s.out = append(s.out, c[:i]...)
		s.out = append(s.out, '\r', '\n')
		c = c[i+1:]
	}
}

// endHeader parses the message's header once it is complete (or the
// message ended): from the read buffer when it is still there, else from
// the lines capture gathered.
func (s *Splitter) endHeader() {
	if s.hdrDone {
		return
	}
	s.hdrDone = true
	if s.rawHdr {
		s.header = formats.ParseHeader(s.buf[s.hstart:s.r])
		s.rawHdr = false
		return
	}
	s.header = formats.ParseHeader(s.hdr)
}

// bodyRun copies the body lines in the buffer that need no decision to
// s.out in one loop: lines that do not start with "From " or ">", hold no
// stray line-break byte, and blank lines not followed by "From ". It stops
// at the first line that needs readMessage's care, or at the end of the
// buffered data. afterBlank is readMessage's state, kept up to date.
func (s *Splitter) bodyRun(afterBlank *bool) error {
	data := s.buf[s.r:s.w]
	out := s.out
	ab := *afterBlank
	pos, lines := 0, int64(0)
	// With SizesOnly the lines are counted, not copied (counted), and
	// the NUL check runs once over what was consumed.
	sizesOnly, counted := s.opts.SizesOnly, int64(0)
	for {
		rest := data[pos:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if i == 0 || (i == 1 && rest[0] == '\r') { // a blank line
			next := rest[i+1:]
			if len(next) < len(fromPrefix) || next[0] == 'F' && bytes.HasPrefix(next, fromPrefix) {
				break // it may belong to a separator
			}
			if sizesOnly {
				counted += 2
			} else {
				out = append(out, '\r', '\n')
			}
			ab = true
		} else {
			if c := rest[0]; c == '>' || c == 'F' && bytes.HasPrefix(rest, fromPrefix) {
				break
			}
			end := i
			if rest[i-1] == '\r' {
				end--
			}
			if s.hasOther(s.r+pos, s.r+pos+end) {
				break
			}
			if sizesOnly {
				counted += int64(end) + 2
			} else {
				out = append(out, rest[:end]...)
				out = append(out, '\r', '\n')
			}
			ab = false
		}
		pos += i + 1
		lines++
		if len(out) >= s.limit {
			break
		}
	}
	s.out = out
	if sizesOnly {
		s.spooled += counted
		if !s.nul && bytes.IndexByte(data[:pos], 0) >= 0 {
			s.nul = true
		}
	}
	s.r += pos
	s.off += int64(pos)
	s.line += lines
	*afterBlank = ab
	if len(s.out) >= s.limit {
		return s.flush()
	}
	return nil
}

func (s *Splitter) capture(c []byte, complete bool) {
	if s.rawHdr {
		return // still in the buffer
	}
	if len(s.hdr)+len(c) >= maxHeader {
		return
	}
	s.hdr = append(s.hdr, c...)
	if complete {
		s.hdr = append(s.hdr, '\n')
	}
}

// flush moves the message bytes gathered so far to the spool, which keeps
// them in a temporary file: only messages larger than MemLimit get here.
func (s *Splitter) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	if !s.nul && bytes.IndexByte(s.out, 0) >= 0 {
		s.nul = true
	}
	if s.opts.SizesOnly {
		s.spooled += int64(len(s.out))
		s.out = s.out[:0]
		return nil
	}
	if s.spool == nil {
		s.spool = formats.NewSpool(s.opts.TempDir, s.limit)
	}
	s.spilled = true
	n, err := s.spool.Write(s.out)
	s.spooled += int64(n)
	s.out = s.out[:0]
	return err
}

// unquote undoes From_ quoting on a body line as the variant says.
func (s *Splitter) unquote(c []byte) []byte {
	if len(c) < 6 || c[0] != '>' {
		return c
	}
	v := s.opts.Variant
	if v == Raw || v == MboxCL2 {
		return c
	}
	n := 1
	for n < len(c) && c[n] == '>' {
		n++
	}
	if !bytes.HasPrefix(c[n:], fromPrefix) {
		return c
	}
	if n == 1 {
		return c[1:] // ">From ": the same in mboxo and mboxrd
	}
	switch v {
	case MboxO:
		return c
	case Auto:
		s.rdSeen = true // FORMATS.md 4.3: ">>From " means mboxrd
	}
	return c[1:]
}

func (s *Splitter) stripped(name []byte) bool {
	for _, f := range s.strip {
		if bytes.EqualFold(name, f) {
			return true
		}
	}
	return false
}

func (s *Splitter) parseContentLength(rest []byte) {
	i := bytes.IndexByte(rest, ':')
	if i < 0 {
		return
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(rest[i+1:])), 10, 64)
	if err != nil || n < 0 {
		s.warn(warnBadCL, s.pos(), "ignoring invalid Content-Length %q", bytes.TrimSpace(rest[i+1:]))
		return
	}
	s.cl, s.haveCL = n, true
}

// isFromLine reports whether a complete line may be a From_ line: it starts
// with "From " and is short enough.
func (s *Splitter) isFromLine(line []byte) bool {
	return len(line) >= 5 && line[0] == 'F' && bytes.HasPrefix(line, fromPrefix) && len(line) <= maxFromLine+2
}

// separates decides whether the "From " line at the read position starts a
// new message (FORMATS.md 4.4 steps 4 and 5).
func (s *Splitter) separates(n int, afterBlank, pendingBlank bool, blankOff int64) bool {
	if s.clEnd >= 0 { // MboxCL2 with a Content-Length
		switch {
		case s.off == s.clEnd || (pendingBlank && blankOff == s.clEnd):
			return true // where the length says the message ends
		case s.off < s.clEnd && s.confirm(s.clEnd):
			if s.headersFollow(n, true) {
				s.warn(warnInsideCL, s.pos(), "From_ line inside the Content-Length of message #%d, which ends at offset %d with a separator; kept as body text", s.index, s.clEnd)
			}
			return false
		}
	}
	if !s.headersFollow(n, true) {
		if afterBlank {
			s.warn(warnUnescaped, s.pos(), "line starting \"From \" after a blank line is not followed by header fields; kept as body text (unescaped From in the body)")
		}
		return false
	}
	if !afterBlank {
		s.warn(warnNoBlank, s.pos(), "From_ line without a blank line before it; starting a new message")
	}
	return true
}

// headersFollow applies Thunderbird's test (MboxMsgInputStream.cpp,
// IsReallyReallyFromLine) to the lines after the first skip bytes at the
// read position (the candidate From_ line): they must be two header fields,
// folded continuations allowed. One field followed by a blank line or the
// end of the input also passes when the From_ line has a valid envelope
// (sender and date; fromLine set) or when there is no From_ line (skip 0 at
// the start of the file). When the lookahead runs past the buffer without
// finding anything that is not a header, it gives the benefit of the doubt,
// as Thunderbird does.
func (s *Splitter) headersFollow(skip int, fromLine bool) bool {
	for {
		v := s.scanHeaders(s.buf[s.r+skip : s.w])
		switch v {
		case scanYes:
			return true
		case scanNo:
			return false
		case scanOneField:
			if !fromLine {
				return true
			}
			_, _, ok := ParseFromLine(string(trimEOL(s.buf[s.r:s.r+skip])), nil)
			return ok
		}
		if s.eof || s.r == 0 && s.w == len(s.buf) {
			return true // the buffer is full: benefit of the doubt
		}
		s.fill() // more data, or the end of the input

	}
}

type scanVerdict int

const (
	scanNo       scanVerdict = iota
	scanYes                  // two header fields
	scanOneField             // one header field, then a blank line or the end
	scanMore                 // the data ran out before a decision
)

// scanHeaders does the work of headersFollow on data.
func (s *Splitter) scanHeaders(data []byte) scanVerdict {
	fields := 0
	for {
		if len(data) == 0 {
			switch {
			case !s.eof:
				return scanMore
			case fields == 1:
				return scanOneField
			case fields >= 2:
				return scanYes
			}
			return scanNo
		}
		if fields > 0 && (data[0] == ' ' || data[0] == '\t') {
			// folded continuation of the previous field
		} else if fields == 2 {
			return scanYes
		} else {
			i := 0
			for i < len(data) && data[i] >= 33 && data[i] <= 126 && data[i] != ':' {
				if i++; i > maxFieldName {
					return scanNo
				}
			}
			j := i
			for j < len(data) && j-i < maxFieldName && (data[j] == ' ' || data[j] == '\t') {
				j++
			}
			switch {
			case j == len(data) && !s.eof:
				return scanMore
			case i > 0 && j < len(data) && data[j] == ':':
				fields++
			case fields == 1 && s.blankAt(data):
				return scanOneField
			default:
				return scanNo
			}
		}
		n, ok := s.lineEnd(data)
		if !ok {
			if !s.eof {
				return scanMore
			}
			n = len(data)
		}
		data = data[n:]
	}
}

func (s *Splitter) blankAt(data []byte) bool {
	return data[0] == '\n' || data[0] == '\r' && (s.crMode || len(data) > 1 && data[1] == '\n')
}

// lineEnd returns the length of the first line in data with its ending;
// ok is false when data holds no complete line.
func (s *Splitter) lineEnd(data []byte) (int, bool) {
	if !s.crMode {
		i := bytes.IndexByte(data, '\n')
		return i + 1, i >= 0
	}
	i := bytes.IndexByte(data, '\r')
	switch {
	case i < 0:
		return 0, false
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, true
		}
		return i + 1, true
	case s.eof:
		return i + 1, true
	}
	return 0, false // the LF of a CRLF may still come
}

// confirm reports whether the input at offset end is a place where a
// message may end: the end of the input, or a "From " line, optionally
// after one blank line (FORMATS.md 4.4 step 5).
func (s *Splitter) confirm(end int64) bool {
	const n = 8 // "\r\nFrom " and one more
	var tmp [n]byte
	var b []byte
	rel := end - s.off
	avail := int64(s.w - s.r)
	switch {
	case rel < 0:
		return false
	case rel+n <= avail:
		b = s.buf[s.r+int(rel) : s.r+int(rel)+n]
	case s.eof && rel <= avail:
		b = s.buf[s.r+int(rel) : s.w]
	case s.ra != nil:
		k, err := s.ra.ReadAt(tmp[:], s.base+end)
		if k < n && err != io.EOF {
			return false
		}
		b = tmp[:k]
	default:
		return false
	}
	if len(b) > 0 && (b[0] == '\n' || b[0] == '\r') {
		if b[0] == '\r' && len(b) > 1 && b[1] == '\n' {
			b = b[1:]
		}
		b = b[1:]
	}
	return len(b) == 0 || bytes.HasPrefix(b, fromPrefix)
}

// isTB128FromLine recognises the From_ line Thunderbird writes since 2023
// (FORMATS.md 1.6): CRLF, an asctime date with a zero-padded day.
func isTB128FromLine(line, c []byte) bool {
	if !bytes.HasSuffix(line, []byte("\r\n")) || len(c) < 5+24 {
		return false
	}
	d := c[len(c)-24:] // "Www Mmm DD HH:MM:SS YYYY"
	return d[3] == ' ' && d[7] == ' ' && d[8] == '0' && d[10] == ' ' && d[13] == ':' && d[16] == ':' && d[19] == ' '
}

// fieldName returns the name of a header field line ("Name:" or the
// obsolete "Name :"); ok is false for anything else.
func fieldName(c []byte) (name []byte, ok bool) {
	i := 0
	for i < len(c) && c[i] >= 33 && c[i] <= 126 && c[i] != ':' {
		i++
	}
	j := i
	for j < len(c) && (c[j] == ' ' || c[j] == '\t') {
		j++
	}
	if i == 0 || j == len(c) || c[j] != ':' {
		return nil, false
	}
	return c[:i], true
}

// trimEOL removes a line ending: LF, CRLF or CR.
func trimEOL(line []byte) []byte {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n]
}

// peekLine returns the line at the read position, with its ending, without
// consuming it. A line longer than the buffer comes in pieces: complete is
// false for all but the last. A piece never ends in a CR, so that a CRLF is
// never torn apart. At the end of the input it returns nil.
func (s *Splitter) peekLine() (line []byte, complete bool) {
	for {
		data := s.buf[s.r:s.w]
		if !s.crMode {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				return data[:i+1], true
			}
		} else if n, ok := s.lineEnd(data); ok {
			return data[:n], true
		}
		if s.eof {
			if len(data) == 0 {
				return nil, false
			}
			return data, true // last line without a line ending
		}
		if s.r == 0 && s.w == len(s.buf) { // a line longer than the buffer
			if n := len(data); n > 1 && data[n-1] == '\r' {
				return data[:n-1], false
			}
			return data, false
		}
		s.fill()
	}
}

// consume advances the read position past n bytes; complete says they end
// a line.
func (s *Splitter) consume(n int, complete bool) {
	s.r += n
	s.off += int64(n)
	if complete {
		s.line++
	}
}

// fill reads more input, first moving unread data to the front of the
// buffer. It reports whether it added data.
func (s *Splitter) fill() bool {
	if s.eof {
		return false
	}
	if s.rawHdr && !s.hdrDone {
		// The header read so far is about to move: keep a copy.
		s.hdr = append(s.hdr, s.buf[s.hstart:s.r]...)
		s.rawHdr = false
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	s.otherAt = -1
	if s.w == len(s.buf) {
		return false
	}
	for range 100 {
		n, err := s.src.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.eof, s.rerr = true, io.ErrNoProgress
	return false
}
