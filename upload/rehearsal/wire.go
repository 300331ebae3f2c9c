package rehearsal

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// Limits of what a command may hold besides an APPEND's message.
const (
	maxLine          = 64 << 10 // a command line between literals
	maxInlineLiteral = 64 << 10 // a literal that is not a message (a name, a password)
	nonSyncMinus     = 4096     // RFC 7888: LITERAL- allows non-synchronizing literals up to this
)

// wire is a connection's byte streams: commands come from r, responses go
// to w. Before COMPRESS they are the buffered connection; after it they
// are deflate streams over the same buffers (RFC 4978).
type wire struct {
	conn net.Conn
	rawR *bufio.Reader
	rawW *bufio.Writer
	r    *bufio.Reader
	w    *bufio.Writer
	fw   *flate.Writer
}

func newWire(c net.Conn) *wire {
	rr, rw := bufio.NewReaderSize(c, 32<<10), bufio.NewWriterSize(c, 32<<10)
	return &wire{conn: c, rawR: rr, rawW: rw, r: rr, w: rw}
}

// compress switches both directions to raw deflate. The reader decompresses
// from the buffered connection, so that compressed bytes already buffered
// are not lost.
func (w *wire) compress() error {
	fw, err := flate.NewWriter(w.rawW, flate.DefaultCompression)
	if err != nil {
		return err
	}
	w.fw = fw
	w.w = bufio.NewWriterSize(fw, 32<<10)
	w.r = bufio.NewReaderSize(flate.NewReader(w.rawR), 32<<10)
	return nil
}

// flush sends everything written; with COMPRESS, as a deflate sync flush so
// that the client can decode it at once.
func (w *wire) flush() error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	if w.fw == nil {
		return nil
	}
	if err := w.fw.Flush(); err != nil {
		return err
	}
	return w.rawW.Flush()
}

var errLineTooLong = errors.New("command line too long")

// readLine reads a line (without its CRLF or LF) of at most maxLine bytes.
func (w *wire) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := w.r.ReadSlice('\n')
		if len(line)+len(chunk) > maxLine {
			return nil, errLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		line = line[:len(line)-1]
		return bytes.TrimSuffix(line, []byte{'\r'}), nil
	}
}

// response writing

func (w *wire) untagged(format string, args ...any) {
	w.w.WriteString("* ")
	fmt.Fprintf(w.w, format, args...)
	w.w.WriteString("\r\n")
}

func (w *wire) tagged(tag, typ, code, text string) {
	w.w.WriteString(tag)
	w.w.WriteByte(' ')
	w.w.WriteString(typ)
	w.w.WriteByte(' ')
	if code != "" {
		w.w.WriteByte('[')
		w.w.WriteString(code)
		w.w.WriteString("] ")
	}
	w.w.WriteString(text)
	w.w.WriteString("\r\n")
}

