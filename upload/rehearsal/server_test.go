package rehearsal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/upload/fingerprint"
)

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// start starts a server with opts for one test.
func start(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Logger = testLogger()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Server) client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(s.User(), s.Password()).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func appendMsg(t testing.TB, c *imapclient.Client, folder string, raw []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
	t.Helper()
	cmd := c.Append(folder, int64(len(raw)), opts)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatalf("append to %q: %v", folder, err)
	}
	if err := cmd.Close(); err != nil {
		return nil, err
	}
	return cmd.Wait()
}

func mustAppend(t testing.TB, c *imapclient.Client, folder string, raw []byte, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	d, err := appendMsg(t, c, folder, raw, opts)
	if err != nil {
		t.Fatalf("append to %q: %v", folder, err)
	}
	return d
}

func fetchAll(t testing.TB, c *imapclient.Client, folder string, opts *imap.FetchOptions) []*imapclient.FetchMessageBuffer {
	t.Helper()
	if _, err := c.Select(folder, nil).Wait(); err != nil {
		t.Fatalf("select %q: %v", folder, err)
	}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, opts).Collect()
	if err != nil {
		t.Fatalf("fetch %q: %v", folder, err)
	}
	return msgs
}

func imapCode(err error) imap.ResponseCode {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Code
	}
	return ""
}

func flagNames(fs []imap.Flag) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	sort.Strings(out)
	return out
}

// rawClient speaks IMAP by hand, to see the exact wire.
type rawClient struct {
	t   testing.TB
	c   net.Conn
	br  *bufio.Reader
	n   int
	tag string // of the last command
}

func dialRaw(t testing.TB, s *Server) *rawClient {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &rawClient{t: t, c: c, br: bufio.NewReader(c)}
	if g := r.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return r
}

