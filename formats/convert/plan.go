package convert

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/internal/mutf7"
)

// node is one folder of the output tree: a source folder, or a parent that
// exists only because it has children.
type node struct {
	parent   *node
	src      string // the source name
	name     string // the output name: safe, unique among siblings (UTF-8)
	rel      string // the folder's file or directory relative to Out
	children map[string][]*node
	kids     *namer
	used     bool // a mailbox was placed here
	inbox    bool
	made     bool // the writer created it
	state    any  // the writer's per-folder state
}

// names returns the output names from the top to n.
func (n *node) names() []string {
	var out []string
	for ; n != nil && n.parent != nil; n = n.parent {
		out = append(out, n.name)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// plan maps source folder paths to output folders. It depends only on the
// mailboxes and the order in which they come, so the same source always
// gives the same output.
type plan struct {
	format     string
	rules      nameRules
	root       *node
	accounts   bool   // more than one account: the account is the first level
	inboxElem  string // the source name of the top-level inbox, if any
	inboxTaken bool
}

func newPlan(format string, boxes []*formats.Mailbox) *plan {
	p := &plan{format: format, rules: rulesFor(format)}
	p.root = &node{children: map[string][]*node{}, kids: newNamer(p.rules), rel: "."}
	accounts := map[string]bool{}
	for _, b := range boxes {
		if b.Account != "" {
			accounts[b.Account] = true
		}
	}
	p.accounts = len(accounts) > 1
	for _, b := range boxes {
		if e := p.sourceNames(b); len(e) == 1 && b.Special == formats.SpecialInbox {
			p.inboxElem = e[0]
			break
		}
	}
	if p.inboxElem == "" {
		for _, b := range boxes {
			if e := p.sourceNames(b); len(e) == 1 && strings.EqualFold(e[0], "inbox") {
				p.inboxElem = e[0]
				break
			}
		}
	}
	switch format {
	case FormatMbox, FormatMaildir:
		// The inbox's name is the format's own; nobody else may take it.
		p.root.kids.reserve("inbox")
	}
	p.root.kids.reserve(NotConvertedDir)
	return p
}

// sourceNames is the folder path as the output sees it: the account first
// when the source has several, and a name for a mailbox without a path.
func (p *plan) sourceNames(b *formats.Mailbox) []string {
	var e []string
	if p.accounts {
		e = append(e, b.Account)
	}
	e = append(e, b.Path...)
	if len(e) == 0 {
		name := "Mail"
		if b.Location != "" {
			name = filepath.Base(b.Location)
		}
		e = []string{name}
	}
	return e
}

// place returns the node for a mailbox, creating it and its parents.
// A second mailbox with the same path gets a sibling of its own.
func (p *plan) place(b *formats.Mailbox) *node {
	elems := p.sourceNames(b)
	cur := p.root
	for i, e := range elems {
		last := i == len(elems)-1
		var next *node
		if cands := cur.children[e]; len(cands) > 0 {
			next = cands[0]
			if last && next.used {
				next = nil
			}
		}
		if next == nil {
			next = p.newChild(cur, e)
		}
		cur = next
	}
	cur.used = true
	return cur
}

func (p *plan) newChild(parent *node, src string) *node {
	n := &node{parent: parent, src: src, children: map[string][]*node{}, kids: newNamer(p.rules)}
	if parent == p.root && src == p.inboxElem && !p.inboxTaken {
		p.inboxTaken = true
		n.inbox = true
		switch p.format {
		case FormatMbox:
			n.name = "Inbox" // Thunderbird's name for it
		case FormatMaildir:
			n.name = "INBOX"
		}
	}
	if n.name == "" {
		n.name = parent.kids.unique(SafeName(p.format, src), "")
	}
	parent.children[src] = append(parent.children[src], n)
	n.rel = p.relPath(n)
	return n
}

// relPath is where a folder lives, relative to Out.
func (p *plan) relPath(n *node) string {
	names := n.names()
	switch p.format {
	case FormatMbox:
		parts := make([]string, len(names))
		for i, s := range names {
			parts[i] = s
			if i < len(names)-1 {
				parts[i] += ".sbd"
			}
		}
		return filepath.Join(parts...)
	case FormatMaildir:
		if n.inbox {
			return "."
		}
		enc := make([]string, len(names))
		for i, s := range names {
			enc[i] = mutf7.Encode(s)
		}
		return "." + strings.Join(enc, ".")
	default:
		return filepath.Join(names...)
	}
}

// headPeek is how much of a message is looked at for its header.
const headPeek = 64 << 10

// source is the message being converted: its reader, its parsed header
// and its received date. One source is reused for all messages.
type source struct {
	r       recordingReader
	br      *bufio.Reader
	buf     []byte
	head    formats.Header
	date    time.Time
	undated bool
}

// recordingReader remembers the first error of the message reader, so
// that a failed copy can be blamed on the source or on the output.
type recordingReader struct {
	rc  io.ReadCloser
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (s *source) open(m *formats.Message) error {
	rc, err := m.Open()
	if err != nil {
		return err
	}
	s.r = recordingReader{rc: rc}
	if s.br == nil {
		s.br = bufio.NewReaderSize(&s.r, headPeek)
	} else {
		s.br.Reset(&s.r)
	}
	head, err := s.br.Peek(headPeek)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		rc.Close()
		return err
	}
	s.head = formats.ParseHeader(head)
	s.date, s.undated = m.Date, false
	if s.date.IsZero() {
		if t, ok := s.head.Date(); ok {
			s.date = t
		} else if t, ok := s.head.ReceivedDate(); ok {
			s.date = t
		} else {
			s.date, s.undated = undatedTime, true
		}
	}
	return nil
}

// copyTo copies the rest of the message to w through a buffer kept from
// message to message (io.Copy to an *os.File would allocate one per
// message: os.File.ReadFrom falls back to a fresh 32 KB buffer).
func (s *source) copyTo(w io.Writer) (int64, error) {
	if s.buf == nil {
		s.buf = make([]byte, 32<<10)
	}
	var n int64
	for {
		k, err := s.br.Read(s.buf)
		if k > 0 {
			m, werr := w.Write(s.buf[:k])
			n += int64(m)
			if werr != nil {
				return n, werr
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// copyErr classifies an error of copying the message to w.
// writeTemp writes the message to a new file at tmp (never an existing
// one) with the received date as its modification time, and returns the
// bytes written. On error nothing is left at tmp; a read error of the
// source comes back through copyErr.
func (s *source) writeTemp(tmp string) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	nw, err := s.copyTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp, s.date, s.date)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, s.copyErr(err)
	}
	return nw, nil
}

func (s *source) copyErr(err error) error {
	if err == nil {
		return nil
	}
	if s.r.err != nil {
		return &readError{err: s.r.err}
	}
	return err
}

func (s *source) close() {
	if s.r.rc != nil {
		s.r.rc.Close()
		s.r.rc = nil
	}
}
