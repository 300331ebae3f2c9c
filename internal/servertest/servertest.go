// Package servertest runs the same integration test against every IMAP
// server of the test matrix: Dovecot in three layouts, Courier, and Cyrus
// in two namespaces, each a real daemon started by the test on 127.0.0.1
// (internal/dovecottest, internal/couriertest, internal/cyrustest).
//
//	servertest.Each(t, func(t *testing.T, srv *servertest.Server) {
//		... run the code under test against srv.TLSAddr (or srv.Addr +
//		    STARTTLS), user srv.User, password srv.Password, CA srv.CAFile ...
//		got := srv.Snapshot(t) // what the server really stored, read from its files
//	})
//
// Each runs one parallel subtest per variant. A variant whose server is
// not installed skips on a developer's machine and fails under CI=true
// (testutil.SkipOrFail); MAILFERRY_SERVERS=courier,cyrus-alt narrows the
// matrix to the named variants.
//
// Every Server says what it looks like to a client in Facts (namespace,
// delimiter, special-use folders, capabilities, header rewriting); the
// tests of this package check each fact against the running server, so
// tests built on the matrix may rely on them.
package servertest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/couriertest"
	"mailferry/internal/cyrustest"
	"mailferry/internal/daemontest"
	"mailferry/internal/dovecottest"
)

// StoredMessage is one message as a server stored it (see
// daemontest.StoredMessage).
type StoredMessage = daemontest.StoredMessage

// Kind is a server software.
type Kind string

// The kinds of the matrix.
const (
	Dovecot Kind = "dovecot"
	Courier Kind = "courier"
	Cyrus   Kind = "cyrus"
)

// Facts is what a variant looks like to a client after login.
type Facts struct {
	// Prefix and Delimiter are the personal namespace (RFC 2342).
	Prefix    string
	Delimiter rune
	// SpecialUse are the special-use mailboxes (RFC 6154) that exist and
	// are subscribed at the user's first login, by name.
	SpecialUse map[string]imap.MailboxAttr
	// Capabilities after login that an uploader branches on.
	LiteralPlus  bool // LITERAL+ (RFC 7888)
	MultiAppend  bool // MULTIAPPEND (RFC 3502)
	Compress     bool // COMPRESS=DEFLATE (RFC 4978)
	ListExtended bool // LIST-EXTENDED (RFC 5258); without it LIST ... RETURN (...) is an error
	// MungesHeaders: the server stores a message with every byte of 0x80
	// and above in its header replaced by "X" (Cyrus's munge8bit; see
	// MungeHeaders), so the stored bytes differ from the ones sent.
	MungesHeaders bool
}

// Variant is one server configuration of the matrix.
type Variant struct {
	Name  string // the subtest name, e.g. "dovecot-panel"
	Kind  Kind
	About string // what the variant stands for
	Facts Facts
	start func(t testing.TB) Harness
}

// Harness is what every kind's server offers (the methods of
// *dovecottest.Server, *couriertest.Server and *cyrustest.Server that
// they share). The ground truth (Mailboxes, Subscribed, Fetch, FetchAll)
// reads the server's files with its own tools, never through IMAP.
type Harness interface {
	Dial(t testing.TB) *imapclient.Client // logged in over implicit TLS; t.Cleanup closes it
	TLSConfig() *tls.Config               // trusting only the server's CA
	URL(scheme string) string             // "imaps://user@127.0.0.1:port" or "imap://..."
	PasswordFile(t testing.TB) string     // the password in a file of its own, for --password-file
	Mailboxes(t testing.TB) []string      // all mailbox names, UTF-8, as IMAP shows them
	Subscribed(t testing.TB) []string     // the subscribed mailbox names, UTF-8, as IMAP shows them
	Fetch(t testing.TB, mailbox string) []StoredMessage
	FetchAll(t testing.TB) []StoredMessage
	Restart(t testing.TB) // same ports, same mail
	Stop() error
	LogTail(n int) string
}

var (
	_ Harness = (*dovecottest.Server)(nil)
	_ Harness = (*couriertest.Server)(nil)
	_ Harness = (*cyrustest.Server)(nil)
)

