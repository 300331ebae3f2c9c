package daemontest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TLSConfig returns a client TLS configuration trusting only pool (a
// server's CA), for ServerName "localhost" (the certificates
// NewCertificates makes also hold 127.0.0.1 and 127.0.0.2).
func TLSConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

// DialLogin returns a go-imap v2 client connected to addr over implicit
// TLS with cfg and logged in; t.Cleanup closes it. On failure it fails
// the test with logs() appended (the server's log tail).
func DialLogin(t testing.TB, addr string, cfg *tls.Config, user, password string, logs func() string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: cfg})
	if err != nil {
		t.Fatalf("dial %s: %v\n%s", addr, err, logs())
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Login(user, password).Wait(); err != nil {
		t.Fatalf("login as %s at %s: %v\n%s", user, addr, err, logs())
	}
	return c
}

// URL returns a server's address as mailferry's --to takes it:
// "imaps://USER@TLSADDR" for scheme "imaps" (implicit TLS) or
// "imap://USER@ADDR" for "imap" (STARTTLS).
func URL(scheme, user, addr, tlsAddr string) string {
	if scheme == "imap" {
		return scheme + "://" + user + "@" + addr
	}
	return scheme + "://" + user + "@" + tlsAddr
}

// Daemon is what Start needs of a harness's server.
type Daemon interface {
	Run() error
	Stop() error
	LogTail(n int) string
}

// Start makes a directory (ShortTempDir with prefix name+"-"), lets setup
// write a server into it, runs it and returns it; t.Cleanup stops it,
// logs the tail of its logs when the test failed, and removes the
// directory. A port picked free can be taken by someone else before the
// daemon binds it: then it tries again with a new directory and ports.
func Start[S Daemon](t testing.TB, name string, setup func(dir string) (S, error)) S {
	t.Helper()
	for attempt := 1; ; attempt++ {
		dir, err := ShortTempDir(name + "-")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := setup(dir)
		if err == nil {
			if err = s.Run(); err != nil {
				_ = s.Stop()
			}
		}
		if err != nil {
			_ = os.RemoveAll(dir)
			if attempt < 3 && strings.Contains(err.Error(), "in use") {
				t.Logf("%s: port taken, retrying: %v", name, err)
				continue
			}
			t.Fatalf("%s: start: %v", name, err)
		}
		t.Cleanup(func() {
			if err := s.Stop(); err != nil {
				t.Errorf("%s: stop: %v", name, err)
			}
			if t.Failed() {
				t.Logf("%s: logs of %s:\n%s", name, dir, s.LogTail(40))
			}
			if err := os.RemoveAll(dir); err != nil {
				t.Errorf("%s: remove %s: %v", name, dir, err)
			}
		})
		return s
	}
}
