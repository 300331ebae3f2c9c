package rehearsal

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// session is one connection.
type session struct {
	srv     *Server
	a       *account
	w       *wire
	capture *capture
	copyBuf []byte

	authed   bool
	utf8     bool // ENABLE UTF8=ACCEPT: names travel as UTF-8
	sel      *mailbox
	readOnly bool
	known    int // messages of sel the client was told about (EXISTS)
	bads     int // BAD answers in a row
	throttle bool
}

// notServed are commands a full server has and the uploader does not send:
// they are answered NO [CANNOT] rather than half done.
var notServed = map[string]bool{
	"SEARCH": true, "UID SEARCH": true, "COPY": true, "UID COPY": true, "MOVE": true, "UID MOVE": true,
	"STORE": true, "UID STORE": true, "EXPUNGE": true, "UID EXPUNGE": true, "RENAME": true,
	"IDLE": true, "GETQUOTA": true, "GETQUOTAROOT": true, "SETQUOTA": true, "XLIST": true, "SORT": true,
	"UID SORT": true, "THREAD": true, "UID THREAD": true, "GETMETADATA": true, "SETMETADATA": true,
	"CATENATE": true, "REPLACE": true, "UID REPLACE": true, "NOTIFY": true, "UNAUTHENTICATE": true,
}

func (s *session) run() error {
	greeting := s.srv.opts.Greeting
	if greeting == "" {
		greeting = "mailferry rehearsal server ready"
	}
	s.w.untagged("OK [CAPABILITY %s] %s", strings.Join(s.srv.caps(false), " "), greeting)
	if err := s.w.flush(); err != nil {
		return err
	}
	for {
		line, err := s.w.readLine()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				s.w.untagged("BYE Command line too long")
				_ = s.w.flush()
			}
			if err == io.EOF {
				return nil
			}
			return err
		}
		c := &cmd{s: s}
		c.setLine(line)
		done, err := s.handle(c)
		if err != nil || done {
			_ = s.w.flush()
			return err
		}
		if err := s.w.flush(); err != nil {
			return err
		}
	}
}

// handle runs one command and answers it; done means the connection ends.
func (s *session) handle(c *cmd) (done bool, err error) {
	c.tag = c.atom()
	if c.tag == "" || strings.Contains(c.tag, "+") || c.sp() != nil {
		s.w.untagged("BAD Invalid tag")
		return s.afterBad(c)
	}
	c.name = strings.ToUpper(c.atom())
	if c.name == "UID" {
		if err := c.sp(); err == nil {
			c.name += " " + strings.ToUpper(c.atom())
		}
	}
	s.throttle = false
	text, cerr := s.dispatch(c)
	if cerr == errAnswered {
		s.bads = 0
		return false, nil
	}
	if cerr != nil {
		var ie *imapError
		if !errors.As(cerr, &ie) {
			return true, cerr // the connection broke
		}
		typ := "NO"
		if ie.Bad {
			typ = "BAD"
		}
		s.w.tagged(c.tag, typ, ie.Code, ie.Text)
		if ie.fatal {
			if ie.bye != "" {
				s.w.untagged("BYE %s", ie.bye)
			}
			return true, nil
		}
		if ie.Bad {
			return s.afterBad(c)
		}
		s.bads = 0
		if err := c.discardRest(); err != nil {
			return true, nil
		}
		return false, nil
	}
	s.bads = 0
	if c.name == "LOGOUT" {
		return true, nil
	}
	s.updates(c.name)
	code := ""
	if strings.HasPrefix(text, "[") {
		code, text, _ = strings.Cut(text[1:], "] ")
	}
	if t := s.srv.opts.OKText; t != "" && c.name != "COMPRESS" {
		text = t
	}
	if s.throttle {
		text += " [THROTTLED]"
	}
	s.w.tagged(c.tag, "OK", code, text)
	return false, nil
}

// afterBad skips the rest of a command answered BAD and ends the connection
// after too many in a row, as servers do against clients that are not
// speaking IMAP.
func (s *session) afterBad(c *cmd) (bool, error) {
	s.bads++
	if s.bads >= 10 {
		s.w.untagged("BYE Too many invalid IMAP commands")
		return true, nil
	}
	if err := c.discardRest(); err != nil {
		return true, nil
	}
	return false, nil
}

// updates tells the client about messages that arrived in the selected
// folder (by this or another connection).
func (s *session) updates(name string) {
	if s.sel == nil {
		return
	}
	s.sel.mu.Lock()
	n := len(s.sel.msgs)
	s.sel.mu.Unlock()
	if n != s.known {
		s.w.untagged("%d EXISTS", n)
		s.known = n
	}
}

