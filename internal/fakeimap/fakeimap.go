// Package fakeimap runs hostile IMAP servers on 127.0.0.1 for tests: each
// Server misbehaves in one way (a Behaviour) so that a test can prove the
// client survives it: BYE or a dropped connection after a "poison"
// APPEND, malformed or endless answers, huge lines, literals and nesting,
// invalid folder names, a pre-scan that lies, a body changed on the
// server, control characters in server texts, a refused STARTTLS, a
// greeting that never comes.
//
// Behind the misbehaviour is an honest server (go-imap's memory server:
// LITERAL+, UIDPLUS, whole messages kept) that answers everything the
// Behaviour leaves alone; BackendAddr reaches it directly, to check what
// was really stored. Huge answers are generated while they are sent, at a
// chosen rate: the test process stays small. Close (registered with
// t.Cleanup) ends every connection and stream at once.
//
// A plaintext server on the port an imaps:// URL points at is Start with
// Honest; a TLS server where plain IMAP is expected is StartTLS with
// Honest.
package fakeimap

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Server is a hostile IMAP server. Its fields are set by Start.
type Server struct {
	Addr        string // 127.0.0.1:port for the client under test
	BackendAddr string // the honest server behind it, plain IMAP
	User        string
	Password    string
	// With StartTLS: the CA that signed the certificate for 127.0.0.1, as
	// a pool and as a PEM file.
	CAPool *x509.CertPool
	CAFile string

	b       Behaviour
	ln      net.Listener
	backend *imapserver.Server
	bln     net.Listener
	ctx     context.Context
	cancel  context.CancelFunc

	mu    sync.Mutex
	conns map[io.Closer]struct{}
	hits  int
	wg    sync.WaitGroup
}

// Start runs a plain (no TLS) server with Behaviour b until the test ends.
func Start(t testing.TB, b Behaviour) *Server { return start(t, b, false) }

// StartTLS runs a server speaking implicit TLS (imaps) with a certificate
// for 127.0.0.1 signed by Server.CAPool.
func StartTLS(t testing.TB, b Behaviour) *Server { return start(t, b, true) }

func start(t testing.TB, b Behaviour, useTLS bool) *Server {
	t.Helper()
	var pw [8]byte
	_, _ = rand.Read(pw[:])
	s := &Server{User: "tester", Password: hex.EncodeToString(pw[:]), b: b, conns: map[io.Closer]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.startBackend(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		cfg, pool, caPEM, err := tlsConfig()
		if err != nil {
			t.Fatal(err)
		}
		s.CAPool = pool
		s.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(s.CAFile, caPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		ln = tls.NewListener(ln, cfg)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("fakeimap: %v", err)
		}
	})
	return s
}

// Hits is how many times the Behaviour's misbehaviour happened.
func (s *Server) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func (s *Server) hit() {
	s.mu.Lock()
	s.hits++
	s.mu.Unlock()
}

// Close ends every connection and stream and waits for them (at most 10
// seconds: longer is an error, a goroutine that does not stop).
func (s *Server) Close() error {
	s.cancel()
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	_ = s.backend.Close()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s: connections still running 10 s after Close", s.b.Name)
	}
}

// track registers a connection for Close; false means the server is
// closing.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		_ = c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

func (s *Server) startBackend() error {
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(s.User, s.Password)
	if err := user.Create("INBOX", nil); err != nil {
		return err
	}
	mem.AddUser(user)
	s.backend = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return strictSession{mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}, imap.CapLiteralPlus: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.bln, s.BackendAddr = ln, ln.Addr().String()
	go func() { _ = s.backend.Serve(ln) }()
	return nil
}

// strictSession refuses a message whose literal was cut short: the memory
// server would store the truncated bytes, which no real server does.
type strictSession struct{ imapserver.Session }

func (s strictSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != r.Size() {
		return nil, fmt.Errorf("literal cut short: %d of %d bytes", len(b), r.Size())
	}
	return s.Session.Append(mailbox, sized{bytes.NewReader(b), r.Size()}, options)
}

type sized struct {
	*bytes.Reader
	n int64
}

func (r sized) Size() int64 { return r.n }

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(c) {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.serve(c)
		}()
	}
}

// tlsConfig makes a CA and a certificate for 127.0.0.1 signed by it.
func tlsConfig() (*tls.Config, *x509.CertPool, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fakeimap CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, pool, caPEM, nil
}
