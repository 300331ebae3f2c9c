// Package faultproxy is a TCP proxy for tests that injects network faults
// between a client and a server on the loopback interface: cutting every
// connection after an exact number of bytes, stalling a direction, adding
// latency per direction, limiting the bandwidth of a link that all
// connections share, and refusing new connections. Faults can be changed
// while connections are open; they apply to bytes read after the change.
// The proxy counts connections and forwarded bytes.
//
//	srv := dovecottest.Start(t, dovecottest.Config{})
//	p := faultproxy.Start(t, srv.TLSAddr)
//	p.CutAfter(faultproxy.Up, 300_000) // cut once 300 kB more went client→server
//	... run the uploader against p.Addr() (TLS still verifies: the proxy
//	    only relays bytes; use ServerName "localhost") ...
//
// It only ever connects to a loopback address.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// Direction selects one or both directions of a connection.
type Direction int

// Directions.
const (
	Up   Direction = 1 << iota // client → server
	Down                       // server → client
	Both = Up | Down
)

func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	case Both:
		return "both"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// dirs maps a Direction to the indexes of the per-direction arrays.
func (d Direction) indexes() []int {
	var idx []int
	if d&Up != 0 {
		idx = append(idx, up)
	}
	if d&Down != 0 {
		idx = append(idx, down)
	}
	return idx
}

const (
	up   = 0
	down = 1
)

const (
	chunkSize = 32 << 10
	// queueLen bounds the chunks in flight per direction and connection
	// (2 MB); with latency L the proxy then carries at most 2 MB per L.
	queueLen = 64
)

// Stats counts what the proxy did since it started.
type Stats struct {
	Accepted int   // connections accepted and forwarded to the target
	Refused  int   // connections refused (Refuse, RefuseFor) or whose target dial failed
	Active   int   // connections open now
	Cuts     int   // connections closed by CutAfter, CutEachAfter or CutAll
	Up, Down int64 // bytes forwarded client→server and server→client
	// UpLink and DownLink account for the shaped link (SetBandwidth).
	UpLink, DownLink LinkStats
}

// LinkStats is the proxy's account of a shaped direction: the bytes it
// scheduled onto the link, the time the link spent sending them (bytes
// divided by the bandwidth in force), and the time it sat idle between
// them, waiting for bytes. Busy plus Idle is the link's time from its first
// byte to the end of its last; Bytes over that is the rate it carried.
type LinkStats struct {
	Bytes      int64
	Busy, Idle time.Duration
}

// shapeBacklog is the most sending time a shaped link queues (a router's
// buffer): a reader whose next chunk would wait longer waits before it
// reads on, so senders feel the bottleneck instead of filling the proxy.
const shapeBacklog = 50 * time.Millisecond

// link is one shaped direction.
type link struct {
	rate  int64     // bytes per second; 0 unlimited
	free  time.Time // when the link has sent what it was given
	stats LinkStats
}

// Proxy is a fault-injecting TCP proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	closed   bool
	conns    map[*conn]struct{}
	stats    Stats
	changed  chan struct{} // closed and replaced when stats change
	cut      [2]int64      // one-shot: bytes left before every connection is cut; <0 off
	cutEach  [2]int64      // per connection: bytes allowed before it is cut; 0 off
	stall    [2]chan struct{}
	stallAt  [2]int64 // one-shot: bytes left before dir stalls; <0 off
	latency  [2]time.Duration
	links    [2]link
	refusing bool
	refuseTo time.Time // refuse until then (zero: not timed)

	wg sync.WaitGroup
}

// New starts a proxy listening on 127.0.0.1 (a free port) that forwards to
// target, which must be a loopback address ("127.0.0.1:143",
// "localhost:993", "[::1]:143").
func New(target string) (*Proxy, error) {
	if err := checkLoopback(target); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		ln:      ln,
		target:  target,
		conns:   map[*conn]struct{}{},
		changed: make(chan struct{}),
		cut:     [2]int64{-1, -1},
		stallAt: [2]int64{-1, -1},
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Start is New for tests: it fails the test on error and closes the proxy
// in t.Cleanup.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func checkLoopback(target string) error {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("faultproxy: target %q is not a loopback address", target)
	}
	return nil
}

