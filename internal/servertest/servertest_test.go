package servertest_test

import (
	"bufio"
	"bytes"
	"compress/flate"
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

	"mailferry/internal/servertest"
)

// eightBitMessage has raw 8-bit bytes in its header (UTF-8 and Latin-1,
// also in a folded line) and in its body, which some servers rewrite.
var eightBitMessage = []byte("From: J\xc3\xbcrgen <j@example.org>\r\n" +
	"To: b@example.org\r\n" +
	"Subject: Gr\xc3\xbc\xc3\x9fe caf\xe9\r\n" +
	"X-Folded: first\r\n \xc3\xa4 second\r\n" +
	"Message-ID: <matrix-1@example.org>\r\n" +
	"Date: Wed, 05 Mar 2014 12:34:56 +0100\r\n" +
	"\r\n" +
	"body \xc3\xa4 \xff\r\n")

var appendDate = time.Date(2014, 3, 5, 12, 34, 56, 0, time.FixedZone("", 3600))

// tlsFromCAFile builds the client TLS configuration from the CA file, as
// the code under test does with --tls-ca.
func tlsFromCAFile(t *testing.T, srv *servertest.Server) *tls.Config {
	t.Helper()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", srv.CAFile)
	}
	return &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

func appendMessage(c *imapclient.Client, mailbox string, msg []byte, opts *imap.AppendOptions) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	_, werr := cmd.Write(msg)
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err == nil && (werr != nil || cerr != nil) {
		err = fmt.Errorf("write literal: %v, %v", werr, cerr)
	}
	return data, err
}

