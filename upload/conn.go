package upload

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailferry/upload/bulk"
)

// plainTCP is used only by the rehearsal, whose server runs in-process on
// the loopback interface: no TLS, no STARTTLS attempt.
const plainTCP Security = "plain"

const dialTimeout = 30 * time.Second

// dialer opens logged-in connections to the target. The password lives
// only here; it never appears in logs, errors or reports, and go-imap's
// DebugWriter (which would record it) is never set.
type dialer struct {
	target         Target
	password       string
	tls            *tls.Config
	allowPlaintext bool
	log            *slog.Logger
	ioTimeout      time.Duration
	// life, when set, bounds the connections instead of the dial's ctx: a
	// run lets the APPENDs in flight finish for a moment after it was
	// cancelled (see run.connCtx).
	life context.Context
}

func newDialer(t Target, password string, opts *Options, log *slog.Logger) (*dialer, error) {
	cfg := &tls.Config{ServerName: t.Host, MinVersion: tls.VersionTLS12, NextProtos: []string{"imap"}}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: read CA file: %w", ErrConfig, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: CA file %s holds no PEM certificate", ErrConfig, opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
	}
	return &dialer{target: t, password: password, tls: cfg, allowPlaintext: opts.AllowPlaintext, log: log, ioTimeout: opts.ioTimeout()}, nil
}

// conn is one logged-in IMAP connection, closed when ctx ends.
type conn struct {
	c        *imapclient.Client
	stop     func() bool
	handoff  *handoffConn // what go-imap reads and writes; nil: cannot be handed over
	raw      net.Conn     // the TCP connection (a *progressConn)
	caps     imap.CapSet
	selected string // mailbox selected (or examined), "" for none
	readOnly bool
}

// alive reports whether the connection can still take commands.
func (cn *conn) alive() bool {
	if cn == nil {
		return false
	}
	select {
	case <-cn.c.Closed():
		return false
	default:
		return cn.c.State() != imap.ConnStateLogout
	}
}

