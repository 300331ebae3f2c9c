package rehearsal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is an IMAP server running in-process on 127.0.0.1. Close it when
// done.
type Server struct {
	opts     Options
	ln       net.Listener
	a        *account
	headers  *headerFile
	user     string
	password string
	log      *slog.Logger

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	loggedIn int
	logins   int // successful logins since the start
	closed   bool
	wg       sync.WaitGroup
}

// Start starts a server on a free port of 127.0.0.1. It keeps its header
// file in opts.TempDir.
func Start(opts Options) (*Server, error) {
	s := &Server{opts: opts, user: opts.User, password: opts.Password, log: opts.Logger, conns: map[net.Conn]struct{}{}}
	if s.user == "" {
		s.user = "rehearsal"
	}
	if s.password == "" {
		var pw [12]byte
		_, _ = rand.Read(pw[:])
		s.password = hex.EncodeToString(pw[:])
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.Clock == nil {
		s.opts.Clock = time.Now
	}
	if d := s.opts.Namespace.Delim; d != 0 && (d < 0x20 || d > 0x7e || d == '"' || d == '\\') {
		return nil, fmt.Errorf("rehearsal server: delimiter %q cannot be sent as IMAP", d)
	}
	h, err := newHeaderFile(opts.TempDir)
	if err != nil {
		return nil, err
	}
	s.headers = h
	s.a = newAccount(&s.opts, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.close()
		return nil, fmt.Errorf("rehearsal server: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the server's address, 127.0.0.1:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Port is the server's TCP port on 127.0.0.1.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// User is the account's user name.
func (s *Server) User() string { return s.user }

// Password is the account's password (with AuthXOAUTH2Only, its bearer
// token).
func (s *Server) Password() string { return s.password }

// Close stops the server, ends every connection, waits for them and
// removes the header file.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	s.headers.close()
	return err
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		if s.opts.MaxConnections > 0 && s.opts.ConnectionLimit == LimitReset && len(s.conns) >= s.opts.MaxConnections {
			s.mu.Unlock()
			// A reset, not an orderly close: what couriertcpd does to a
			// connection over MAXPERIP.
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(c)
	}
}

func (s *Server) serve(c net.Conn) {
	defer s.wg.Done()
	ss := &session{srv: s, a: s.a, w: newWire(c), capture: newCapture(s.headers)}
	defer func() {
		_ = c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		if ss.authed {
			s.loggedIn--
		}
		s.mu.Unlock()
	}()
	if err := ss.run(); err != nil {
		s.log.Debug("rehearsal server: connection ended", "err", err)
	}
}

// caps returns the capabilities announced before (authed false) or after
// login.
func (s *Server) caps(authed bool) []string {
	o := &s.opts
	l := []string{"IMAP4rev1"}
	switch o.Literals {
	case LiteralPlus:
		l = append(l, "LITERAL+")
	case LiteralMinus:
		l = append(l, "LITERAL-")
	}
	l = append(l, "SASL-IR")
	if o.ID != nil {
		l = append(l, "ID")
	}
	if !authed {
		l = append(l, "AUTH=PLAIN")
		if o.Auth == AuthXOAUTH2Only {
			l = append(l, "AUTH=XOAUTH2")
		}
		return l
	}
	l = append(l, "ENABLE", "UNSELECT", "NAMESPACE", "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE")
	if !o.NoUIDPlus {
		l = append(l, "UIDPLUS")
	}
	if !o.NoMultiAppend {
		l = append(l, "MULTIAPPEND")
	}
	if o.Children {
		l = append(l, "CHILDREN")
	}
	if o.SpecialUse {
		l = append(l, "SPECIAL-USE")
	}
	if o.Compress {
		l = append(l, "COMPRESS=DEFLATE")
	}
	if o.UTF8Accept {
		l = append(l, "UTF8=ACCEPT")
	}
	if o.AppendLimit > 0 && !o.HideAppendLimit {
		l = append(l, "APPENDLIMIT="+strconv.FormatInt(o.AppendLimit, 10))
	}
	for _, x := range o.ExtraCaps {
		if !hasCap(l, x) {
			l = append(l, x)
		}
	}
	return l
}

func hasCap(l []string, c string) bool {
	for _, x := range l {
		if strings.EqualFold(x, c) {
			return true
		}
	}
	return false
}

// login counts a logged-in connection; false means the connection limit
// is reached.
func (s *Server) login() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.MaxConnections > 0 && s.opts.ConnectionLimit == LimitAtLogin && s.loggedIn >= s.opts.MaxConnections {
		return false
	}
	s.loggedIn++
	s.logins++
	return true
}

// Logins is the number of successful logins since the server started.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Connections is the number of connections open now.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// AppendsRefused returns how many messages were refused as the server's
// own failure (Options.FailAppends).
func (s *Server) AppendsRefused() int {
	s.a.mu.Lock()
	defer s.a.mu.Unlock()
	return s.a.failed
}
