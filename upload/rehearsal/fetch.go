package rehearsal

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// fetchItem is one item of a FETCH.
type fetchItem struct {
	kind    fetchKind
	echo    string   // the item's name in the answer, e.g. "BODY[HEADER.FIELDS (Subject)]"
	fields  []string // HEADER.FIELDS (.NOT)
	not     bool
	peek    bool
	partial bool
	off, n  int64
}

type fetchKind int

const (
	fetchUID fetchKind = iota
	fetchFlags
	fetchDate
	fetchSize
	fetchHeader // BODY[HEADER], BODY.PEEK[HEADER], RFC822.HEADER
	fetchFields // BODY[HEADER.FIELDS (...)] and .NOT
)

// errBodyless refuses what the server cannot answer: it keeps headers only.
var errBodyless = no("CANNOT", "The rehearsal server keeps only message headers: "+
	"BODY[], BODY[TEXT], body parts, BINARY, BODYSTRUCTURE and ENVELOPE are not available")

func (s *session) cmdFetch(c *cmd) (string, error) {
	byUID := c.name == "UID FETCH"
	if s.sel == nil {
		return "", bad("No mailbox selected")
	}
	if err := c.sp(); err != nil {
		return "", err
	}
	set, err := c.seqSet()
	if err != nil {
		return "", err
	}
	if err := c.sp(); err != nil {
		return "", err
	}
	var items []fetchItem
	if c.peek() == '(' {
		err = c.list(func() error {
			it, err := c.fetchAtt()
			items = append(items, it...)
			return err
		})
	} else {
		items, err = c.fetchAtt()
	}
	if err != nil {
		return "", err
	}
	if c.peek() == ' ' { // CHANGEDSINCE and other modifiers
		return "", no("CANNOT", "FETCH modifiers are not supported")
	}
	if err := c.end(); err != nil {
		return "", err
	}
	if byUID {
		items = append([]fetchItem{{kind: fetchUID}}, items...)
	}
	// Report new messages first, so that "*" means what the client knows.
	s.updates(c.name)
	markSeen := false
	for _, it := range items {
		if (it.kind == fetchHeader || it.kind == fetchFields) && !it.peek {
			markSeen = !s.readOnly
		}
	}
	// The folder's lock is taken per message, never while writing to the
	// client: a client that reads slowly must not stop the others'
	// APPENDs. Messages are never removed, so positions stay valid.
	mb := s.sel
	mb.mu.Lock()
	n := len(mb.msgs)
	var maxUID uint32
	if n > 0 {
		maxUID = mb.msgs[n-1].uid
	}
	mb.mu.Unlock()
	for i := 0; i < n; i++ {
		mb.mu.Lock()
		m := mb.msgs[i]
		in := byUID && contains(set, m.uid, maxUID) || !byUID && contains(set, uint32(i+1), uint32(n))
		flagsChanged := false
		if in && markSeen && !m.flags.seen {
			m.flags = s.a.withSeen(m.flags)
			mb.msgs[i].flags = m.flags
			flagsChanged = true
		}
		mb.mu.Unlock()
		if !in {
			continue
		}
		if err := s.fetchOne(i+1, &m, items, flagsChanged); err != nil {
			return "", err
		}
	}
	return c.name + " completed", nil
}

// fetchAtt reads one fetch attribute (a macro gives several).
func (c *cmd) fetchAtt() ([]fetchItem, error) {
	start := c.pos
	for c.pos < len(c.line) && c.line[c.pos] != ' ' && c.line[c.pos] != ')' && c.line[c.pos] != '[' {
		c.pos++
	}
	name := strings.ToUpper(string(c.line[start:c.pos]))
	switch name {
	case "UID":
		return []fetchItem{{kind: fetchUID}}, nil
	case "FLAGS":
		return []fetchItem{{kind: fetchFlags}}, nil
	case "INTERNALDATE":
		return []fetchItem{{kind: fetchDate}}, nil
	case "RFC822.SIZE":
		return []fetchItem{{kind: fetchSize}}, nil
	case "RFC822.HEADER":
		return []fetchItem{{kind: fetchHeader, echo: "RFC822.HEADER", peek: true}}, nil
	case "FAST":
		return []fetchItem{{kind: fetchFlags}, {kind: fetchDate}, {kind: fetchSize}}, nil
	case "BODY", "BODY.PEEK":
		if c.peek() != '[' {
			return nil, errBodyless // BODY: the body structure
		}
	case "":
		return nil, bad("Syntax error: expected a FETCH item")
	case "ALL", "FULL", "ENVELOPE", "BODYSTRUCTURE", "RFC822", "RFC822.TEXT", "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		return nil, errBodyless
	default:
		return nil, bad("Unknown FETCH item %q", name)
	}
	// BODY[section]<partial>
	close := bytes.IndexByte(c.line[c.pos:], ']')
	if close < 0 {
		return nil, bad("Syntax error: unterminated section")
	}
	section := string(c.line[c.pos+1 : c.pos+close])
	c.pos += close + 1
	it := fetchItem{peek: name == "BODY.PEEK"}
	spec, list, _ := strings.Cut(section, " ")
	switch strings.ToUpper(spec) {
	case "HEADER":
		if list != "" {
			return nil, bad("Syntax error in section")
		}
		it.kind = fetchHeader
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		it.kind, it.not = fetchFields, strings.HasSuffix(strings.ToUpper(spec), ".NOT")
		sub := &cmd{s: c.s}
		sub.setLine([]byte(list))
		if err := sub.list(func() error {
			f, err := sub.astring()
			it.fields = append(it.fields, f)
			return err
		}); err != nil || sub.end() != nil || len(it.fields) == 0 {
			return nil, bad("Syntax error in header field list")
		}
	default:
		return nil, errBodyless
	}
	it.echo = "BODY[" + section + "]"
	if c.peek() == '<' {
		end := bytes.IndexByte(c.line[c.pos:], '>')
		if end < 0 {
			return nil, bad("Syntax error: unterminated partial")
		}
		os, ns, ok := strings.Cut(string(c.line[c.pos+1:c.pos+end]), ".")
		off, err1 := strconv.ParseInt(os, 10, 64)
		n, err2 := strconv.ParseInt(ns, 10, 64)
		if !ok || err1 != nil || err2 != nil || off < 0 || n <= 0 {
			return nil, bad("Syntax error in partial")
		}
		c.pos += end + 1
		it.partial, it.off, it.n = true, off, n
		it.echo += "<" + os + ">"
	}
	return []fetchItem{it}, nil
}

