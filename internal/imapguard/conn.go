package imapguard

import (
	"context"
	"net"
	"sync"
	"time"
)

// Sizes of the read-ahead: chunks of this many bytes, so many at a time.
const (
	chunkSize = 32 << 10
	chunks    = 4
)

// stream is what all the Conns of one connection share, one after the
// other: the connection below, the goroutine that reads ahead from it
// (so that a reader waiting for the server can be stopped without losing
// a byte, whatever the connection below does with deadlines), and the
// bytes read but not yet delivered.
type stream struct {
	under net.Conn
	full  chan []byte   // chunks read, in order
	free  chan []byte   // chunks to read into
	ended chan struct{} // closed when the read-ahead stopped; perr says why
	perr  error

	done     chan struct{} // closed by fail
	failOnce sync.Once
	err      error // why the stream ended: set before done is closed
	cause    error // the guard's own reason (LimitError, ErrMalformed), for Err

	// Bytes to deliver before the next chunk: a prefix (WithPrefix) and
	// the rest of the chunk taken from full (cur, in buf). Only the
	// active Conn's reader touches them.
	pre []byte
	cur []byte
	buf []byte
}

func newStream(under net.Conn, prefix []byte) *stream {
	s := &stream{
		under: under,
		full:  make(chan []byte, chunks),
		free:  make(chan []byte, chunks),
		ended: make(chan struct{}),
		done:  make(chan struct{}),
		pre:   prefix,
	}
	for range chunks {
		s.free <- make([]byte, chunkSize)
	}
	go s.readAhead()
	return s
}

func (s *stream) readAhead() {
	defer close(s.ended)
	for {
		var b []byte
		select {
		case b = <-s.free:
		case <-s.done:
			s.perr = net.ErrClosed
			return
		}
		n, err := s.under.Read(b[:cap(b)])
		if n > 0 {
			select {
			case s.full <- b[:n]:
			case <-s.done:
				s.perr = net.ErrClosed
				return
			}
		} else {
			s.free <- b // room: it came from there
		}
		if err != nil {
			s.perr = err
			return
		}
	}
}

// fail ends the stream with err (the first error wins) and closes the
// connection below. guard marks an error of the guard's own.
func (s *stream) fail(err error, guard bool) {
	s.failOnce.Do(func() {
		s.err = err
		if guard {
			s.cause = err
		}
		close(s.done)
		_ = s.under.Close()
	})
}

func (s *stream) failed() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// pending returns the bytes to deliver next without waiting; nil when
// none are at hand.
func (s *stream) pending() []byte {
	if len(s.pre) > 0 {
		return s.pre
	}
	if len(s.cur) > 0 {
		return s.cur
	}
	if s.buf != nil {
		s.free <- s.buf // room: every chunk came from free
		s.buf = nil
	}
	return nil
}

// consume drops n delivered bytes of what pending returned.
func (s *stream) consume(n int) {
	if len(s.pre) > 0 {
		s.pre = s.pre[n:]
		return
	}
	s.cur = s.cur[n:]
}

// Conn is a connection whose reads a guard checks: it follows the IMAP
// response grammar and ends the connection with a *LimitError (or
// ErrMalformed) before its reader gets a byte that breaks a limit; it can
// bound the answer to a command (Expect); and it can hand the connection
// over to another client at a response boundary (Detach).
//
// Reads never return bytes of more than one response, so a client reading
// through a bufio.Reader never holds bytes past the response it is
// reading. Read deadlines set on a Conn are ignored (the guard reads ahead
// of its reader; go-imap's fixed deadlines do not fit long answers): bound
// silence in the connection below and answers with Expect. Write, write
// deadlines and addresses go to the connection below.
//
// Read may be called from one goroutine at a time; the other methods from
// any.
type Conn struct {
	s *stream

	rmu sync.Mutex // held by Read
	sc  scanner    // under rmu

	detachReq  chan struct{} // closed by Detach
	detachOnce sync.Once
	stopped    chan struct{} // closed when the reader stopped for Detach

	mu       sync.Mutex
	limits   Limits // as given
	eff      Limits // with defaults
	detached bool
	bud      budgetState
}

// New starts a guard on c with the limits l (zero fields: defaults). It
// reads ahead from c in a goroutine of its own until c fails or the guard
// is closed. When c is a connection from WithPrefix, the prefix is read
// through the guard too; when it wraps a guard's Conn, the new Conn goes
// on with that Conn's stream (the old one is left as if detached) instead
// of stacking a second read-ahead.
func New(c net.Conn, l Limits) *Conn {
	var prefix []byte
	if pc, ok := c.(*prefixConn); ok {
		pc.mu.Lock()
		prefix, c = pc.pre, pc.Conn
		pc.pre = nil
		pc.mu.Unlock()
	}
	if old, ok := c.(*Conn); ok && old.rmu.TryLock() {
		old.mu.Lock()
		live := !old.detached
		old.detached = true
		old.clearBudgetLocked()
		old.mu.Unlock()
		old.rmu.Unlock()
		if live {
			s := old.s
			s.pre = append(prefix, s.pre...)
			return newConn(s, l)
		}
	}
	return newConn(newStream(c, prefix), l)
}

func newConn(s *stream, l Limits) *Conn {
	g := &Conn{s: s, detachReq: make(chan struct{}), stopped: make(chan struct{})}
	g.limits, g.eff = l, l.effective()
	return g
}

