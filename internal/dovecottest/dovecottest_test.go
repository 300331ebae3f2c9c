package dovecottest_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/dovecottest"
)

// testMessage is a small message with CRLF line endings, a form feed and a
// body line that looks like a doveadm field, to exercise the parsers.
var testMessage = []byte("From: Alice <alice@example.org>\r\n" +
	"To: Bob <bob@example.org>\r\n" +
	"Subject: harness test\r\n" +
	"Message-ID: <harness-1@example.org>\r\n" +
	"Date: Wed, 05 Mar 2014 12:34:56 +0100\r\n" +
	"\r\n" +
	"first line\r\n" +
	"\f\r\n" +
	"text:\r\n" +
	"last line\r\n")

var testDate = time.Date(2014, 3, 5, 12, 34, 56, 0, time.FixedZone("", 3600))

// tlsFromCAFile builds the client TLS config from the CA file on disk, as
// the uploader under test would with --tls-ca.
func tlsFromCAFile(t *testing.T, srv *dovecottest.Server) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", srv.CAFile)
	}
	return &tls.Config{RootCAs: pool}
}

func appendMessage(t *testing.T, c *imapclient.Client, mailbox string, msg []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
	t.Helper()
	// A server may refuse the literal before it is sent (Dovecot answers an
	// oversized synchronizing literal with NO [LIMIT] instead of "+"); then
	// Write or Close fail with the server's response.
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	_, werr := cmd.Write(msg)
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err == nil {
		err = errors.Join(werr, cerr)
	}
	return data, err
}

func withoutRecent(flags []imap.Flag) []string {
	var out []string
	for _, f := range flags {
		if f != "\\Recent" {
			out = append(out, string(f))
		}
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestAppendReadBack appends one message with flags, keywords and an old
// internal date over verified TLS, then reads it back through IMAP and,
// independently, through doveadm.
func TestAppendReadBack(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})

	c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: tlsFromCAFile(t, srv)})
	if err != nil {
		t.Fatalf("DialTLS(%s) with CA file: %v", srv.TLSAddr, err)
	}
	defer c.Close()
	if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	flags := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Forwarded", "project-x"}
	wantFlags := []string{"$Forwarded", "\\Flagged", "\\Seen", "project-x"}
	data, err := appendMessage(t, c, "INBOX", testMessage, &imap.AppendOptions{Flags: flags, Time: testDate})
	if err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if data.UID == 0 {
		t.Fatalf("APPEND returned no APPENDUID")
	}

	t.Run("imap", func(t *testing.T) {
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("EXAMINE INBOX: %v", err)
		}
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.UIDSetNum(data.UID), &imap.FetchOptions{
			UID: true, Flags: true, InternalDate: true, RFC822Size: true, BodySection: []*imap.FetchItemBodySection{body},
		}).Collect()
		if err != nil {
			t.Fatalf("UID FETCH: %v", err)
		}
		if len(msgs) != 1 {
			t.Fatalf("UID FETCH %d returned %d messages, want 1", data.UID, len(msgs))
		}
		m := msgs[0]
		if got := m.FindBodySection(body); !bytes.Equal(got, testMessage) {
			t.Errorf("BODY[] = %q, want %q", got, testMessage)
		}
		if got := withoutRecent(m.Flags); !slices.Equal(got, wantFlags) {
			t.Errorf("FLAGS = %q, want %q", got, wantFlags)
		}
		if !m.InternalDate.Equal(testDate) {
			t.Errorf("INTERNALDATE = %v, want %v", m.InternalDate, testDate)
		}
		if m.RFC822Size != int64(len(testMessage)) {
			t.Errorf("RFC822.SIZE = %d, want %d", m.RFC822Size, len(testMessage))
		}
	})

	t.Run("doveadm", func(t *testing.T) {
		msgs := srv.Fetch(t, "INBOX")
		if len(msgs) != 1 {
			t.Fatalf("Fetch(INBOX) returned %d messages, want 1", len(msgs))
		}
		m := msgs[0]
		if got := m.CRLF(); !bytes.Equal(got, testMessage) {
			t.Errorf("stored text (as CRLF) = %q, want %q", got, testMessage)
		}
		// Dovecot 2.3's Maildir stores LF line endings.
		if want := bytes.ReplaceAll(testMessage, []byte("\r\n"), []byte("\n")); !bytes.Equal(m.Text, want) {
			t.Errorf("stored text = %q, want %q", m.Text, want)
		}
		if got := sorted(m.Flags); !slices.Equal(got, wantFlags) {
			t.Errorf("stored flags = %q, want %q", got, wantFlags)
		}
		if !m.Received.Equal(testDate) {
			t.Errorf("stored date.received = %v, want %v", m.Received, testDate)
		}
		if m.UID != uint32(data.UID) || m.Mailbox != "INBOX" || m.GUID == "" {
			t.Errorf("stored mailbox/uid/guid = %q/%d/%q, want INBOX/%d/non-empty", m.Mailbox, m.UID, m.GUID, data.UID)
		}
		if m.Size != int64(len(testMessage)) {
			t.Errorf("stored size.virtual = %d, want %d", m.Size, len(testMessage))
		}
		if st := srv.Status(t)["INBOX"]; st.Messages != 1 || st.VSize != int64(len(testMessage)) {
			t.Errorf("Status()[INBOX] = %+v, want 1 message of %d bytes", st, len(testMessage))
		}
	})

	t.Run("starttls", func(t *testing.T) {
		cfg := tlsFromCAFile(t, srv)
		cfg.ServerName = "localhost"
		c2, err := imapclient.DialStartTLS(srv.Addr, &imapclient.Options{TLSConfig: cfg})
		if err != nil {
			t.Fatalf("DialStartTLS(%s): %v", srv.Addr, err)
		}
		defer c2.Close()
		if err := c2.Login(srv.User, srv.Password).Wait(); err != nil {
			t.Fatalf("LOGIN after STARTTLS: %v", err)
		}
		st, err := c2.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
		if err != nil {
			t.Fatalf("STATUS INBOX: %v", err)
		}
		if st.NumMessages == nil || *st.NumMessages != 1 {
			t.Errorf("STATUS INBOX MESSAGES = %v, want 1", st.NumMessages)
		}
	})

	t.Run("untrusted", func(t *testing.T) {
		c3, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: x509.NewCertPool()}})
		if err == nil {
			c3.Close()
			t.Fatalf("DialTLS without the CA succeeded, want a certificate error")
		}
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("DialTLS without the CA: %v, want x509.UnknownAuthorityError", err)
		}
	})
}

