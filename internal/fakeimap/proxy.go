package fakeimap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxHeld bounds what the proxy holds in memory: one response of the
// honest server, or one APPEND literal a Behaviour looks at. Test messages
// are far smaller; a larger APPEND literal streams through unseen.
const maxHeld = 64 << 20

// conn is one client connection: commands go from the client through the
// Behaviour to the honest server, responses come back the same way.
type conn struct {
	s  *Server
	cc net.Conn
	cr *bufio.Reader
	bc net.Conn
	br *bufio.Reader

	wmu sync.Mutex // guards cw
	cw  *bufio.Writer

	mu       sync.Mutex
	tags     map[string]string // tag → command name of forwarded commands
	poisoned map[string]literalAction
	lying    int // untagged FETCH answers still to hide
}

// command is a client command as the proxy sees it.
type command struct {
	tag, name string // name upper case, "UID FETCH" for UID commands
	line      []byte // the first line, without CRLF
}

// response is one response of the honest server: its whole bytes
// (literals included) and its tag ("*" or "+" when not tagged).
type response struct {
	tag string
	raw []byte
	cmd string // for a tagged response: the command it ends
}

// literalAction is what happens to an APPEND literal a Behaviour saw.
type literalAction int

const (
	forward        literalAction = iota
	dropThenBye                  // the server never stores it: BYE, then the end
	dropThenClose                // the server never stores it: the connection just ends
	storeThenBye                 // stored, then BYE instead of the tagged OK
	storeThenClose               // stored, then the end instead of the tagged OK
)

func (s *Server) serve(c net.Conn) {
	if s.b.noGreeting {
		// Hold the connection, reading and dropping whatever comes, until
		// the client or Close ends it.
		s.hit()
		_, _ = io.Copy(io.Discard, c)
		return
	}
	bc, err := net.Dial("tcp", s.BackendAddr)
	if err != nil || !s.track(bc) {
		return
	}
	defer s.untrack(bc)
	p := &conn{s: s, cc: c, cr: bufio.NewReader(c), bc: bc, br: bufio.NewReader(bc), cw: bufio.NewWriter(c),
		tags: map[string]string{}, poisoned: map[string]literalAction{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		p.fromBackend()
		_ = c.Close()
	}()
	p.fromClient()
	_ = bc.Close()
}

// write sends bytes to the client at once.
func (p *conn) write(b []byte) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.cw.Write(b); err != nil {
		return err
	}
	return p.cw.Flush()
}

func (p *conn) writeString(s string) error { return p.write([]byte(s)) }

// end closes both sides.
func (p *conn) end() {
	_ = p.cc.Close()
	_ = p.bc.Close()
}

var errTooLong = errors.New("line too long")

// readLine reads a line without its CRLF (or LF), of at most maxHeld
// bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > maxHeld {
			return nil, errTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'}), nil
	}
}

// literalOf finds the literal announced at the end of a line: "{n}" or
// "{n+}".
func literalOf(line []byte) (n int64, sync, ok bool) {
	if !bytes.HasSuffix(line, []byte("}")) {
		return 0, false, false
	}
	open := bytes.LastIndexByte(line, '{')
	if open < 0 {
		return 0, false, false
	}
	spec := line[open+1 : len(line)-1]
	sync = true
	if bytes.HasSuffix(spec, []byte("+")) {
		spec, sync = spec[:len(spec)-1], false
	}
	n, err := strconv.ParseInt(string(spec), 10, 64)
	if err != nil || n < 0 || len(spec) == 0 || spec[0] < '0' || spec[0] > '9' {
		return 0, false, false
	}
	return n, sync, true
}

func parseCommand(line []byte) *command {
	f := strings.Fields(string(line))
	c := &command{line: line}
	if len(f) > 0 {
		c.tag = f[0]
	}
	if len(f) > 1 {
		c.name = strings.ToUpper(f[1])
		if c.name == "UID" && len(f) > 2 {
			c.name += " " + strings.ToUpper(f[2])
		}
	}
	return c
}

func (p *conn) fromClient() {
	for {
		line, err := readLine(p.cr)
		if err != nil {
			return
		}
		c := parseCommand(line)
		if h := p.s.b.command; h != nil && h(p, c) {
			continue
		}
		p.mu.Lock()
		p.tags[c.tag] = c.name
		p.mu.Unlock()
		if err := p.forward(c); err != nil {
			return
		}
	}
}

