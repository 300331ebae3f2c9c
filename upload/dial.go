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
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailferry/internal/imapguard"
	"mailferry/internal/oauth"
	"mailferry/upload/bulk"
)

// plainTCP is used only by the rehearsal, whose server runs in-process on
// the loopback interface: no TLS, no STARTTLS attempt.
const plainTCP Security = "plain"

const dialTimeout = 30 * time.Second

// dialer opens logged-in connections to the target, one way for both
// clients: upload/bulk connects, secures the connection (TLS, or STARTTLS
// with its greeting read under bulk's limits), logs in (a password, or an
// OAuth 2.0 token) and turns COMPRESS=DEFLATE on where the server offers
// it; go-imap then gets the connection as it is (bulk.Client.Detach: a
// synthesized PREAUTH greeting), behind an imapguard.Conn.
//
// The password and tokens live only here; they never appear in logs,
// errors or reports, and go-imap's DebugWriter (which would record them)
// is never set.
type dialer struct {
	target         Target
	password       string
	tokens         oauth.TokenSource
	tls            *tls.Config
	allowPlaintext bool
	log            *slog.Logger
	ioTimeout      time.Duration
	bulk           bulk.Options
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
	return &dialer{target: t, password: password, tokens: opts.Tokens, tls: cfg, allowPlaintext: opts.AllowPlaintext,
		log: log, ioTimeout: opts.ioTimeout(), bulk: opts.bulkOptions()}, nil
}

// bulkOptions are the upload/bulk settings of a run: MULTIAPPEND batches
// of up to 50 messages or 8 MiB with 2 commands in flight (the server
// always has the next batch; more in flight only lengthens what may still
// land after the client died, see the README); without MULTIAPPEND one
// message per command, Pipeline of them in flight. The bytes in flight are
// bounded by InFlightBytes (the run's budget bounds the memory they take).
func (o *Options) bulkOptions() bulk.Options {
	return bulk.Options{
		MaxBatch:         50,
		MaxBatchBytes:    8 << 20,
		MaxInFlight:      2,
		MaxInFlightBytes: o.inFlightBytes(),
		Timeout:          o.ioTimeout(),
		NoCompress:       o.NoCompress,
	}
}

// open connects, secures the connection as the target says, logs in and
// turns COMPRESS on. Errors: ErrConfig for TLS trust problems, a port that
// does not speak TLS, and a server that would need the password in clear
// text; ErrAuth for a refused login or token; a *throttleError for a "not
// now" login; ctx's error; else a transport failure (retried).
func (d *dialer) open(ctx context.Context) (*bulkConn, error) {
	return d.openAs(ctx, d.target.Security)
}

func (d *dialer) openAs(ctx context.Context, security Security) (*bulkConn, error) {
	t := d.target
	nd := &net.Dialer{Timeout: dialTimeout}
	tcp, err := nd.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connect to %s: %w", t.Addr(), err)
	}
	// go-imap's own deadlines (30 s per response, 5 min per literal) are
	// replaced by a progress deadline: see progressConn.
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
	switch security {
	case ImplicitTLS:
		tc := tls.Client(raw, d.tls)
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		err = tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return fail(earlyClose(tlsError(t, err)))
		}
		c, err = bulk.New(tc, d.bulk)
	case StartTLS:
		c, err = bulk.NewStartTLS(ctx, raw, d.tls, d.bulk)
		var se *bulk.StatusError
		if errors.Is(err, bulk.ErrNoStartTLS) || errors.As(err, &se) {
			if !d.allowPlaintext {
				return fail(fmt.Errorf("%w: %s: %w (%w)", ErrConfig, t.Addr(), ErrNoEncryption, err))
			}
			fail(nil)
			d.log.Warn("server offers no STARTTLS; logging in without encryption as --allow-plaintext allows", "server", t.Addr())
			return d.openAs(ctx, plainTCP)
		}
		var ce *tls.CertificateVerificationError
		var rh tls.RecordHeaderError
		if errors.As(err, &ce) || errors.As(err, &rh) {
			return fail(tlsError(t, err))
		}
	case plainTCP:
		c, err = bulk.New(raw, d.bulk)
	default:
		return fail(fmt.Errorf("%w: unknown connection security %q", ErrConfig, security))
	}
	if err != nil {
		return fail(earlyClose(fmt.Errorf("connect to %s: %w", t.Addr(), err)))
	}
	if err := d.login(ctx, c); err != nil {
		_ = c.Close()
		return fail(err)
	}
	return &bulkConn{c: c, raw: raw, stop: stop}, nil
}

