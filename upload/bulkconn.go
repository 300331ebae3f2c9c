package upload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/upload/bulk"
)

// bulkConn is one logged-in connection of the APPEND hot path
// (upload/bulk): pipelined APPENDs with non-synchronizing literals, in
// MULTIAPPEND batches where the server offers them. go-imap keeps every
// other command (LIST, CREATE, FETCH for the pre-scan, the check after a
// broken connection, and verify).
type bulkConn struct {
	c        *bulk.Client
	raw      net.Conn // the TCP connection under TLS, for a reset
	stop     func() bool
	selected string
}

// alive reports whether the connection can still take commands.
func (bc *bulkConn) alive() bool {
	return bc != nil && bc.c.Err() == nil
}

// close ends the connection: politely (LOGOUT) when polite and nothing is
// in flight, else with a TCP reset, so that what our side still holds
// unsent never reaches the server after a reconnect has checked what
// landed (see progressConn.check).
func (bc *bulkConn) close(polite bool) {
	if bc == nil {
		return
	}
	bc.stop()
	if polite && bc.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = bc.c.Logout(ctx)
		cancel()
	}
	resetConn(bc.raw)
	_ = bc.c.Close()
}

// resetConn makes the close of a TCP connection a reset.
func resetConn(c net.Conn) {
	if pc, ok := c.(*progressConn); ok {
		c = pc.Conn
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// bulkOptions are the upload/bulk settings of a run: MULTIAPPEND batches
// of up to 50 messages or 8 MiB with 2 commands in flight (the server
// always has the next batch; more in flight only lengthens what may still
// land after the client died, see the README); without
// MULTIAPPEND one message per command, Pipeline of them in flight. The
// bytes in flight are bounded by InFlightBytes (the run's budget bounds the
// memory they take).
func (o *Options) bulkOptions() bulk.Options {
	return bulk.Options{
		MaxBatch:         50,
		MaxBatchBytes:    8 << 20,
		MaxInFlight:      2,
		MaxInFlightBytes: o.inFlightBytes(),
		Timeout:          o.ioTimeout(),
	}
}

// dialBulk connects, secures the connection as the target says and logs
// in, for the bulk path. Errors are sorted as dial's are: ErrConfig,
// ErrAuth, a *throttleError for a "not now" login, else a transport
// failure (retried). errNoBulk means the server cannot be used through
// the bulk path (no STARTTLS, where go-imap's path may still log in
// without encryption): the worker falls back to go-imap.
func (d *dialer) dialBulk(ctx context.Context, opts bulk.Options) (*bulkConn, error) {
	t := d.target
	nd := &net.Dialer{Timeout: dialTimeout}
	tcp, err := nd.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connect to %s: %w", t.Addr(), err)
	}
	raw := newProgressConn(tcp, d.ioTimeout)
	life := ctx
	if d.life != nil {
		life = d.life
	}
	stop := context.AfterFunc(life, func() {
		resetConn(raw)
		raw.Close()
	})
	fail := func(err error) (*bulkConn, error) {
		stop()
		raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	var c *bulk.Client
	switch t.Security {
	case ImplicitTLS:
		tc := tls.Client(raw, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(tlsError(t, err))
		}
		c, err = bulk.New(tc, opts)
	case StartTLS:
		c, err = bulk.NewStartTLS(ctx, raw, d.tls, opts)
		var se *bulk.StatusError
		if err != nil && (errors.As(err, &se) || strings.Contains(err.Error(), "does not offer")) {
			return fail(fmt.Errorf("%w: STARTTLS: %w", errNoBulk, err))
		}
		if err != nil && strings.Contains(err.Error(), "handshake") {
			return fail(tlsError(t, err))
		}
	case plainTCP:
		c, err = bulk.New(raw, opts)
	default:
		return fail(fmt.Errorf("%w: unknown connection security %q", ErrConfig, t.Security))
	}
	if err != nil {
		return fail(fmt.Errorf("connect to %s: %w", t.Addr(), err))
	}
	if err := c.Login(ctx, t.User, d.password); err != nil {
		_ = c.Close()
		return fail(d.bulkLoginError(err))
	}
	return &bulkConn{c: c, raw: raw, stop: stop}, nil
}

// errNoBulk: the bulk path cannot be used with this server.
var errNoBulk = errors.New("the bulk APPEND path cannot be used")

// bulkLoginError sorts a failed login as login does.
func (d *dialer) bulkLoginError(err error) error {
	ie := imapError(err)
	switch {
	case ie == nil:
		if strings.Contains(err.Error(), "LOGINDISABLED") || strings.Contains(err.Error(), "cannot carry") {
			return fmt.Errorf("%w: %s: %w", errNoBulk, d.target.Addr(), err)
		}
		return fmt.Errorf("login to %s: %w", d.target.Addr(), err)
	case loginThrottled(ie):
		return fmt.Errorf("login to %s: %w", d.target.Addr(), newThrottleError(ie, ie))
	default:
		return fmt.Errorf("%w: %s refused user %q: %s", ErrAuth, d.target.Addr(), d.target.User, strings.TrimSpace(ie.Text))
	}
}

// imapError converts the server's refusal in a bulk error (a
// *bulk.StatusError) into go-imap's *imap.Error, so that retryable,
// classify and describe judge both paths alike; nil for anything else.
func imapError(err error) *imap.Error {
	var se *bulk.StatusError
	if !errors.As(err, &se) {
		return nil
	}
	return &imap.Error{Type: imap.StatusResponseType(se.Type), Code: imap.ResponseCode(se.Code), Text: se.Text}
}

// bulkErr returns err with a server's refusal as *imap.Error (see
// imapError), and anything else (a broken connection) as it is.
func bulkErr(err error) error {
	if ie := imapError(err); ie != nil {
		return ie
	}
	return err
}
