package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
)

// newRehearsal starts a rehearsal server for one test.
func newRehearsal(t testing.TB) *rhServer {
	t.Helper()
	rs, err := startRehearsalServer(testLogger(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.close)
	return rs
}

func (rs *rhServer) client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(rs.target.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(rs.target.User, rs.password).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (rs *rhServer) options(t testing.TB) Options {
	tg := rs.target
	return Options{Target: &tg, Password: rs.password, QuarantineDir: t.TempDir(), TempDir: t.TempDir(),
		Logger: testLogger(t), RetryTimeout: 5 * time.Second}
}

func rhAppend(t testing.TB, c *imapclient.Client, folder string, raw []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
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
	d, err := rhAppend(t, c, folder, raw, opts)
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

func TestRehearsalServerAppendFetch(t *testing.T) {
	rs := newRehearsal(t)
	c := rs.client(t)
	raw := []byte("From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@x>\r\n\r\nbody\r\n")
	date := time.Date(2014, 3, 5, 10, 11, 12, 0, time.FixedZone("", 5400))
	ad := mustAppend(t, c, "INBOX", raw, &imap.AppendOptions{Flags: []imap.Flag{`\seen`, "$Label1", "Work"}, Time: date})
	if ad.UID != 1 || ad.UIDValidity == 0 {
		t.Errorf("APPENDUID = %+v, want UID 1 and a UIDVALIDITY", ad)
	}
	mustAppend(t, c, "INBOX", []byte("Subject: two\r\n\r\nx\r\n"), &imap.AppendOptions{Flags: []imap.Flag{"$label1"}})

	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	fields := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true}
	partial := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true, Partial: &imap.SectionPartial{Offset: 2, Size: 4}}
	msgs := fetchAll(t, c, "INBOX", &imap.FetchOptions{UID: true, Flags: true, InternalDate: true, RFC822Size: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{header, fields, partial}})
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
		{"ENVELOPE subject", m.Envelope.Subject, "hello"},
		{"BODY[HEADER]", string(m.FindBodySection(header)), "From: a@example.com\r\nSubject: hello\r\nMessage-ID: <1@x>\r\n\r\n"},
		{"BODY[HEADER.FIELDS (Subject)]", string(m.FindBodySection(fields)), "Subject: hello\r\n\r\n"},
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
	if got := flagNames(msgs[1].Flags); !equalStrings(got, []string{"$Label1", `\Seen`}) {
		t.Errorf("flags after FETCH BODY[HEADER] = %q, want \\Seen added", got)
	}

	// The body is not kept: asking for it is refused, and the connection
	// goes on.
	for _, opts := range []*imap.FetchOptions{
		{BodySection: []*imap.FetchItemBodySection{{Peek: true}}},
		{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierText, Peek: true}}},
		{BodySection: []*imap.FetchItemBodySection{{Part: []int{1}, Peek: true}}},
		{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}},
	} {
		_, err := c.Fetch(imap.SeqSetNum(1), opts).Collect()
		if imapCode(err) != imap.ResponseCodeCannot {
			t.Errorf("FETCH %+v: %v, want NO [CANNOT]", opts, err)
		}
	}
	if err := c.Noop().Wait(); err != nil {
		t.Errorf("NOOP after a refused FETCH: %v", err)
	}
}

