package formats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// loaderPeek is how much of a message file Loader looks at before it
// copies it: enough for nearly every header.
const loaderPeek = 64 << 10

// maxLongHeader bounds how much of a spooled message is searched for the
// end of a header longer than loaderPeek.
const maxLongHeader = 1 << 20

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Loader reads one message file at a time into a Spool, with CRLF line
// endings, for the readers of stores that keep a message per file (EML,
// Maildir, Thunderbird's maildir store). Memory stays bounded: a 64 KB
// look at the start, then a copy through the spool. A Loader is reused
// from file to file; it is not safe for concurrent use.
type Loader struct {
	spool *Spool
	crlf  *CRLFWriter
	nul   nulTrimmer
	br    *bufio.Reader
	buf   []byte
}

// LoadOptions say how Loader.Load cleans a message file.
type LoadOptions struct {
	// StripBOM removes a leading UTF-8 byte order mark.
	StripBOM bool
	// StripFromLine removes a leading mbox From_ line (but not a "From :"
	// header field) and returns it in Loaded.FromLine.
	StripFromLine bool
	// StripFields removes these header fields (case-insensitive) with their
	// continuation lines from the bytes; Loaded.Header still has them.
	StripFields []string
	// TrimNULs drops trailing NUL bytes (padding that some copies and
	// exporters leave) and counts them in Loaded.NULs.
	TrimNULs bool
	// Check, when set, looks at the start of the message (up to 64 KB,
	// after the byte order mark and From_ line were removed) and returns
	// why the file is not to be loaded, or "". A file it refuses is not
	// copied: Loaded.Skip says why and the spool is empty.
	Check func(head []byte) string
}

// Loaded is what Load found.
type Loaded struct {
	Header   Header // the message's header, stripped fields included
	FromLine string // the removed From_ line without line ending; "" if none
	Skip     string // Check's reason; the message was not loaded
	NULs     int    // trailing NUL bytes removed
}

// NewLoader returns a Loader whose spool keeps up to memLimit bytes in
// memory (DefaultMemLimit when 0) and spills to files in tempDir ("" means
// os.TempDir()).
func NewLoader(tempDir string, memLimit int) *Loader {
	l := &Loader{spool: NewSpool(tempDir, memLimit), br: bufio.NewReaderSize(nil, loaderPeek), buf: make([]byte, 32<<10)}
	l.crlf = NewCRLFWriter(l.spool)
	return l
}

// Spool holds the message last loaded: Open it for the bytes, Size for
// their exact number. It stays valid until the next Load.
func (l *Loader) Spool() *Spool { return l.spool }

// Close releases the spool's file, if any.
func (l *Loader) Close() error { return l.spool.Close() }

// Load reads the message file src into the spool as o says.
func (l *Loader) Load(src io.Reader, o LoadOptions) (Loaded, error) {
	var res Loaded
	if err := l.spool.Reset(); err != nil {
		return res, fmt.Errorf("reset spool: %w", err)
	}
	l.br.Reset(src)
	head, err := l.br.Peek(loaderPeek)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return res, err
	}
	peekFull := len(head) == loaderPeek
	if o.StripBOM && bytes.HasPrefix(head, utf8BOM) {
		_, _ = l.br.Discard(len(utf8BOM))
		head = head[len(utf8BOM):]
	}
	if o.StripFromLine {
		if line, ok := LeadingFromLine(head); ok {
			res.FromLine = string(bytes.TrimRight(line, "\r\n"))
			_, _ = l.br.Discard(len(line))
			head = head[len(line):]
		}
	}
	if o.Check != nil {
		if res.Skip = o.Check(head); res.Skip != "" {
			return res, nil
		}
	}
	res.Header = ParseHeader(head)
	// A header larger than the peek (a huge To:) is parsed from the spool
	// below; head is only valid until the copy.
	long := peekFull && HeaderEnd(head) < 0
	var kept Header // stripped fields, which the spool will not have
	if long {
		for _, f := range res.Header {
			if fieldIn(f.Name, o.StripFields) {
				kept = append(kept, f)
			}
		}
	}
	l.crlf.Reset(l.spool)
	var w io.Writer = l.crlf
	if o.TrimNULs {
		l.nul = nulTrimmer{w: l.crlf}
		w = &l.nul
	}
	if len(o.StripFields) > 0 {
		if err := l.copyHeaderStripping(w, o.StripFields); err != nil {
			return res, err
		}
	}
	// Plain wrappers so that CopyBuffer uses the loader's buffer instead of
	// allocating one per message (bufio.Reader.WriteTo would).
	if _, err := io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{l.br}, l.buf); err != nil {
		return res, err
	}
	if err := l.crlf.Close(); err != nil {
		return res, err
	}
	if o.TrimNULs {
		res.NULs = l.nul.pending
	}
	if long {
		res.Header = append(kept, l.spooledHeader()...)
	}
	return res, nil
}