// line reads one line (without CRLF); it fails the test after 5 s.
func (r *rawClient) line() string {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (r *rawClient) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// start sends a command line (with the next tag) without reading.
func (r *rawClient) start(format string, args ...any) {
	r.t.Helper()
	r.n++
	r.tag = fmt.Sprintf("T%d", r.n)
	r.send(r.tag + " " + fmt.Sprintf(format, args...) + "\r\n")
}

// done reads up to the tagged answer of the last command: the untagged
// lines and the tagged line.
func (r *rawClient) done() (untagged []string, tagged string) {
	r.t.Helper()
	for {
		l := r.line()
		if strings.HasPrefix(l, r.tag+" ") {
			return untagged, strings.TrimPrefix(l, r.tag+" ")
		}
		untagged = append(untagged, l)
	}
}

// cmd sends a command and reads its answer.
func (r *rawClient) cmd(format string, args ...any) (untagged []string, tagged string) {
	r.t.Helper()
	r.start(format, args...)
	return r.done()
}

func (r *rawClient) login(s *Server) {
	r.t.Helper()
	if _, tagged := r.cmd("LOGIN %s %s", s.User(), s.Password()); !strings.HasPrefix(tagged, "OK ") {
		r.t.Fatalf("LOGIN: %s", tagged)
	}
}

// appendSync appends with a synchronizing literal: it waits for "+".
func (r *rawClient) appendSync(folder string, raw string) string {
	r.t.Helper()
	r.start("APPEND %s {%d}", folder, len(raw))
	if l := r.line(); !strings.HasPrefix(l, "+") {
		return l
	}
	r.send(raw + "\r\n")
	_, tagged := r.done()
	return tagged
}

// closed reports whether the server ended the connection (after any
// lines still buffered).
func (r *rawClient) closed() bool {
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, err := r.br.ReadString('\n'); err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

func TestAppendFetch(t *testing.T) {
	s := start(t, Options{})
	c := s.client(t)
	raw := []byte("From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n")
	date := time.Date(2014, 3, 5, 10, 11, 12, 0, time.FixedZone("", 5400))
	ad := mustAppend(t, c, "INBOX", raw, &imap.AppendOptions{Flags: []imap.Flag{`\seen`, "$Label1", "Work"}, Time: date})
	if ad.UID != 1 || ad.UIDValidity == 0 {
		t.Errorf("APPENDUID = %+v, want UID 1 and a UIDVALIDITY", ad)
	}
	mustAppend(t, c, "INBOX", []byte("Subject: two\r\n\r\nx\r\n"), &imap.AppendOptions{Flags: []imap.Flag{"$label1"}})

	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	fields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	notFields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFieldsNot: []string{"Subject", "Message-ID"}, Peek: true}
	partial := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true, Partial: &imap.SectionPartial{Offset: 2, Size: 4}}
	msgs := fetchAll(t, c, "INBOX", &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true,
		BodySection: []*imap.FetchItemBodySection{header, fields, notFields, partial}})
	if len(msgs) != 2 {
		t.Fatalf("INBOX holds %d messages, want 2", len(msgs))
	}
	m := msgs[0]
	tests := []struct {
		name      string
		got, want any
	}{
		{"UID", m.UID, imap.UID(1)},
		{"RFC822.SIZE", m.RFC822Size, int64(len(raw))},
		{"FLAGS", flagNames(m.Flags), []string{"$Label1", "Work", `\Seen`}},
		{"INTERNALDATE", m.InternalDate.Format(time.RFC3339), date.Format(time.RFC3339)},
		{"BODY[HEADER]", string(m.FindBodySection(header)), "From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@x>\r\n\r\n"},
		{"BODY[HEADER.FIELDS (Subject)]", string(m.FindBodySection(fields)), "Subject: hello\r\n\r\n"},
		{"BODY[HEADER.FIELDS.NOT (Subject Message-ID)]", string(m.FindBodySection(notFields)), "From: a@example.com\r\n\r\n"},
		{"BODY[HEADER]<2.4>", string(m.FindBodySection(partial)), "om: "},
		// A keyword keeps the spelling it first arrived in.
		{"FLAGS of the second", flagNames(msgs[1].Flags), []string{"$Label1"}},
	}
	for _, tt := range tests {
		if fmt.Sprint(tt.got) != fmt.Sprint(tt.want) {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}

	// BODY[HEADER] without PEEK sets \Seen, as on a real server.
	fetchAll(t, c, "INBOX", &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader}}})
	msgs = fetchAll(t, c, "INBOX", &imap.FetchOptions{Flags: true})
	if got := flagNames(msgs[1].Flags); fmt.Sprint(got) != fmt.Sprint([]string{"$Label1", `\Seen`}) {
		t.Errorf("flags after FETCH BODY[HEADER] = %q, want \\Seen added", got)
	}

	// The body is not kept: asking for it is refused, and the connection
	// goes on.
	for _, opts := range []*imap.FetchOptions{
		{BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText, Peek: true}}},
		{BodySection: []*imap.FetchItemBodySection{{Part: []int{1}, Peek: true}}},
		{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}},
		{Envelope: true},
	} {
		_, err := c.Fetch(imap.SeqSetNum(1), opts).Collect()
		if imapCode(err) != imap.ResponseCodeCannot {
			t.Errorf("FETCH %+v: %v, want NO [CANNOT]", opts, err)
		}
	}
	if err := c.Noop().Wait(); err != nil {
		t.Errorf("NOOP after a refused FETCH: %v", err)
	}
	// UID FETCH by UID range.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := c.Fetch(imap.UIDSetNum(2), &imap.FetchOptions{RFC822Size: true}).Collect()
	if err != nil || len(got) != 1 || got[0].UID != 2 || got[0].RFC822Size != 19 {
		t.Errorf("UID FETCH 2 = %+v, %v; want the second message", got, err)
	}
}