// SetLimits changes the limits; they apply from the next byte read (the
// rest of a response being read included).
func (g *Conn) SetLimits(l Limits) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limits, g.eff = l, l.effective()
}

// Limits returns the limits as last set.
func (g *Conn) Limits() Limits {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limits
}

// Err returns why the guard ended the connection (a *LimitError, or an
// error wrapping ErrMalformed), or nil. go-imap reports read errors as
// text only, so a caller asks here whether a failed command met a limit.
func (g *Conn) Err() error {
	select {
	case <-g.s.done:
		return g.s.cause
	default:
		return nil
	}
}

// Read reads server bytes that keep within the limits, at most to the end
// of the response they belong to.
func (g *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	g.rmu.Lock()
	defer g.rmu.Unlock()
	s := g.s
	for {
		g.mu.Lock()
		detached, lim := g.detached, g.eff
		g.mu.Unlock()
		if detached {
			return 0, ErrDetached
		}
		if err := s.failed(); err != nil {
			return 0, err
		}
		var detach <-chan struct{}
		if g.sc.atStart() {
			select {
			case <-g.detachReq:
				g.stopForDetach()
				return 0, ErrDetached
			default:
			}
			detach = g.detachReq
		}
		chunk := s.pending()
		if len(chunk) == 0 {
			select {
			case b := <-s.full:
				s.cur, s.buf = b, b
			case <-s.ended:
				select {
				case b := <-s.full:
					s.cur, s.buf = b, b
				default:
					return 0, s.perr
				}
			case <-s.done:
			case <-detach:
			}
			continue
		}
		chunk = chunk[:min(len(chunk), len(p))]
		n, ended, tagged, err := g.sc.scan(chunk, &lim)
		if err == nil {
			err = g.account(n, ended && tagged)
		}
		if err != nil {
			s.fail(err, true)
			return 0, err
		}
		copy(p, chunk[:n])
		s.consume(n)
		return n, nil
	}
}

// stopForDetach marks the Conn detached from its reader's side.
func (g *Conn) stopForDetach() {
	g.mu.Lock()
	g.detached = true
	g.clearBudgetLocked()
	g.mu.Unlock()
	close(g.stopped)
}

// Write writes to the connection below; while a Budget is active it
// restarts the budget's clock (see Budget).
func (g *Conn) Write(p []byte) (int, error) {
	g.mu.Lock()
	detached := g.detached
	g.mu.Unlock()
	if detached {
		return 0, ErrDetached
	}
	if err := g.s.failed(); err != nil {
		return 0, err
	}
	n, err := g.s.under.Write(p)
	g.wrote()
	return n, err
}

// Close closes the connection below, unless the Conn was detached: its
// connection then belongs to the Conn Detach returned.
func (g *Conn) Close() error {
	g.mu.Lock()
	detached := g.detached
	g.clearBudgetLocked()
	g.mu.Unlock()
	if detached {
		return nil
	}
	g.s.fail(net.ErrClosed, false)
	return nil
}

// Detach stops the Conn's reader at the next response boundary (at once
// when it is between responses) and returns a Conn that goes on with the
// same connection from there, with the same limits and no budget: the
// client reading this Conn gets ErrDetached and no byte of the next
// response, and its Close leaves the connection open. Call it while the
// client has no command in flight (else the answer goes to the new
// reader). On error (ctx ended, the connection failed) the connection is
// unusable: close it.
func (g *Conn) Detach(ctx context.Context) (*Conn, error) {
	g.detachOnce.Do(func() { close(g.detachReq) })
	if g.rmu.TryLock() {
		// No read in progress: stop here when between responses, else
		// let the reader finish the response it has begun.
		if g.sc.atStart() {
			g.mu.Lock()
			already := g.detached
			g.mu.Unlock()
			if !already {
				g.stopForDetach()
			}
		}
		g.rmu.Unlock()
	}
	select {
	case <-g.stopped:
	case <-g.s.done:
		return nil, g.s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := g.s.failed(); err != nil {
		return nil, err
	}
	return newConn(g.s, g.Limits()), nil
}

// LocalAddr, RemoteAddr, SetDeadline and SetWriteDeadline are those of the
// connection below; SetDeadline sets only the write deadline.
func (g *Conn) LocalAddr() net.Addr  { return g.s.under.LocalAddr() }
func (g *Conn) RemoteAddr() net.Addr { return g.s.under.RemoteAddr() }

func (g *Conn) SetDeadline(t time.Time) error      { return g.s.under.SetWriteDeadline(t) }
func (g *Conn) SetWriteDeadline(t time.Time) error { return g.s.under.SetWriteDeadline(t) }

// SetReadDeadline is ignored (see Conn).
func (g *Conn) SetReadDeadline(time.Time) error { return nil }

// WithPrefix returns a connection whose reads yield prefix first, then
// what c yields; everything else goes to c. It is how a client that read
// ahead hands a connection over (upload/bulk's Detach: a synthesized
// greeting and the bytes it had buffered). New on such a connection reads
// the prefix through the guard as well.
func WithPrefix(prefix []byte, c net.Conn) net.Conn {
	return &prefixConn{Conn: c, pre: append([]byte(nil), prefix...)}
}

type prefixConn struct {
	net.Conn
	mu  sync.Mutex
	pre []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.pre) > 0 {
		n := copy(p, c.pre)
		c.pre = c.pre[n:]
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