// TestPipe uses a pre-authenticated `doveadm exec imap` session without a
// daemon, and sees its result through doveadm.
func TestPipe(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Prepare(t, dovecottest.Config{})
	if srv.Running() {
		t.Fatalf("Prepare started the daemon")
	}
	c := srv.PipeClient(t)
	if c.State() != imap.ConnStateAuthenticated {
		t.Fatalf("pipe state = %v, want authenticated (PREAUTH)", c.State())
	}
	if err := c.Create("Archive/2014", nil).Wait(); err != nil {
		t.Fatalf("CREATE: %v", err)
	}
	if _, err := appendMessage(t, c, "Archive/2014", testMessage, &imap.AppendOptions{Time: testDate}); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("LOGOUT: %v", err)
	}
	msgs := srv.FetchAll(t)
	if len(msgs) != 1 || msgs[0].Mailbox != "Archive/2014" || !bytes.Equal(msgs[0].CRLF(), testMessage) {
		t.Fatalf("FetchAll() = %+v, want the one message in Archive/2014", msgs)
	}
	if got, want := srv.Mailboxes(t), []string{"Archive", "Archive/2014", "INBOX"}; !slices.Equal(got, want) {
		t.Errorf("Mailboxes() = %q, want %q", got, want)
	}
}

// TestMailboxNames shows how Dovecot's layouts and delimiters treat dots.
func TestMailboxNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		cfg       dovecottest.Config
		delim     rune
		create    string
		wantCode  imap.ResponseCode // "" means CREATE succeeds
		wantBoxes []string
	}{
		{
			name:      "slash delimiter, Maildir++ refuses a dot",
			cfg:       dovecottest.Config{},
			delim:     '/',
			create:    "Importiert (.eml)",
			wantCode:  imap.ResponseCodeCannot,
			wantBoxes: []string{"INBOX"},
		},
		{
			name:      "slash delimiter, Maildir++ nests on slash",
			cfg:       dovecottest.Config{},
			delim:     '/',
			create:    "a/b",
			wantBoxes: []string{"INBOX", "a", "a/b"},
		},
		{
			name:      "dot delimiter, Maildir++ nests on dot",
			cfg:       dovecottest.Config{Delimiter: "."},
			delim:     '.',
			create:    "a.b",
			wantBoxes: []string{"INBOX", "a", "a.b"},
		},
		{
			name:      "slash delimiter, LAYOUT=fs accepts a dot",
			cfg:       dovecottest.Config{LayoutFS: true},
			delim:     '/',
			create:    "Importiert (.eml)",
			wantBoxes: []string{"INBOX", "Importiert (.eml)"},
		},
		{
			name:      "non-ASCII name",
			cfg:       dovecottest.Config{},
			delim:     '/',
			create:    "Entwürfe/Größe",
			wantBoxes: []string{"Entwürfe", "Entwürfe/Größe", "INBOX"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Prepare(t, tt.cfg)
			c := srv.PipeClient(t)
			list, err := c.List("", "", nil).Collect()
			if err != nil || len(list) != 1 {
				t.Fatalf(`LIST "" "" = %v, %v; want one reply`, list, err)
			}
			if list[0].Delim != tt.delim {
				t.Errorf("delimiter = %q, want %q", list[0].Delim, tt.delim)
			}
			err = c.Create(tt.create, nil).Wait()
			var imapErr *imap.Error
			switch {
			case tt.wantCode == "" && err != nil:
				t.Errorf("CREATE %q: %v, want success", tt.create, err)
			case tt.wantCode != "" && (!errors.As(err, &imapErr) || imapErr.Code != tt.wantCode):
				t.Errorf("CREATE %q: %v, want NO [%s]", tt.create, err, tt.wantCode)
			}
			if got := srv.Mailboxes(t); !slices.Equal(got, tt.wantBoxes) {
				t.Errorf("Mailboxes() = %q, want %q", got, tt.wantBoxes)
			}
		})
	}
}

