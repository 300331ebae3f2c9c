package upload

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// progressConn enforces Options.IOTimeout on a connection: a read fails
// once no byte arrived for the timeout, and a write once it could not go
// on for as long; every write restarts the read clock too (the server was
// just asked something). So a stalled network path or a server that
// stopped answering ends in a timeout error, and the worker reconnects,
// while a large literal that keeps moving never times out, however long
// it takes. An idle connection (nothing asked, nothing said) also times
// out after the timeout; alive() then reports it closed and the next use
// reconnects.
//
// The deadlines go-imap sets (30 s per response, 5 min per literal, none
// when idle) are ignored: they are absolute, not about progress, and not
// configurable.
//
// A timeout closes the connection: go-imap's decoder and crypto/tls treat
// a timeout as temporary and read again, so a connection that merely
// failed a read would carry on as if nothing happened.
type progressConn struct {
	net.Conn
	timeout time.Duration
	mu      sync.Mutex
	err     error // the timeout that closed the connection
}

func newProgressConn(c net.Conn, timeout time.Duration) net.Conn {
	if timeout <= 0 {
		return c
	}
	return &progressConn{Conn: c, timeout: timeout}
}

func (c *progressConn) Read(p []byte) (int, error) {
	if err := c.broken(); err != nil {
		return 0, err
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(p)
	return n, c.check(err, "nothing received")
}

func (c *progressConn) Write(p []byte) (int, error) {
	// Write in pieces, so that each piece, not the whole buffer, must make
	// progress within the timeout.
	const piece = 64 << 10
	n := 0
	for n < len(p) {
		if err := c.broken(); err != nil {
			return n, err
		}
		end := min(len(p), n+piece)
		_ = c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
		k, err := c.Conn.Write(p[n:end])
		n += k
		if err != nil {
			return n, c.check(err, "nothing sent")
		}
		_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	}
	return n, nil
}

func (c *progressConn) broken() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// check turns a timeout into a permanent error and closes the connection.
func (c *progressConn) check(err error, what string) error {
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = fmt.Errorf("connection stalled: %s for %v: %w", what, c.timeout, err)
	}
	err = c.err
	c.mu.Unlock()
	// Reset rather than close: what our side still holds unsent must not
	// reach the server later, after a reconnect has checked what landed.
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Conn.Close()
	return err
}

func (c *progressConn) SetDeadline(time.Time) error      { return nil }
func (c *progressConn) SetReadDeadline(time.Time) error  { return nil }
func (c *progressConn) SetWriteDeadline(time.Time) error { return nil }

// resetConn makes the close of a TCP connection a reset.
func resetConn(c net.Conn) {
	if pc, ok := c.(*progressConn); ok {
		c = pc.Conn
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}
