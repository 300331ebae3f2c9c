package bulk

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"mailferry/internal/mutf7"
)

// Folder is one folder of a LIST answer.
type Folder struct {
	// Name is the folder's name in UTF-8 (decoded from modified UTF-7,
	// RFC 3501 section 5.1.3).
	Name string
	// Raw is the name as the server sent it.
	Raw string
	// Attrs are the name attributes (\Noselect, \HasChildren, \Sent, ...),
	// as spelled by the server.
	Attrs []string
	// Delim is the hierarchy delimiter; 0 for NIL (a flat name).
	Delim rune
}

// Undecodable is a folder whose name is neither valid modified UTF-7 nor
// UTF-8: nothing can name it in a command, so it is left out of a LIST
// and reported.
type Undecodable struct {
	Raw    string
	Reason string
}

// maxFolders bounds the folders one LIST may return (a hostile server
// could stream names for ever; the response limit bounds each one).
const maxFolders = 1 << 20

// List sends LIST ref pattern, with RETURN (SPECIAL-USE) when specialUse
// (RFC 6154; the caller checks the server offers it), and returns the
// folders whose names could be decoded and those that could not. One
// undecodable name (invalid modified UTF-7) never fails the command: go-imap
// would fail the whole LIST on it, and one odd folder would stop every
// run.
func (c *Client) List(ctx context.Context, ref, pattern string, specialUse bool) ([]Folder, []Undecodable, error) {
	lc, err := c.StartList(ctx, ref, pattern, specialUse)
	if err != nil {
		return nil, nil, err
	}
	return lc.Wait(ctx)
}

// ListCommand is a LIST sent and not yet waited for (StartList).
type ListCommand struct {
	c       *Client
	cmd     *Command
	folders []Folder
	bad     []Undecodable
	perr    error
}