// Server is one running server of the matrix. Its fields are read-only;
// the kind's own server (for what only it offers) is
// srv.Harness.(*couriertest.Server) and so on.
type Server struct {
	Variant Variant
	Harness
	Addr     string // 127.0.0.1:port: plain IMAP with STARTTLS
	TLSAddr  string // 127.0.0.1:port: implicit TLS
	User     string
	Password string
	CAFile   string         // PEM of the CA that signed the server certificate (--tls-ca)
	CAPool   *x509.CertPool // the same CA
}

// Variants returns the matrix: every server configuration Each runs.
func Variants() []Variant {
	special := func(prefix string, names ...string) map[string]imap.MailboxAttr {
		attrs := []imap.MailboxAttr{imap.MailboxAttrDrafts, imap.MailboxAttrSent, imap.MailboxAttrTrash, imap.MailboxAttrJunk, imap.MailboxAttrArchive}
		m := map[string]imap.MailboxAttr{}
		for i, n := range names {
			m[prefix+n] = attrs[i]
		}
		return m
	}
	dovecot := Facts{Delimiter: '/', LiteralPlus: true, MultiAppend: true, ListExtended: true}
	cyrus := Facts{Prefix: "INBOX.", Delimiter: '.', LiteralPlus: true, MultiAppend: true, Compress: true, ListExtended: true, MungesHeaders: true}
	panel := dovecot
	panel.Prefix, panel.Delimiter = "INBOX.", '.'
	panel.SpecialUse = special("INBOX.", "Drafts", "Sent", "Trash", "spam", "Archive")
	cyrusAlt := cyrus
	cyrusAlt.Prefix, cyrusAlt.Delimiter = "", '/'
	cyrusAlt.SpecialUse = special("", "Drafts", "Sent", "Trash", "Junk", "Archive")
	return []Variant{
		{
			Name: "dovecot", Kind: Dovecot, Facts: dovecot,
			About: "Dovecot 2.3, Maildir++, one namespace \"\" with \"/\" (refuses \".\" in names)",
			start: func(t testing.TB) Harness { return dovecottest.Start(t, dovecottest.Config{}) },
		},
		{
			Name: "dovecot-fs", Kind: Dovecot, Facts: dovecot,
			About: "Dovecot 2.3, Maildir with LAYOUT=fs, namespace \"\" with \"/\"",
			start: func(t testing.TB) Harness { return dovecottest.Start(t, dovecottest.Config{LayoutFS: true}) },
		},
		{
			Name: "dovecot-panel", Kind: Dovecot, Facts: panel,
			About: "Dovecot as hosting panels (cPanel, Plesk) set it up: namespace \"INBOX.\" with \".\", special-use folders created and subscribed",
			start: func(t testing.TB) Harness { return dovecottest.Start(t, dovecottest.PanelLayout()) },
		},
		{
			Name: "courier", Kind: Courier, Facts: Facts{Prefix: "INBOX.", Delimiter: '.'},
			About: "Courier IMAP 5 as Debian packages it: namespace \"INBOX.\" with \".\", no SPECIAL-USE, LITERAL+, MULTIAPPEND",
			start: func(t testing.TB) Harness { return couriertest.Start(t, couriertest.Config{}) },
		},
		{
			Name: "cyrus", Kind: Cyrus, Facts: cyrus,
			About: "Cyrus IMAP 3.6 as Debian configures it: namespace \"INBOX.\" with \".\", munge8bit",
			start: func(t testing.TB) Harness { return cyrustest.Start(t, cyrustest.Config{}) },
		},
		{
			Name: "cyrus-alt", Kind: Cyrus, Facts: cyrusAlt,
			About: "Cyrus IMAP 3.6 with upstream's altnamespace and unixhierarchysep: namespace \"\" with \"/\", special-use folders created at first login, munge8bit",
			start: func(t testing.TB) Harness {
				return cyrustest.Start(t, cyrustest.Config{AltNamespace: true, SpecialUse: true})
			},
		},
	}
}

// Start starts the variant's server for this test (see the kinds'
// packages for skipping, cleanup and parallel use).
func (v Variant) Start(t testing.TB) *Server {
	t.Helper()
	return v.Around(t, v.start(t))
}

