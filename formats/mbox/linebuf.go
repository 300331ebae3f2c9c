package mbox

import (
	"bytes"
	"errors"
	"io"
)

// lineBuffer reads the input in large blocks and hands it out line by
// line, keeping the input offset and line number of the read position.
// Unread data is buf[r:w]; off is the input offset of buf[r] and line the
// 1-based number of the line starting there.
type lineBuffer struct {
	src    io.Reader
	buf    []byte
	r, w   int
	off    int64
	line   int64
	eof    bool  // src is exhausted: everything left is in buf
	rerr   error // a read error other than io.EOF
	crMode bool  // lines end in a bare CR (old Mac files)
	other  byte  // the line-break byte that may appear inside a line's content
	// otherAt caches the buffer index of the next other byte at or after
	// the last position asked about (w when there is none up to w); -1
	// when stale.
	otherAt int
	// beforeMove, when set, is called before fill moves unread data to
	// the front of the buffer (slices into buf become stale).
	beforeMove func()
}

// detectLineEndings decides per file whether lines end in a bare CR (old
// Mac files): the first line break is a CR not
// followed by LF. LF and CRLF files (and mixtures) split on LF.
func (s *lineBuffer) detectLineEndings() {
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

// hasOther reports whether buf[from:to] (unread data) holds the line-break
// byte that may hide inside a line, the CR of an LF file: one IndexByte
// per buffer for files without them, instead of one per line.
func (s *lineBuffer) hasOther(from, to int) bool {
	if s.otherAt < from {
		if i := bytes.IndexByte(s.buf[from:s.w], s.other); i >= 0 {
			s.otherAt = from + i
		} else {
			s.otherAt = s.w
		}
	}
	return s.otherAt < to
}

func (s *lineBuffer) blankAt(data []byte) bool {
	return data[0] == '\n' || data[0] == '\r' && (s.crMode || len(data) > 1 && data[1] == '\n')
}

// lineEnd returns the length of the first line in data with its ending;
// ok is false when data holds no complete line.
func (s *lineBuffer) lineEnd(data []byte) (int, bool) {
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
func (s *lineBuffer) peekLine() (line []byte, complete bool) {
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
func (s *lineBuffer) consume(n int, complete bool) {
	s.r += n
	s.off += int64(n)
	if complete {
		s.line++
	}
}

// fill reads more input, first moving unread data to the front of the
// buffer. It reports whether it added data.
func (s *lineBuffer) fill() bool {
	if s.eof {
		return false
	}
	if s.beforeMove != nil {
		s.beforeMove()
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
