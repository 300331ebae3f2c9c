package faultproxy_test

import (
	"bytes"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// TestDovecotCutMidLiteral cuts a TLS connection to a real Dovecot in the
// middle of an APPEND literal: the client gets an error, Dovecot stores
// nothing, and a new connection through the same proxy works.
func TestDovecotCutMidLiteral(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	p := faultproxy.Start(t, srv.TLSAddr)
	dial := func() *imapclient.Client {
		t.Helper()
		c, err := imapclient.DialTLS(p.Addr(), &imapclient.Options{TLSConfig: srv.TLSConfig()})
		if err != nil {
			t.Fatalf("DialTLS through the proxy: %v", err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
			t.Fatalf("LOGIN through the proxy: %v", err)
		}
		return c
	}
	msg := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 20000)...) // 360 kB

	c := dial()
	p.CutAfter(faultproxy.Up, 100_000) // inside the literal
	cmd := c.Append("INBOX", int64(len(msg)), nil)
	_, werr := cmd.Write(msg)
	cerr := cmd.Close()
	_, err := cmd.Wait()
	if werr == nil && cerr == nil && err == nil {
		t.Fatalf("APPEND cut after 100 kB succeeded")
	}
	if st := p.Stats(); st.Cuts != 1 {
		t.Fatalf("proxy Stats() = %+v, want one cut", st)
	}
	if got := srv.Fetch(t, "INBOX"); len(got) != 0 {
		t.Errorf("after a cut APPEND Dovecot holds %d messages, want 0", len(got))
	}

	c2 := dial()
	cmd = c2.Append("INBOX", int64(len(msg)), nil)
	if _, err := cmd.Write(msg); err != nil {
		t.Fatalf("second APPEND: write: %v", err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("second APPEND: close: %v", err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("second APPEND: %v", err)
	}
	if got := srv.Fetch(t, "INBOX"); len(got) != 1 || !bytes.Equal(got[0].CRLF(), msg) {
		t.Errorf("after the second APPEND Dovecot holds %d messages, want exactly the one sent", len(got))
	}
}
