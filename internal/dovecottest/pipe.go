package dovecottest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// Pipe starts `doveadm -c CONF exec imap` for the test user and returns a
// connection joined to its stdin and stdout by OS pipes: an IMAP
// session that is already authenticated (the server greets with PREAUTH).
// No port, TLS or login is involved, and the daemon need not run. The
// connection supports deadlines. t.Cleanup closes it and waits for the
// process; its stderr is logged when the test failed.
func (s *Server) Pipe(t testing.TB) net.Conn {
	t.Helper()
	conn, err := s.pipe(t)
	if err != nil {
		t.Fatalf("dovecottest: pipe: %v", err)
	}
	return conn
}

// PipeClient is Pipe wrapped in a go-imap v2 client.
func (s *Server) PipeClient(t testing.TB) *imapclient.Client {
	t.Helper()
	c := imapclient.New(s.Pipe(t), nil)
	t.Cleanup(func() { _ = c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("dovecottest: pipe greeting: %v", err)
	}
	return c
}

func (s *Server) pipe(t testing.TB) (net.Conn, error) {
	// Real pipes, not a socket pair: imap refuses a socket on stdin ("imap
	// binary must not be started from inetd").
	toServer, serverIn, err := os.Pipe() // toServer is imap's stdin
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	serverOut, fromServer, err := os.Pipe() // fromServer is imap's stdout
	if err != nil {
		toServer.Close()
		serverIn.Close()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd := exec.Command(s.doveadmBin, "-c", s.ConfPath, "exec", "imap")
	cmd.Env = s.userEnv()
	cmd.Dir = s.Dir
	cmd.Stdin, cmd.Stdout = toServer, fromServer
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	err = cmd.Start()
	toServer.Close() // the child has its copies
	fromServer.Close()
	if err != nil {
		serverIn.Close()
		serverOut.Close()
		return nil, fmt.Errorf("start doveadm exec imap: %w", err)
	}
	conn := &pipeConn{r: serverOut, w: serverIn}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = conn.Close() // imap sees EOF and exits
		select {
		case <-done:
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("dovecottest: doveadm exec imap (pid %d) did not exit after its connection closed; killed", cmd.Process.Pid)
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("dovecottest: doveadm exec imap stderr:\n%s", stderr.String())
		}
	})
	return conn, nil
}

// pipeConn is a net.Conn over the two pipes of a child process. Deadlines
// work because os.File supports them for pipes.
type pipeConn struct {
	r    *os.File // the child's stdout
	w    *os.File // the child's stdin
	once sync.Once
}

func (c *pipeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close closes both pipes; the child sees EOF on its stdin.
func (c *pipeConn) Close() error {
	var err error
	c.once.Do(func() {
		err = errors.Join(c.w.Close(), c.r.Close())
	})
	return err
}

func (c *pipeConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *pipeConn) RemoteAddr() net.Addr { return pipeAddr{} }

func (c *pipeConn) SetDeadline(t time.Time) error {
	return errors.Join(c.r.SetReadDeadline(t), c.w.SetWriteDeadline(t))
}
func (c *pipeConn) SetReadDeadline(t time.Time) error  { return c.r.SetReadDeadline(t) }
func (c *pipeConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "doveadm-exec-imap" }

// lockedBuffer is a bytes.Buffer safe for the exec copier goroutine and a
// reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Append stores msg in mailbox (created first when missing) through a
// pre-authenticated pipe session, without the network and whether or not
// the daemon runs: for tests that need mail on the server before the code
// under test runs. It returns the new message's UID.
func (s *Server) Append(t testing.TB, mailbox string, msg []byte, opts *imap.AppendOptions) imap.UID {
	t.Helper()
	c := s.PipeClient(t)
	defer c.Close()
	if err := c.Create(mailbox, nil).Wait(); err != nil {
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeAlreadyExists {
			t.Fatalf("dovecottest: append: create %q: %v", mailbox, err)
		}
	}
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	_, werr := cmd.Write(msg)
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err = errors.Join(err, werr, cerr); err != nil {
		t.Fatalf("dovecottest: append to %q: %v", mailbox, err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Fatalf("dovecottest: append: logout: %v", err)
	}
	return data.UID
}