// fetchOne writes one message's FETCH answer. A failure to read the
// header file still completes the answer (the literal is filled with
// spaces), so that the connection stays in step.
func (s *session) fetchOne(seq int, m *message, items []fetchItem, flagsChanged bool) error {
	w := s.w.w
	fmt.Fprintf(w, "* %d FETCH (", seq)
	var header []byte // read at most once
	var firstErr error
	hdr := func() []byte {
		if header == nil {
			b, err := s.a.headers.read(m.hoff, m.hlen)
			if err != nil && firstErr == nil {
				firstErr = err
			}
			header = b
		}
		return header
	}
	sep := ""
	item := func(format string, args ...any) {
		w.WriteString(sep)
		fmt.Fprintf(w, format, args...)
		sep = " "
	}
	wantFlags := flagsChanged
	uidDone := false
	for _, it := range items {
		switch it.kind {
		case fetchUID:
			if !uidDone {
				item("UID %d", m.uid)
				uidDone = true
			}
		case fetchFlags:
			wantFlags = true
		case fetchDate:
			item("INTERNALDATE %q", m.time().Format("02-Jan-2006 15:04:05 -0700"))
		case fetchSize:
			item("RFC822.SIZE %d", m.size)
		case fetchHeader, fetchFields:
			var r io.Reader
			var size int64
			if it.kind == fetchHeader {
				// The stored bytes as they are: no parsing.
				size, r = int64(m.hlen), io.NewSectionReader(s.a.headers.f, m.hoff, int64(m.hlen))
			} else {
				b := headerFields(hdr(), it.fields, it.not)
				size, r = int64(len(b)), bytes.NewReader(b)
			}
			if it.partial {
				start := min(it.off, size)
				end := min(start+it.n, size)
				r = io.NewSectionReader(readerAt(r, size), start, end-start)
				size = end - start
			}
			item("%s {%d}\r\n", it.echo, size)
			if s.copyBuf == nil {
				s.copyBuf = make([]byte, 32<<10)
			}
			k, err := io.CopyBuffer(w, io.LimitReader(r, size), s.copyBuf)
			if k < size {
				if err == nil {
					err = io.ErrUnexpectedEOF
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("rehearsal server: read header: %w", err)
				}
				_, _ = io.CopyN(w, spaces{}, size-k)
			}
		}
	}
	if wantFlags {
		item("FLAGS (%s)", strings.Join(m.flags.list, " "))
	}
	w.WriteString(")\r\n")
	if firstErr != nil {
		s.srv.log.Debug("rehearsal server: FETCH", "err", firstErr)
	}
	return nil
}

// readerAt gives a section reader over a reader of known size: the header
// file's section readers are ReaderAts already, byte slices are wrapped.
func readerAt(r io.Reader, size int64) io.ReaderAt {
	if ra, ok := r.(io.ReaderAt); ok {
		return ra
	}
	b := make([]byte, size)
	n, _ := io.ReadFull(r, b)
	return bytes.NewReader(b[:n])
}

type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

// headerFields returns the fields of a header block whose names are (or,
// with not, are not) in names, followed by the empty line (RFC 3501
// BODY[HEADER.FIELDS]).
func headerFields(block []byte, names []string, not bool) []byte {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	var out []byte
	keep := false
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line = block[:i+1]
		}
		block = block[len(line):]
		body := bytes.TrimRight(line, "\r\n")
		if len(body) == 0 {
			break
		}
		if body[0] != ' ' && body[0] != '\t' {
			name, _, _ := bytes.Cut(body, []byte{':'})
			keep = want[strings.ToLower(string(bytes.TrimSpace(name)))] != not
		}
		if keep {
			out = append(out, body...)
			out = append(out, '\r', '\n')
		}
	}
	return append(out, '\r', '\n')
}

// sortedFlags is for tests and accessors.
func sortedFlags(l []string) []string {
	out := append([]string(nil), l...)
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}