func TestMailboxes(t *testing.T) {
	s := start(t, Options{})
	c := s.client(t)
	for _, name := range []string{"Archive", "Archive/2019", "Ünïcode", "Deep/er/still"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", name, err)
		}
	}
	for _, name := range []string{"Archive", "inbox", "Archive/2019/"} {
		if err := c.Create(name, nil).Wait(); imapCode(err) != imap.ResponseCodeAlreadyExists {
			t.Errorf("CREATE existing %q: %v, want NO [ALREADYEXISTS]", name, err)
		}
	}
	if err := c.Subscribe("Archive/2019").Wait(); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if err := c.Subscribe("Nowhere").Wait(); err == nil {
		t.Errorf("SUBSCRIBE of a missing folder succeeded")
	}
	if _, err := appendMsg(t, c, "Nowhere", []byte("Subject: x\r\n\r\n"), nil); imapCode(err) != imap.ResponseCodeTryCreate {
		t.Errorf("APPEND to a missing folder: %v, want NO [TRYCREATE]", err)
	}

	a1 := []byte("Subject: one\r\n\r\n" + strings.Repeat("body\r\n", 1000))
	a2 := []byte("Subject: two\r\n\r\nx\r\n")
	mustAppend(t, c, "Archive/2019", a1, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}})
	mustAppend(t, c, "Archive/2019", a2, nil)
	mustAppend(t, c, "Ünïcode", a2, nil)

	st, err := c.Status("Archive/2019", &imap.StatusOptions{NumMessages: true, UIDNext: true, UIDValidity: true, NumUnseen: true, Size: true}).Wait()
	if err != nil {
		t.Fatalf("STATUS: %v", err)
	}
	if *st.NumMessages != 2 || st.UIDNext != 3 || *st.NumUnseen != 1 || *st.Size != int64(len(a1)+len(a2)) || st.UIDValidity == 0 {
		t.Errorf("STATUS Archive/2019 = messages %d, uidnext %d, unseen %d, size %d, uidvalidity %d; want 2, 3, 1, %d, >0",
			*st.NumMessages, st.UIDNext, *st.NumUnseen, *st.Size, st.UIDValidity, len(a1)+len(a2))
	}
	st2, err := c.Status("Ünïcode", &imap.StatusOptions{NumMessages: true, UIDValidity: true}).Wait()
	if err != nil || *st2.NumMessages != 1 || st2.UIDValidity == st.UIDValidity {
		t.Errorf("STATUS Ünïcode = %+v, %v; want 1 message and its own UIDVALIDITY", st2, err)
	}

	root, err := c.List("", "", nil).Collect()
	if err != nil || len(root) != 1 || root[0].Delim != '/' {
		t.Errorf(`LIST "" "" = %+v, %v; want the delimiter '/'`, root, err)
	}
	all, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range all {
		names = append(names, d.Mailbox)
	}
	// CREATE made the missing parents of Deep/er/still.
	if want := []string{"Archive", "Archive/2019", "Deep", "Deep/er", "Deep/er/still", "INBOX", "Ünïcode"}; fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("LIST = %q, want %q", names, want)
	}
	subscribed, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil || len(subscribed) != 1 || subscribed[0].Mailbox != "Archive/2019" {
		t.Errorf("LIST (SUBSCRIBED) = %+v, %v; want Archive/2019", subscribed, err)
	}
	top, err := c.List("", "%", nil).Collect()
	if err != nil || len(top) != 4 {
		t.Errorf(`LIST "" "%%" = %+v, %v; want the 4 top-level folders`, top, err)
	}
	if !s.Subscribed("Archive/2019") || s.Subscribed("Archive") {
		t.Errorf("Subscribed accessor disagrees with SUBSCRIBE")
	}
	if fmt.Sprint(s.Folders()) != fmt.Sprint([]string{"Archive", "Archive/2019", "Deep", "Deep/er", "Deep/er/still", "INBOX", "Ünïcode"}) {
		t.Errorf("Folders() = %q", s.Folders())
	}
}

// TestNotServed: what the uploader never sends is refused with NO
// [CANNOT], and the connection goes on.
func TestNotServed(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	r.login(s)
	if got := r.appendSync("INBOX", "Subject: x\r\n\r\nbody"); !strings.HasPrefix(got, "OK [APPENDUID ") {
		t.Fatalf("APPEND: %s", got)
	}
	r.cmd("SELECT INBOX")
	for _, cmd := range []string{"SEARCH ALL", "UID SEARCH ALL", "COPY 1 INBOX", "UID COPY 1 INBOX", "MOVE 1 INBOX",
		`STORE 1 +FLAGS (\Deleted)`, `UID STORE 1 +FLAGS (\Deleted)`, "EXPUNGE", "UID EXPUNGE 1", "RENAME INBOX Other", "IDLE"} {
		if _, tagged := r.cmd("%s", cmd); !strings.HasPrefix(tagged, "NO [CANNOT] ") {
			t.Errorf("%s: %s, want NO [CANNOT]", cmd, tagged)
		}
	}
	if _, tagged := r.cmd("NOOP"); tagged != "OK NOOP completed" {
		t.Errorf("NOOP after refused commands: %s", tagged)
	}
	if _, tagged := r.cmd("XYZZY"); !strings.HasPrefix(tagged, "BAD ") {
		t.Errorf("unknown command: %s, want BAD", tagged)
	}
	msgs, err := s.Messages("INBOX")
	if err != nil || len(msgs) != 1 || len(msgs[0].Flags) != 0 {
		t.Errorf("INBOX after refused STORE/EXPUNGE = %+v, %v; want the message unchanged", msgs, err)
	}
}