// dispatch runs a command; it returns the text of the tagged OK (with a
// leading "[CODE] " when there is one) or an error.
func (s *session) dispatch(c *cmd) (string, error) {
	switch c.name {
	case "CAPABILITY":
		if err := c.end(); err != nil {
			return "", err
		}
		s.w.untagged("CAPABILITY %s", strings.Join(s.srv.caps(s.authed), " "))
		return "CAPABILITY completed", nil
	case "NOOP", "CHECK":
		return c.name + " completed", c.end()
	case "LOGOUT":
		if err := c.end(); err != nil {
			return "", err
		}
		s.w.untagged("BYE Logging out")
		s.w.tagged(c.tag, "OK", "", "LOGOUT completed")
		return "", nil
	case "ID":
		if s.srv.opts.ID != nil {
			return s.cmdID(c)
		}
	case "LOGIN":
		return s.cmdLogin(c)
	case "AUTHENTICATE":
		return s.cmdAuthenticate(c)
	}
	if !s.authed {
		return "", bad("Unknown command or not logged in")
	}
	switch c.name {
	case "ENABLE":
		return s.cmdEnable(c)
	case "COMPRESS":
		if s.srv.opts.Compress {
			return s.cmdCompress(c)
		}
	case "NAMESPACE":
		if err := c.end(); err != nil {
			return "", err
		}
		o := s.srv.opts.Namespace
		s.w.untagged("NAMESPACE ((%s %s)) NIL NIL", quote(s.encode(o.Prefix)), quote(string(s.a.delim)))
		return "NAMESPACE completed", nil
	case "CREATE":
		return s.cmdCreate(c)
	case "DELETE":
		return s.cmdDelete(c)
	case "SUBSCRIBE", "UNSUBSCRIBE":
		return s.cmdSubscribe(c)
	case "LIST", "LSUB":
		return s.cmdList(c)
	case "STATUS":
		return s.cmdStatus(c)
	case "SELECT", "EXAMINE":
		return s.cmdSelect(c)
	case "UNSELECT", "CLOSE":
		// CLOSE does not expunge: nothing here is ever flagged \Deleted
		// by the uploader.
		if s.sel == nil {
			return "", bad("No mailbox selected")
		}
		s.sel = nil
		return c.name + " completed", c.end()
	case "APPEND":
		return s.cmdAppend(c)
	case "FETCH", "UID FETCH":
		return s.cmdFetch(c)
	}
	if notServed[c.name] || hasCap(s.srv.opts.ExtraCaps, c.name) {
		return "", no("CANNOT", "The rehearsal server does not do "+c.name+": it keeps only what an upload needs")
	}
	return "", bad("Unknown command")
}

// encode turns a UTF-8 name into what travels: modified UTF-7, or UTF-8
// after ENABLE UTF8=ACCEPT.
func (s *session) encode(name string) string {
	if s.utf8 {
		return name
	}
	return encodeMailbox(name)
}

func (s *session) cmdID(c *cmd) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	if strings.EqualFold(c.atom(), "NIL") {
		// no parameters
	} else if err := c.list(func() error { _, err := c.nstring(); return err }); err != nil {
		return "", err
	}
	if err := c.end(); err != nil {
		return "", err
	}
	var parts []string
	for _, v := range s.srv.opts.ID {
		parts = append(parts, quote(v))
	}
	if len(parts) == 0 {
		s.w.untagged("ID NIL")
	} else {
		s.w.untagged("ID (%s)", strings.Join(parts, " "))
	}
	return "ID completed", nil
}

// nstring reads a string or NIL.
func (c *cmd) nstring() (string, error) {
	if c.peek() == 'N' || c.peek() == 'n' {
		if a := c.atom(); strings.EqualFold(a, "NIL") {
			return "", nil
		}
		return "", bad("Syntax error: expected a string or NIL")
	}
	return c.astring()
}

func (s *session) cmdLogin(c *cmd) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	user, err := c.astring()
	if err != nil {
		return "", err
	}
	if err := c.sp(); err != nil {
		return "", err
	}
	pass, err := c.astring()
	if err != nil {
		return "", err
	}
	if err := c.end(); err != nil {
		return "", err
	}
	if s.authed {
		return "", bad("Already logged in")
	}
	if s.srv.opts.Auth == AuthXOAUTH2Only {
		return "", no("", "LOGIN failed.")
	}
	return s.loggedIn(user, pass)
}