// Addr is the address clients dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for c := range p.conns {
		c.close()
	}
	for i, ch := range p.stall { // wake stalled writers
		if ch != nil {
			close(ch)
			p.stall[i] = nil
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats
	st.UpLink, st.DownLink = p.links[up].stats, p.links[down].stats
	return st
}

// Wait blocks until cond holds for the counters or ctx is done, e.g.
// p.Wait(ctx, func(s faultproxy.Stats) bool { return s.Up > 1<<20 }).
func (p *Proxy) Wait(ctx context.Context, cond func(Stats) bool) error {
	for {
		p.mu.Lock()
		s, ch := p.stats, p.changed
		p.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// notifyLocked wakes Wait callers; p.mu must be held.
func (p *Proxy) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// CutAfter arms a one-shot cut: once n more bytes have been forwarded in
// dir (summed over all connections; with Both, in either direction), the
// proxy forwards exactly those bytes and then closes every open
// connection, both sides. The fault then disarms, so reconnecting works.
// n = 0 cuts at the next byte (which is not forwarded).
func (p *Proxy) CutAfter(dir Direction, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = [2]int64{-1, -1}
	for _, i := range dir.indexes() {
		p.cut[i] = n
	}
}

// CutEachAfter closes each connection, current and future, once n bytes
// in total have gone through it in dir, like a provider that cuts long
// connections. n <= 0 turns it off.
func (p *Proxy) CutEachAfter(dir Direction, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 0 {
		n = 0
	}
	p.cutEach = [2]int64{}
	for _, i := range dir.indexes() {
		p.cutEach[i] = n
	}
}

// CutAll closes every open connection now.
func (p *Proxy) CutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutAllLocked()
}

func (p *Proxy) cutAllLocked() {
	for c := range p.conns {
		if c.close() {
			p.stats.Cuts++
		}
	}
	p.notifyLocked()
}

// Stall stops forwarding in dir until Release: bytes already read stay in
// the proxy, and the sender blocks once the socket buffers are full. A
// connection closed by one side stays open on the other while its
// direction is stalled, as on a dead network path.
func (p *Proxy) Stall(dir Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.indexes() {
		if p.stall[i] == nil && !p.closed {
			p.stall[i] = make(chan struct{})
		}
	}
}

// StallAfter arms a one-shot stall: once n more bytes have been read in
// dir (summed over all connections), dir stalls as with Stall, at that
// byte: what is read after it waits until Release or Reset, on every
// connection. At most n more bytes are forwarded (chunks read before the
// mark but still queued wait too). Unlike a Stall set from outside when a
// counter is seen past a mark, it cannot be late.
func (p *Proxy) StallAfter(dir Direction, n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallAt = [2]int64{-1, -1}
	for _, i := range dir.indexes() {
		p.stallAt[i] = max(n, 0)
	}
}

// Stalled reports whether dir is stalled now (by Stall, StallFor or a
// StallAfter mark that was reached). With Both: either direction.
func (p *Proxy) Stalled(dir Direction) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.indexes() {
		if p.stall[i] != nil {
			return true
		}
	}
	return false
}

// StallFor stalls dir for d, then releases it (unless Release or another
// Stall happened meanwhile).
func (p *Proxy) StallFor(dir Direction, d time.Duration) {
	p.Stall(dir)
	p.mu.Lock()
	var chans [2]chan struct{}
	for _, i := range dir.indexes() {
		chans[i] = p.stall[i]
	}
	p.mu.Unlock()
	time.AfterFunc(d, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for i, ch := range chans {
			if ch != nil && p.stall[i] == ch {
				close(ch)
				p.stall[i] = nil
			}
		}
	})
}

// Release resumes forwarding in dir.
func (p *Proxy) Release(dir Direction) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.indexes() {
		if p.stall[i] != nil {
			close(p.stall[i])
			p.stall[i] = nil
		}
	}
}

// SetLatency delays every chunk read in dir by d before it is written on
// (one-way delay; a 20 ms round trip is SetLatency(Both, 10*time.Millisecond)).
// Throughput is not limited beyond a window of 2 MB per connection and
// direction in flight. d = 0 turns it off.
func (p *Proxy) SetLatency(dir Direction, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.indexes() {
		p.latency[i] = d
	}
}