// StartList sends LIST as List does, without waiting for the answer:
// other commands may follow in the same flight (Detach's too). Wait
// returns what List returns.
func (c *Client) StartList(ctx context.Context, ref, pattern string, specialUse bool) (*ListCommand, error) {
	r, err := quotedArg(ref)
	if err != nil {
		return nil, err
	}
	p, err := quotedArg(pattern)
	if err != nil {
		return nil, err
	}
	args := "LIST " + r + " " + p
	if specialUse {
		args += " RETURN (SPECIAL-USE)"
	}
	lc := &ListCommand{c: c}
	lc.cmd, err = c.startCollect(ctx, "LIST", args, func(text string) {
		if lc.perr != nil {
			return
		}
		if len(lc.folders)+len(lc.bad) >= maxFolders {
			lc.perr = fmt.Errorf("%w: LIST: more than %d folders", ErrProtocol, maxFolders)
			return
		}
		f, err := parseListResponse(text)
		if err != nil {
			lc.perr = err
			return
		}
		name, ok := mutf7.Decode(f.Raw)
		switch {
		case ok:
			f.Name = name
		case !isASCII(f.Raw) && utf8.ValidString(f.Raw) && strings.IndexFunc(f.Raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0:
			// A server that sends UTF-8 without being asked to.
			f.Name = f.Raw
		default:
			lc.bad = append(lc.bad, Undecodable{Raw: f.Raw, Reason: "not valid modified UTF-7 (RFC 3501 section 5.1.3)"})
			return
		}
		lc.folders = append(lc.folders, f)
	})
	if err != nil {
		return nil, err
	}
	return lc, nil
}

// Wait waits for the answer and returns the folders, as List.
func (lc *ListCommand) Wait(ctx context.Context) ([]Folder, []Undecodable, error) {
	if _, err := lc.c.endCollect(ctx, "LIST", lc.cmd); err != nil {
		return nil, nil, err
	}
	// The collector ran in the reader's goroutine, under the client's
	// lock; endCollect took it after the answer.
	lc.c.mu.Lock()
	defer lc.c.mu.Unlock()
	return lc.folders, lc.bad, lc.perr
}

// Namespace sends NAMESPACE (RFC 2342) and returns the first personal
// namespace: its prefix ("INBOX." on many servers) and delimiter. ok is
// false when the server lists none.
func (c *Client) Namespace(ctx context.Context) (prefix string, delim rune, ok bool, err error) {
	nc, err := c.StartNamespace(ctx)
	if err != nil {
		return "", 0, false, err
	}
	return nc.Wait(ctx)
}

// NamespaceCommand is a NAMESPACE sent and not yet waited for.
type NamespaceCommand struct {
	c    *Client
	cmd  *Command
	text string
}

// StartNamespace sends NAMESPACE without waiting for the answer (see
// StartList); Wait returns what Namespace returns.
func (c *Client) StartNamespace(ctx context.Context) (*NamespaceCommand, error) {
	nc := &NamespaceCommand{c: c}
	var err error
	nc.cmd, err = c.startCollect(ctx, "NAMESPACE", "NAMESPACE", func(t string) { nc.text = t })
	if err != nil {
		return nil, err
	}
	return nc, nil
}

// Wait waits for the answer and parses it, as Namespace.
func (nc *NamespaceCommand) Wait(ctx context.Context) (prefix string, delim rune, ok bool, err error) {
	if _, err := nc.c.endCollect(ctx, "NAMESPACE", nc.cmd); err != nil {
		return "", 0, false, err
	}
	nc.c.mu.Lock()
	text := nc.text
	nc.c.mu.Unlock()
	p := &listParser{s: text}
	if p.nil() {
		return "", 0, false, nil
	}
	// The list of personal namespaces, then its first namespace: "((".
	outer := p.byte('(')
	if !outer || !p.byte('(') {
		return "", 0, false, fmt.Errorf("%w: NAMESPACE %q: want a list of namespaces", ErrProtocol, clip(text))
	}
	raw, ok := p.astring()
	if !ok || !p.byte(' ') {
		return "", 0, false, fmt.Errorf("%w: NAMESPACE %q: bad prefix", ErrProtocol, clip(text))
	}
	d, ok := p.delim()
	if !ok {
		return "", 0, false, fmt.Errorf("%w: NAMESPACE %q: bad delimiter", ErrProtocol, clip(text))
	}
	name, decoded := mutf7.Decode(raw)
	if !decoded {
		name = raw
	}
	return name, d, true, nil
}

// startCollect sends a command without literals and without waiting for
// its answer, handing the text of each of its untagged responses of kind
// to f (in the reader's goroutine, under the client's lock: f must be
// quick and must not call the client) until endCollect. Commands that
// collect different kinds may be in flight together; two of one kind may
// not (their responses could not be told apart).
func (c *Client) startCollect(ctx context.Context, kind, args string, f func(text string)) (*Command, error) {
	c.mu.Lock()
	if c.collecting[kind] != nil {
		c.mu.Unlock()
		return nil, fmt.Errorf("%s: another command is collecting answers", kind)
	}
	if c.collecting == nil {
		c.collecting = map[string]*collector{}
	}
	c.collecting[kind] = &collector{kind: kind, f: f}
	c.mu.Unlock()
	cmd := &Command{op: kind, done: make(chan struct{}), Atomic: true}
	err := c.write(ctx, cmd, func() error {
		_, err := c.bw.WriteString(args)
		return err
	})
	if err != nil {
		c.stopCollect(kind)
		return nil, err
	}
	return cmd, nil
}

// endCollect waits for the answer of a command from startCollect and
// stops collecting (also when ctx ended first).
func (c *Client) endCollect(ctx context.Context, kind string, cmd *Command) (*response, error) {
	defer c.stopCollect(kind)
	if _, err := cmd.Wait(ctx); err != nil {
		// Not cmd.resp: after ctx ended the reader may still be setting it.
		return nil, err
	}
	return cmd.resp, nil
}

func (c *Client) stopCollect(kind string) {
	c.mu.Lock()
	delete(c.collecting, kind)
	c.mu.Unlock()
}

// collector takes the untagged responses of one kind (see collect).
type collector struct {
	kind string
	f    func(text string)
}

// quotedArg is s as a quoted string, for an argument of LIST.
func quotedArg(s string) (string, error) {
	q, ok := quoted(mutf7.Encode(s))
	if !ok {
		return "", fmt.Errorf("%q cannot be sent as a quoted string", s)
	}
	return q, nil
}

// parseListResponse parses the text of an untagged LIST response:
// "(attributes) delimiter name [extended data]", the delimiter a quoted
// character or NIL, the name an atom, a quoted string or a literal (which
// readResponse left inline: "{n}" CRLF and n bytes).
func parseListResponse(text string) (Folder, error) {
	p := &listParser{s: text}
	var f Folder
	if !p.byte('(') {
		return f, fmt.Errorf("%w: LIST %q: want attributes", ErrProtocol, clip(text))
	}
	for !p.byte(')') {
		p.byte(' ')
		a := p.atom()
		if a == "" {
			return f, fmt.Errorf("%w: LIST %q: bad attribute", ErrProtocol, clip(text))
		}
		f.Attrs = append(f.Attrs, a)
	}
	if !p.byte(' ') {
		return f, fmt.Errorf("%w: LIST %q: want a delimiter", ErrProtocol, clip(text))
	}
	d, ok := p.delim()
	if !ok || !p.byte(' ') {
		return f, fmt.Errorf("%w: LIST %q: bad delimiter", ErrProtocol, clip(text))
	}
	f.Delim = d
	name, ok := p.astring()
	if !ok {
		return f, fmt.Errorf("%w: LIST %q: bad name", ErrProtocol, clip(text))
	}
	f.Raw = name
	return f, nil
}

// listParser reads the pieces of a response's text.
type listParser struct {
	s string
	i int
}

func (p *listParser) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *listParser) nil() bool {
	if len(p.s)-p.i >= 3 && strings.EqualFold(p.s[p.i:p.i+3], "NIL") {
		p.i += 3
		return true
	}
	return false
}