// TestSpecialUse checks that declared special-use folders carry their
// attribute, exist from the start with AutoCreate, and are not subscribed.
func TestSpecialUse(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{
		SpecialUse: map[string]string{"Sent Items": `\Sent`, "Deleted Items": `\Trash`},
		AutoCreate: true,
	})
	c := srv.Dial(t)
	if !c.Caps().Has(imap.CapSpecialUse) {
		t.Errorf("capabilities %v lack SPECIAL-USE", c.Caps())
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	got := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		got[l.Mailbox] = l.Attrs
	}
	for name, attr := range map[string]imap.MailboxAttr{"Sent Items": imap.MailboxAttrSent, "Deleted Items": imap.MailboxAttrTrash} {
		attrs, ok := got[name]
		if !ok {
			t.Errorf("LIST lacks %q (AutoCreate): %v", name, got)
			continue
		}
		if !slices.Contains(attrs, attr) {
			t.Errorf("LIST %q attributes = %v, want %s", name, attrs, attr)
		}
	}
	if subs := srv.Subscribed(t); len(subs) != 0 {
		t.Errorf("Subscribed() = %q, want none (auto = create does not subscribe)", subs)
	}
	if err := c.Subscribe("Sent Items").Wait(); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if subs := srv.Subscribed(t); !slices.Equal(subs, []string{"Sent Items"}) {
		t.Errorf("Subscribed() = %q, want [Sent Items]", subs)
	}
}