// login authenticates with the password or, with Options.Tokens, an
// OAuth 2.0 access token (XOAUTH2 or OAUTHBEARER), and sorts failures.
func (d *dialer) login(ctx context.Context, c *bulk.Client) error {
	t := d.target
	var err error
	if d.tokens != nil {
		err = oauth.Login(ctx, d.tokens, oauth.LoginOptions{
			User: t.User, Server: t.Addr(), Has: c.Has,
			Authenticate: func(m sasl.Client) error { return c.Authenticate(ctx, m) },
			Refused:      bulkRefused,
		})
		var tre *oauth.TokenRejectedError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &tre), errors.Is(err, oauth.ErrSignInAgain), errors.Is(err, oauth.ErrNoOAuthMechanism):
			return fmt.Errorf("%w: %w", ErrAuth, err)
		}
	} else {
		err = c.Login(ctx, t.User, d.password)
		if err == nil {
			return nil
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	ie := imapError(err)
	switch {
	case errors.Is(err, bulk.ErrLoginDisabled), errors.Is(err, bulk.ErrCannotCarry):
		return fmt.Errorf("%w: %s: %w", ErrConfig, t.Addr(), err)
	case ie == nil:
		return fmt.Errorf("login to %s: %w", t.Addr(), err)
	case loginThrottled(ie):
		// Not now (too many connections, a temporary failure): retried.
		return fmt.Errorf("login to %s: %w", t.Addr(), newThrottleError(ie, ie))
	}
	// The server's text never holds the password. Microsoft's and
	// Google's refusals of passwords get advice (sign in with OAuth, an
	// app password).
	if refusal := oauth.ExplainLoginRefusal(t.Host, string(ie.Code), strings.TrimSpace(ie.Text)); refusal != nil {
		refusal.Err = ie
		return fmt.Errorf("%w: %s refused user %q: %w", ErrAuth, t.Addr(), t.User, refusal)
	}
	return fmt.Errorf("%w: %s refused user %q: %s", ErrAuth, t.Addr(), t.User, strings.TrimSpace(ie.Text))
}

// bulkRefused reports whether an AUTHENTICATE error is the server's
// refusal (a tagged NO) rather than a broken connection or a "not now"
// (UNAVAILABLE, INUSE, LIMIT: a later try may pass).
func bulkRefused(err error) bool {
	ie := imapError(err)
	if ie == nil || ie.Type != imap.StatusResponseTypeNo {
		return false
	}
	switch ie.Code {
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeLimit:
		return false
	}
	return true
}

// dial opens a logged-in connection for go-imap.
func (d *dialer) dial(ctx context.Context) (*conn, error) {
	bc, err := d.open(ctx)
	if err != nil {
		return nil, err
	}
	return d.toIMAP(ctx, bc)
}

// dialBulk opens a logged-in connection for the bulk path.
func (d *dialer) dialBulk(ctx context.Context) (*bulkConn, error) { return d.open(ctx) }

// toIMAP hands an idle bulk connection (nothing in flight) to go-imap,
// behind a guard; bc is unusable afterwards.
func (d *dialer) toIMAP(ctx context.Context, bc *bulkConn) (*conn, error) {
	nc, err := bc.c.Detach(ctx)
	if err != nil {
		bc.close(false)
		return nil, fmt.Errorf("hand the connection to go-imap: %w", err)
	}
	g := imapguard.New(nc, imapguard.Limits{})
	c := imapclient.New(g, &imapclient.Options{})
	if err := c.WaitGreeting(); err != nil {
		bc.stop()
		resetConn(bc.raw)
		_ = c.Close()
		return nil, fmt.Errorf("hand the connection to go-imap: %w", err)
	}
	return &conn{c: c, g: g, stop: bc.stop, raw: bc.raw, caps: c.Caps(), timeout: d.ioTimeout}, nil
}

// takeOver hands an idle go-imap connection (no command in flight) to the
// bulk path: the guard stops go-imap at a response boundary and the bulk
// client carries on with the same logged-in connection. cn is unusable
// afterwards.
func (d *dialer) takeOver(ctx context.Context, cn *conn) (*bulkConn, error) {
	ng, err := cn.g.Detach(ctx)
	if err != nil {
		cn.stop()
		resetConn(cn.raw)
		_ = cn.c.Close()
		return nil, fmt.Errorf("hand the connection over: %w", err)
	}
	_ = cn.c.Close() // the detached guard keeps the connection open
	// go-imap learned the capabilities from the greeting Detach made of
	// the server's: the bulk client need not ask again.
	caps := make([]string, 0, len(cn.caps))
	for name := range cn.caps {
		caps = append(caps, string(name))
	}
	c, err := bulk.NewLoggedIn(ctx, ng, d.bulk, caps)
	if err != nil {
		cn.stop()
		resetConn(cn.raw)
		_ = ng.Close()
		return nil, fmt.Errorf("hand the connection over: %w", err)
	}
	return &bulkConn{c: c, raw: cn.raw, stop: cn.stop}, nil
}

// errNoBulk: the bulk path cannot be used with this server (it answers in
// a way the bulk client cannot follow): the worker falls back to go-imap's
// APPEND.
var errNoBulk = errors.New("the bulk APPEND path cannot be used")

// imapError converts the server's refusal in a bulk error (a
// *bulk.StatusError) into go-imap's *imap.Error, so that retryable,
// classify and describe judge both paths alike; nil for anything else.
func imapError(err error) *imap.Error {
	var se *bulk.StatusError
	if !errors.As(err, &se) {
		return serverError(err)
	}
	return &imap.Error{Type: imap.StatusResponseType(se.Type), Code: imap.ResponseCode(se.Code), Text: se.Text}
}

// bulkErr returns err with a server's refusal as *imap.Error (see
// imapError), and anything else (a broken connection) as it is.
func bulkErr(err error) error {
	var se *bulk.StatusError
	if errors.As(err, &se) {
		return imapError(err)
	}
	return err
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
// configuration to fix (*CertificateError), and so is a port that does
// not speak TLS at all (imaps:// to a plain IMAP port: the answer is not a
// TLS record); anything else is a network failure.
func tlsError(t Target, err error) error {
	var (
		cv  *tls.CertificateVerificationError
		ua  x509.UnknownAuthorityError
		hn  x509.HostnameError
		inv x509.CertificateInvalidError
		rh  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &inv):
		return &CertificateError{Addr: t.Addr(), Err: err}
	case errors.As(err, &rh):
		return fmt.Errorf("%w: %s does not answer with TLS (is it a plain IMAP port? then use imap://, or the TLS port, usually 993): %w", ErrConfig, t.Addr(), err)
	}
	return fmt.Errorf("TLS with %s: %w", t.Addr(), err)
}