// TestMatrix checks, on every server of the matrix, what the harnesses
// promise: login over implicit TLS and over STARTTLS with the CA file,
// the namespace, delimiter, capabilities and special-use folders of
// Facts, CREATE and SUBSCRIBE of a nested folder (and the subscriptions
// the ground truth reads), and an APPEND of a message with 8-bit
// header bytes and flags that the ground truth (read from the server's
// files) and IMAP both show as stored, rewritten exactly as Facts says.
func TestMatrix(t *testing.T) {
	servertest.Each(t, func(t *testing.T, srv *servertest.Server) {
		facts := srv.Variant.Facts
		tlsConfig := tlsFromCAFile(t, srv)

		c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: tlsConfig})
		if err != nil {
			t.Fatalf("DialTLS(%s): %v", srv.TLSAddr, err)
		}
		defer c.Close()
		if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
			t.Fatalf("LOGIN over TLS: %v", err)
		}

		t.Run("STARTTLS", func(t *testing.T) {
			c, err := imapclient.DialStartTLS(srv.Addr, &imapclient.Options{TLSConfig: tlsConfig})
			if err != nil {
				t.Fatalf("DialStartTLS(%s): %v", srv.Addr, err)
			}
			defer c.Close()
			if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
				t.Fatalf("LOGIN after STARTTLS: %v", err)
			}
			if err := c.Login(srv.User, "wrong").Wait(); err == nil {
				t.Errorf("a second LOGIN succeeded")
			}
		})

		ns, err := c.Namespace().Wait()
		if err != nil {
			t.Fatalf("NAMESPACE: %v", err)
		}
		if len(ns.Personal) != 1 || ns.Personal[0].Prefix != facts.Prefix || ns.Personal[0].Delim != facts.Delimiter {
			t.Errorf("NAMESPACE personal = %+v, want ((%q %q))", ns.Personal, facts.Prefix, facts.Delimiter)
		}
		list, err := c.List("", "", nil).Collect()
		if err != nil || len(list) != 1 || list[0].Delim != facts.Delimiter {
			t.Errorf(`LIST "" "" = %+v, %v; want delimiter %q`, list, err, facts.Delimiter)
		}

		caps, err := c.Capability().Wait()
		if err != nil {
			t.Fatalf("CAPABILITY: %v", err)
		}
		for _, want := range []struct {
			cap  imap.Cap
			fact bool
		}{
			{imap.CapLiteralPlus, facts.LiteralPlus},
			{imap.CapMultiAppend, facts.MultiAppend},
			{"COMPRESS=DEFLATE", facts.Compress},
			{imap.CapListExtended, facts.ListExtended},
		} {
			if caps.Has(want.cap) != want.fact {
				t.Errorf("CAPABILITY has %s = %v, Facts say %v (all: %v)", want.cap, caps.Has(want.cap), want.fact, caps)
			}
		}

		checkSpecialUse(t, c, facts)

		mailbox := srv.Mailbox("Archiv", "Größe 2024")
		if err := c.Create(mailbox, nil).Wait(); err != nil {
			t.Fatalf("CREATE %q: %v", mailbox, err)
		}
		if boxes := srv.Mailboxes(t); !slices.Contains(boxes, mailbox) || !slices.Contains(boxes, "INBOX") {
			t.Errorf("ground truth mailboxes = %q, want INBOX and %q", boxes, mailbox)
		}
		if err := c.Subscribe(mailbox).Wait(); err != nil {
			t.Fatalf("SUBSCRIBE %q: %v", mailbox, err)
		}
		subscribed := srv.Subscribed(t)
		for name := range facts.SpecialUse {
			if !slices.Contains(subscribed, name) {
				t.Errorf("ground truth subscriptions %q lack the special-use mailbox %q", subscribed, name)
			}
		}
		if !slices.Contains(subscribed, mailbox) {
			t.Errorf("ground truth subscriptions = %q, want %q", subscribed, mailbox)
		}

		flags := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagAnswered, "$Forwarded", "project-x"}
		data, err := appendMessage(c, mailbox, eightBitMessage, &imap.AppendOptions{Flags: flags, Time: appendDate})
		if err != nil {
			t.Fatalf("APPEND to %q: %v", mailbox, err)
		}
		want := eightBitMessage
		if facts.MungesHeaders {
			want = servertest.MungeHeaders(eightBitMessage)
		}

		stored := srv.Fetch(t, mailbox)
		if len(stored) != 1 {
			t.Fatalf("ground truth of %q: %d messages, want 1", mailbox, len(stored))
		}
		m := stored[0]
		if got := m.CRLF(); !bytes.Equal(got, want) {
			t.Errorf("stored message =\n%q\nwant\n%q", got, want)
		}
		if facts.MungesHeaders == bytes.Equal(want, eightBitMessage) {
			t.Errorf("MungesHeaders = %v, but the stored header bytes say otherwise", facts.MungesHeaders)
		}
		wantFlags := []string{"$Forwarded", `\Answered`, `\Flagged`, `\Seen`, "project-x"}
		if got := m.SortedFlags(); !slices.Equal(got, wantFlags) {
			t.Errorf("stored flags = %q, want %q", got, wantFlags)
		}
		if !m.Received.Equal(appendDate) {
			t.Errorf("stored internal date = %v, want %v", m.Received, appendDate)
		}
		if m.Size != int64(len(want)) {
			t.Errorf("stored size = %d, want %d", m.Size, len(want))
		}
		if m.Mailbox != mailbox {
			t.Errorf("stored mailbox = %q, want %q", m.Mailbox, mailbox)
		}
		if data.UID != 0 && imap.UID(m.UID) != data.UID {
			t.Errorf("stored UID = %d, APPENDUID said %d", m.UID, data.UID)
		}

		// IMAP serves what the ground truth read.
		if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("EXAMINE %q: %v", mailbox, err)
		}
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{RFC822Size: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("FETCH 1: %v, %d messages", err, len(msgs))
		}
		if got := msgs[0].FindBodySection(body); !bytes.Equal(got, want) {
			t.Errorf("IMAP BODY[] =\n%q\nwant\n%q", got, want)
		}
		if msgs[0].RFC822Size != m.Size {
			t.Errorf("IMAP RFC822.SIZE = %d, ground truth says %d", msgs[0].RFC822Size, m.Size)
		}

		snap := srv.Snapshot(t)
		i := slices.IndexFunc(snap, func(f servertest.Folder) bool { return f.Name == mailbox })
		if i < 0 || len(snap[i].Messages) != 1 {
			t.Errorf("Snapshot() = %+v, want %q with one message", snap, mailbox)
		}
		if j := slices.IndexFunc(snap, func(f servertest.Folder) bool { return f.Name == "INBOX" }); j < 0 || len(snap[j].Messages) != 0 {
			t.Errorf("Snapshot() lacks an empty INBOX: %+v", snap)
		}

		if facts.Compress {
			if err := compressNoop(srv, tlsConfig); err != nil {
				t.Errorf("COMPRESS DEFLATE: %v", err)
			}
		}
	})
}

// checkSpecialUse checks that the special-use folders of Facts exist with
// their attribute and are subscribed, and that there are no others.
func checkSpecialUse(t *testing.T, c *imapclient.Client, facts servertest.Facts) {
	t.Helper()
	opts := &imap.ListOptions{}
	if facts.ListExtended {
		opts.ReturnSpecialUse = true
	}
	list, err := c.List("", "*", opts).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	got := map[string]imap.MailboxAttr{}
	for _, l := range list {
		for _, a := range l.Attrs {
			switch a {
			case imap.MailboxAttrDrafts, imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive, imap.MailboxAttrAll, imap.MailboxAttrFlagged:
				got[l.Mailbox] = a
			}
		}
	}
	want := facts.SpecialUse
	if want == nil {
		want = map[string]imap.MailboxAttr{}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("special-use mailboxes = %v, want %v", got, want)
	}
	if len(want) == 0 {
		return
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatalf("LIST (SUBSCRIBED): %v", err)
	}
	for name := range want {
		if !slices.ContainsFunc(subs, func(l *imap.ListData) bool { return l.Mailbox == name }) {
			t.Errorf("special-use mailbox %q is not subscribed", name)
		}
	}
}