func TestRehearsalServerMailboxes(t *testing.T) {
	rs := newRehearsal(t)
	c := rs.client(t)
	for _, name := range []string{"Archive", "Archive/2019", "Ünïcode"} {
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
	if _, err := rhAppend(t, c, "Nowhere", []byte("Subject: x\r\n\r\n"), nil); imapCode(err) != imap.ResponseCodeTryCreate {
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
	var names, subscribed []string
	for _, d := range all {
		names = append(names, d.Mailbox)
		for _, a := range d.Attrs {
			if a == imap.MailboxAttrSubscribed {
				subscribed = append(subscribed, d.Mailbox)
			}
		}
	}
	if want := []string{"Archive", "Archive/2019", "INBOX", "Ünïcode"}; !equalStrings(names, want) {
		t.Errorf("LIST = %q, want %q", names, want)
	}
	if !equalStrings(subscribed, []string{"Archive/2019"}) {
		t.Errorf("subscribed = %q, want Archive/2019", subscribed)
	}

	// SEARCH on what is kept; STORE, EXPUNGE, COPY.
	if _, err := c.Select("Archive/2019", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	searches := []struct {
		name     string
		criteria *imap.SearchCriteria
		want     []uint32
	}{
		{"flag", &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}}, []uint32{1}},
		{"not flag", &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []uint32{2}},
		{"header", &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "TWO"}}}, []uint32{2}},
		{"larger", &imap.SearchCriteria{Larger: 100}, []uint32{1}},
	}
	for _, s := range searches {
		data, err := c.Search(s.criteria, nil).Wait()
		if err != nil || fmt.Sprint(data.AllSeqNums()) != fmt.Sprint(s.want) {
			t.Errorf("SEARCH %s = %v, %v; want %v", s.name, data, err, s.want)
		}
	}
	if _, err := c.Search(&imap.SearchCriteria{Body: []string{"body"}}, nil).Wait(); imapCode(err) != imap.ResponseCodeCannot {
		t.Errorf("SEARCH BODY: %v, want NO [CANNOT]", err)
	}
	if _, err := c.Copy(imap.SeqSetNum(2), "Archive").Wait(); err != nil {
		t.Errorf("COPY: %v", err)
	}
	if err := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("STORE: %v", err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatalf("EXPUNGE: %v", err)
	}
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	for folder, want := range map[string]string{"Archive/2019": "Subject: two\r\n\r\n", "Archive": "Subject: two\r\n\r\n"} {
		msgs := fetchAll(t, c, folder, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{header}})
		if len(msgs) != 1 || string(msgs[0].FindBodySection(header)) != want {
			t.Errorf("%s after STORE, EXPUNGE and COPY holds %d messages, want only %q", folder, len(msgs), want)
		}
	}
}

// TestRehearsalServerFingerprint: what FETCH RFC822.SIZE BODY.PEEK[HEADER]
// returns fingerprints like the message appended, whatever its header.
func TestRehearsalServerFingerprint(t *testing.T) {
	var received strings.Builder
	for i := 0; received.Len() <= rhInlineHeader; i++ {
		fmt.Fprintf(&received, "Received: from host%d.example.com by mx.example.com; Tue, 1 Jan 2019 00:00:00 +0000\r\n", i)
	}
	atLimit := "X-Long: " + strings.Repeat("y", fingerprint.MaxHeaderLine-len("X-Long: ")-1) + "\r\n"
	cases := []struct {
		name string
		raw  string
		// header is what BODY[HEADER] must return, when the case says.
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
	rs := newRehearsal(t)
	c := rs.client(t)
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
		})
	}
}