// TestMaxMailSize checks that a message over the quota plugin's maximum
// size is refused with NO [LIMIT] and a smaller one is stored.
func TestMaxMailSize(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "10k"})
	c := srv.Dial(t)
	small := append(slices.Clone(testMessage), bytes.Repeat([]byte("small body line\r\n"), 100)...)
	if _, err := appendMessage(t, c, "INBOX", small, nil); err != nil {
		t.Fatalf("APPEND of %d bytes: %v, want success", len(small), err)
	}
	big := append(slices.Clone(testMessage), bytes.Repeat([]byte("large body line\r\n"), 2000)...)
	_, err := appendMessage(t, c, "INBOX", big, nil)
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo || imapErr.Code != imap.ResponseCodeLimit {
		t.Fatalf("APPEND of %d bytes: %v, want NO [LIMIT]", len(big), err)
	}
	if !strings.Contains(imapErr.Text, "maximum size") {
		t.Errorf("NO [LIMIT] text = %q, want it to mention the maximum size", imapErr.Text)
	}
	if msgs := srv.Fetch(t, "INBOX"); len(msgs) != 1 || !bytes.Equal(msgs[0].CRLF(), small) {
		t.Errorf("INBOX holds %d messages, want only the small one", len(msgs))
	}

	// Dovecot refuses the synchronizing literal before it is sent and keeps
	// the connection open. (go-imap v2 beta.8 itself closes its connection
	// after a NO to a synchronizing literal; the uploader must reconnect.)
	t.Run("raw", func(t *testing.T) {
		conn, err := tls.Dial("tcp", srv.TLSAddr, srv.TLSConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(conn)
		expect := func(send, tag, want string) {
			t.Helper()
			if send != "" {
				if _, err := io.WriteString(conn, send); err != nil {
					t.Fatal(err)
				}
			}
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("after %q: %v", send, err)
				}
				if strings.HasPrefix(line, tag) {
					if !strings.HasPrefix(line, tag+want) {
						t.Fatalf("after %q: %q, want %q", send, line, tag+want)
					}
					return
				}
			}
		}
		expect("", "* ", "OK")
		expect(fmt.Sprintf("a1 LOGIN %s %s\r\n", srv.User, srv.Password), "a1 ", "OK")
		expect(fmt.Sprintf("a2 APPEND INBOX {%d}\r\n", len(big)), "a2 ", "NO [LIMIT]")
		expect("a3 NOOP\r\n", "a3 ", "OK")
	})
}

// TestQuotaStorage checks NO [OVERQUOTA] once the user's storage is full.
func TestQuotaStorage(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Prepare(t, dovecottest.Config{QuotaStorage: "4k"})
	c := srv.PipeClient(t)
	msg := append(slices.Clone(testMessage), bytes.Repeat([]byte("filler line of text\r\n"), 60)...) // ~1.5 KB
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		_, err = appendMessage(t, c, "INBOX", msg, nil)
	}
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeOverQuota {
		t.Fatalf("APPEND beyond 4k of storage: %v, want NO [OVERQUOTA]", err)
	}
}

// TestRestart checks that Restart keeps the ports and the mail, and that
// connections from before the restart are closed.
func TestRestart(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	addr, tlsAddr := srv.Addr, srv.TLSAddr
	old := srv.Dial(t)
	if _, err := appendMessage(t, old, "INBOX", testMessage, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: testDate}); err != nil {
		t.Fatalf("APPEND: %v", err)
	}

	srv.Restart(t)
	if srv.Addr != addr || srv.TLSAddr != tlsAddr || !srv.Running() {
		t.Fatalf("after Restart: %s %s running=%v, want %s %s running", srv.Addr, srv.TLSAddr, srv.Running(), addr, tlsAddr)
	}
	if err := old.Noop().Wait(); err == nil {
		t.Errorf("NOOP on a connection from before the restart succeeded, want an error")
	}
	c := srv.Dial(t)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true, InternalDate: true}).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH 1 after restart = %d messages, %v; want 1", len(msgs), err)
	}
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) || !msgs[0].InternalDate.Equal(testDate) {
		t.Errorf("after restart: flags %v, date %v; want \\Seen, %v", msgs[0].Flags, msgs[0].InternalDate, testDate)
	}

	// Stopped: nothing listens; doveadm still reads the store.
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()}); err == nil {
		t.Errorf("DialTLS after Stop succeeded, want connection refused")
	}
	if got := srv.Fetch(t, "INBOX"); len(got) != 1 {
		t.Errorf("Fetch after Stop = %d messages, want 1", len(got))
	}
}