// quote returns s as an IMAP quoted string, or as a literal when it holds
// characters a quoted string cannot.
func quote(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		return "{" + strconv.Itoa(len(s)) + "}\r\n" + s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// imapError is a command's failure: a tagged NO or BAD, and for a fatal
// one a BYE and the end of the connection.
type imapError struct {
	Refusal
	fatal bool
	bye   string
}

func (e *imapError) Error() string { return e.Code + " " + e.Text }

func bad(format string, args ...any) *imapError {
	return &imapError{Refusal: Refusal{Bad: true, Text: fmt.Sprintf(format, args...)}}
}

func no(code, text string) *imapError {
	return &imapError{Refusal: Refusal{Code: code, Text: text}}
}

func refused(r *Refusal) *imapError { return &imapError{Refusal: *r} }

// cmd parses one command. Its text comes in segments: the first line, and
// after each literal the rest of the command up to the next literal or
// the end.
type cmd struct {
	s    *session
	line []byte
	pos  int
	// The literal announced at the end of line, when lit is set: it
	// starts at litAt in line.
	lit     bool
	litAt   int
	litSize int64
	litSync bool

	tag, name string
}

func (c *cmd) setLine(line []byte) {
	c.line, c.pos, c.lit = line, 0, false
	// A literal is announced by "{n}" or "{n+}" ending the line.
	if !bytes.HasSuffix(line, []byte("}")) {
		return
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return
	}
	spec := line[open+1 : len(line)-1]
	sync := true
	if bytes.HasSuffix(spec, []byte("+")) {
		spec, sync = spec[:len(spec)-1], false
	}
	if len(spec) == 0 || len(spec) > 19 {
		return
	}
	n, err := strconv.ParseInt(string(spec), 10, 64)
	if err != nil || n < 0 || spec[0] == '+' || spec[0] == '-' {
		return
	}
	c.lit, c.litAt, c.litSize, c.litSync = true, open, n, sync
}

func (c *cmd) peek() byte {
	if c.pos < len(c.line) {
		return c.line[c.pos]
	}
	return 0
}

func (c *cmd) atLiteral() bool { return c.lit && c.pos == c.litAt }

func (c *cmd) sp() error {
	if c.peek() != ' ' {
		return bad("Syntax error: expected a space at %d", c.pos)
	}
	c.pos++
	return nil
}

func (c *cmd) end() error {
	if c.pos != len(c.line) {
		return bad("Syntax error: unexpected characters at the end of the command")
	}
	return nil
}

func isAtomChar(b byte) bool {
	return b > ' ' && b < 0x7f && strings.IndexByte(`(){%*"\]`, b) < 0
}

// atom reads an atom (possibly empty).
func (c *cmd) atom() string {
	start := c.pos
	for c.pos < len(c.line) && isAtomChar(c.line[c.pos]) && !c.atLiteral() {
		c.pos++
	}
	return string(c.line[start:c.pos])
}

// astring reads an atom (with ']'), a quoted string or a literal.
func (c *cmd) astring() (string, error) {
	switch {
	case c.peek() == '"':
		return c.quoted()
	case c.atLiteral():
		return c.literal()
	}
	start := c.pos
	for c.pos < len(c.line) && (isAtomChar(c.line[c.pos]) || c.line[c.pos] == ']') {
		c.pos++
	}
	if c.pos == start {
		return "", bad("Syntax error: expected a string at %d", c.pos)
	}
	return string(c.line[start:c.pos]), nil
}

func (c *cmd) quoted() (string, error) {
	if c.peek() != '"' {
		return "", bad("Syntax error: expected a quoted string")
	}
	c.pos++
	var b []byte
	for c.pos < len(c.line) {
		ch := c.line[c.pos]
		c.pos++
		switch {
		case ch == '"':
			return string(b), nil
		case ch == '\\':
			if c.pos >= len(c.line) || (c.line[c.pos] != '"' && c.line[c.pos] != '\\') {
				return "", bad("Syntax error: bad escape in a quoted string")
			}
			b = append(b, c.line[c.pos])
			c.pos++
		case ch >= 0x80 && !c.s.utf8:
			return "", bad("Syntax error: 8-bit character in a quoted string")
		default:
			b = append(b, ch)
		}
	}
	return "", bad("Syntax error: unterminated quoted string")
}

// acceptLiteral applies the literal policy to the literal announced at the
// end of the current line and asks for it when it is synchronizing.
func (c *cmd) acceptLiteral() error {
	if !c.litSync {
		switch c.s.srv.opts.Literals {
		case LiteralSync:
			return &imapError{Refusal: Refusal{Bad: true, Text: "Non-synchronizing literals are not supported"},
				fatal: true, bye: "Command stream out of step after a non-synchronizing literal"}
		case LiteralMinus:
			if c.litSize > nonSyncMinus {
				return &imapError{Refusal: Refusal{Bad: true, Code: "TOOBIG", Text: "Non-synchronizing literals are limited to 4096 bytes (LITERAL-)"},
					fatal: true, bye: "Command stream out of step after a non-synchronizing literal"}
			}
		}
		return nil
	}
	text := c.s.srv.opts.ContinueText
	if text == "" {
		text = "Ready for literal data"
	}
	c.s.w.w.WriteString("+ " + text + "\r\n")
	return c.s.w.flush()
}

// literal reads a literal that is not a message into memory and moves on
// to the rest of the command.
func (c *cmd) literal() (string, error) {
	if c.litSize > maxInlineLiteral {
		return "", &imapError{Refusal: Refusal{Bad: true, Code: "TOOBIG", Text: "Literal too long for this command"}}
	}
	if err := c.acceptLiteral(); err != nil {
		return "", err
	}
	b := make([]byte, c.litSize)
	if _, err := io.ReadFull(c.s.w.r, b); err != nil {
		return "", &imapError{fatal: true, Refusal: Refusal{Bad: true, Text: "Connection ended in a literal"}}
	}
	if err := c.next(); err != nil {
		return "", err
	}
	return string(b), nil
}

// next reads the command's next segment after a literal.
func (c *cmd) next() error {
	line, err := c.s.w.readLine()
	if err != nil {
		return &imapError{fatal: true, Refusal: Refusal{Bad: true, Text: "Command line too long or cut"}, bye: "Command line too long"}
	}
	c.setLine(line)
	return nil
}

// discardRest skips what remains of a failed command: the literals the
// client sends without waiting (non-synchronizing ones) and the lines
// between them. A synchronizing literal is not sent before "+", which a
// failed command never gets.
func (c *cmd) discardRest() error {
	for c.lit && !c.litSync {
		if c.s.srv.opts.Literals == LiteralSync || (c.s.srv.opts.Literals == LiteralMinus && c.litSize > nonSyncMinus) {
			return io.ErrUnexpectedEOF // cannot stay in step: the caller closes
		}
		if _, err := io.CopyN(io.Discard, c.s.w.r, c.litSize); err != nil {
			return err
		}
		line, err := c.s.w.readLine()
		if err != nil {
			return err
		}
		c.setLine(line)
	}
	return nil
}

// onlyMailbox reads the arguments of a command that takes a mailbox
// name and nothing else; with ignoreRest, parameters after the name are
// skipped.
func (c *cmd) onlyMailbox(ignoreRest bool) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	name, err := c.mailbox()
	if err != nil {
		return "", err
	}
	if ignoreRest && c.peek() == ' ' {
		c.pos = len(c.line)
	}
	return name, c.end()
}