// close logs out politely when the connection still works, then closes it.
func (cn *conn) close() {
	if cn == nil {
		return
	}
	cn.stop()
	if cn.alive() {
		done := make(chan struct{})
		go func() {
			_ = cn.c.Logout().Wait()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	}
	_ = cn.c.Close()
}

// dial connects, secures the connection as the target says and logs in.
// Errors: ErrConfig for TLS trust problems and for a server that would need
// the password in clear text; ErrAuth for a refused login; a plain error
// (retryable) for network failures.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	t := d.target
	nd := &net.Dialer{Timeout: dialTimeout}
	raw, err := nd.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connect to %s: %w", t.Addr(), err)
	}
	// go-imap's own deadlines (30 s per response, 5 min per literal) are
	// replaced by a progress deadline: see progressConn.
	raw = newProgressConn(raw, d.ioTimeout)
	var netConn net.Conn = raw
	// go-imap takes no context: tie the connection to ctx.
	life := ctx
	if d.life != nil {
		life = d.life
	}
	stop := context.AfterFunc(life, func() { raw.Close() })
	fail := func(err error) (*conn, error) {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	opts := &imapclient.Options{TLSConfig: d.tls}
	var c *imapclient.Client
	var hc *handoffConn
	switch t.Security {
	case ImplicitTLS:
		tc := tls.Client(raw, d.tls)
		_ = tc.SetDeadline(time.Now().Add(dialTimeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(earlyClose(tlsError(t, err)))
		}
		_ = tc.SetDeadline(time.Time{})
		netConn = tc
		hc = &handoffConn{Conn: netConn}
		c = imapclient.New(hc, opts)
	case StartTLS:
		c, err = imapclient.NewStartTLS(raw, opts)
		if err != nil {
			if serverError(err) == nil {
				return fail(tlsError(t, err))
			}
			// The server refused STARTTLS.
			if !d.allowPlaintext {
				return fail(fmt.Errorf("%w: %s does not offer STARTTLS (%w); refusing to send the password unencrypted (use imaps:// or --allow-plaintext)", ErrConfig, t.Addr(), err))
			}
			stop()
			d.log.Warn("server refused STARTTLS; logging in without encryption as --allow-plaintext allows", "server", t.Addr())
			return d.dialPlain(ctx)
		}
	case plainTCP:
		hc = &handoffConn{Conn: raw}
		c = imapclient.New(hc, opts)
	default:
		return fail(fmt.Errorf("%w: unknown connection security %q", ErrConfig, t.Security))
	}
	cn := &conn{c: c, stop: func() bool { return stop() }, handoff: hc, raw: raw}
	if err := c.WaitGreeting(); err != nil {
		_ = c.Close()
		return fail(earlyClose(fmt.Errorf("connect to %s: %w", t.Addr(), err)))
	}
	if err := d.login(cn); err != nil {
		_ = c.Close()
		return fail(err)
	}
	cn.caps = c.Caps()
	d.log.Debug("connected", "server", t.String())
	return cn, nil
}

// dialPlain connects without encryption (only with AllowPlaintext).
func (d *dialer) dialPlain(ctx context.Context) (*conn, error) {
	dd := *d
	dd.target.Security = plainTCP
	return dd.dial(ctx)
}

func (d *dialer) login(cn *conn) error {
	c := cn.c
	caps := c.Caps()
	if caps == nil {
		return fmt.Errorf("login to %s: no capabilities from the server", d.target.Addr())
	}
	if caps.Has(imap.CapLoginDisabled) && !caps.Has(imap.Cap("AUTH=PLAIN")) {
		return fmt.Errorf("%w: %s does not allow logging in on this connection (LOGINDISABLED)", ErrConfig, d.target.Addr())
	}
	var err error
	if caps.Has(imap.Cap("AUTH=PLAIN")) {
		err = c.Authenticate(sasl.NewPlainClient("", d.target.User, d.password))
	} else {
		err = c.Login(d.target.User, d.password).Wait()
	}
	if err == nil {
		return nil
	}
	if ie := serverError(err); ie != nil && loginThrottled(ie) {
		// Not now (too many connections, a temporary failure): retried.
		return fmt.Errorf("login to %s: %w", d.target.Addr(), newThrottleError(err, ie))
	}
	if ie := serverError(err); ie != nil {
		// The server's text never holds the password.
		return fmt.Errorf("%w: %s refused user %q: %s", ErrAuth, d.target.Addr(), d.target.User, strings.TrimSpace(ie.Text))
	}
	return fmt.Errorf("login to %s: %w", d.target.Addr(), err)
}

// ClosedAtConnectError is a connection the server closed (or reset) right
// after it was opened, before its greeting or TLS handshake: what servers
// that limit connections per client address do with one too many
// (Courier's MAXPERIP), instead of a NO at login.
type ClosedAtConnectError struct{ Err error }

func (e *ClosedAtConnectError) Error() string {
	return "the server closed the connection right after it was opened: " + e.Err.Error()
}
func (e *ClosedAtConnectError) Unwrap() error { return e.Err }

// earlyClose marks err as a *ClosedAtConnectError when the server ended the
// connection (EOF, reset, abort).
func earlyClose(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return &ClosedAtConnectError{Err: err}
	}
	return err
}

// CertificateError says that the server's TLS certificate is not trusted:
// signed by an unknown authority, made out for another name, or expired.
// It is a configuration problem for the user to fix (errors.Is ErrConfig).
type CertificateError struct {
	Addr string
	Err  error
}

func (e *CertificateError) Error() string {
	return fmt.Sprintf("TLS certificate of %s not trusted: %v (use --tls-ca FILE for a private CA, or --insecure-skip-verify)", e.Addr, e.Err)
}