// TestPlaintext shows Dovecot's loopback exemption and StrictPlaintext.
func TestPlaintext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cfg           dovecottest.Config
		wantDisabled  bool // LOGINDISABLED announced before STARTTLS
		wantLoginOKed bool
	}{
		{"default: loopback counts as secure", dovecottest.Config{}, false, true},
		{"StrictPlaintext", dovecottest.Config{StrictPlaintext: true}, true, false},
		{"StrictPlaintext with PlainAuth", dovecottest.Config{StrictPlaintext: true, PlainAuth: true}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, tt.cfg)
			c, err := imapclient.DialInsecure(srv.Addr, nil)
			if err != nil {
				t.Fatalf("DialInsecure(%s): %v", srv.Addr, err)
			}
			defer c.Close()
			if err := c.WaitGreeting(); err != nil {
				t.Fatalf("greeting: %v", err)
			}
			if got := c.Caps().Has(imap.CapLoginDisabled); got != tt.wantDisabled {
				t.Errorf("LOGINDISABLED announced = %v, want %v (caps %v)", got, tt.wantDisabled, c.Caps())
			}
			err = c.Login(srv.User, srv.Password).Wait()
			if (err == nil) != tt.wantLoginOKed {
				t.Errorf("plaintext LOGIN: %v, want success=%v", err, tt.wantLoginOKed)
			}
		})
	}
}

// TestParallelServers runs servers side by side and checks that each has
// its own ports and mail.
func TestParallelServers(t *testing.T) {
	t.Parallel()
	a := dovecottest.Start(t, dovecottest.Config{})
	b := dovecottest.Start(t, dovecottest.Config{})
	if a.Addr == b.Addr || a.TLSAddr == b.TLSAddr || a.Home == b.Home {
		t.Fatalf("servers share an address or home: %+v %+v", a, b)
	}
	if _, err := appendMessage(t, a.Dial(t), "INBOX", testMessage, nil); err != nil {
		t.Fatalf("APPEND to a: %v", err)
	}
	if n, m := len(a.Fetch(t, "INBOX")), len(b.Fetch(t, "INBOX")); n != 1 || m != 0 {
		t.Errorf("INBOX counts a=%d b=%d, want 1 and 0", n, m)
	}
}

// BenchmarkStartStop reports the cost of one Start and Stop.
func BenchmarkStartStop(b *testing.B) {
	for b.Loop() {
		srv := dovecottest.Start(b, dovecottest.Config{})
		if err := srv.Stop(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipe reports the cost of one pre-authenticated pipe session.
func BenchmarkPipe(b *testing.B) {
	srv := dovecottest.Prepare(b, dovecottest.Config{})
	for b.Loop() {
		c := imapclient.New(srv.Pipe(b), nil)
		if err := c.Noop().Wait(); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

// TestAppendHelper seeds mail without the daemon, also into an existing
// mailbox, and checks the URL and password file helpers.
func TestAppendHelper(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Prepare(t, dovecottest.Config{})
	uid1 := srv.Append(t, "Archive/Old", testMessage, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen}, Time: testDate})
	uid2 := srv.Append(t, "Archive/Old", testMessage, nil)
	msgs := srv.Fetch(t, "Archive/Old")
	if len(msgs) != 2 || msgs[0].UID != uint32(uid1) || msgs[1].UID != uint32(uid2) {
		t.Fatalf("Fetch(Archive/Old) = %+v, want UIDs %d and %d", msgs, uid1, uid2)
	}
	if !msgs[0].HasFlag(`\seen`) || !msgs[0].Received.Equal(testDate) || msgs[1].HasFlag(`\Seen`) {
		t.Errorf("flags/dates = %v %v / %v, want \\Seen %v / none", msgs[0].Flags, msgs[0].Received, msgs[1].Flags, testDate)
	}
	if got, want := srv.URL("imaps"), "imaps://"+srv.User+"@"+srv.TLSAddr; got != want {
		t.Errorf(`URL("imaps") = %q, want %q`, got, want)
	}
	if got, want := srv.URL("imap"), "imap://"+srv.User+"@"+srv.Addr; got != want {
		t.Errorf(`URL("imap") = %q, want %q`, got, want)
	}
	if b, err := os.ReadFile(srv.PasswordFile(t)); err != nil || string(b) != srv.Password {
		t.Errorf("PasswordFile holds %q, %v; want the password", b, err)
	}
}
