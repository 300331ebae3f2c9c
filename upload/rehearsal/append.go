package rehearsal

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// cmdAppend stores one message, or several with MULTIAPPEND (RFC 3502: all
// of them or none). Each message streams through the header capture; only
// its header block, size, flags and date are kept.
//
// A refusal known before a message's bytes (no such folder, too big, over
// the budget, throttled, a keyword too long) answers at once when the
// client waits for "+"; after a non-synchronizing literal the server must
// read the bytes first. Either way nothing of the command is stored.
func (s *session) cmdAppend(c *cmd) (string, error) {
	o := &s.srv.opts
	if err := c.sp(); err != nil {
		return "", err
	}
	name, err := c.mailbox()
	if err != nil {
		return "", err
	}
	mb := s.a.mailbox(name)
	var pending []message
	var refusal *imapError
	for i := 0; ; i++ {
		if i > 0 && o.NoMultiAppend {
			return "", bad("Syntax error: extra arguments after the message (no MULTIAPPEND)")
		}
		if err := c.sp(); err != nil {
			return "", err
		}
		var flags []string
		if c.peek() == '(' {
			if err := c.list(func() error {
				f, err := c.flag()
				flags = append(flags, f)
				return err
			}); err != nil {
				return "", err
			}
			if err := c.sp(); err != nil {
				return "", err
			}
		}
		date := time.Time{}
		if c.peek() == '"' {
			q, err := c.quoted()
			if err != nil {
				return "", err
			}
			if date, err = parseDateTime(q); err != nil {
				return "", bad("Invalid date-time %q", q)
			}
			if err := c.sp(); err != nil {
				return "", err
			}
		}
		if !c.atLiteral() {
			return "", bad("Syntax error: expected the message as a literal")
		}
		size, sync := c.litSize, c.litSync
		if refusal == nil {
			refusal = s.checkAppend(mb, size, flags)
		}
		if refusal != nil {
			if sync {
				return "", refusal // the client sends nothing more of the command
			}
			if err := c.acceptLiteral(); err != nil {
				return "", err
			}
			if _, err := io.CopyN(io.Discard, s.w.r, size); err != nil {
				return "", err
			}
		} else {
			if err := c.acceptLiteral(); err != nil {
				return "", err
			}
			m, r, err := s.store(size)
			if err != nil {
				return "", err
			}
			if r != nil {
				refusal = r
			} else {
				if date.IsZero() {
					date = o.Clock()
				}
				_, zone := date.Zone()
				m.date, m.zone, m.flags = date.Unix(), int32(zone), s.a.flags(flags)
				pending = append(pending, m)
			}
		}
		if err := c.next(); err != nil {
			return "", err
		}
		if len(c.line) == 0 {
			break
		}
	}
	if refusal != nil {
		return "", refusal
	}
	mb.mu.Lock()
	first := mb.addLocked(pending)
	mb.mu.Unlock()
	if o.NoUIDPlus {
		return "APPEND completed", nil
	}
	set := fmt.Sprint(first)
	if len(pending) > 1 {
		set += fmt.Sprintf(":%d", first+uint32(len(pending))-1)
	}
	return fmt.Sprintf("[APPENDUID %d %s] APPEND completed", mb.uidValidity, set), nil
}