// TestDelete: only an empty folder without children, not INBOX and not
// the selected one, is deleted; the rehearsal never throws messages away.
func TestDelete(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	r.login(s)
	for _, c := range []string{"CREATE Empty", "CREATE Full", "CREATE Parent/Child", "CREATE Chosen"} {
		if _, tagged := r.cmd("%s", c); !strings.HasPrefix(tagged, "OK") {
			t.Fatalf("%s: %s", c, tagged)
		}
	}
	if got := r.appendSync("Full", "Subject: x\r\n\r\nbody"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("APPEND: %s", got)
	}
	r.cmd("SELECT Chosen")
	for cmd, want := range map[string]string{
		"DELETE Empty":   "OK",
		"DELETE Missing": "NO [NONEXISTENT]",
		"DELETE INBOX":   "NO [CANNOT]",
		"DELETE Full":    "NO [CANNOT]",
		"DELETE Parent":  "NO [HASCHILDREN]",
		"DELETE Chosen":  "NO [INUSE]",
	} {
		if _, tagged := r.cmd("%s", cmd); !strings.HasPrefix(tagged, want) {
			t.Errorf("%s: %s, want %s", cmd, tagged, want)
		}
	}
	names := map[string]bool{}
	for _, n := range s.a.names() {
		names[n] = true
	}
	for n, want := range map[string]bool{"Empty": false, "Full": true, "Parent": true, "Parent/Child": true, "Chosen": true, "INBOX": true} {
		if names[n] != want {
			t.Errorf("folder %s present = %v, want %v", n, names[n], want)
		}
	}
}

// TestFingerprint: what FETCH RFC822.SIZE BODY.PEEK[HEADER] returns
// fingerprints like the message appended, whatever its header.
func TestFingerprint(t *testing.T) {
	var received strings.Builder
	for i := 0; received.Len() <= inlineHeader; i++ {
		fmt.Fprintf(&received, "Received: from host%d.example.com by mx.example.com; Tue, 1 Jan 2019 00:00:00 +0000\r\n", i)
	}
	atLimit := "X-Long: " + strings.Repeat("y", fingerprint.MaxHeaderLine-len("X-Long: ")-1) + "\r\n"
	cases := []struct {
		name string
		raw  string
		// header is what BODY[HEADER] must return.
		header string
	}{
		{"plain", "From: a\r\nSubject: s\r\n\r\nbody\r\n", "From: a\r\nSubject: s\r\n\r\n"},
		{"folded", "Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\nbody\r\n", "Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\n"},
		{"no body", "From: a\r\nSubject: s\r\n", "From: a\r\nSubject: s\r\n"},
		{"no final line end", "From: a\r\nSubject: s", "From: a\r\nSubject: s"},
		{"empty header", "\r\nbody only\r\n", "\r\n"},
		{"not a header", "not a header at all\r\n\r\nbody\r\n", ""},
		{"broken header line", "From: a\r\nbroken header line\r\nSubject: x\r\n\r\nbody\r\n", "From: a\r\n"},
		{"LF line ends", "From: a\nSubject: s\n\nbody\n", "From: a\nSubject: s\n\n"},
		{"line over the limit", "From: a\r\nX-Long: " + strings.Repeat("x", fingerprint.MaxHeaderLine) + "\r\nSubject: s\r\n\r\nb\r\n", "From: a\r\n"},
		{"line at the limit", "From: a\r\n" + atLimit + "\r\nb\r\n", "From: a\r\n" + atLimit + "\r\n"},
		{"header longer than kept in memory", received.String() + "\r\nbody\r\n", received.String() + "\r\n"},
		{"large body", "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 200000), "Subject: big\r\n\r\n"},
		{"only a line end", "\r\n", "\r\n"},
	}
	s := start(t, Options{})
	c := s.client(t)
	for _, tc := range cases {
		if err := c.Create(tc.name, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, c, tc.name, []byte(tc.raw), nil)
	}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			msgs := fetchAll(t, c, tc.name, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{header}})
			if len(msgs) != 1 {
				t.Fatalf("folder holds %d messages, want 1", len(msgs))
			}
			got := msgs[0].FindBodySection(header)
			if string(got) != tc.header {
				t.Errorf("BODY[HEADER] = %.200q, want %.200q", got, tc.header)
			}
			want, _, _ := fingerprint.Of(strings.NewReader(tc.raw), int64(len(tc.raw)))
			fp, _, _ := fingerprint.Of(bytes.NewReader(got), msgs[0].RFC822Size)
			if fp != want {
				t.Errorf("fingerprint of the server's answer = %v, want %v", fp, want)
			}
			stored, err := s.Messages(tc.name)
			if err != nil || len(stored) != 1 || string(stored[0].Header) != tc.header || stored[0].Size != int64(len(tc.raw)) {
				t.Errorf("Messages(%q) = %+.200v, %v; want the header and size fetched", tc.name, stored, err)
			}
		})
	}
}