// SetBandwidth limits dir to bytesPerSecond, shared by every connection as
// on one access link (e.g. 20 Mbit/s up is SetBandwidth(Up, 2_500_000)):
// chunks leave in the order they were read, each after the link has sent
// the ones before it, then wait out the latency. The link queues at most
// 50 ms of sending; beyond that the proxy stops reading, and TCP slows
// the sender. bytesPerSecond <= 0 removes the limit.
func (p *Proxy) SetBandwidth(dir Direction, bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, i := range dir.indexes() {
		p.links[i].rate = max(bytesPerSecond, 0)
	}
}

// Refuse makes the proxy refuse (on = true) or accept new connections.
// A refused connection is accepted and immediately reset (RST), so the
// client sees "connection reset by peer" at its first read or write; the
// port itself stays bound to the proxy.
func (p *Proxy) Refuse(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing, p.refuseTo = on, time.Time{}
}

// RefuseFor refuses new connections for d.
func (p *Proxy) RefuseFor(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refusing, p.refuseTo = true, time.Now().Add(d)
}

// Reset turns every fault off (cuts, stalls, latency, refusing).
func (p *Proxy) Reset() {
	p.mu.Lock()
	p.cut = [2]int64{-1, -1}
	p.cutEach = [2]int64{}
	p.stallAt = [2]int64{-1, -1}
	p.latency = [2]time.Duration{}
	p.links[up].rate, p.links[down].rate = 0, 0
	p.refusing, p.refuseTo = false, time.Time{}
	p.mu.Unlock()
	p.Release(Both)
}

func (p *Proxy) refuseNowLocked() bool {
	if !p.refusing {
		return false
	}
	if !p.refuseTo.IsZero() && time.Now().After(p.refuseTo) {
		p.refusing, p.refuseTo = false, time.Time{}
		return false
	}
	return true
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		refuse := p.refuseNowLocked()
		if refuse {
			p.stats.Refused++
			p.notifyLocked()
		}
		p.mu.Unlock()
		if refuse {
			reset(client)
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// reset closes c with an RST instead of a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// conn is one proxied connection.
type conn struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{} // closed by close
	sent           [2]int64      // bytes forwarded per direction (under Proxy.mu)
}

// close closes both sides; it reports whether this call did it.
func (c *conn) close() bool {
	did := false
	c.once.Do(func() {
		did = true
		close(c.done)
		_ = c.client.Close()
		_ = c.server.Close()
	})
	return did
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		p.mu.Lock()
		p.stats.Refused++
		p.notifyLocked()
		p.mu.Unlock()
		reset(client)
		return
	}
	c := &conn{client: client, server: server, done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.close()
		return
	}
	p.conns[c] = struct{}{}
	p.stats.Accepted++
	p.stats.Active++
	p.notifyLocked()
	p.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump(c, up, client, server) }()
	go func() { defer wg.Done(); p.pump(c, down, server, client) }()
	wg.Wait()
	c.close()
	p.mu.Lock()
	delete(p.conns, c)
	p.stats.Active--
	p.notifyLocked()
	p.mu.Unlock()
}

// item is a chunk on its way from the reader to the writer of one
// direction.
type item struct {
	data    []byte
	noStall bool // the bytes up to a StallAfter mark: written even so
	due     time.Time
	cut     cutKind // after writing data
	eof     bool    // the source ended: half-close the destination
	err     bool    // the source failed: close the connection
}

type cutKind int

const (
	noCut   cutKind = iota
	cutConn         // CutEachAfter: this connection
	cutAll          // CutAfter: every connection
)

// pump forwards one direction: a reader goroutine (this one) and a writer
// goroutine joined by a bounded queue that carries the latency.
func (p *Proxy) pump(c *conn, dir int, src, dst net.Conn) {
	queue := make(chan item, queueLen)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		p.write(c, dir, dst, queue)
	}()
	defer func() {
		close(queue)
		<-writerDone
	}()
	buf := make([]byte, chunkSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitLink(c, dir) {
				return
			}
			it, rest := p.admit(c, dir, buf[:n])
			select {
			case queue <- it:
			case <-c.done:
				return
			}
			if rest != nil {
				select {
				case queue <- *rest:
				case <-c.done:
					return
				}
			}
			if it.cut != noCut {
				return
			}
		}
		if err != nil {
			select {
			case queue <- item{eof: errors.Is(err, io.EOF), err: !errors.Is(err, io.EOF)}:
			case <-c.done:
			}
			return
		}
	}
}

