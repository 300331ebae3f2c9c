package daemontest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// Base is what the servers of the harnesses have in common: two
// listeners on 127.0.0.1, test users, and a CA of their own. Harnesses
// embed it; its fields are read-only.
type Base struct {
	Addr     string // 127.0.0.1:port: plain IMAP, STARTTLS offered
	TLSAddr  string // 127.0.0.1:port: implicit TLS
	User     string // the first of Users
	Password string
	Users    []User
	CAFile   string         // PEM of the CA that signed the server certificate (--tls-ca)
	CAPool   *x509.CertPool // the same CA, for tls.Config.RootCAs
	Dir      string         // everything of this server
}

// NewBase prepares a server in dir (made absolute): users as Users
// returns them, two free ports, a new CA and server certificate, and the
// CA written to dir/ca.pem. The caller writes the certificate and key
// where its daemon wants them.
func NewBase(dir string, users []User) (Base, *Certificates, error) {
	users, err := Users(users)
	if err != nil {
		return Base{}, nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return Base{}, nil, err
	}
	ports, err := FreePorts("127.0.0.1", "127.0.0.1")
	if err != nil {
		return Base{}, nil, err
	}
	certs, err := NewCertificates()
	if err != nil {
		return Base{}, nil, err
	}
	b := Base{
		Addr:     net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		TLSAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		User:     users[0].Name,
		Password: users[0].Password,
		Users:    users,
		CAFile:   filepath.Join(dir, "ca.pem"),
		CAPool:   certs.Pool(),
		Dir:      dir,
	}
	if err := WriteFiles(File{Path: b.CAFile, Data: certs.CAPEM, Mode: 0o644}); err != nil {
		return Base{}, nil, err
	}
	return b, certs, nil
}

// Ports returns the port numbers of Addr and TLSAddr.
func (b *Base) Ports() (plain, tls string) {
	_, plain, _ = net.SplitHostPort(b.Addr)
	_, tls, _ = net.SplitHostPort(b.TLSAddr)
	return plain, tls
}

// TLSConfig returns a client TLS configuration trusting only the server's
// CA, for ServerName "localhost" (the certificate also holds 127.0.0.1).
func (b *Base) TLSConfig() *tls.Config { return TLSConfig(b.CAPool) }

// URL returns the server's address as mailferry's --to takes it:
// "imaps://USER@127.0.0.1:port" for scheme "imaps" (implicit TLS) or
// "imap://USER@127.0.0.1:port" for "imap" (STARTTLS).
func (b *Base) URL(scheme string) string { return URL(scheme, b.User, b.Addr, b.TLSAddr) }

// PasswordFile writes the password (no newline) into a file of its own
// (mode 0600) and returns its path, for --password-file.
func (b *Base) PasswordFile(t testing.TB) string {
	t.Helper()
	return PasswordFile(t, b.Password)
}

// DialLogin returns a go-imap v2 client logged in as User over implicit
// TLS (verified against the CA), failing the test with logs() when it
// cannot; t.Cleanup closes it.
func (b *Base) DialLogin(t testing.TB, logs func() string) *imapclient.Client {
	t.Helper()
	return DialLogin(t, b.TLSAddr, b.TLSConfig(), b.User, b.Password, logs)
}

// SystemUser returns the uid and gid of a system account.
func SystemUser(name string) (uid, gid int, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("look up system user %s: %w", name, err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	return uid, gid, nil
}

// Restart stops d and runs it again (same ports, same mail), failing the
// test when either fails.
func Restart(t testing.TB, name string, d Daemon) {
	t.Helper()
	if err := d.Stop(); err != nil {
		t.Fatalf("%s: restart: %v", name, err)
	}
	if err := d.Run(); err != nil {
		t.Fatalf("%s: restart: %v", name, err)
	}
}