// loggedIn checks the credentials and the connection limit.
func (s *session) loggedIn(user, pass string) (string, error) {
	ok := user == s.srv.user
	ok = subtle.ConstantTimeCompare([]byte(pass), []byte(s.srv.password)) == 1 && ok
	if !ok {
		return "", no("AUTHENTICATIONFAILED", "Authentication failed.")
	}
	if !s.srv.login() {
		return "", no("LIMIT", fmt.Sprintf("Maximum number of connections from user+IP exceeded (mail_max_userip_connections=%d)", s.srv.opts.MaxConnections))
	}
	s.authed = true
	return "[CAPABILITY " + strings.Join(s.srv.caps(true), " ") + "] Logged in", nil
}

func (s *session) cmdAuthenticate(c *cmd) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	mech := strings.ToUpper(c.atom())
	var resp string
	if c.peek() == ' ' {
		c.pos++
		resp = c.atom()
		if resp == "" && c.peek() == '=' {
			c.pos++
		}
	} else {
		s.w.w.WriteString("+ \r\n")
		if err := s.w.flush(); err != nil {
			return "", err
		}
		line, err := s.w.readLine()
		if err != nil {
			return "", err
		}
		resp = string(line)
	}
	if err := c.end(); err != nil {
		return "", err
	}
	if s.authed {
		return "", bad("Already logged in")
	}
	if resp == "*" {
		return "", bad("Authentication cancelled")
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", bad("Invalid base64 in AUTHENTICATE")
	}
	switch mech {
	case "PLAIN":
		if s.srv.opts.Auth == AuthXOAUTH2Only {
			return "", no("", "AUTHENTICATE failed.")
		}
		parts := bytes.Split(raw, []byte{0})
		if len(parts) != 3 {
			return "", bad("Invalid PLAIN response")
		}
		return s.loggedIn(string(parts[1]), string(parts[2]))
	case "XOAUTH2":
		if s.srv.opts.Auth != AuthXOAUTH2Only {
			break
		}
		// "user=" user ^A "auth=Bearer " token ^A ^A
		var user, token string
		for _, kv := range strings.Split(string(raw), "\x01") {
			switch {
			case strings.HasPrefix(kv, "user="):
				user = kv[len("user="):]
			case strings.HasPrefix(kv, "auth=Bearer "):
				token = kv[len("auth=Bearer "):]
			}
		}
		if _, err := s.loggedIn(user, token); err != nil {
			return "", no("", "AUTHENTICATE failed.")
		}
		return "[CAPABILITY " + strings.Join(s.srv.caps(true), " ") + "] AUTHENTICATE completed.", nil
	}
	return "", no("", "Unsupported authentication mechanism")
}

func (s *session) cmdEnable(c *cmd) (string, error) {
	var on []string
	for c.peek() == ' ' {
		c.pos++
		if x := c.atom(); strings.EqualFold(x, "UTF8=ACCEPT") && s.srv.opts.UTF8Accept {
			s.utf8 = true
			on = append(on, "UTF8=ACCEPT")
		}
	}
	if err := c.end(); err != nil {
		return "", err
	}
	s.w.untagged("ENABLED%s", strings.TrimRight(" "+strings.Join(on, " "), " "))
	return "ENABLE completed", nil
}

func (s *session) cmdCompress(c *cmd) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	if alg := c.atom(); !strings.EqualFold(alg, "DEFLATE") {
		return "", bad("Unknown compression algorithm %q", alg)
	}
	if err := c.end(); err != nil {
		return "", err
	}
	if s.w.fw != nil {
		return "", no("COMPRESSIONACTIVE", "DEFLATE active via COMPRESS")
	}
	// The OK goes out uncompressed; everything after it is compressed
	// (RFC 4978 section 3).
	s.w.tagged(c.tag, "OK", "", "DEFLATE active")
	if err := s.w.flush(); err != nil {
		return "", err
	}
	if err := s.w.compress(); err != nil {
		return "", err
	}
	return "", errAnswered
}

// errAnswered tells handle that the command already wrote its tagged OK.
var errAnswered = &imapError{}

func (s *session) cmdCreate(c *cmd) (string, error) {
	// CREATE-SPECIAL-USE parameters and the like are ignored.
	name, err := c.onlyMailbox(true)
	if err != nil {
		return "", err
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", no("CANNOT", "Control characters are not allowed in mailbox names")
	}
	if r := s.a.create(name); r != nil {
		return "", refused(r)
	}
	return "CREATE completed", nil
}