// Lookup returns the variant of the matrix with this name.
func Lookup(name string) (Variant, bool) {
	for _, v := range Variants() {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// Around makes a Server of this variant around a server of the same kind
// started with another configuration (a Courier with a connection limit,
// a Cyrus that refuses 8-bit headers), for tests of what the matrix does
// not cover. The Facts stay the variant's: the test knows what its
// configuration changed.
func (v Variant) Around(t testing.TB, h Harness) *Server {
	t.Helper()
	srv := &Server{Variant: v, Harness: h}
	switch s := h.(type) {
	case *dovecottest.Server:
		srv.Addr, srv.TLSAddr, srv.User, srv.Password, srv.CAFile, srv.CAPool = s.Addr, s.TLSAddr, s.User, s.Password, s.CAFile, s.CAPool
	case *couriertest.Server:
		srv.Addr, srv.TLSAddr, srv.User, srv.Password, srv.CAFile, srv.CAPool = s.Addr, s.TLSAddr, s.User, s.Password, s.CAFile, s.CAPool
	case *cyrustest.Server:
		srv.Addr, srv.TLSAddr, srv.User, srv.Password, srv.CAFile, srv.CAPool = s.Addr, s.TLSAddr, s.User, s.Password, s.CAFile, s.CAPool
	default:
		t.Fatalf("servertest: variant %s: unknown harness %T", v.Name, h)
	}
	return srv
}

// Each runs fn in a parallel subtest per variant of the matrix (narrowed
// by MAILFERRY_SERVERS, a comma-separated list of variant names), each
// with a server of its own.
func Each(t *testing.T, fn func(t *testing.T, srv *Server)) {
	t.Helper()
	only := strings.FieldsFunc(os.Getenv("MAILFERRY_SERVERS"), func(r rune) bool { return r == ',' || r == ' ' })
	for _, v := range Variants() {
		if len(only) > 0 && !slices.Contains(only, v.Name) {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, v.Start(t))
		})
	}
}

// Mailbox returns the server's name of a folder path below the personal
// namespace: Mailbox("Archive", "2024") is "Archive/2024" on Dovecot and
// "INBOX.Archive.2024" on Courier. An empty path is "INBOX".
func (s *Server) Mailbox(path ...string) string {
	if len(path) == 0 {
		return "INBOX"
	}
	return s.Variant.Facts.Prefix + strings.Join(path, string(s.Variant.Facts.Delimiter))
}

// Folder is one mailbox with the messages the server stored in it.
type Folder struct {
	Name     string
	Messages []StoredMessage
}

// Snapshot returns every mailbox with its messages, read from the server's
// files (never through IMAP), sorted by name; mailboxes without messages
// are included.
func (s *Server) Snapshot(t testing.TB) []Folder {
	t.Helper()
	names := s.Mailboxes(t)
	byName := map[string][]StoredMessage{}
	for _, m := range s.FetchAll(t) {
		byName[m.Mailbox] = append(byName[m.Mailbox], m)
		if !slices.Contains(names, m.Mailbox) {
			names = append(names, m.Mailbox)
		}
	}
	slices.Sort(names)
	folders := make([]Folder, len(names))
	for i, n := range names {
		folders[i] = Folder{Name: n, Messages: byName[n]}
	}
	return folders
}

// MungeHeaders returns msg as a server with Facts.MungesHeaders stores it:
// every byte of 0x80 and above in the header section (up to the first
// empty line) replaced by "X", one "X" per byte (so a two-byte UTF-8
// character becomes "XX"); the body is kept. For other servers the bytes
// stored are the bytes sent.
func MungeHeaders(msg []byte) []byte {
	out := slices.Clone(msg)
	end := headerEnd(out)
	for i := range end {
		if out[i] >= 0x80 {
			out[i] = 'X'
		}
	}
	return out
}

// headerEnd returns the length of msg's header section: up to and
// including the first empty line (CRLF CRLF or LF LF), or all of msg.
func headerEnd(msg []byte) int {
	for i := 0; i < len(msg); i++ {
		if msg[i] != '\n' {
			continue
		}
		rest := msg[i+1:]
		switch {
		case len(rest) > 0 && rest[0] == '\n':
			return i + 2
		case len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n':
			return i + 3
		}
	}
	return len(msg)
}