func (e *CertificateError) Unwrap() error        { return e.Err }
func (e *CertificateError) Is(target error) bool { return target == ErrConfig }

// tlsError classifies a TLS failure: certificate problems are the user's
// configuration to fix (*CertificateError); anything else is a network
// failure.
func tlsError(t Target, err error) error {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		inv x509.CertificateInvalidError
	)
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &inv) {
		return &CertificateError{Addr: t.Addr(), Err: err}
	}
	return fmt.Errorf("TLS with %s: %w", t.Addr(), err)
}

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
	// interrupting makes reads fail at once with errInterrupted, without
	// harm to the connection (see conn.takeOver).
	interrupting bool
}

// errInterrupted ends a read that interrupt cut short. It is a temporary
// net.Error, so that crypto/tls keeps the connection usable.
var errInterrupted net.Error = interruptedError{}

type interruptedError struct{}

func (interruptedError) Error() string   { return "read interrupted to hand the connection over" }
func (interruptedError) Timeout() bool   { return true }
func (interruptedError) Temporary() bool { return true }

// interrupt makes the read in progress and every read after it fail with
// errInterrupted until resume.
func (c *progressConn) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.interrupting = true
	_ = c.Conn.SetReadDeadline(time.Now())
}

func (c *progressConn) resume() {
	c.mu.Lock()
	c.interrupting = false
	c.mu.Unlock()
}

func (c *progressConn) interrupted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.interrupting
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
	// The check and the deadline go together, so that an interrupt
	// cannot land between them and be overwritten.
	c.mu.Lock()
	if c.interrupting {
		c.mu.Unlock()
		return 0, errInterrupted
	}
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	c.mu.Unlock()
	n, err := c.Conn.Read(p)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() && c.interrupted() {
		return n, errInterrupted
	}
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

// handoffConn is the connection as go-imap sees it: after detach, go-imap's
// reader stops and its Close leaves the connection open, so that the bulk
// path can take the logged-in connection over (see conn.takeOver).
type handoffConn struct {
	net.Conn
	mu       sync.Mutex
	detached bool
}

func (h *handoffConn) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.detached {
		return nil
	}
	return h.Conn.Close()
}

func (h *handoffConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	detached := h.detached
	h.mu.Unlock()
	if detached {
		return 0, net.ErrClosed
	}
	return h.Conn.Write(p)
}

// takeOver hands an idle logged-in go-imap connection (no command in
// flight) to the bulk path: go-imap's reader is interrupted and ends, and
// a bulk client carries on with the same connection. This saves a login
// per worker and keeps a worker at one connection. ok is false when this
// connection cannot be handed over (STARTTLS, where go-imap holds the TLS
// layer); cn is unusable afterwards either way when err is not nil.
func (cn *conn) takeOver(ctx context.Context, life context.Context, opts bulk.Options) (bc *bulkConn, ok bool, err error) {
	pc, _ := cn.raw.(*progressConn)
	if cn.handoff == nil || pc == nil || !cn.alive() {
		return nil, false, nil
	}
	cn.handoff.mu.Lock()
	cn.handoff.detached = true
	cn.handoff.mu.Unlock()
	pc.interrupt()
	select {
	case <-cn.c.Closed():
	case <-time.After(5 * time.Second):
		cn.handoff.mu.Lock()
		cn.handoff.detached = false
		cn.handoff.mu.Unlock()
		cn.close()
		return nil, true, errors.New("hand the connection over: go-imap's reader did not stop")
	}
	pc.resume()
	cn.stop()
	stop := context.AfterFunc(life, func() {
		resetConn(pc)
		pc.Close()
	})
	c, err := bulk.NewLoggedIn(ctx, cn.handoff.Conn, opts)
	if err != nil {
		stop()
		resetConn(pc)
		pc.Close()
		return nil, true, fmt.Errorf("hand the connection over: %w", err)
	}
	return &bulkConn{c: c, raw: pc, stop: stop}, true, nil
}
