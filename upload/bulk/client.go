package bulk

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"

	"mailferry/internal/imapguard"
	"mailferry/internal/mutf7"
)

// Options configure a Client. The zero value is the default.
type Options struct {
	// MaxBatch is the most messages a caller puts into one MULTIAPPEND
	// command (default 50). 1 turns MULTIAPPEND off.
	MaxBatch int
	// MaxBatchBytes is the most message bytes a caller puts into one
	// MULTIAPPEND command (default 8 MiB); a larger message goes alone.
	MaxBatchBytes int64
	// MaxInFlight is the most commands sent and not yet answered (default
	// 4); Submit waits while that many are.
	MaxInFlight int
	// MaxInFlightBytes bounds the message bytes sent and not yet answered
	// (default 32 MiB); one command may always be in flight whatever its
	// size.
	MaxInFlightBytes int64
	// Timeout is how long the server may take to answer while commands
	// are in flight, counted from the last byte written or the last
	// answer (a tagged response or a "+"); untagged responses do not
	// count, so a server that keeps talking without answering is cut
	// off too. It also bounds one write and the greeting (default 2
	// minutes).
	Timeout time.Duration
	// NoMultiAppend and NoLiteralPlus ignore the server's MULTIAPPEND and
	// LITERAL+/LITERAL- capabilities.
	NoMultiAppend, NoLiteralPlus bool
	// NoCompress keeps Login and Authenticate from turning on COMPRESS
	// DEFLATE (RFC 4978), which they do when the server offers it.
	NoCompress bool
	// CompressLevel is the deflate level of the text the client sends
	// (compress/flate levels); 0 chooses by the server's distance:
	// DefaultCompressLevel near, DistantCompressLevel far (DistantRTT).
	CompressLevel int
}

func (o *Options) maxBatch() int {
	if o.MaxBatch <= 0 {
		return 50
	}
	return o.MaxBatch
}

func (o *Options) maxBatchBytes() int64 {
	if o.MaxBatchBytes <= 0 {
		return 8 << 20
	}
	return o.MaxBatchBytes
}

func (o *Options) maxInFlight() int {
	if o.MaxInFlight <= 0 {
		return 4
	}
	return o.MaxInFlight
}

func (o *Options) maxInFlightBytes() int64 {
	if o.MaxInFlightBytes <= 0 {
		return 32 << 20
	}
	return o.MaxInFlightBytes
}

func (o *Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 2 * time.Minute
	}
	return o.Timeout
}

// StatusError is a tagged NO or BAD: the server refused the command. For
// an APPEND, nothing of it was stored (a MULTIAPPEND is all or nothing,
// RFC 3502).
type StatusError struct {
	Op   string // the command: "APPEND", "SELECT", "LOGIN", ...
	Type string // "NO" or "BAD"
	Code string // the response code, upper case: "LIMIT", "OVERQUOTA", "TRYCREATE", "CANNOT", ...; "" for none
	Args string // the response code's arguments
	Text string // the server's human-readable text
}

func (e *StatusError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s: server said %s [%s] %s", e.Op, e.Type, e.Code, e.Text)
	}
	return fmt.Sprintf("%s: server said %s %s", e.Op, e.Type, e.Text)
}

// LostError is the error of a command whose connection broke before its
// answer arrived. When Sent is false the command was not written
// completely and the server stored nothing of it; when Sent is true it may
// have been stored: for an Atomic command, all of its messages or none.
type LostError struct {
	Sent bool
	Err  error
}

