package mbox

import (
	"bytes"
	"strconv"

	"mailferry/formats"
)

// message is the state of the message being built: its CRLF bytes (in
// out, then in the spool once they pass the memory limit), its header, and
// what MboxCL2's Content-Length says.
type message struct {
	out     []byte // CRLF bytes not yet spooled
	spooled int64
	spilled bool
	spool   *formats.Spool
	limit   int
	hdr     []byte // header lines, LF-terminated, for formats.ParseHeader
	// rawHdr: the header read so far is still in buf at [hstart, r), so
	// it is parsed from there instead of being copied into hdr line by
	// line; keepRawHeader copies it into hdr before the buffer moves.
	rawHdr  bool
	hstart  int
	hdrDone bool
	header  formats.Header
	nul     bool
	clEnd   int64 // MboxCL2: input offset where Content-Length says the body ends; -1 if unknown
	cl      int64
	haveCL  bool
}

// keepRawHeader copies the header read so far out of the read buffer,
// which is about to move.
func (s *Splitter) keepRawHeader() {
	if s.rawHdr && !s.hdrDone {
		s.hdr = append(s.hdr, s.buf[s.hstart:s.r]...)
		s.rawHdr = false
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
		s.rdSeen = true // a ">>From " line means mboxrd
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