// admit applies the byte-count faults to a chunk just read: it returns the
// part that may be forwarded, when it is due and whether a cut follows,
// and, when a StallAfter mark falls inside the chunk, the rest, which
// waits for the stall to end.
func (p *Proxy) admit(c *conn, dir int, data []byte) (item, *item) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int64(len(data))
	now := time.Now()
	it := item{due: now.Add(p.latency[dir])}
	if p.cut[dir] >= 0 && n >= p.cut[dir] {
		// Only the up-to-limit part goes on; then cut everything.
		n = p.cut[dir]
		it.cut = cutAll
		p.cut = [2]int64{-1, -1} // one-shot, both directions disarmed
	} else if p.cut[dir] >= 0 {
		p.cut[dir] -= n
	}
	if lim := p.cutEach[dir]; lim > 0 && c.sent[dir]+n >= lim {
		n = lim - c.sent[dir]
		if it.cut == noCut {
			it.cut = cutConn
		}
	}
	c.sent[dir] += n
	var rest *item
	if at := p.stallAt[dir]; at >= 0 {
		if n >= at {
			p.stallAt[dir] = -1
			if p.stall[dir] == nil && !p.closed {
				p.stall[dir] = make(chan struct{})
			}
			it.noStall = true
			if it.cut == noCut && n > at {
				rest = &item{data: append([]byte(nil), data[at:n]...), due: it.due}
				n = at
			}
		} else {
			p.stallAt[dir] -= n
		}
	}
	it.data = append([]byte(nil), data[:n]...)
	p.shapeLocked(dir, now, &it)
	if rest != nil {
		p.shapeLocked(dir, now, rest)
	}
	return it, rest
}

// shapeLocked puts it onto the shaped link of dir: it is due when the link
// has sent it, plus the latency. p.mu must be held.
func (p *Proxy) shapeLocked(dir int, now time.Time, it *item) {
	l := &p.links[dir]
	if l.rate <= 0 || len(it.data) == 0 {
		return
	}
	start := l.free
	if start.Before(now) {
		if !l.free.IsZero() {
			l.stats.Idle += now.Sub(l.free)
		}
		start = now
	}
	d := time.Duration(float64(len(it.data)) / float64(l.rate) * float64(time.Second))
	l.free = start.Add(d)
	l.stats.Bytes += int64(len(it.data))
	l.stats.Busy += d
	it.due = l.free.Add(p.latency[dir])
}

// waitLink holds the reader of dir while the shaped link has more than
// shapeBacklog queued; false means the connection was closed meanwhile.
func (p *Proxy) waitLink(c *conn, dir int) bool {
	for {
		p.mu.Lock()
		l := p.links[dir]
		p.mu.Unlock()
		ready := time.Now().Add(shapeBacklog)
		if l.rate <= 0 || !ready.Before(l.free) {
			return true
		}
		t := time.NewTimer(l.free.Sub(ready))
		select {
		case <-t.C:
		case <-c.done:
			t.Stop()
			return false
		}
	}
}

// write is the writer side of pump.
func (p *Proxy) write(c *conn, dir int, dst net.Conn, queue <-chan item) {
	for it := range queue {
		if d := time.Until(it.due); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-c.done:
				timer.Stop()
				return
			}
		}
		if !it.noStall && !p.waitStall(c, dir) {
			return
		}
		if len(it.data) > 0 {
			if _, err := dst.Write(it.data); err != nil {
				c.close()
				return
			}
			p.mu.Lock()
			if dir == up {
				p.stats.Up += int64(len(it.data))
			} else {
				p.stats.Down += int64(len(it.data))
			}
			p.notifyLocked()
			p.mu.Unlock()
		}
		switch {
		case it.cut == cutAll:
			p.mu.Lock()
			p.cutAllLocked()
			p.mu.Unlock()
			return
		case it.cut == cutConn:
			p.mu.Lock()
			if c.close() {
				p.stats.Cuts++
				p.notifyLocked()
			}
			p.mu.Unlock()
			return
		case it.err:
			c.close()
			return
		case it.eof:
			// Pass the half-close on; the other direction may go on.
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			} else {
				c.close()
			}
			return
		}
	}
}

// waitStall blocks while dir is stalled; false means the connection was
// closed meanwhile.
func (p *Proxy) waitStall(c *conn, dir int) bool {
	for {
		p.mu.Lock()
		ch := p.stall[dir]
		p.mu.Unlock()
		if ch == nil {
			return true
		}
		select {
		case <-ch:
		case <-c.done:
			return false
		}
	}
}