func (e *LostError) Error() string {
	if e.Sent {
		return fmt.Sprintf("connection lost before the answer (the command may have been carried out): %v", e.Err)
	}
	return fmt.Sprintf("connection lost while sending the command (it was not carried out): %v", e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// ByeError is the connection's end after the server said BYE.
type ByeError struct{ Text string }

func (e *ByeError) Error() string { return "server closed the connection: BYE " + e.Text }

// ErrClosed is the error of commands on a Client that was closed.
var ErrClosed = errors.New("connection closed")

// Errors of connecting and logging in that retrying cannot change.
var (
	// ErrNoStartTLS: the server does not offer STARTTLS.
	ErrNoStartTLS = errors.New("the server does not offer STARTTLS")
	// ErrLoginDisabled: the server refuses LOGIN on this connection
	// (LOGINDISABLED) and offers no AUTH=PLAIN.
	ErrLoginDisabled = errors.New("the server does not allow logging in on this connection (LOGINDISABLED)")
	// ErrCannotCarry: the user name or password holds characters LOGIN
	// cannot carry (CR, LF, NUL, 8-bit), and the server offers no
	// AUTH=PLAIN.
	ErrCannotCarry = errors.New("the user name or password has characters LOGIN cannot carry, and the server offers no AUTH=PLAIN")
)

// Client is one IMAP connection for the APPEND hot path: login, SELECT and
// pipelined APPEND / MULTIAPPEND, nothing else. Submit may be called
// from one goroutine at a time; Wait, Caps and Exists from any.
type Client struct {
	conn net.Conn      // as given: closed by Close, deadlines
	src  net.Conn      // the IMAP stream: conn, or deflate over it after COMPRESS
	br   *bufio.Reader // reads src; the reader goroutine's alone once it runs
	bw   *bufio.Writer // writes src, under wmu
	opts Options

	wmu sync.Mutex // held while a command is written

	mu       sync.Mutex
	caps     map[string]bool
	capNames []string // as the server spelled them, for Detach's greeting
	tagN     uint64
	pending  map[string]*Command
	inflight []*Command // Submit's commands not answered yet, oldest first
	inBytes  int64
	contWait chan *response // a writer waiting for "+"; nil when none
	changed  chan struct{}  // closed and replaced when a command is answered
	err      error          // why the connection ended
	bye      string
	mbox     Mailbox // what the selected mailbox said so far
	// collecting takes untagged responses for List and Namespace, by
	// kind.
	collecting map[string]*collector

	z            *deflateConn // after COMPRESS
	compressTag  string       // the COMPRESS command: its OK switches the reader
	compressSent time.Time    // when it was sent: its round trip chooses the level
	detachTag    string       // Detach's command: the reader stops after its answer
	detached     bool
	loggedInHere bool // Login or Authenticate succeeded on this Client

	answerBy    time.Time // when the server must have answered (see Options.Timeout)
	answerTimer *time.Timer

	done chan struct{} // closed when the reader goroutine has ended
}

// Mailbox is what SELECT learned about a mailbox.
type Mailbox struct {
	Name           string
	Exists         uint32
	UIDValidity    uint32
	UIDNext        uint32
	PermanentFlags []string // nil when the server did not say
	ReadOnly       bool
}

// New starts a client on conn, a fresh connection (TLS already set up, or
// plain): it reads the greeting and then the responses as they come.
// Close closes conn.
func New(conn net.Conn, opts Options) (*Client, error) {
	c := newClient(conn, opts)
	if err := c.greeting(); err != nil {
		conn.Close()
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// NewStartTLS reads the greeting on a plain connection, upgrades it with
// STARTTLS and returns a client on the TLS connection. The capabilities are
// learned again at Login.
func NewStartTLS(ctx context.Context, conn net.Conn, cfg *tls.Config, opts Options) (*Client, error) {
	c := newClient(conn, opts)
	fail := func(err error) (*Client, error) {
		conn.Close()
		return nil, err
	}
	if err := c.greeting(); err != nil {
		return fail(err)
	}
	if !c.caps["STARTTLS"] && len(c.caps) > 0 {
		return fail(fmt.Errorf("STARTTLS: %w", ErrNoStartTLS))
	}
	_ = conn.SetDeadline(time.Now().Add(opts.timeout()))
	err := c.bounded(func() error {
		if _, err := conn.Write([]byte("S STARTTLS\r\n")); err != nil {
			return err
		}
		for {
			r, err := c.readOne()
			if err != nil {
				return err
			}
			if r.tag == "*" {
				continue
			}
			if r.kind != "OK" {
				return statusError("STARTTLS", r)
			}
			return nil
		}
	})
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) {
			return fail(err)
		}
		return fail(fmt.Errorf("STARTTLS: %w", err))
	}
	if c.br.Buffered() > 0 {
		return fail(fmt.Errorf("STARTTLS: %w: data after the OK", ErrProtocol))
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail(fmt.Errorf("STARTTLS: TLS handshake: %w", err))
	}
	_ = conn.SetDeadline(time.Time{})
	c = newClient(tc, opts)
	go c.readLoop()
	return c, nil
}

// NewLoggedIn starts a client on a connection another client has logged
// in and left idle (no command in flight, nothing unread but what conn
// still holds), ready for Select. caps are the capabilities the server
// announced in the authenticated state, as the other client learned
// them; without them the client asks (a round trip, which on a distant
// server is a noticeable wait before the first APPEND). Close closes
// conn.
func NewLoggedIn(ctx context.Context, conn net.Conn, opts Options, caps []string) (*Client, error) {
	c := newClient(conn, opts)
	go c.readLoop()
	if len(caps) > 0 {
		c.mu.Lock()
		c.setCaps(strings.Join(caps, " "))
		c.mu.Unlock()
		return c, nil
	}
	if _, err := c.simple(ctx, "CAPABILITY", "CAPABILITY"); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func newClient(conn net.Conn, opts Options) *Client {
	c := &Client{
		conn:    conn,
		opts:    opts,
		caps:    map[string]bool{},
		pending: map[string]*Command{},
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	c.src = conn
	c.br = bufio.NewReaderSize(conn, 64<<10)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, 64<<10)
	return c
}

// deadlineWriter writes to the stream, with the write deadline set before
// each write. A write is progress: the server's time to answer starts
// again (a server may say nothing until a large command is complete).
type deadlineWriter struct{ c *Client }

func (w deadlineWriter) Write(p []byte) (int, error) {
	_ = w.c.conn.SetWriteDeadline(time.Now().Add(w.c.opts.timeout()))
	n, err := w.c.src.Write(p)
	w.c.mu.Lock()
	w.c.progressLocked()
	w.c.mu.Unlock()
	return n, err
}

// progressLocked restarts the server's time to answer (Options.Timeout).
// Call with c.mu held.
func (c *Client) progressLocked() {
	c.answerBy = time.Now().Add(c.opts.timeout())
	if len(c.pending) == 0 || c.err != nil {
		return
	}
	if c.answerTimer == nil {
		c.answerTimer = time.AfterFunc(c.opts.timeout(), c.checkAnswer)
	} else {
		c.answerTimer.Reset(time.Until(c.answerBy))
	}
}

// checkAnswer ends the connection when commands wait and the server has
// not answered in time (a read deadline alone would not do: the
// connection below may ignore it, and untagged chatter would keep
// extending it).
func (c *Client) checkAnswer() {
	c.mu.Lock()
	if len(c.pending) == 0 || c.err != nil {
		c.mu.Unlock()
		return
	}
	if late := time.Since(c.answerBy); late < 0 {
		c.answerTimer.Reset(-late)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	timeout := c.opts.timeout()
	c.fail(fmt.Errorf("no answer from the server: %w", &imapguard.LimitError{Limit: imapguard.AnswerTime, Max: int64(timeout), Got: int64(timeout)}))
}

// bounded runs f, which reads and writes the connection before the reader
// goroutine runs (greeting, STARTTLS), within Options.Timeout: the
// connection is closed when the time is up, so that a server that keeps
// sending neither stalls nor keeps f forever.
func (c *Client) bounded(f func() error) error {
	timeout := c.opts.timeout()
	var late atomic.Bool
	t := time.AfterFunc(timeout, func() {
		late.Store(true)
		c.conn.Close()
	})
	err := f()
	t.Stop()
	if err != nil && late.Load() {
		return &imapguard.LimitError{Limit: imapguard.AnswerTime, Max: int64(timeout), Got: int64(timeout)}
	}
	return err
}

// readOne reads and parses one response.
func (c *Client) readOne() (*response, error) {
	b, err := readResponse(c.br)
	if err != nil {
		return nil, err
	}
	return parseResponse(b)
}

// greeting reads the server's first response.
func (c *Client) greeting() error {
	var r *response
	err := c.bounded(func() (err error) {
		r, err = c.readOne()
		return err
	})
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if r.tag != "*" || (r.kind != "OK" && r.kind != "PREAUTH") {
		if r.kind == "BYE" {
			return &ByeError{Text: r.text}
		}
		return fmt.Errorf("read greeting: %w: %s %s %s", ErrProtocol, clip(r.tag), clip(r.kind), clip(r.text))
	}
	if r.code == "CAPABILITY" {
		c.setCaps(r.args)
	}
	return nil
}

func (c *Client) setCaps(list string) {
	caps := map[string]bool{}
	names := strings.Fields(list)
	for _, f := range names {
		caps[strings.ToUpper(f)] = true
	}
	c.caps, c.capNames = caps, names
}

// Has reports whether the server announced the capability (case does not
// matter: "MULTIAPPEND", "LITERAL+", "UIDPLUS").
func (c *Client) Has(capability string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caps[strings.ToUpper(capability)]
}

// Caps returns the announced capabilities, upper case.
func (c *Client) Caps() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var l []string
	for k := range c.caps {
		l = append(l, k)
	}
	return l
}

// MultiAppend reports whether the connection takes MULTIAPPEND batches
// (announced and not turned off).
func (c *Client) MultiAppend() bool {
	return !c.opts.NoMultiAppend && c.opts.maxBatch() > 1 && c.Has("MULTIAPPEND")
}

// Exists returns the message count of the selected mailbox as the server
// last said it (SELECT and the EXISTS responses after APPENDs).
func (c *Client) Exists() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mbox.Exists
}

// Err returns why the connection ended, or nil while it works.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection; commands not answered end with a LostError.
func (c *Client) Close() error {
	c.fail(ErrClosed)
	<-c.done
	return nil
}

// fail ends the connection with err (the first error wins).
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if c.bye != "" && !errors.Is(err, ErrClosed) {
		err = &ByeError{Text: c.bye}
	}
	c.err = err
	if c.answerTimer != nil {
		c.answerTimer.Stop()
	}
	_ = c.conn.Close()
	for tag, cmd := range c.pending {
		delete(c.pending, tag)
		cmd.err = &LostError{Sent: cmd.sent || cmd.flushing, Err: err}
		close(cmd.done)
	}
	c.inflight = nil
	c.inBytes = 0
	close(c.changed)
	c.changed = make(chan struct{})
}

// readLoop reads and dispatches responses until the connection ends, or
// until the answer to Detach's command.
func (c *Client) readLoop() {
	defer close(c.done)
	for {
		r, err := c.readOne()
		if err != nil {
			c.fail(err)
			return
		}
		c.mu.Lock()
		compressed := c.compressTag != "" && r.tag == c.compressTag && r.kind == "OK"
		detach := c.detachTag != "" && r.tag == c.detachTag
		c.mu.Unlock()
		if compressed {
			// The server compresses from the next byte on.
			if err := c.startInflate(); err != nil {
				c.fail(err)
				return
			}
		}
		c.handle(r)
		if detach {
			c.mu.Lock()
			c.detached = true
			if c.err == nil {
				c.err = ErrDetached
			}
			c.mu.Unlock()
			return
		}
	}
}

// handle dispatches one response.
func (c *Client) handle(r *response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.tag != "*" {
		// An answer (or a "+"): the server is getting on with it.
		c.progressLocked()
	}
	switch r.tag {
	case "+":
		if c.contWait != nil {
			c.contWait <- r
			c.contWait = nil
		}
		return
	case "*":
		c.untagged(r)
		return
	}
	cmd := c.pending[r.tag]
	if cmd == nil {
		return // an answer to nothing we sent: ignore
	}
	delete(c.pending, r.tag)
	if r.code == "CAPABILITY" {
		c.setCaps(r.args)
	}
	cmd.resp = r
	if cmd.counted {
		for i, x := range c.inflight {
			if x == cmd {
				c.inflight = append(c.inflight[:i], c.inflight[i+1:]...)
				break
			}
		}
		c.inBytes -= cmd.bytes
	}
	if c.contWait != nil && cmd.waitingCont {
		// The server answered instead of asking for the literal.
		c.contWait <- nil
		c.contWait = nil
	}
	close(cmd.done)
	close(c.changed)
	c.changed = make(chan struct{})
}

// untagged records what an untagged response says. Call with c.mu held.
func (c *Client) untagged(r *response) {
	if col := c.collecting[r.kind]; col != nil {
		col.f(r.text)
		return
	}
	switch r.kind {
	case "CAPABILITY":
		c.setCaps(r.text)
	case "EXISTS":
		c.mbox.Exists = r.num
	case "FLAGS":
	case "BYE":
		c.bye = r.text
	case "OK", "NO", "BAD":
		switch r.code {
		case "CAPABILITY":
			c.setCaps(r.args)
		case "UIDVALIDITY":
			if v, err := parseUID(r.args); err == nil {
				c.mbox.UIDValidity = v
			}
		case "UIDNEXT":
			if v, err := parseUID(r.args); err == nil {
				c.mbox.UIDNext = v
			}
		case "PERMANENTFLAGS":
			c.mbox.PermanentFlags = parseList(r.args)
			if c.mbox.PermanentFlags == nil {
				c.mbox.PermanentFlags = []string{}
			}
		}
	}
}

func statusError(op string, r *response) *StatusError {
	return &StatusError{Op: op, Type: r.kind, Code: r.code, Args: r.args, Text: r.text}
}

// simple sends a command without literals and waits for its answer (nil
// with an error).
func (c *Client) simple(ctx context.Context, op, args string) (*response, error) {
	cmd := &Command{op: op, done: make(chan struct{}), Atomic: true}
	err := c.write(ctx, cmd, func() error {
		_, err := c.bw.WriteString(args)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := cmd.Wait(ctx); err != nil {
		// Not cmd.resp: after ctx ended the reader may still be setting it.
		return nil, err
	}
	return cmd.resp, nil
}

// Login authenticates: AUTHENTICATE PLAIN when the server offers it (with
// SASL-IR when announced), else LOGIN; then, as Authenticate, it learns
// the capabilities and turns COMPRESS on. The password is never logged or
// put into errors.
func (c *Client) Login(ctx context.Context, user, password string) error {
	if len(c.Caps()) == 0 {
		if _, err := c.simple(ctx, "CAPABILITY", "CAPABILITY"); err != nil {
			return err
		}
	}
	switch {
	case c.Has("AUTH=PLAIN"):
		return c.Authenticate(ctx, sasl.NewPlainClient("", user, password))
	case c.Has("LOGINDISABLED"):
		return fmt.Errorf("LOGIN: %w", ErrLoginDisabled)
	}
	u, ok1 := quoted(user)
	p, ok2 := quoted(password)
	if !ok1 || !ok2 {
		return fmt.Errorf("LOGIN: %w", ErrCannotCarry)
	}
	r, err := c.simple(ctx, "LOGIN", "LOGIN "+u+" "+p)
	if err != nil {
		return err
	}
	return c.afterAuth(ctx, r)
}

// afterAuth learns the capabilities of the authenticated state, unless
// the OK (r) said them, and turns COMPRESS on where offered.
func (c *Client) afterAuth(ctx context.Context, r *response) error {
	c.mu.Lock()
	c.loggedInHere = true
	c.mu.Unlock()
	if r == nil || r.code != "CAPABILITY" {
		// Servers announce more after login (LITERAL+, MULTIAPPEND,
		// UIDPLUS, COMPRESS=DEFLATE).
		if _, err := c.simple(ctx, "CAPABILITY", "CAPABILITY"); err != nil {
			return err
		}
	}
	if c.opts.NoCompress || !c.Has("COMPRESS=DEFLATE") {
		return nil
	}
	err := c.compress(ctx)
	var se *StatusError
	if errors.As(err, &se) {
		return nil // refused: the connection goes on uncompressed
	}
	return err
}

// quoted returns s as an IMAP quoted string; ok is false when s holds CR,
// LF, NUL or 8-bit bytes, which only a literal can carry.
func quoted(s string) (string, bool) {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == 0 || ch == '\r' || ch == '\n' || ch >= 0x80:
			return "", false
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(ch)
	}
	b.WriteByte('"')
	return b.String(), true
}

// Select selects a mailbox (UTF-8 name; sent in modified UTF-7) for
// APPEND: Dovecot charges much less per message into a selected mailbox.
func (c *Client) Select(ctx context.Context, mailbox string) (*Mailbox, error) {
	cmd, err := c.SelectNoWait(ctx, mailbox)
	if err != nil {
		return nil, err
	}
	if _, err := cmd.Wait(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mb := c.mbox
	mb.ReadOnly = cmd.resp.code == "READ-ONLY"
	return &mb, nil
}

// SelectNoWait sends SELECT and returns without waiting for the answer,
// which its command's Wait gives. An APPEND written next goes out in the
// same flight and the server carries it out after the SELECT: the round
// trip a SELECT would cost before the first APPEND is saved. APPEND names
// its mailbox, so a refused SELECT costs the APPENDs only the server's
// speed with a selected mailbox.
func (c *Client) SelectNoWait(ctx context.Context, mailbox string) (*Command, error) {
	name, ok := quoted(mutf7.Encode(mailbox))
	if !ok {
		return nil, fmt.Errorf("SELECT %q: name has characters IMAP cannot carry", mailbox)
	}
	c.mu.Lock()
	c.mbox = Mailbox{Name: mailbox}
	c.mu.Unlock()
	cmd := &Command{op: "SELECT", done: make(chan struct{}), Atomic: true}
	err := c.write(ctx, cmd, func() error {
		_, err := c.bw.WriteString("SELECT " + name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

// Logout says goodbye and closes the connection.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.simple(ctx, "LOGOUT", "LOGOUT")
	var lost *LostError
	if errors.As(err, &lost) {
		err = nil // the server closed first: that is a logout too
	}
	c.Close()
	return err
}

// LogoutNoWait sends LOGOUT and closes the connection without waiting
// for the answer: for the end of a run, when nothing is in flight and
// the answer would only cost a round trip.
func (c *Client) LogoutNoWait() {
	cmd := &Command{op: "LOGOUT", done: make(chan struct{}), Atomic: true}
	_ = c.write(context.Background(), cmd, func() error {
		_, err := c.bw.WriteString("LOGOUT")
		return err
	})
	c.Close()
}

// write writes one command under the write lock: the tag, what body
// writes, and the final CRLF. The command is registered before its first
// byte goes out.
func (c *Client) write(ctx context.Context, cmd *Command, body func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(cmd, body)
}

// writeLocked is write with c.wmu held.
func (c *Client) writeLocked(cmd *Command, body func() error) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return &LostError{Err: err}
	}
	c.tagN++
	cmd.tag = fmt.Sprintf("B%d", c.tagN)
	cmd.c = c
	c.pending[cmd.tag] = cmd
	if cmd.counted {
		c.inflight = append(c.inflight, cmd)
		c.inBytes += cmd.bytes
	}
	if cmd.onTag != nil {
		cmd.onTag(cmd.tag)
	}
	c.mu.Unlock()

	c.bw.WriteString(cmd.tag)
	c.bw.WriteByte(' ')
	err := body()
	if errors.Is(err, errAnswered) {
		// The server answered before the command was complete (or the
		// connection ended): nothing more of it is sent.
		c.mu.Lock()
		err = cmd.err
		c.mu.Unlock()
		return err
	}
	if err == nil {
		c.bw.WriteString("\r\n")
		// From here the server may get the whole command: a connection
		// that ends now (the reader sees BYE or EOF) must count it as
		// possibly carried out, even before the Flush returns.
		c.mu.Lock()
		cmd.flushing = true
		c.mu.Unlock()
		err = c.bw.Flush()
	}
	if err != nil {
		// The command went out incomplete: the connection cannot be used.
		c.mu.Lock()
		cmd.flushing = false
		c.mu.Unlock()
		c.fail(fmt.Errorf("send %s: %w", cmd.op, err))
		<-cmd.done
		return cmd.err
	}
	c.mu.Lock()
	cmd.sent, cmd.flushing = true, false
	c.mu.Unlock()
	return nil
}

// waitContinuation flushes what was written and waits for the server's
// "+" (a synchronizing literal, or the next step of AUTHENTICATE), and
// returns its text. It fails with errAnswered when the server answers the
// command instead (e.g. NO [LIMIT] before a too large literal): the rest
// of the command is then not sent.
func (c *Client) waitContinuation(ctx context.Context, cmd *Command) (string, error) {
	ch := make(chan *response, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return "", c.err
	}
	c.contWait = ch
	cmd.waitingCont = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		cmd.waitingCont = false
		if c.contWait == ch {
			c.contWait = nil
		}
		c.mu.Unlock()
	}()
	if err := c.bw.Flush(); err != nil {
		return "", err
	}
	select {
	case r := <-ch:
		if r == nil {
			return "", errAnswered
		}
		return r.text, nil
	case <-cmd.done:
		return "", errAnswered
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// errAnswered: the server answered a command before it was complete.
var errAnswered = errors.New("the server answered before the command was complete")