// compressNoop logs in over a raw TLS connection, turns on COMPRESS=DEFLATE
// (RFC 4978) and checks that a NOOP gets its tagged OK through the
// compressed stream (go-imap's client does not speak COMPRESS).
func compressNoop(srv *servertest.Server, cfg *tls.Config) error {
	conn, err := tls.Dial("tcp", srv.TLSAddr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	if _, err := untilTagged(r, ""); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	fmt.Fprintf(conn, "a LOGIN %q %q\r\nb COMPRESS DEFLATE\r\n", srv.User, srv.Password)
	for _, tag := range []string{"a", "b"} {
		line, err := untilTagged(r, tag)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, tag+" OK") {
			return fmt.Errorf("%q", line)
		}
	}
	if r.Buffered() != 0 {
		return fmt.Errorf("%d bytes after the COMPRESS OK", r.Buffered())
	}
	fw, err := flate.NewWriter(conn, flate.DefaultCompression)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(fw, "c NOOP\r\nd LOGOUT\r\n"); err != nil {
		return err
	}
	if err := fw.Flush(); err != nil {
		return err
	}
	line, err := untilTagged(bufio.NewReader(flate.NewReader(r)), "c")
	if err != nil {
		return fmt.Errorf("compressed NOOP: %w", err)
	}
	if !strings.HasPrefix(line, "c OK") {
		return fmt.Errorf("compressed NOOP: %q", line)
	}
	return nil
}

// untilTagged reads lines until one starts with tag+" " (the greeting for
// tag ""), and returns it.
func untilTagged(r *bufio.Reader, tag string) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return line, err
		}
		if tag == "" || strings.HasPrefix(line, tag+" ") {
			return line, nil
		}
	}
}

