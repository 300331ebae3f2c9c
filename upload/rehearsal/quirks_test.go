package rehearsal

import (
	"bufio"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }

// capsOf returns the capabilities a logged-in raw client is told.
func capsOf(t *testing.T, r *rawClient) []string {
	t.Helper()
	untagged, tagged := r.cmd("CAPABILITY")
	if !strings.HasPrefix(tagged, "OK ") || len(untagged) != 1 || !strings.HasPrefix(untagged[0], "* CAPABILITY ") {
		t.Fatalf("CAPABILITY: %q %s", untagged, tagged)
	}
	return strings.Fields(strings.TrimPrefix(untagged[0], "* CAPABILITY "))
}

func TestNamespacePrefix(t *testing.T) {
	s := start(t, DovecotPrefix())
	r := dialRaw(t, s)
	r.login(s)
	if u, _ := r.cmd("NAMESPACE"); len(u) != 1 || u[0] != `* NAMESPACE (("INBOX." ".")) NIL NIL` {
		t.Errorf("NAMESPACE = %q", u)
	}
	if u, _ := r.cmd(`LIST "" ""`); len(u) != 1 || u[0] != `* LIST (\Noselect) "." ""` {
		t.Errorf(`LIST "" "" = %q`, u)
	}
	tests := []struct{ name, want string }{
		{"Foo", "NO Client tried to access nonexistent namespace. (Mailbox name should probably be prefixed with: INBOX.)"},
		{"INBOX.Foo", "OK CREATE completed"},
		{"inbox.Bar", "OK CREATE completed"},
		{`"INBOX.x/y"`, "NO [CANNOT] Invalid mailbox name: Name must not have '/' characters"},
		{"INBOX..z", "NO [CANNOT] Invalid mailbox name: Has adjacent hierarchy separators"},
		{"INBOX.Foo", "NO [ALREADYEXISTS] Mailbox already exists"},
	}
	for _, tt := range tests {
		if _, got := r.cmd("CREATE %s", tt.name); got != tt.want {
			t.Errorf("CREATE %s = %q, want %q", tt.name, got, tt.want)
		}
	}
	u, _ := r.cmd(`LIST "" "*"`)
	want := []string{
		`* LIST (\HasChildren) "." INBOX`,
		`* LIST (\HasNoChildren) "." INBOX.Bar`,
		`* LIST (\HasNoChildren \Drafts) "." INBOX.Drafts`,
		`* LIST (\HasNoChildren) "." INBOX.Foo`,
		`* LIST (\HasNoChildren \Junk) "." INBOX.Junk`,
		`* LIST (\HasNoChildren \Sent) "." INBOX.Sent`,
		`* LIST (\HasNoChildren \Trash) "." INBOX.Trash`,
	}
	if !sameLines(u, want) {
		t.Errorf("LIST:\n%s\nwant\n%s", strings.Join(u, "\n"), strings.Join(want, "\n"))
	}
	if !hasCap(capsOf(t, r), "SPECIAL-USE") {
		t.Errorf("SPECIAL-USE not announced")
	}
}

// sameLines compares LIST lines ignoring the quoting of names.
func sameLines(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if strings.ReplaceAll(got[i], `"`, "") != strings.ReplaceAll(want[i], `"`, "") {
			return false
		}
	}
	return true
}

func TestNames(t *testing.T) {
	tests := []struct {
		profile string
		opts    Options
		create  string
		want    string
	}{
		{"Dovecot Maildir++", DovecotMaildir(), `"a.b"`, "NO [CANNOT] Character not allowed in mailbox name: '.'"},
		{"Dovecot Maildir++", DovecotMaildir(), `"p//q"`, "NO [CANNOT] Invalid mailbox name: Has adjacent hierarchy separators"},
		{"Dovecot Maildir++", DovecotMaildir(), `"/lead"`, "NO [CANNOT] Invalid mailbox name: Has adjacent hierarchy separators"},
		{"Dovecot Maildir++", DovecotMaildir(), `"a/b"`, "OK CREATE completed"},
		{"Courier", Courier(), "Foo", "NO Invalid mailbox name."},
		{"Courier", Courier(), `"INBOX.a/b"`, "NO Invalid mailbox name."},
		{"Courier", Courier(), `"INBOX..b"`, "NO Invalid mailbox name."},
		{"Courier", Courier(), `"INBOX.a b"`, "OK CREATE completed"},
		{"Cyrus", Cyrus(), "Foo", "NO Permission denied"},
		{"Cyrus", Cyrus(), "INBOX.Foo", "OK CREATE completed"},
		{"Gmail", Gmail(), `"[Gmail]/Mine"`, "NO Folder name is not allowed. (Failure)"},
		{"Gmail", Gmail(), `"[gmail]"`, "NO Folder name is not allowed. (Failure)"},
		{"Gmail", Gmail(), `"Labels/Mine"`, "OK Success"},
		{"default", Options{}, `"bad&name"`, `BAD Mailbox name is not valid modified UTF-7: "bad&name"`},
		{"default", Options{}, "{3+}\r\na\rb", `BAD Mailbox name is not valid modified UTF-7: "a\rb"`},
	}
	for _, tt := range tests {
		t.Run(tt.profile+" "+tt.create, func(t *testing.T) {
			s := start(t, tt.opts)
			r := dialRaw(t, s)
			r.login(s)
			if _, got := r.cmd("CREATE %s", tt.create); got != tt.want {
				t.Errorf("CREATE %s = %q, want %q", tt.create, got, tt.want)
			}
		})
	}
}