// copyHeaderStripping copies the header lines to w, leaving out the
// fields named in strip and their continuation lines, up to and including
// the blank line that ends the header (or the first line that is no
// field, or the end of the input).
func (l *Loader) copyHeaderStripping(w io.Writer, strip []string) error {
	dropping, lineStart := false, true
	for {
		line, err := l.br.ReadSlice('\n')
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
		if lineStart && len(line) > 0 {
			switch c := line[0]; {
			case c == ' ' || c == '\t':
				// a continuation: dropped with its field
			case len(bytes.TrimRight(line, "\r\n")) == 0 && err == nil:
				_, werr := w.Write(line)
				return werr // the blank line ending the header
			default:
				name, _, ok := bytes.Cut(line, []byte(":"))
				dropping = ok && fieldIn(string(bytes.TrimRight(name, " \t")), strip)
				if !ok {
					dropping = false
					if _, werr := w.Write(line); werr != nil {
						return werr
					}
					return nil // not a field: the body starts here
				}
			}
		}
		if !dropping {
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		lineStart = err == nil
		if err == io.EOF {
			return nil
		}
	}
}

// spooledHeader parses the header of the spooled message, up to
// maxLongHeader bytes.
func (l *Loader) spooledHeader() Header {
	rc, err := l.spool.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, maxLongHeader))
	return ParseHeader(b)
}

func fieldIn(name string, list []string) bool {
	for _, s := range list {
		if strings.EqualFold(name, s) {
			return true
		}
	}
	return false
}

// LeadingFromLine returns the first line of b, with its line ending, when
// it is an mbox From_ line ("From " and not a "From :" header field).
func LeadingFromLine(b []byte) ([]byte, bool) {
	if !bytes.HasPrefix(b, []byte("From ")) {
		return nil, false
	}
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return nil, false // nothing after it: not a message anyway
	}
	line := b[:end+1]
	if IsHeaderLine(line) {
		return nil, false
	}
	return line, true
}

// StartsWithHeader reports whether b begins with a header field: the least
// a file must have to be a message (a "b\n" stub or plain text is not).
func StartsWithHeader(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	return len(line) > 0 && line[0] != ' ' && line[0] != '\t' && IsHeaderLine(line)
}

// nulTrimmer passes bytes on but holds back a run of NULs until a
// non-NUL byte follows, so that trailing NULs are dropped. pending counts
// the held NULs.
type nulTrimmer struct {
	w       io.Writer
	pending int
}

func (n *nulTrimmer) Write(p []byte) (int, error) {
	last := len(p) - 1
	for last >= 0 && p[last] == 0 {
		last--
	}
	if last < 0 {
		n.pending += len(p)
		return len(p), nil
	}
	var zeros [512]byte
	for n.pending > 0 {
		k := min(n.pending, len(zeros))
		if _, err := n.w.Write(zeros[:k]); err != nil {
			return 0, err
		}
		n.pending -= k
	}
	if _, err := n.w.Write(p[:last+1]); err != nil {
		return 0, err
	}
	n.pending = len(p) - 1 - last
	return len(p), nil
}