// TestRehearsalServerConcurrent appends long headers (which hold the
// header file while they stream in) from several connections at once.
func TestRehearsalServerConcurrent(t *testing.T) {
	rs := newRehearsal(t)
	const conns, each = 4, 5
	raws := map[string][]string{}
	var wg sync.WaitGroup
	clients := make([]*imapclient.Client, conns)
	for i := range clients {
		clients[i] = rs.client(t)
		folder := fmt.Sprintf("F%d", i)
		if err := clients[i].Create(folder, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < each; j++ {
			n := 10 + (i*each+j)*300 // lines of 63 bytes: from 19*300 on, over rhInlineHeader
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
				if _, err := rhAppend(t, c, folder, []byte(raw), nil); err != nil {
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
	header := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}
	for folder, list := range raws {
		msgs := fetchAll(t, clients[0], folder, &imap.FetchOptions{RFC822Size: true, BodySection: []*imap.FetchItemBodySection{header}})
		if len(msgs) != len(list) {
			t.Fatalf("%s holds %d messages, want %d", folder, len(msgs), len(list))
		}
		for i, raw := range list {
			want := raw[:strings.Index(raw, "\r\n\r\n")+4]
			if got := string(msgs[i].FindBodySection(header)); got != want || msgs[i].RFC822Size != int64(len(raw)) {
				t.Errorf("%s #%d: header of %d bytes (want %d), size %d (want %d)", folder, i+1, len(got), len(want), msgs[i].RFC822Size, len(raw))
			}
		}
	}
}

// TestRehearsalServerCutShort: a literal that ends early (a broken
// connection) is not stored.
func TestRehearsalServerCutShort(t *testing.T) {
	rs := newRehearsal(t)
	s := rs.b.newSession()
	defer s.Close()
	if err := s.Login("rehearsal", rs.password); err != nil {
		t.Fatal(err)
	}
	raw := []byte("Subject: x\r\n\r\nshort")
	_, err := s.Append("INBOX", literal{bytes.NewReader(raw), 100}, &imap.AppendOptions{})
	if err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Errorf("Append of a short literal: %v, want refused", err)
	}
	st, err := s.Status("INBOX", &imap.StatusOptions{NumMessages: true})
	if err != nil || *st.NumMessages != 0 {
		t.Errorf("INBOX after a cut literal: %+v, %v; want empty", st, err)
	}
	if err := s.Login("rehearsal", "wrong"); err == nil {
		t.Errorf("Login with a wrong password succeeded")
	}
}

// TestRehearsalServerRerun: Upload into the rehearsal server, then again:
// the pre-scan finds every message (also the oddly formed ones), nothing
// is sent twice, and verify matches.
func TestRehearsalServerRerun(t *testing.T) {
	rs := newRehearsal(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	sent := s.box("", formats.SpecialSent, "Sent")
	arch := s.box("", formats.SpecialNone, "Archive", "2019")
	d := time.Date(2011, 6, 7, 8, 9, 10, 0, time.UTC)
	s.add(in, mail("1", "<1@x>", "x"), d, `\Seen`, "$label1")
	s.add(in, mail("1", "<1@x>", "x"), d) // the same bytes twice: two copies
	s.add(sent, "not a header at all\n\nbody\n", d)
	s.add(sent, "From: a\nbroken header line\nSubject: x\n\nbody\n", d, `\Answered`)
	s.add(arch, "From: a\nX-Long: "+strings.Repeat("z", fingerprint.MaxHeaderLine+10)+"\n\nbody\n", d)
	s.add(arch, mail("big", "<big@x>", strings.Repeat("line of a large body\n", 100000)), d)
	ctx := context.Background()
	rep, err := Upload(ctx, s.reader(), rs.options(t))
	if err != nil {
		t.Fatalf("first Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != 6 || !rep.Verified {
		t.Errorf("first run totals = %+v, verified %v; want 6 uploaded and verified", rep.Totals, rep.Verified)
	}
	rep2, err := Upload(ctx, s.reader(), rs.options(t))
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	mustCheck(t, rep2)
	if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != 6 {
		t.Errorf("second run totals = %+v, want 0 uploaded, 6 already there", rep2.Totals)
	}
	for _, f := range rep2.Folders {
		if f.Verify == nil || f.Verify.Status != StatusMatch {
			t.Errorf("folder %q verify = %+v, want =", f.Server, f.Verify)
		}
	}
	msgs := fetchAll(t, rs.client(t), "INBOX", &imap.FetchOptions{Flags: true, InternalDate: true})
	if len(msgs) != 2 || !equalStrings(flagNames(msgs[0].Flags), []string{"$label1", `\Seen`}) || !msgs[0].InternalDate.Equal(d) {
		t.Errorf("INBOX = %d messages, first with flags %q, date %v", len(msgs), flagNames(msgs[0].Flags), msgs[0].InternalDate)
	}
}

// genReader is a formats.Reader of generated messages of about size bytes
// each, made while they are read: it never holds a message.
type genReader struct {
	boxes []*formats.Mailbox
	n     int
	size  int
	i     int
}

func (r *genReader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) { return r.boxes, nil }
func (r *genReader) Close() error                                              { return nil }

func (r *genReader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.i >= r.n {
		return nil, io.EOF
	}
	i := r.i
	r.i++
	header := fmt.Sprintf("From: gen@example.com\r\nTo: you@example.com\r\nSubject: generated %d\r\nMessage-ID: <%d@gen.example>\r\n\r\n", i, i)
	const line = 78 // 76 characters and CRLF
	lines := (r.size - len(header)) / line
	date := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	var flags []string
	if i%2 == 0 {
		flags = []string{`\Seen`, "$label1"}
	}
	return &formats.Message{
		Mailbox: r.boxes[i%len(r.boxes)],
		Flags:   flags,
		Date:    date,
		Size:    int64(len(header) + lines*line),
		Pos:     formats.Pos{File: "generated", Index: i + 1},
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader(header), &lineGen{left: lines, c: byte('a' + i%26)})), nil
		},
	}, nil
}

// lineGen yields lines of 76 equal characters and CRLF.
type lineGen struct {
	left int
	c    byte
	buf  []byte
}

func (g *lineGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.buf) == 0 {
			if g.left == 0 {
				break
			}
			g.left--
			g.buf = append(bytes.Repeat([]byte{g.c}, 76), '\r', '\n')
		}
		k := copy(p[n:], g.buf)
		g.buf = g.buf[k:]
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestRehearsalMemory rehearses 200 MiB of generated mail and checks that
// the heap in use (after a collection, sampled during the run) stays far
// below it: the rehearsal server keeps headers, not messages.
func TestRehearsalMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("rehearses 200 MiB")
	}
	const count, size = 200, 1 << 20
	const limit = 64 << 20
	r := &genReader{n: count, size: size, boxes: []*formats.Mailbox{
		{Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox, Store: "generated"},
		{Path: formats.Folder{"Archive"}, Store: "generated"},
	}}
	var peak uint64
	sample := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	sample()
	before := peak
	last := 0
	opts := Options{Logger: testLogger(t), TempDir: t.TempDir(), QuarantineDir: t.TempDir(),
		OnProgress: func(p Progress) {
			// Called with the run's lock held: one sample per 10 messages.
			if p.Uploaded >= last+10 {
				last = p.Uploaded
				sample()
			}
		}}
	rep, err := Upload(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("rehearsal: %v", err)
	}
	mustCheck(t, rep)
	if !rep.Rehearsal || !rep.Verified || rep.Totals.Uploaded != count || rep.Totals.Mismatched != 0 {
		t.Errorf("rehearsal totals = %+v, verified %v; want %d uploaded and verified", rep.Totals, rep.Verified, count)
	}
	if last < count-10 {
		t.Errorf("sampled up to %d uploaded messages, want about %d", last, count)
	}
	t.Logf("heap in use: %d MiB before, peak %d MiB during the rehearsal of %d MiB", before>>20, peak>>20, count*size>>20)
	if peak > limit {
		t.Errorf("heap in use peaked at %d MiB rehearsing %d MiB of mail, want under %d MiB", peak>>20, count*size>>20, limit>>20)
	}
}

// BenchmarkAppendRehearsal measures the upload path against the rehearsal
// server (compare BenchmarkAppendMemserver).
func BenchmarkAppendRehearsal(b *testing.B) {
	for _, tc := range []struct {
		name                 string
		size, folders, conns int
	}{
		{"2KB/1conn", 2000, 1, 1},
		{"2KB/4conn", 2000, 4, 4},
		{"200KB/4conn", 200000, 4, 4},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500
			s, total := benchSource(n, tc.size, tc.folders)
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				rs, err := startRehearsalServer(testLogger(b), b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				opts := rs.options(b)
				opts.Connections = tc.conns
				rep, err := Upload(context.Background(), s.reader(), opts)
				rs.close()
				if err != nil || rep.Totals.Uploaded != n {
					b.Fatalf("Upload: %v, %+v", err, rep.Totals)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