// forward sends a command to the honest server, with its literals; an
// APPEND literal goes past the Behaviour first.
func (p *conn) forward(c *command) error {
	line := c.line
	for {
		if _, err := p.bc.Write(append(append([]byte(nil), line...), '\r', '\n')); err != nil {
			return err
		}
		n, _, ok := literalOf(line)
		if !ok {
			return nil
		}
		if h := p.s.b.literal; h != nil && c.name == "APPEND" && n <= maxHeld {
			data := make([]byte, n)
			if _, err := io.ReadFull(p.cr, data); err != nil {
				return err
			}
			switch act := h(p, c, data); act {
			case dropThenBye, dropThenClose:
				p.s.hit()
				if act == dropThenBye {
					_ = p.writeString("* BYE Server shutting down\r\n")
				}
				p.end()
				return io.EOF
			case storeThenBye, storeThenClose:
				p.s.hit()
				p.mu.Lock()
				p.poisoned[c.tag] = act
				p.mu.Unlock()
			}
			if _, err := p.bc.Write(data); err != nil {
				return err
			}
		} else if _, err := io.CopyN(p.bc, p.cr, n); err != nil {
			return err
		}
		var err error
		if line, err = readLine(p.cr); err != nil {
			return err
		}
	}
}

// swallow reads the rest of a command the Behaviour answers itself: its
// literals (asking for synchronizing ones) and the lines between them.
func (p *conn) swallow(c *command) error {
	line := c.line
	for {
		n, sync, ok := literalOf(line)
		if !ok {
			return nil
		}
		if sync {
			if err := p.writeString("+ go ahead\r\n"); err != nil {
				return err
			}
		}
		if _, err := io.CopyN(io.Discard, p.cr, n); err != nil {
			return err
		}
		var err error
		if line, err = readLine(p.cr); err != nil {
			return err
		}
	}
}

// readResponse reads one whole response of the honest server.
func readResponse(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		out = append(append(out, line...), '\r', '\n')
		n, _, ok := literalOf(line)
		if !ok {
			return out, nil
		}
		if int64(len(out))+n > maxHeld {
			return nil, errTooLong
		}
		lit := make([]byte, n)
		if _, err := io.ReadFull(r, lit); err != nil {
			return nil, err
		}
		out = append(out, lit...)
	}
}

func (p *conn) fromBackend() {
	for {
		raw, err := readResponse(p.br)
		if err != nil {
			return
		}
		r := &response{raw: raw}
		if i := bytes.IndexByte(raw, ' '); i > 0 {
			r.tag = string(raw[:i])
		}
		if r.tag != "*" && r.tag != "+" {
			p.mu.Lock()
			r.cmd = p.tags[r.tag]
			delete(p.tags, r.tag)
			act, poisoned := p.poisoned[r.tag]
			delete(p.poisoned, r.tag)
			p.mu.Unlock()
			if poisoned {
				if act == storeThenBye {
					_ = p.writeString("* BYE Server shutting down\r\n")
				}
				p.end()
				return
			}
		}
		if len(p.s.b.extraCaps) > 0 {
			r.raw = addCaps(r.raw, p.s.b.extraCaps)
		}
		if h := p.s.b.response; h != nil && h(p, r) {
			continue
		}
		if err := p.write(r.raw); err != nil {
			return
		}
	}
}

// addCaps adds capabilities to a CAPABILITY response or response code.
func addCaps(raw []byte, caps []string) []byte {
	extra := " " + strings.Join(caps, " ")
	if i := bytes.Index(raw, []byte("[CAPABILITY ")); i >= 0 {
		if end := bytes.IndexByte(raw[i:], ']'); end > 0 {
			return append(append(append([]byte(nil), raw[:i+end]...), extra...), raw[i+end:]...)
		}
	}
	if bytes.HasPrefix(raw, []byte("* CAPABILITY ")) {
		body := bytes.TrimSuffix(raw, []byte("\r\n"))
		return append(append(append([]byte(nil), body...), extra...), '\r', '\n')
	}
	return raw
}

// send streams r to the client at rate bytes per second (0: as fast as
// the client reads), stopping when the server closes.
func (p *conn) send(r io.Reader, rate int64) error {
	chunk := int64(32 << 10)
	if rate > 0 && rate/20 < chunk {
		chunk = max(1, rate/20)
	}
	buf := make([]byte, chunk)
	start := time.Now()
	var sent int64
	for {
		if err := p.s.ctx.Err(); err != nil {
			return err
		}
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := p.write(buf[:n]); err != nil {
				return err
			}
			sent += int64(n)
		}
		if rerr != nil {
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				return nil
			}
			return rerr
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-p.s.ctx.Done():
					t.Stop()
					return p.s.ctx.Err()
				}
			}
		}
	}
}

// hold keeps the connection open, sending nothing more, until the client
// or Close ends it.
func (p *conn) hold() {
	_, _ = io.Copy(io.Discard, p.cr)
}

// pattern yields n bytes repeating b.
type pattern struct {
	b   []byte
	n   int64
	off int
}

func (r *pattern) Read(q []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(q)) > r.n {
		q = q[:r.n]
	}
	k := 0
	for k < len(q) {
		c := copy(q[k:], r.b[r.off:])
		k += c
		r.off = (r.off + c) % len(r.b)
	}
	r.n -= int64(k)
	return k, nil
}

// repeat yields n bytes repeating s; the pattern is kept as whole copies
// of s of at least 4 KiB, so that each Read copies big pieces.
func repeat(s string, n int64) io.Reader {
	return &pattern{b: bytes.Repeat([]byte(s), max(1, 4096/len(s))), n: n}
}
