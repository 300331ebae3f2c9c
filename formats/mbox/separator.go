package mbox

import (
	"bytes"
	"io"
	"strings"
)

// isFromLine reports whether a complete line may be a From_ line: it starts
// with "From " and is short enough.
func (s *Splitter) isFromLine(line []byte) bool {
	return len(line) >= 5 && line[0] == 'F' && bytes.HasPrefix(line, fromPrefix) && len(line) <= maxFromLine+2
}

// separates decides whether the "From " line at the read position starts a
// new message (see the package comment).
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
	if s.headersFollow(n, true) {
		if !afterBlank {
			s.warn(warnNoBlank, s.pos(), "From_ line without a blank line before it; starting a new message")
		}
		return true
	}
	if afterBlank && s.envelopeSeparates(n) {
		return true // a message without header fields; Next warns about it
	}
	if afterBlank {
		s.warn(warnUnescaped, s.pos(), "line starting \"From \" after a blank line is not followed by header fields; kept as body text (unescaped From in the body)")
	}
	return false
}

// startsMessage is separates for the text before the first message (no
// Content-Length, no warnings).
func (s *Splitter) startsMessage(n int, afterBlank bool) bool {
	return s.headersFollow(n, true) || afterBlank && s.envelopeSeparates(n)
}

// envelopeSeparates applies the rule of RFC 4155 and of the readers most
// mbox files are written for (mutt's is_from, Python's mailbox, Apache
// Tika): after a blank line, a "From " line with a complete envelope
// (sender and asctime date) starts a message even when no header fields
// follow. Thunderbird's own folders follow Thunderbird's rule instead
// (ThunderbirdSeparators), where header fields must follow.
func (s *Splitter) envelopeSeparates(n int) bool {
	return s.opts.Separators == EnvelopeSeparators && isEnvelope(trimEOL(s.buf[s.r:s.r+n]))
}

// isEnvelope reports whether a From_ line (without its line ending) has a
// complete envelope: a date in asctime shape (weekday, month, day,
// hh:mm[:ss], year, a zone allowed), as mutt's is_from() wants it. A body
// line such as "From Monday on we meet at 10:00" has none.
func isEnvelope(c []byte) bool {
	if len(c) > maxFromLine {
		return false
	}
	line := string(c)
	if _, _, ok := ParseFromLine(line, nil); !ok {
		return false
	}
	f := strings.Fields(line)[1:]
	for i := 0; i+3 < len(f); i++ {
		if isWeekday(f[i]) && isMonth(f[i+1]) && digits(f[i+2]) > 0 && strings.Count(f[i+3], ":") >= 1 {
			return true
		}
	}
	return false
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

// confirm reports whether the input at offset end is a place where a
// message may end: the end of the input, or a "From " line, optionally
// after one blank line.
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
// (Thunderbird 128): CRLF, an asctime date with a zero-padded day.
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