// atom reads an atom (flag-like: a leading '\' allowed).
func (p *listParser) atom() string {
	start := p.i
	if p.i < len(p.s) && p.s[p.i] == '\\' {
		p.i++
	}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// delim reads a quoted one-character delimiter or NIL (0).
func (p *listParser) delim() (rune, bool) {
	if p.nil() {
		return 0, true
	}
	s, ok := p.quoted()
	if !ok || utf8.RuneCountInString(s) != 1 {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r, true
}

// astring reads an atom, a quoted string or a literal.
func (p *listParser) astring() (string, bool) {
	if p.i >= len(p.s) {
		return "", false
	}
	switch p.s[p.i] {
	case '"':
		return p.quoted()
	case '{':
		return p.literal()
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(`(){"\`, c) >= 0 {
			break
		}
		p.i++
	}
	return p.s[start:p.i], p.i > start
}

func (p *listParser) quoted() (string, bool) {
	if !p.byte('"') {
		return "", false
	}
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), true
		case '\\':
			if p.i >= len(p.s) {
				return "", false
			}
			b.WriteByte(p.s[p.i])
			p.i++
		case '\r', '\n':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// literal reads "{n}" or "{n+}", CRLF and the n bytes that follow.
func (p *listParser) literal() (string, bool) {
	end := strings.IndexByte(p.s[p.i:], '}')
	if end < 0 {
		return "", false
	}
	digits := strings.TrimSuffix(p.s[p.i+1:p.i+end], "+")
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 {
		return "", false
	}
	p.i += end + 1
	if !strings.HasPrefix(p.s[p.i:], "\r\n") {
		return "", false
	}
	p.i += 2
	if len(p.s)-p.i < n {
		return "", false
	}
	s := p.s[p.i : p.i+n]
	p.i += n
	return s, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