// cmdDelete deletes an empty folder without folders below it: the
// uploader deletes only the folder it created to learn the server's name
// rules, and the rehearsal never throws messages away.
func (s *session) cmdDelete(c *cmd) (string, error) {
	name, err := c.onlyMailbox(false)
	if err != nil {
		return "", err
	}
	if r := s.a.delete(name, s.sel); r != nil {
		return "", refused(r)
	}
	return "DELETE completed", nil
}

func (s *session) cmdSubscribe(c *cmd) (string, error) {
	name, err := c.onlyMailbox(false)
	if err != nil {
		return "", err
	}
	mb := s.a.mailbox(name)
	if mb == nil {
		return "", no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	mb.mu.Lock()
	mb.subscribed = c.name == "SUBSCRIBE"
	mb.mu.Unlock()
	return c.name + " completed", nil
}

func (s *session) cmdStatus(c *cmd) (string, error) {
	if err := c.sp(); err != nil {
		return "", err
	}
	name, err := c.mailbox()
	if err != nil {
		return "", err
	}
	if err := c.sp(); err != nil {
		return "", err
	}
	var items []string
	if err := c.list(func() error {
		items = append(items, strings.ToUpper(c.atom()))
		return nil
	}); err != nil {
		return "", err
	}
	if err := c.end(); err != nil {
		return "", err
	}
	mb := s.a.mailbox(name)
	if mb == nil || mb.noSelect {
		return "", no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	st, err := s.status(mb, items)
	if err != nil {
		return "", err
	}
	s.w.untagged("STATUS %s (%s)", quote(s.encode(mb.name)), st)
	return "STATUS completed", nil
}

// status formats the STATUS items of a folder.
func (s *session) status(mb *mailbox, items []string) (string, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var out []string
	for _, it := range items {
		var v int64
		switch it {
		case "MESSAGES":
			v = int64(len(mb.msgs))
		case "UIDNEXT":
			v = int64(mb.uidNext)
		case "UIDVALIDITY":
			v = int64(mb.uidValidity)
		case "UNSEEN":
			for i := range mb.msgs {
				if !mb.msgs[i].flags.seen {
					v++
				}
			}
		case "RECENT", "DELETED":
			v = 0 // the uploader never sets \Deleted; nothing is recent
		case "SIZE":
			v = mb.size
		case "APPENDLIMIT":
			if s.srv.opts.AppendLimit <= 0 {
				out = append(out, "APPENDLIMIT NIL")
				continue
			}
			v = s.srv.opts.AppendLimit
		default:
			return "", bad("Unknown STATUS item %q", it)
		}
		out = append(out, it+" "+strconv.FormatInt(v, 10))
	}
	return strings.Join(out, " "), nil
}

func (s *session) cmdSelect(c *cmd) (string, error) {
	name, err := c.onlyMailbox(true) // CONDSTORE and other parameters: ignored
	if err != nil {
		return "", err
	}
	s.sel = nil
	mb := s.a.mailbox(name)
	if mb == nil || mb.noSelect {
		return "", no("NONEXISTENT", "Mailbox doesn't exist: "+name)
	}
	mb.mu.Lock()
	kws := mb.keywordListLocked()
	n := len(mb.msgs)
	unseen := 0
	for i := range mb.msgs {
		if !mb.msgs[i].flags.seen {
			unseen = i + 1
			break
		}
	}
	uidNext := mb.uidNext
	mb.mu.Unlock()
	flags := append([]string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}, kws...)
	perm := flags
	if !s.srv.opts.NoKeywords {
		perm = append(append([]string(nil), flags...), `\*`)
	}
	s.w.untagged("FLAGS (%s)", strings.Join(flags, " "))
	s.w.untagged("OK [PERMANENTFLAGS (%s)] Flags permitted.", strings.Join(perm, " "))
	s.w.untagged("%d EXISTS", n)
	s.w.untagged("0 RECENT")
	if unseen > 0 {
		s.w.untagged("OK [UNSEEN %d] First unseen.", unseen)
	}
	s.w.untagged("OK [UIDVALIDITY %d] UIDs valid", mb.uidValidity)
	s.w.untagged("OK [UIDNEXT %d] Predicted next UID", uidNext)
	s.sel, s.readOnly, s.known = mb, c.name == "EXAMINE", n
	if s.readOnly {
		return "[READ-ONLY] EXAMINE completed", nil
	}
	return "[READ-WRITE] SELECT completed", nil
}