// TestConcurrent appends long headers (which hold the header file while
// they stream in) from several connections at once.
func TestConcurrent(t *testing.T) {
	s := start(t, Options{})
	const conns, each = 4, 5
	raws := map[string][]string{}
	var wg sync.WaitGroup
	clients := make([]*imapclient.Client, conns)
	for i := range clients {
		clients[i] = s.client(t)
		folder := fmt.Sprintf("F%d", i)
		if err := clients[i].Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < each; j++ {
			n := 10 + (i*each+j)*300 // lines of 63 bytes: from 19*300 on, over inlineHeader
			raws[folder] = append(raws[folder], fmt.Sprintf("Subject: %d/%d\r\nX-Pad: ", i, j)+strings.Repeat("p", 60)+strings.Repeat("\r\n\t"+strings.Repeat("q", 60), n)+"\r\n\r\nbody\r\n")
		}
	}
	errs := make(chan error, conns*each)
	for i, c := range clients {
		folder := fmt.Sprintf("F%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, raw := range raws[folder] {
				if _, err := appendMsg(t, c, folder, []byte(raw), nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("APPEND: %v", err)
	}
	for folder, list := range raws {
		msgs, err := s.Messages(folder)
		if err != nil || len(msgs) != len(list) {
			t.Fatalf("%s holds %d messages (%v), want %d", folder, len(msgs), err, len(list))
		}
		for i, raw := range list {
			want := raw[:strings.Index(raw, "\r\n\r\n")+4]
			if got := string(msgs[i].Header); got != want || msgs[i].Size != int64(len(raw)) {
				t.Errorf("%s #%d: header of %d bytes (want %d), size %d (want %d)", folder, i+1, len(got), len(want), msgs[i].Size, len(raw))
			}
		}
	}
}

// TestCutShort: a literal that ends early (a broken connection) is not
// stored; a wrong password does not log in.
func TestCutShort(t *testing.T) {
	s := start(t, Options{})
	r := dialRaw(t, s)
	if _, tagged := r.cmd("LOGIN %s wrong", s.User()); !strings.HasPrefix(tagged, "NO [AUTHENTICATIONFAILED]") {
		t.Errorf("LOGIN with a wrong password: %s", tagged)
	}
	r.login(s)
	r.send("T9 APPEND INBOX {100+}\r\nSubject: x\r\n\r\nshort")
	r.c.(*net.TCPConn).CloseWrite()
	r.closed()
	deadline := time.Now().Add(5 * time.Second)
	for s.Connections() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if msgs, err := s.Messages("INBOX"); err != nil || len(msgs) != 0 {
		t.Errorf("INBOX after a cut literal: %d messages, %v; want none", len(msgs), err)
	}
}

// TestSlowReaderDoesNotBlock: a client that stops reading a long FETCH
// answer does not hold up another connection's APPEND to the same folder.
func TestSlowReaderDoesNotBlock(t *testing.T) {
	s := start(t, Options{})
	w := dialRaw(t, s)
	w.login(s)
	msg := "Subject: pad\r\nX-Pad: " + strings.Repeat("p", 60) + strings.Repeat("\r\n\t"+strings.Repeat("q", 60), 1000) + "\r\n\r\nbody\r\n"
	for i := 0; i < 200; i++ { // 12 MB of headers: more than the socket buffers hold
		w.start("APPEND INBOX {%d+}", len(msg))
		w.send(msg + "\r\n")
	}
	for i := 0; i < 200; i++ {
		w.line()
	}
	slow := dialRaw(t, s)
	slow.login(s)
	slow.cmd("SELECT INBOX")
	slow.start("FETCH 1:* (BODY.PEEK[HEADER])") // and never read the answer
	time.Sleep(200 * time.Millisecond)
	done := make(chan string, 1)
	go func() {
		w.start("APPEND INBOX {14+}")
		w.send("Subject: x\r\n\r\n\r\n")
		_, tagged := w.done()
		done <- tagged
	}()
	select {
	case got := <-done:
		if !strings.HasPrefix(got, "OK ") {
			t.Errorf("APPEND while another connection's FETCH is stuck: %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("APPEND blocked by a connection that does not read its FETCH answer")
	}
}