// TestMungeHeaders checks the rewrite rule of MungeHeaders on the header
// section only, with CRLF and with LF line endings.
func TestMungeHeaders(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"utf-8 and latin-1", "Subject: Gr\xc3\xbc\xc3\x9fe \xe9\r\n\r\nbody \xc3\xa4\r\n", "Subject: GrXXXXe X\r\n\r\nbody \xc3\xa4\r\n"},
		{"folded line", "X: a\r\n \xc3\xa4\r\n\r\n\xff", "X: a\r\n XX\r\n\r\n\xff"},
		{"control bytes kept", "X: \x7f\x01\r\n\r\n", "X: \x7f\x01\r\n\r\n"},
		{"LF endings", "X: \xe9\n\n\xe9\n", "X: X\n\n\xe9\n"},
		{"no body", "X: \xe9\r\n", "X: X\r\n"},
		{"MIME part header is body", "X: a\r\n\r\n--b\r\nContent-Type: text/plain; name=\"\xc3\xa4\"\r\n", "X: a\r\n\r\n--b\r\nContent-Type: text/plain; name=\"\xc3\xa4\"\r\n"},
	}
	for _, tt := range tests {
		if got := string(servertest.MungeHeaders([]byte(tt.in))); got != tt.want {
			t.Errorf("%s: MungeHeaders(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

// TestMailbox checks the names Server.Mailbox builds from Facts.
func TestMailbox(t *testing.T) {
	want := map[string]string{
		"dovecot": "Archive/2024", "dovecot-fs": "Archive/2024", "dovecot-panel": "INBOX.Archive.2024",
		"courier": "INBOX.Archive.2024", "cyrus": "INBOX.Archive.2024", "cyrus-alt": "Archive/2024",
	}
	for _, v := range servertest.Variants() {
		srv := &servertest.Server{Variant: v}
		if got := srv.Mailbox("Archive", "2024"); got != want[v.Name] {
			t.Errorf("%s: Mailbox(Archive, 2024) = %q, want %q", v.Name, got, want[v.Name])
		}
		if got := srv.Mailbox(); got != "INBOX" {
			t.Errorf("%s: Mailbox() = %q, want INBOX", v.Name, got)
		}
	}
}

// BenchmarkStart measures starting and stopping each variant's server
// (ports, certificate, configuration, daemons, readiness).
func BenchmarkStart(b *testing.B) {
	for _, v := range servertest.Variants() {
		b.Run(v.Name, func(b *testing.B) {
			for b.Loop() {
				srv := v.Start(b)
				if err := srv.Stop(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// answer is what a server answers to one command: OK (ok), or NO with a
// response code and a text that starts with text (Dovecot appends timings).
type answer struct {
	ok   bool
	code imap.ResponseCode
	text string
}

func (a answer) check(t *testing.T, what string, err error) {
	t.Helper()
	if a.ok {
		if err != nil {
			t.Errorf("%s = %v, want OK", what, err)
		}
		return
	}
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo || imapErr.Code != a.code || !strings.HasPrefix(imapErr.Text, a.text) {
		t.Errorf("%s = %v, want NO [%s] %q", what, err, a.code, a.text)
	}
}

// TestAnswers records, per server kind, the answers an uploader must
// understand: LOGIN with a wrong password, CREATE of an existing mailbox, APPEND to a missing one, and
// APPEND of messages with bare LF line endings, a NUL byte, or no bytes at
// all (and what Maildir servers then store: LF line endings, the NUL kept,
// and for Courier's empty message a single LF).
func TestAnswers(t *testing.T) {
	type answers struct {
		badLogin, exists, missing, bareLF, nul, empty answer
	}
	want := map[servertest.Kind]answers{
		servertest.Dovecot: {
			badLogin: answer{code: imap.ResponseCodeAuthenticationFailed, text: "Authentication failed."},
			exists:   answer{code: imap.ResponseCodeAlreadyExists, text: "Mailbox already exists"},
			missing:  answer{code: imap.ResponseCodeTryCreate, text: "Mailbox doesn't exist: "},
			bareLF:   answer{ok: true},
			nul:      answer{ok: true},
			empty:    answer{text: "Can't save a zero byte message"},
		},
		servertest.Courier: {
			badLogin: answer{text: "Login failed."},
			exists:   answer{text: "Cannot create this folder."},
			missing:  answer{code: imap.ResponseCodeTryCreate, text: "Must create mailbox before append"},
			bareLF:   answer{ok: true},
			nul:      answer{ok: true},
			empty:    answer{ok: true},
		},
		servertest.Cyrus: {
			badLogin: answer{text: "Login failed: authentication failure"},
			exists:   answer{text: "Mailbox already exists"},
			missing:  answer{code: imap.ResponseCodeTryCreate, text: "Mailbox does not exist"},
			bareLF:   answer{text: "Message contains bare newlines"},
			nul:      answer{text: "Message contains NUL characters"},
			empty:    answer{text: "Zero-length message literal"},
		},
	}
	servertest.Each(t, func(t *testing.T, srv *servertest.Server) {
		w := want[srv.Variant.Kind]
		t.Run("wrong password", func(t *testing.T) {
			t.Parallel() // servers answer a failed login after seconds
			c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			w.badLogin.check(t, "LOGIN with a wrong password", c.Login(srv.User, srv.Password+"x").Wait())
		})
		c := srv.Dial(t)
		mailbox := srv.Mailbox("Answers")
		if err := c.Create(mailbox, nil).Wait(); err != nil {
			t.Fatal(err)
		}
		w.exists.check(t, "CREATE of an existing mailbox", c.Create(mailbox, nil).Wait())
		var sent [][]byte
		for _, m := range []struct {
			what string
			msg  string
			want answer
		}{
			{"APPEND with bare LF", "Subject: lf\n\nbody\n", w.bareLF},
			{"APPEND with NUL", "Subject: nul \x00\r\n\r\nbody\r\n", w.nul},
			{"APPEND of 0 bytes", "", w.empty},
		} {
			_, err := appendMessage(c, mailbox, []byte(m.msg), nil)
			m.want.check(t, m.what, err)
			if err == nil {
				sent = append(sent, []byte(m.msg))
			}
		}
		// Last: without LITERAL+ (Courier) the server answers NO instead of
		// the literal's "+", and go-imap then closes the connection.
		_, err := appendMessage(c, srv.Mailbox("Missing"), []byte("Subject: x\r\n\r\nx\r\n"), nil)
		w.missing.check(t, "APPEND to a missing mailbox", err)

		stored := srv.Fetch(t, mailbox)
		if len(stored) != len(sent) {
			t.Fatalf("ground truth: %d messages, want %d", len(stored), len(sent))
		}
		for i, m := range stored {
			// What Maildir servers store: LF line endings, a missing final
			// newline added.
			want := bytes.ReplaceAll(sent[i], []byte("\r\n"), []byte("\n"))
			if len(want) == 0 || want[len(want)-1] != '\n' {
				want = append(want, '\n')
			}
			if !bytes.Equal(m.Text, want) {
				t.Errorf("stored %q, want %q", m.Text, want)
			}
		}
	})
}