func TestSpecialUse(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		announce bool
		sent     string
	}{
		{"Dovecot", DovecotMaildir(), true, `* LIST (\HasNoChildren \Sent) "/" "Sent"`},
		{"Cyrus lower case", Cyrus(), true, `* LIST (\HasNoChildren \sent) "." "INBOX.Sent"`},
		{"Courier without SPECIAL-USE", Courier(), false, `* LIST (\HasNoChildren) "." "INBOX.Sent"`},
		{"Gmail", Gmail(), true, `* LIST (\HasNoChildren \Sent) "/" "[Gmail]/Sent Mail"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts)
			r := dialRaw(t, s)
			r.login(s)
			if got := hasCap(capsOf(t, r), "SPECIAL-USE"); got != tt.announce {
				t.Errorf("SPECIAL-USE announced: %v, want %v", got, tt.announce)
			}
			u, _ := r.cmd(`LIST "" "*" RETURN (SPECIAL-USE)`)
			found := false
			for _, l := range u {
				found = found || l == tt.sent
			}
			if !found {
				t.Errorf("LIST = %q, want a line %q", u, tt.sent)
			}
			if tt.announce {
				sel, _ := r.cmd(`LIST (SPECIAL-USE) "" "*"`)
				if len(sel) != len(specialFolders(tt.opts)) {
					t.Errorf("LIST (SPECIAL-USE) = %q, want the %d special folders", sel, len(specialFolders(tt.opts)))
				}
			}
		})
	}
	s := start(t, Gmail())
	r := dialRaw(t, s)
	r.login(s)
	if _, got := r.cmd(`SELECT "[Gmail]"`); !strings.HasPrefix(got, "NO [NONEXISTENT]") {
		t.Errorf(`SELECT "[Gmail]" (\Noselect) = %s`, got)
	}
}

func specialFolders(o Options) []Folder {
	var l []Folder
	for _, f := range o.Folders {
		if f.Attr != "" {
			l = append(l, f)
		}
	}
	return l
}

func TestMoxInbox(t *testing.T) {
	s := start(t, Mox())
	r := dialRaw(t, s)
	r.login(s)
	if u, _ := r.cmd(`LIST "" INBOX`); len(u) != 1 || u[0] != `* LIST () "/" "Inbox"` {
		t.Errorf("LIST INBOX = %q, want Inbox", u)
	}
	if _, got := r.cmd(`CREATE "inbox/a"`); got != "OK CREATE completed" {
		t.Fatalf("CREATE inbox/a: %s", got)
	}
	if u, _ := r.cmd(`LIST "" "INBOX/*"`); len(u) != 1 || u[0] != `* LIST () "/" "Inbox/a"` {
		t.Errorf("LIST INBOX/* = %q, want Inbox/a", u)
	}
	if got := r.appendSync("INBOX", "Subject: x\r\n\r\nbody"); !strings.HasPrefix(got, "OK ") {
		t.Errorf("APPEND INBOX: %s", got)
	}
	if msgs, err := s.Messages("Inbox"); err != nil || len(msgs) != 1 {
		t.Errorf("Inbox holds %d messages (%v), want 1", len(msgs), err)
	}
	if fmt.Sprint(s.Folders()) != "[Archive Drafts Inbox Inbox/a Junk Sent Trash]" {
		t.Errorf("Folders = %q", s.Folders())
	}
}

func TestLiterals(t *testing.T) {
	big := strings.Repeat("x", 5000)
	tests := []struct {
		name      string
		opts      Options
		cap       string // announced
		small     string // tagged answer to a 10-byte {n+} APPEND; "" when the connection ends
		bigClosed bool   // a 5000-byte {n+} ends the connection
	}{
		{"LITERAL+", Options{}, "LITERAL+", "OK [APPENDUID", false},
		{"LITERAL-", Options{Literals: LiteralMinus}, "LITERAL-", "OK [APPENDUID", true},
		{"synchronizing only", Options{Literals: LiteralSync}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts)
			r := dialRaw(t, s)
			r.login(s)
			caps := capsOf(t, r)
			for _, c := range []string{"LITERAL+", "LITERAL-"} {
				if hasCap(caps, c) != (c == tt.cap) {
					t.Errorf("capabilities %q: %s announced %v, want %v", caps, c, hasCap(caps, c), c == tt.cap)
				}
			}
			// A synchronizing literal always works.
			if got := r.appendSync("INBOX", "Subject: s\r\n\r\n"); !strings.HasPrefix(got, "OK [APPENDUID") {
				t.Errorf("synchronizing APPEND: %s", got)
			}
			r.start("APPEND INBOX {10+}")
			r.send("Subject: a\r\n")
			if tt.small == "" {
				if l := r.line(); !strings.HasPrefix(l, r.tag+" BAD ") {
					t.Errorf("{10+} without LITERAL+/-: %q, want BAD", l)
				}
				if !r.closed() {
					t.Errorf("connection still open after a non-synchronizing literal it cannot take")
				}
				return
			}
			if _, got := r.done(); !strings.HasPrefix(got, tt.small) {
				t.Errorf("{10+}: %s, want %s", got, tt.small)
			}
			r.start("APPEND INBOX {5000+}")
			r.send("Subject: b\r\n\r\n" + big[14:] + "\r\n")
			if !tt.bigClosed {
				if _, got := r.done(); !strings.HasPrefix(got, "OK ") {
					t.Errorf("{5000+} with LITERAL+: %s", got)
				}
				return
			}
			if l := r.line(); l != r.tag+" BAD [TOOBIG] Non-synchronizing literals are limited to 4096 bytes (LITERAL-)" {
				t.Errorf("{5000+} with LITERAL-: %q", l)
			}
			if !r.closed() {
				t.Errorf("connection still open after a non-synchronizing literal over 4096 bytes")
			}
		})
	}
}

func TestMultiAppend(t *testing.T) {
	s := start(t, Options{AppendLimit: 100})
	r := dialRaw(t, s)
	r.login(s)
	if caps := capsOf(t, r); !hasCap(caps, "MULTIAPPEND") || !hasCap(caps, "APPENDLIMIT=100") {
		t.Errorf("capabilities %q, want MULTIAPPEND and APPENDLIMIT=100", caps)
	}
	one, two := "Subject: 1\r\n\r\na\r\n", "Subject: 2\r\n\r\nb\r\n"
	r.start(`APPEND INBOX (\Seen) {%d+}`, len(one))
	r.send(fmt.Sprintf("%s (\\Flagged) \" 5-Mar-2014 10:11:12 +0100\" {%d+}\r\n%s\r\n", one, len(two), two))
	_, got := r.done()
	var uv uint32
	if _, err := fmt.Sscanf(got, "OK [APPENDUID %d 1:2] APPEND completed", &uv); err != nil {
		t.Errorf("MULTIAPPEND: %q, want APPENDUID with 1:2", got)
	}
	msgs, _ := s.Messages("INBOX")
	if len(msgs) != 2 || msgs[0].Flags[0] != `\Seen` || msgs[1].Flags[0] != `\Flagged` ||
		msgs[1].Date.Format(time.RFC3339) != "2014-03-05T10:11:12+01:00" {
		t.Errorf("after MULTIAPPEND: %+v", msgs)
	}
	// All or nothing: the second message is too big, so neither is stored.
	tooBig := "Subject: 3\r\n\r\n" + strings.Repeat("z", 100)
	r.start("APPEND INBOX {%d+}", len(one))
	r.send(fmt.Sprintf("%s {%d+}\r\n%s\r\n", one, len(tooBig), tooBig))
	if _, got := r.done(); got != "NO [TOOBIG] Message too large" {
		t.Errorf("MULTIAPPEND with a message over the limit: %q", got)
	}
	// A synchronizing literal over the limit is refused instead of "+".
	r.start("APPEND INBOX {%d}", len(tooBig))
	if l := r.line(); l != r.tag+" NO [TOOBIG] Message too large" {
		t.Errorf("synchronizing APPEND over the limit: %q, want NO before '+'", l)
	}
	if msgs, _ := s.Messages("INBOX"); len(msgs) != 2 {
		t.Errorf("INBOX holds %d messages after refused appends, want 2", len(msgs))
	}

	s2 := start(t, Options{NoMultiAppend: true})
	r2 := dialRaw(t, s2)
	r2.login(s2)
	if hasCap(capsOf(t, r2), "MULTIAPPEND") {
		t.Errorf("MULTIAPPEND announced with NoMultiAppend")
	}
	r2.start("APPEND INBOX {%d+}", len(one))
	r2.send(fmt.Sprintf("%s {%d+}\r\n%s\r\n", one, len(two), two))
	if _, got := r2.done(); !strings.HasPrefix(got, "BAD ") {
		t.Errorf("two messages without MULTIAPPEND: %q, want BAD", got)
	}
	if _, got := r2.cmd("NOOP"); got != "OK NOOP completed" {
		t.Errorf("NOOP after the refused APPEND: %q (out of step?)", got)
	}
	if msgs, _ := s2.Messages("INBOX"); len(msgs) != 0 {
		t.Errorf("INBOX holds %d messages, want 0", len(msgs))
	}
}

func TestSizeAndKeywordLimits(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		append string // APPEND arguments before the literal
		size   int
		want   string
		cap    string // expected among the capabilities; "-X" means X must be absent
	}{
		{"Dovecot keyword", DovecotMaildir(), "(" + strings.Repeat("k", 51) + ")", 20, "NO [CANNOT] Keyword length too long", "-APPENDLIMIT"},
		{"Dovecot keyword at the limit", DovecotMaildir(), "(" + strings.Repeat("k", 50) + ")", 20, "OK [APPENDUID", ""},
		{"Dovecot size", withLimit(DovecotMaildir(), 10), "", 20, "NO [LIMIT] Mail size is larger than the maximum size allowed by server configuration", "-APPENDLIMIT=10"},
		{"Gmail size", withLimit(Gmail(), 10), "", 20, "BAD [TOOBIG] Message too large. https://support.google.com/mail/answer/6584#limit", "APPENDLIMIT=10"},
		{"Gmail default limit", Gmail(), "", 20, "OK [APPENDUID", "APPENDLIMIT=35651584"},
		{"Microsoft 365 size", withLimit(Microsoft365(), 10), "", 20, "NO Maximum size of appendable message has been exceeded", "-APPENDLIMIT=10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts)
			r := dialRaw(t, s)
			loginAny(t, r, s)
			caps := capsOf(t, r)
			if c, absent := strings.CutPrefix(tt.cap, "-"); absent && hasCap(caps, c) || !absent && c != "" && !hasCap(caps, c) {
				t.Errorf("capabilities %q, want %s", caps, tt.cap)
			}
			msg := "Subject: x\r\n\r\n" + strings.Repeat("b", tt.size-14)
			args := tt.append
			if args != "" {
				args += " "
			}
			r.start("APPEND INBOX %s{%d+}", args, len(msg))
			r.send(msg + "\r\n")
			if _, got := r.done(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("APPEND: %q, want %q", got, tt.want)
			}
		})
	}
}

func withLimit(o Options, n int64) Options {
	o.AppendLimit = n
	return o
}

// loginAny logs in with LOGIN or, for an XOAUTH2-only server, XOAUTH2.
func loginAny(t *testing.T, r *rawClient, s *Server) {
	t.Helper()
	if s.opts.Auth != AuthXOAUTH2Only {
		r.login(s)
		return
	}
	ir := base64.StdEncoding.EncodeToString([]byte("user=" + s.User() + "\x01auth=Bearer " + s.Password() + "\x01\x01"))
	if _, got := r.cmd("AUTHENTICATE XOAUTH2 %s", ir); !strings.HasPrefix(got, "OK ") {
		t.Fatalf("AUTHENTICATE XOAUTH2: %s", got)
	}
}

func TestKeywords(t *testing.T) {
	for _, noKW := range []bool{false, true} {
		s := start(t, Options{NoKeywords: noKW})
		r := dialRaw(t, s)
		r.login(s)
		r.start(`APPEND INBOX (\Seen $Label1 Work) {14+}`)
		r.send("Subject: x\r\n\r\n\r\n")
		r.done()
		u, _ := r.cmd("SELECT INBOX")
		perm := ""
		for _, l := range u {
			if strings.Contains(l, "PERMANENTFLAGS") {
				perm = l
			}
		}
		if strings.Contains(perm, `\*`) == noKW {
			t.Errorf("NoKeywords %v: %q", noKW, perm)
		}
		msgs, _ := s.Messages("INBOX")
		want := []string{"$Label1", `\Seen`, "Work"}
		if noKW {
			want = []string{`\Seen`}
		}
		if len(msgs) != 1 || fmt.Sprint(msgs[0].Flags) != fmt.Sprint(want) {
			t.Errorf("NoKeywords %v: stored flags %+v, want %q", noKW, msgs, want)
		}
	}
}

func TestRewrites(t *testing.T) {
	const raw = "Subject: caf\xc3\xa9\r\nFrom: a\r\n\r\nbody \xc3\xa9\r\nnot a header: \xff"
	tests := []struct {
		name       string
		opts       Options
		raw        string
		wantAnswer string
		header     string
		size       int
	}{
		{"kept", Options{}, raw, "OK ", "Subject: caf\xc3\xa9\r\nFrom: a\r\n\r\n", len(raw)},
		{"Cyrus munge8bit", Cyrus(), raw, "OK ", "Subject: cafXX\r\nFrom: a\r\n\r\n", len(raw)},
		{"Cyrus reject8bit", Options{EightBit: EightBitReject}, raw, "NO Message contains non-ASCII characters in headers", "", 0},
		{"reject8bit, 8-bit only in the body", Options{EightBit: EightBitReject}, "Subject: x\r\n\r\n\xc3\xa9", "OK ", "Subject: x\r\n\r\n", 16},
		{"added header", Options{AddHeader: "X-Scanned: yes"}, "Subject: x\r\n\r\nb\r\n", "OK ", "X-Scanned: yes\r\nSubject: x\r\n\r\n", 17 + 16},
		{"Courier final newline", Courier(), "Subject: x\r\n\r\nno line end", "OK ", "Subject: x\r\n\r\n", 25 + 2},
		{"Courier final newline present", Courier(), "Subject: x\r\n\r\nline end\r\n", "OK ", "Subject: x\r\n\r\n", 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, tt.opts)
			r := dialRaw(t, s)
			r.login(s)
			if got := r.appendSync("INBOX", tt.raw); !strings.HasPrefix(got, tt.wantAnswer) {
				t.Errorf("APPEND: %q, want %q", got, tt.wantAnswer)
			}
			msgs, _ := s.Messages("INBOX")
			if tt.header == "" {
				if len(msgs) != 0 {
					t.Errorf("stored %d messages, want none", len(msgs))
				}
				return
			}
			if len(msgs) != 1 || string(msgs[0].Header) != tt.header || msgs[0].Size != int64(tt.size) {
				t.Errorf("stored %+v, want header %q and size %d", msgs, tt.header, tt.size)
			}
			// What FETCH returns is what is stored.
			r.cmd("SELECT INBOX")
			u, _ := r.cmd("FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER])")
			if want := fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d BODY[HEADER] {%d}", tt.size, len(tt.header)); len(u) == 0 || u[0] != want {
				t.Errorf("FETCH = %q, want %q", u, want)
			}
		})
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Run("Dovecot at login", func(t *testing.T) {
		o := DovecotMaildir()
		o.MaxConnections = 1
		s := start(t, o)
		r1 := dialRaw(t, s)
		r1.login(s)
		r2 := dialRaw(t, s)
		if _, got := r2.cmd("LOGIN %s %s", s.User(), s.Password()); got != "NO [LIMIT] Maximum number of connections from user+IP exceeded (mail_max_userip_connections=1)" {
			t.Errorf("second LOGIN: %q", got)
		}
		r1.cmd("LOGOUT")
		r1.closed()
		deadline := time.Now().Add(5 * time.Second)
		for s.Connections() > 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		r2.login(s)
	})
	t.Run("Courier reset", func(t *testing.T) {
		o := Courier()
		o.MaxConnections = 1
		s := start(t, o)
		dialRaw(t, s)
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			if !strings.Contains(err.Error(), "reset") {
				t.Fatal(err)
			}
			return // reset before Dial returned
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 100))
		if n != 0 || err == nil || strings.Contains(err.Error(), "timeout") {
			t.Errorf("second connection read %d bytes, %v; want no greeting and a reset", n, err)
		}
	})
}

func TestDailyBudget(t *testing.T) {
	clock := newClock()
	o := Gmail()
	o.Clock = clock.Now
	o.DailyUploadBytes = 100
	s := start(t, o)
	r := dialRaw(t, s)
	r.login(s)
	msg := "Subject: x\r\n\r\n" + strings.Repeat("b", 46) // 60 bytes
	if got := r.appendSync("INBOX", msg); !strings.HasPrefix(got, "OK [APPENDUID") || !strings.HasSuffix(got, "Success") {
		t.Fatalf("first APPEND: %q", got)
	}
	if got := r.appendSync("INBOX", msg); got != r.tag+" NO [OVERQUOTA] Account exceeded command or bandwidth limits." {
		t.Errorf("APPEND over the daily budget: %q", got)
	}
	clock.Add(23 * time.Hour)
	if got := r.appendSync("INBOX", msg); !strings.HasPrefix(got, r.tag+" NO [OVERQUOTA]") {
		t.Errorf("APPEND 23 hours later: %q, want still refused", got)
	}
	clock.Add(time.Hour)
	if got := r.appendSync("INBOX", msg); !strings.HasPrefix(got, "OK ") {
		t.Errorf("APPEND a day later: %q, want accepted", got)
	}
}

func TestThrottle(t *testing.T) {
	t.Run("Microsoft 365 refuses and disconnects", func(t *testing.T) {
		clock := newClock()
		o := Microsoft365()
		o.Clock = clock.Now
		o.Throttle.Appends = 2
		s := start(t, o)
		r := dialRaw(t, s)
		loginAny(t, r, s)
		for i := 0; i < 2; i++ {
			if got := r.appendSync("INBOX", "Subject: x\r\n\r\n"); !strings.HasPrefix(got, "OK ") {
				t.Fatalf("APPEND %d: %q", i+1, got)
			}
			clock.Add(time.Second)
		}
		r.start("APPEND INBOX {14}")
		if l := r.line(); l != r.tag+" NO Request is throttled. Suggested Backoff Time: 298000 milliseconds" {
			t.Errorf("third APPEND: %q", l)
		}
		if l := r.line(); l != "* BYE Connection closed. 14" {
			t.Errorf("after the refusal: %q, want BYE", l)
		}
		if !r.closed() {
			t.Errorf("connection open after the throttle's BYE")
		}
		clock.Add(5 * time.Minute)
		r2 := dialRaw(t, s)
		loginAny(t, r2, s)
		if got := r2.appendSync("INBOX", "Subject: x\r\n\r\n"); !strings.HasPrefix(got, "OK ") {
			t.Errorf("APPEND after the window: %q", got)
		}
	})
	t.Run("Gmail marks", func(t *testing.T) {
		o := Gmail()
		o.Clock = newClock().Now
		o.Throttle.Appends = 1
		s := start(t, o)
		r := dialRaw(t, s)
		r.login(s)
		if got := r.appendSync("INBOX", "Subject: x\r\n\r\n"); !strings.HasSuffix(got, "] Success") {
			t.Errorf("first APPEND: %q", got)
		}
		if got := r.appendSync("INBOX", "Subject: x\r\n\r\n"); !strings.HasSuffix(got, "] Success [THROTTLED]") {
			t.Errorf("second APPEND: %q, want Success [THROTTLED]", got)
		}
		if msgs, _ := s.Messages("INBOX"); len(msgs) != 2 {
			t.Errorf("INBOX holds %d messages, want 2 (a mark does not refuse)", len(msgs))
		}
	})
}

func TestXOAUTH2Only(t *testing.T) {
	s := start(t, Microsoft365())
	r := dialRaw(t, s)
	if caps := capsOf(t, r); !hasCap(caps, "AUTH=XOAUTH2") || !hasCap(caps, "AUTH=PLAIN") {
		t.Errorf("capabilities before login %q", caps)
	}
	if _, got := r.cmd("LOGIN %s %s", s.User(), s.Password()); got != "NO LOGIN failed." {
		t.Errorf("LOGIN: %q", got)
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + s.User() + "\x00" + s.Password()))
	if _, got := r.cmd("AUTHENTICATE PLAIN %s", plain); got != "NO AUTHENTICATE failed." {
		t.Errorf("AUTHENTICATE PLAIN: %q", got)
	}
	wrong := base64.StdEncoding.EncodeToString([]byte("user=" + s.User() + "\x01auth=Bearer nope\x01\x01"))
	if _, got := r.cmd("AUTHENTICATE XOAUTH2 %s", wrong); got != "NO AUTHENTICATE failed." {
		t.Errorf("AUTHENTICATE XOAUTH2 with a wrong token: %q", got)
	}
	loginAny(t, r, s)
	caps := capsOf(t, r)
	for _, c := range []string{"IMAP4", "UIDPLUS", "MOVE", "ID", "UNSELECT", "CHILDREN", "IDLE", "NAMESPACE", "LITERAL+"} {
		if !hasCap(caps, c) {
			t.Errorf("Microsoft 365 capabilities %q lack %s", caps, c)
		}
	}
	if hasCap(caps, "MULTIAPPEND") || hasCap(caps, "SPECIAL-USE") {
		t.Errorf("Microsoft 365 capabilities %q, want neither MULTIAPPEND nor SPECIAL-USE", caps)
	}

	// AUTHENTICATE PLAIN without an initial response, on a server that
	// takes it.
	s2 := start(t, Options{})
	r2 := dialRaw(t, s2)
	r2.start("AUTHENTICATE PLAIN")
	if l := r2.line(); l != "+ " {
		t.Fatalf("AUTHENTICATE PLAIN: %q, want a continuation", l)
	}
	r2.send(base64.StdEncoding.EncodeToString([]byte("\x00"+s2.User()+"\x00"+s2.Password())) + "\r\n")
	if _, got := r2.done(); !strings.HasPrefix(got, "OK [CAPABILITY ") {
		t.Errorf("AUTHENTICATE PLAIN: %q", got)
	}
}

func TestGmailProfile(t *testing.T) {
	s := start(t, Gmail())
	r := dialRaw(t, s)
	r.login(s)
	caps := capsOf(t, r)
	for _, c := range strings.Fields("IMAP4rev1 UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584") {
		if !hasCap(caps, c) {
			t.Errorf("Gmail capabilities %q lack %s", caps, c)
		}
	}
	if hasCap(caps, "LITERAL+") || hasCap(caps, "MULTIAPPEND") {
		t.Errorf("Gmail capabilities %q, want neither LITERAL+ nor MULTIAPPEND", caps)
	}
	if u, got := r.cmd(`ID ("name" "mailferry")`); len(u) != 1 || !strings.HasPrefix(u[0], `* ID ("name" "GImap"`) || got != "OK Success" {
		t.Errorf("ID = %q %q", u, got)
	}
	if _, got := r.cmd("IDLE"); !strings.HasPrefix(got, "NO [CANNOT]") {
		t.Errorf("IDLE (announced, not served): %q", got)
	}
	if u, _ := r.cmd(`LIST "" "[Gmail]"`); len(u) != 1 || u[0] != `* LIST (\Noselect \HasChildren) "/" "[Gmail]"` {
		t.Errorf(`LIST "[Gmail]" = %q`, u)
	}
	r.start("APPEND INBOX {14}")
	if l := r.line(); l != "+ go ahead" {
		t.Errorf("continuation %q", l)
	}
	r.send("Subject: x\r\n\r\n\r\n")
	r.done()
}

func TestCompress(t *testing.T) {
	s := start(t, Mox())
	r := dialRaw(t, s)
	r.login(s)
	if !hasCap(capsOf(t, r), "COMPRESS=DEFLATE") {
		t.Fatalf("COMPRESS=DEFLATE not announced")
	}
	if _, got := r.cmd("COMPRESS DEFLATE"); got != "OK DEFLATE active" {
		t.Fatalf("COMPRESS: %q", got)
	}
	// From here both directions are raw deflate.
	fw, _ := flate.NewWriter(r.c, flate.BestSpeed)
	zr := bufio.NewReader(flate.NewReader(r.c))
	send := func(s string) {
		fw.Write([]byte(s))
		fw.Flush()
	}
	read := func() string {
		_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		l, err := zr.ReadString('\n')
		if err != nil {
			t.Fatalf("read compressed: %v", err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	msg := "Subject: compressed\r\n\r\n" + strings.Repeat("body line\r\n", 1000)
	send(fmt.Sprintf("C1 APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
	if l := read(); !strings.HasPrefix(l, "C1 OK [APPENDUID") {
		t.Errorf("APPEND over COMPRESS: %q", l)
	}
	send("C2 COMPRESS DEFLATE\r\n")
	if l := read(); l != "C2 NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS" {
		t.Errorf("second COMPRESS: %q", l)
	}
	send("C3 SELECT INBOX\r\nC4 FETCH 1 (RFC822.SIZE BODY.PEEK[HEADER])\r\n")
	var lines []string
	for l := read(); !strings.HasPrefix(l, "C4 "); l = read() {
		lines = append(lines, l)
	}
	if want := fmt.Sprintf("* 1 FETCH (RFC822.SIZE %d BODY[HEADER] {23}", len(msg)); !hasLine(lines, want) {
		t.Errorf("FETCH over COMPRESS: %q, want %q", lines, want)
	}
	if msgs, _ := s.Messages("Inbox"); len(msgs) != 1 || msgs[0].Size != int64(len(msg)) {
		t.Errorf("stored %+v", msgs)
	}
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestUTF8Accept(t *testing.T) {
	s := start(t, Mox())
	r := dialRaw(t, s)
	r.login(s)
	if _, got := r.cmd(`CREATE "Entw&APw-rfe"`); got != "OK CREATE completed" {
		t.Fatalf("CREATE in modified UTF-7: %q", got)
	}
	if u, _ := r.cmd("ENABLE UTF8=ACCEPT"); len(u) != 1 || u[0] != "* ENABLED UTF8=ACCEPT" {
		t.Errorf("ENABLE = %q", u)
	}
	if _, got := r.cmd(`CREATE "Gelöscht"`); got != "OK CREATE completed" {
		t.Fatalf("CREATE in UTF-8: %q", got)
	}
	u, _ := r.cmd(`LIST "" "*"`)
	if !hasLine(u, `* LIST () "/" "Entwürfe"`) || !hasLine(u, `* LIST () "/" "Gelöscht"`) {
		t.Errorf("LIST after ENABLE UTF8=ACCEPT: %q", u)
	}
	if fmt.Sprint(s.Folders()) != "[Archive Drafts Entwürfe Gelöscht Inbox Junk Sent Trash]" {
		t.Errorf("Folders = %q", s.Folders())
	}
}

// TestProfilesWithGoIMAP: every profile serves go-imap's client through
// login (XOAUTH2 aside), LIST, CREATE, APPEND and FETCH.
func TestProfilesWithGoIMAP(t *testing.T) {
	for name, opts := range map[string]Options{"default": {}, "DovecotPrefix": DovecotPrefix(), "DovecotMaildir": DovecotMaildir(),
		"Courier": Courier(), "Cyrus": Cyrus(), "Mox": Mox(), "Gmail": Gmail()} {
		t.Run(name, func(t *testing.T) {
			s := start(t, opts)
			c := s.client(t)
			root, err := c.List("", "", nil).Collect()
			if err != nil || len(root) != 1 {
				t.Fatalf(`LIST "" "": %+v, %v`, root, err)
			}
			folder := opts.Namespace.Prefix + "Archive" + string(root[0].Delim) + "2024"
			if err := c.Create(folder, nil).Wait(); err != nil {
				t.Fatalf("CREATE %q: %v", folder, err)
			}
			raw := []byte("Subject: p\r\n\r\n" + strings.Repeat("x", 6000) + "\r\n")
			mustAppend(t, c, folder, raw, nil)
			msgs := fetchAll(t, c, folder, nil)
			if len(msgs) != 1 {
				t.Errorf("%s holds %d messages, want 1", folder, len(msgs))
			}
			if err := c.Logout().Wait(); err != nil {
				t.Errorf("LOGOUT: %v", err)
			}
		})
	}
}

// TestBadInput: syntax errors get BAD and leave the connection usable; a
// line over the limit ends it.
func TestBadInput(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	r.send("\r\n")
	if l := r.line(); l != "* BAD Invalid tag" {
		t.Errorf("empty line: %q", l)
	}
	r.login(s)
	for _, cmd := range []string{"FETCH 1 (UID)", "SELECT", `LIST "" "*" RETURN (NOPE)`, `STATUS INBOX (NOPE)`, "APPEND INBOX notaliteral", "APPEND INBOX \"bad date\" {1+}\r\nx"} {
		if _, got := r.cmd("%s", cmd); !strings.HasPrefix(got, "BAD ") {
			t.Errorf("%s: %q, want BAD", cmd, got)
		}
	}
	// After the BAD of an APPEND with a non-synchronizing literal, its
	// bytes are skipped: the next command is understood.
	r.send("X1 APPEND INBOX (\\Seen \"unclosed {5+}\r\nhello\r\n")
	if l := r.line(); !strings.HasPrefix(l, "X1 BAD ") {
		t.Errorf("bad APPEND: %q", l)
	}
	if _, got := r.cmd("NOOP"); got != "OK NOOP completed" {
		t.Errorf("NOOP after a bad APPEND: %q", got)
	}
	r.send("X2 NOOP " + strings.Repeat("x", maxLine) + "\r\n")
	if l := r.line(); l != "* BYE Command line too long" || !r.closed() {
		t.Errorf("line over the limit: %q, want BYE and the end", l)
	}
	if msgs, _ := s.Messages("INBOX"); len(msgs) != 0 {
		t.Errorf("stored %d messages from bad commands", len(msgs))
	}
}

// TestExists: a message appended by another connection is announced in
// the selected folder.
func TestExists(t *testing.T) {
	s := start(t, Options{})
	r1, r2 := dialRaw(t, s), dialRaw(t, s)
	r1.login(s)
	r2.login(s)
	r1.cmd("SELECT INBOX")
	r2.appendSync("INBOX", "Subject: x\r\n\r\n")
	if u, _ := r1.cmd("NOOP"); len(u) != 1 || u[0] != "* 1 EXISTS" {
		t.Errorf("NOOP after another connection's APPEND: %q", u)
	}
	if u, _ := r1.cmd("EXAMINE INBOX"); !hasLine(u, "* 1 EXISTS") {
		t.Errorf("EXAMINE: %q", u)
	}
	u, _ := r1.cmd("FETCH 1 (BODY[HEADER])") // read-only: no \Seen
	if len(u) < 1 || strings.Contains(strings.Join(u, " "), `\Seen`) {
		t.Errorf("FETCH in EXAMINE set \\Seen: %q", u)
	}
}

func TestListOptions(t *testing.T) {
	s := start(t, Options{Children: true})
	r := dialRaw(t, s)
	r.login(s)
	r.cmd("CREATE A/B")
	r.cmd("SUBSCRIBE A/B")
	r.appendSync("A/B", "Subject: x\r\n\r\n")
	tests := []struct {
		cmd  string
		want []string
	}{
		{`LSUB "" "*"`, []string{`* LSUB (\HasNoChildren) "/" "A/B"`}},
		{`LIST (SUBSCRIBED) "" "*"`, []string{`* LIST (\HasNoChildren \Subscribed) "/" "A/B"`}},
		{`LIST "" "A/%" RETURN (STATUS (MESSAGES UIDNEXT SIZE))`, []string{`* LIST (\HasNoChildren) "/" "A/B"`, `* STATUS "A/B" (MESSAGES 1 UIDNEXT 2 SIZE 14)`}},
		{`LIST "" ("INBOX" "A")`, []string{`* LIST (\HasChildren) "/" "A"`, `* LIST (\HasNoChildren) "/" "INBOX"`}},
		{`LIST "A/" "%"`, []string{`* LIST (\HasNoChildren) "/" "A/B"`}},
		{`STATUS "A/B" (UNSEEN RECENT APPENDLIMIT)`, []string{`* STATUS "A/B" (UNSEEN 1 RECENT 0 APPENDLIMIT NIL)`}},
	}
	for _, tt := range tests {
		if u, got := r.cmd("%s", tt.cmd); fmt.Sprint(u) != fmt.Sprint(tt.want) || !strings.HasPrefix(got, "OK ") {
			t.Errorf("%s = %q %s, want %q", tt.cmd, u, got, tt.want)
		}
	}
}
