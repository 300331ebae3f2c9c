package formats

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Spool holds one message's bytes while it is being handed on: in memory up
// to a limit, then in a temporary file, so that memory does not grow with
// the size of a message. A Spool is reused from message to message (Reset);
// it is not safe for concurrent use.
type Spool struct {
	dir   string
	limit int
	buf   []byte
	file  *os.File
	size  int64
	spill bool // Expect announced a message over the limit
}

// NewSpool returns a spool that keeps up to memLimit bytes in memory
// (DefaultMemLimit when 0) and spills larger messages to a file in dir
// ("" means os.TempDir()).
func NewSpool(dir string, memLimit int) *Spool {
	if memLimit <= 0 {
		memLimit = DefaultMemLimit
	}
	return &Spool{dir: dir, limit: memLimit}
}

// Expect announces the size of the message about to be written into an
// empty spool. One that fits in memory gets its buffer at once, exactly
// (no growing by copies, no spare capacity); a larger one goes straight to
// the file instead of through a buffer of memLimit bytes. Writes that
// disagree with the size are still correct.
func (s *Spool) Expect(n int64) {
	if s.size > 0 || s.file != nil {
		return
	}
	if n > int64(s.limit) {
		s.spill = true
		return
	}
	if int64(cap(s.buf)) < n {
		s.buf = make([]byte, 0, n)
	}
}

// Write appends p. It never fails for in-memory data; a write to the spill
// file may.
func (s *Spool) Write(p []byte) (int, error) {
	if s.file == nil && !s.spill && len(s.buf)+len(p) <= s.limit {
		s.buf = append(s.buf, p...)
		s.size += int64(len(p))
		return len(p), nil
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "mailferry-spool-*")
		if err != nil {
			return 0, fmt.Errorf("spool large message: %w", err)
		}
		// Unlinked at once where the OS allows it, so a crash leaves no file.
		_ = os.Remove(f.Name())
		s.file = f
		if _, err := f.Write(s.buf); err != nil {
			return 0, fmt.Errorf("spool large message: %w", err)
		}
		s.buf = s.buf[:0]
	}
	n, err := s.file.Write(p)
	s.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("spool large message: %w", err)
	}
	return n, nil
}

// Size is the number of bytes written since the last Reset.
func (s *Spool) Size() int64 { return s.size }

// Bytes returns the in-memory contents, or nil when the message was spilled
// to disk. The slice is only valid until the next Write or Reset.
func (s *Spool) Bytes() []byte {
	if s.file != nil {
		return nil
	}
	return s.buf
}

// Open returns a reader over everything written since the last Reset. It
// stays valid until the next Write or Reset and may be called repeatedly.
func (s *Spool) Open() (io.ReadCloser, error) {
	if s.file == nil {
		return io.NopCloser(bytes.NewReader(s.buf)), nil
	}
	return io.NopCloser(io.NewSectionReader(s.file, 0, s.size)), nil
}

// Reset empties the spool for the next message, keeping its memory.
func (s *Spool) Reset() error {
	s.size, s.spill = 0, false
	if cap(s.buf) > 4*s.limit {
		s.buf = nil // do not keep a rare huge buffer alive
	}
	s.buf = s.buf[:0]
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	return nil
}

// Close releases the spill file, if any.
func (s *Spool) Close() error { return s.Reset() }

// CRLFWriter converts line endings to CRLF as it writes: a bare LF becomes
// CRLF, a bare CR becomes CRLF, CRLF stays. Close adds a final CRLF when the
// data did not end with one (and was not empty). It counts what it wrote.
type CRLFWriter struct {
	w      io.Writer
	pendCR bool // the last byte seen was a CR whose LF may still come
	last   byte // last byte written to w
	n      int64
	out    []byte
}

// NewCRLFWriter returns a CRLFWriter writing to w.
func NewCRLFWriter(w io.Writer) *CRLFWriter { return &CRLFWriter{w: w} }

// Reset prepares the writer for a new message written to w.
func (c *CRLFWriter) Reset(w io.Writer) {
	c.w, c.pendCR, c.last, c.n = w, false, 0, 0
}

// N is the number of bytes written to the underlying writer.
func (c *CRLFWriter) N() int64 { return c.n }

func (c *CRLFWriter) Write(p []byte) (int, error) {
	// Line by line with IndexByte (vectorized) rather than byte by byte:
	// most mail has no CR at all (one search per call finds that out) or
	// CRLF everywhere, and lines are tens of bytes long.
	out := c.out[:0]
	nextCR := -1 // position of the next CR at or after i; -1: search again
	i := 0
	for i < len(p) {
		if c.pendCR {
			// The CR before this byte was written as "\r"; its LF follows
			// now, whether or not the input has one.
			out = append(out, '\n')
			c.pendCR = false
			if p[i] == '\n' {
				i++
				continue
			}
		}
		if nextCR < i {
			if k := bytes.IndexByte(p[i:], '\r'); k >= 0 {
				nextCR = i + k
			} else {
				nextCR = len(p)
			}
		}
		lf := len(p)
		if k := bytes.IndexByte(p[i:nextCR], '\n'); k >= 0 {
			lf = i + k
		}
		switch {
		case lf < nextCR: // a bare LF
			out = append(out, p[i:lf]...)
			out = append(out, '\r', '\n')
			i = lf + 1
		case nextCR < len(p): // a CR: its LF (or not) comes next
			out = append(out, p[i:nextCR]...)
			out = append(out, '\r')
			c.pendCR = true
			i = nextCR + 1
		default:
			out = append(out, p[i:]...)
			i = len(p)
		}
	}
	c.out = out[:0]
	if len(out) == 0 {
		return len(p), nil
	}
	c.last = out[len(out)-1]
	m, err := c.w.Write(out)
	c.n += int64(m)
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close completes a pending CR and makes sure the output ends with CRLF.
// It does not close the underlying writer.
func (c *CRLFWriter) Close() error {
	var tail []byte
	switch {
	case c.pendCR:
		tail = []byte{'\n'}
		c.pendCR = false
	case c.n > 0 && c.last != '\n':
		tail = []byte{'\r', '\n'}
	}
	if tail == nil {
		return nil
	}
	m, err := c.w.Write(tail)
	c.n += int64(m)
	c.last = '\n'
	return err
}

// ErrTooLarge is returned when a message exceeds a hard size limit.
var ErrTooLarge = errors.New("message too large")