// mailbox reads a mailbox name and decodes it to UTF-8.
func (c *cmd) mailbox() (string, error) {
	raw, err := c.astring()
	if err != nil {
		return "", err
	}
	if c.s.utf8 {
		return raw, nil
	}
	name, err := decodeMailbox(raw)
	if err != nil {
		return "", bad("Mailbox name is not valid modified UTF-7: %q", raw)
	}
	return name, nil
}

// list reads "(" items ")" calling item for each; item reads one.
func (c *cmd) list(item func() error) error {
	if c.peek() != '(' {
		return bad("Syntax error: expected '('")
	}
	c.pos++
	for first := true; ; first = false {
		if c.peek() == ')' {
			c.pos++
			return nil
		}
		if !first {
			if err := c.sp(); err != nil {
				return err
			}
		}
		if err := item(); err != nil {
			return err
		}
	}
}

// number reads a decimal number.
func (c *cmd) number() (uint64, error) {
	start := c.pos
	for c.pos < len(c.line) && c.line[c.pos] >= '0' && c.line[c.pos] <= '9' {
		c.pos++
	}
	n, err := strconv.ParseUint(string(c.line[start:c.pos]), 10, 64)
	if err != nil {
		return 0, bad("Syntax error: expected a number at %d", start)
	}
	return n, nil
}

// seqRange is a range of a sequence set; 0 stands for "*".
type seqRange struct{ lo, hi uint32 }

// seqSet reads a sequence set.
func (c *cmd) seqSet() ([]seqRange, error) {
	var set []seqRange
	num := func() (uint32, error) {
		if c.peek() == '*' {
			c.pos++
			return 0, nil
		}
		n, err := c.number()
		if err != nil || n == 0 || n > 1<<32-1 {
			return 0, bad("Syntax error: bad sequence set")
		}
		return uint32(n), nil
	}
	for {
		lo, err := num()
		if err != nil {
			return nil, err
		}
		hi := lo
		if c.peek() == ':' {
			c.pos++
			if hi, err = num(); err != nil {
				return nil, err
			}
		}
		set = append(set, seqRange{lo, hi})
		if c.peek() != ',' {
			return set, nil
		}
		c.pos++
	}
}

// contains reports whether n is in the set, with "*" standing for max.
func contains(set []seqRange, n, max uint32) bool {
	for _, r := range set {
		lo, hi := r.lo, r.hi
		if lo == 0 {
			lo = max
		}
		if hi == 0 {
			hi = max
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if n >= lo && n <= hi {
			return true
		}
	}
	return false
}