// flag reads a flag: a keyword or "\" and an atom.
func (c *cmd) flag() (string, error) {
	pre := ""
	if c.peek() == '\\' {
		c.pos++
		pre = `\`
	}
	a := c.atom()
	if a == "" {
		return "", bad("Syntax error: expected a flag")
	}
	return pre + a, nil
}

// parseDateTime reads an IMAP date-time: "dd-Mon-yyyy hh:mm:ss +zzzz",
// the day possibly padded with a space.
func parseDateTime(s string) (time.Time, error) {
	t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		t, err = time.Parse("2-Jan-2006 15:04:05 -0700", s)
	}
	return t, err
}

// checkAppend finds what refuses a message before its bytes arrive.
func (s *session) checkAppend(mb *mailbox, size int64, flags []string) *imapError {
	o := &s.srv.opts
	if mb == nil {
		return no("TRYCREATE", "Mailbox doesn't exist")
	}
	if mb.noSelect {
		return no("CANNOT", "Mailbox is not selectable")
	}
	if o.AppendLimit > 0 && size > o.AppendLimit {
		return refused(refusalOr(o.TooBig, Refusal{Code: "TOOBIG", Text: "Message too large"}))
	}
	if o.MaxKeywordLength > 0 {
		for _, f := range flags {
			if !strings.HasPrefix(f, `\`) && len(f) > o.MaxKeywordLength {
				return refused(refusalOr(o.KeywordRefusal, Refusal{Code: "CANNOT", Text: "Keyword length too long"}))
			}
		}
	}
	if s.a.failAppend() {
		return refused(refusalOr(o.ServerFailure, Refusal{Text: "System I/O error"}))
	}
	now := o.Clock()
	if t := o.Throttle; t != nil {
		if over, left := s.a.throttled(now); over {
			if t.Mark {
				s.throttle = true
			} else {
				r := refusalOr(t.Refusal, Refusal{Code: "THROTTLED", Text: "Request is throttled. Suggested Backoff Time: %d milliseconds"})
				r.Text = strings.ReplaceAll(r.Text, "%d", fmt.Sprint(left.Milliseconds()))
				return &imapError{Refusal: *r, fatal: t.Bye != "", bye: t.Bye}
			}
		}
	}
	if !s.a.chargeBudget(size, now) {
		return refused(refusalOr(o.OverBudget, Refusal{Code: "OVERQUOTA", Text: "Daily upload limit reached"}))
	}
	return nil
}

// store reads a message of size bytes from the connection through the
// server's rewrites and keeps its header block. A refusal of its content
// (reject8bit) comes back as r; err means the connection broke.
func (s *session) store(size int64) (m message, r *imapError, err error) {
	o := &s.srv.opts
	lit := &countReader{r: io.LimitReader(s.w.r, size)}
	var in io.Reader = lit
	var eight *cyrus8bit
	if o.EightBit != EightBitKeep {
		eight = &cyrus8bit{r: in, munge: o.EightBit == EightBitMunge, blank: true, inHeader: true}
		in = eight
	}
	var lines *lineMeter
	if o.MaxLineLength > 0 {
		lines = &lineMeter{r: in}
		in = lines
	}
	if o.FinalNewline {
		in = &finalNewline{r: in}
	}
	if o.AddHeader != "" {
		in = io.MultiReader(strings.NewReader(o.AddHeader+"\r\n"), in)
	}
	off, hlen, stored, err := s.capture.read(in)
	if err != nil || lit.n != size {
		// A literal cut short by a broken connection is not stored, as by
		// a real server.
		if err == nil {
			err = fmt.Errorf("literal cut short: %d of %d bytes", lit.n, size)
		}
		return message{}, nil, err
	}
	if eight != nil && eight.saw && o.EightBit == EightBitReject {
		return message{}, no("", "Message contains non-ASCII characters in headers"), nil
	}
	if lines != nil && lines.longest > o.MaxLineLength {
		return message{}, refused(refusalOr(o.LongLine, Refusal{Code: "LIMIT", Text: "Line too long"})), nil
	}
	return message{size: stored, hoff: off, hlen: hlen}, nil, nil
}

// lineMeter measures the longest line of a stream, without its CRLF.
type lineMeter struct {
	r       io.Reader
	current int // bytes of the line so far, a CR at its end included
	lastCR  bool
	longest int
}

func (l *lineMeter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for rest := p[:n]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.current += len(rest)
			l.lastCR = rest[len(rest)-1] == '\r'
			break
		}
		l.current += i
		if (i > 0 && rest[i-1] == '\r') || (i == 0 && l.lastCR) {
			l.current--
		}
		l.longest = max(l.longest, l.current)
		l.current, l.lastCR = 0, false
		rest = rest[i+1:]
	}
	// A line not ended yet: a CR at its end may be the start of its CRLF.
	if l.lastCR {
		l.longest = max(l.longest, l.current-1)
	} else {
		l.longest = max(l.longest, l.current)
	}
	return n, err
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// cyrus8bit finds 8-bit bytes in a message header, and with munge replaces
// each with 'X'. The header ends at the first line holding nothing but its
// line end, as in Cyrus' message_copy_strict.
type cyrus8bit struct {
	r               io.Reader
	munge           bool
	inHeader, blank bool
	saw             bool
}

func (c *cyrus8bit) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n && c.inHeader; i++ {
		switch b := p[i]; {
		case b == '\n':
			if c.blank {
				c.inHeader = false
			}
			c.blank = true
		case b == '\r':
		default:
			c.blank = false
			if b >= 0x80 {
				c.saw = true
				if c.munge {
					p[i] = 'X'
				}
			}
		}
	}
	return n, err
}

// finalNewline adds CRLF at the end of a stream that does not end in LF.
type finalNewline struct {
	r    io.Reader
	last byte
	tail []byte
	done bool
}

func (f *finalNewline) Read(p []byte) (int, error) {
	if f.done {
		if len(f.tail) == 0 {
			return 0, io.EOF
		}
		n := copy(p, f.tail)
		f.tail = f.tail[n:]
		return n, nil
	}
	n, err := f.r.Read(p)
	if n > 0 {
		f.last = p[n-1]
	}
	if err == io.EOF {
		f.done = true
		if f.last != '\n' {
			f.tail = []byte("\r\n")
		}
		if n > 0 {
			return n, nil
		}
		return f.Read(p)
	}
	return n, err
}
