package faultproxy_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/internal/faultproxy"
)

// sink is a test server that records what each connection sent and can
// echo it back.
type sink struct {
	ln   net.Listener
	echo bool

	mu       sync.Mutex
	received [][]byte        // per connection, in accept order
	ended    []chan struct{} // closed when connection i's handler returned
	wg       sync.WaitGroup
}

func startSink(t *testing.T, echo bool) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln, echo: echo}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			idx := len(s.received)
			s.received = append(s.received, nil)
			ended := make(chan struct{})
			s.ended = append(s.ended, ended)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(ended)
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						s.mu.Lock()
						s.received[idx] = append(s.received[idx], buf[:n]...)
						s.mu.Unlock()
						if s.echo {
							if _, err := c.Write(buf[:n]); err != nil {
								return
							}
						}
					}
					if err != nil {
						// After the client's half-close, say goodbye.
						if errors.Is(err, io.EOF) {
							_, _ = c.Write([]byte("bye"))
						}
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// got returns everything connection i sent, once its handler has ended.
func (s *sink) got(t *testing.T, i int) []byte {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		var ended chan struct{}
		if i < len(s.ended) {
			ended = s.ended[i]
		}
		s.mu.Unlock()
		if ended != nil {
			select {
			case <-ended:
				s.mu.Lock()
				defer s.mu.Unlock()
				return append([]byte(nil), s.received[i]...)
			case <-deadline:
				t.Fatalf("server connection %d did not end", i)
			}
		}
		select {
		case <-deadline:
			t.Fatalf("server connection %d was never accepted", i)
		case <-time.After(time.Millisecond):
		}
	}
}

func dial(t *testing.T, p *faultproxy.Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func waitStats(t *testing.T, p *faultproxy.Proxy, what string, cond func(faultproxy.Stats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v (stats %+v)", what, err, p.Stats())
	}
}

func TestForward(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	c := dial(t, p)
	msg := bytes.Repeat([]byte("0123456789"), 10000) // 100 kB, several chunks
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo differs from what was sent")
	}
	waitStats(t, p, "counters", func(st faultproxy.Stats) bool { return st.Down == int64(len(msg)) })
	if st := p.Stats(); st.Accepted != 1 || st.Active != 1 || st.Up != int64(len(msg)) || st.Cuts != 0 {
		t.Errorf("Stats() = %+v, want 1 accepted and active, %d bytes each way, no cuts", st, len(msg))
	}
}

func TestHalfClose(t *testing.T) {
	s := startSink(t, false)
	p := faultproxy.Start(t, s.ln.Addr().String())
	c := dial(t, p)
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	if err != nil || string(reply) != "bye" {
		t.Fatalf("after half-close read %q, %v; want %q", reply, err, "bye")
	}
	if got := s.got(t, 0); string(got) != "hello" {
		t.Errorf("server received %q, want %q", got, "hello")
	}
}

func TestCutAfter(t *testing.T) {
	tests := []struct {
		name     string
		dir      faultproxy.Direction
		n        int64
		send     int
		wantUp   int // bytes the server receives on the first connection; -1: not checked
		wantDown int // bytes the client reads back before the cut; -1: not checked
	}{
		// An up cut closes everything right after the last byte went up,
		// so whether any echo makes it back is a race: not checked.
		{"up mid-chunk", faultproxy.Up, 10, 25, 10, -1},
		{"up zero", faultproxy.Up, 0, 25, 0, 0},
		{"up exactly all", faultproxy.Up, 25, 25, 25, -1},
		{"down", faultproxy.Down, 7, 25, -1, 7},
		{"both, up first", faultproxy.Both, 12, 25, 12, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startSink(t, true)
			p := faultproxy.Start(t, s.ln.Addr().String())
			p.CutAfter(tt.dir, tt.n)
			c := dial(t, p)
			if _, err := c.Write(bytes.Repeat([]byte("x"), tt.send)); err != nil {
				t.Fatal(err)
			}
			echoed, _ := io.ReadAll(c) // until the cut
			if tt.wantDown >= 0 && len(echoed) != tt.wantDown {
				t.Errorf("client read %d bytes before the cut, want %d", len(echoed), tt.wantDown)
			}
			waitStats(t, p, "the cut", func(st faultproxy.Stats) bool { return st.Cuts == 1 && st.Active == 0 })
			if got := len(s.got(t, 0)); tt.wantUp >= 0 && got != tt.wantUp {
				t.Errorf("server received %d bytes, want %d", got, tt.wantUp)
			}

			// One-shot: the next connection is not cut.
			c2 := dial(t, p)
			if _, err := c2.Write([]byte("again")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c2, buf); err != nil || string(buf) != "again" {
				t.Errorf("second connection read %q, %v; want echo", buf, err)
			}
		})
	}
}

// TestCutAfterAllConnections checks that a cut closes every connection,
// counting bytes over all of them.
func TestCutAfterAllConnections(t *testing.T) {
	s := startSink(t, false)
	p := faultproxy.Start(t, s.ln.Addr().String())
	a, b := dial(t, p), dial(t, p)
	waitStats(t, p, "two connections", func(st faultproxy.Stats) bool { return st.Active == 2 })
	p.CutAfter(faultproxy.Up, 8)
	if _, err := a.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "5 bytes", func(st faultproxy.Stats) bool { return st.Up == 5 })
	if _, err := b.Write([]byte("6789")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "the cut", func(st faultproxy.Stats) bool { return st.Cuts == 2 && st.Active == 0 })
	for i, c := range []net.Conn{a, b} {
		if _, err := io.ReadAll(c); err != nil {
			t.Errorf("connection %d: read after cut: %v, want EOF", i, err)
		}
	}
	if st := p.Stats(); st.Up != 8 {
		t.Errorf("forwarded %d bytes up, want 8", st.Up)
	}
}

func TestCutEachAfter(t *testing.T) {
	s := startSink(t, false)
	p := faultproxy.Start(t, s.ln.Addr().String())
	p.CutEachAfter(faultproxy.Up, 4)
	for i := range 3 {
		c := dial(t, p)
		if _, err := c.Write([]byte("abcdefgh")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		waitStats(t, p, "the cut", func(st faultproxy.Stats) bool { return st.Cuts == i+1 && st.Active == 0 })
		if got := s.got(t, i); string(got) != "abcd" {
			t.Errorf("connection %d: server received %q, want %q", i, got, "abcd")
		}
	}
	p.CutEachAfter(faultproxy.Up, 0)
	c := dial(t, p)
	if _, err := c.Write([]byte("abcdefgh")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "8 more bytes", func(st faultproxy.Stats) bool { return st.Up == 3*4+8 })
}

func TestCutAll(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	c := dial(t, p)
	waitStats(t, p, "the connection", func(st faultproxy.Stats) bool { return st.Active == 1 })
	p.CutAll()
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("read after CutAll: %v, want EOF", err)
	}
	if st := p.Stats(); st.Cuts != 1 {
		t.Errorf("Cuts = %d, want 1", st.Cuts)
	}
}

func TestStall(t *testing.T) {
	for _, dir := range []faultproxy.Direction{faultproxy.Up, faultproxy.Down} {
		t.Run(dir.String(), func(t *testing.T) {
			s := startSink(t, true)
			p := faultproxy.Start(t, s.ln.Addr().String())
			c := dial(t, p)
			p.Stall(dir)
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			// Nothing comes back while stalled: the read times out.
			_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			buf := make([]byte, 4)
			if n, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read while stalled = %d, %v; want a deadline error", n, err)
			}
			p.Release(dir)
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("read after Release = %q, %v; want ping", buf, err)
			}
		})
	}
}

// TestStallAfter: the stall falls exactly at the mark, inside a chunk and
// over two connections; the bytes after it arrive once released.
func TestStallAfter(t *testing.T) {
	s := startSink(t, false)
	p := faultproxy.Start(t, s.ln.Addr().String())
	a, b := dial(t, p), dial(t, p)
	p.StallAfter(faultproxy.Up, 700)
	if _, err := a.Write(bytes.Repeat([]byte("a"), 500)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "the first 500 bytes", func(st faultproxy.Stats) bool { return st.Up == 500 })
	if p.Stalled(faultproxy.Up) {
		t.Fatal("stalled before the mark")
	}
	if _, err := b.Write(bytes.Repeat([]byte("b"), 500)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "200 more bytes", func(st faultproxy.Stats) bool { return st.Up == 700 })
	if _, err := a.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if !p.Stalled(faultproxy.Up) || p.Stalled(faultproxy.Down) {
		t.Error("Stalled does not say Up (only)")
	}
	if up := p.Stats().Up; up != 700 {
		t.Fatalf("forwarded %d bytes while stalled, want 700", up)
	}
	p.Release(faultproxy.Up)
	a.Close()
	b.Close()
	got0, got1 := string(s.got(t, 0)), string(s.got(t, 1))
	if got0 > got1 {
		got0, got1 = got1, got0 // accept order: "aaa...more" before "bbb..."
	}
	if got0 != strings.Repeat("a", 500)+"more" || got1 != strings.Repeat("b", 500) {
		t.Errorf("after Release the server got %d and %d bytes, want all (504 and 500)", len(got0), len(got1))
	}
}

func TestStallFor(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	c := dial(t, p)
	p.StallFor(faultproxy.Both, 50*time.Millisecond)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read = %q, %v; want ping once the stall ends by itself", buf, err)
	}
}

// TestLatency checks the lower bound only: a round trip through the proxy
// cannot be faster than the added delays.
func TestLatency(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	p.SetLatency(faultproxy.Both, 10*time.Millisecond)
	c := dial(t, p)
	buf := make([]byte, 1)
	for range 3 {
		start := time.Now()
		if _, err := c.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if rtt := time.Since(start); rtt < 20*time.Millisecond {
			t.Errorf("round trip took %v, want at least 20ms", rtt)
		}
	}
	p.SetLatency(faultproxy.Both, 0)
	if _, err := c.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'y' {
		t.Fatalf("read after latency off = %q, %v", buf, err)
	}
}

func TestRefuse(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	p.Refuse(true)
	// The reset may arrive while Dial completes or at the first read.
	if c, err := net.Dial("tcp", p.Addr()); err == nil {
		_, err = io.ReadAll(c)
		c.Close()
		if err == nil { // EOF would mean a clean close
			t.Errorf("read on a refused connection succeeded, want connection reset")
		}
	}
	waitStats(t, p, "the refusal", func(st faultproxy.Stats) bool { return st.Refused == 1 })

	p.Refuse(false)
	c2 := dial(t, p)
	if _, err := c2.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c2, buf); err != nil {
		t.Fatalf("after Refuse(false): %v", err)
	}

	p.RefuseFor(time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	c3 := dial(t, p)
	if _, err := c3.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c3, buf); err != nil {
		t.Fatalf("after RefuseFor expired: %v", err)
	}
	if st := p.Stats(); st.Refused != 1 || st.Accepted != 2 {
		t.Errorf("Stats() = %+v, want 1 refused, 2 accepted", st)
	}
}

func TestReset(t *testing.T) {
	s := startSink(t, true)
	p := faultproxy.Start(t, s.ln.Addr().String())
	p.CutAfter(faultproxy.Up, 0)
	p.CutEachAfter(faultproxy.Both, 1)
	p.Stall(faultproxy.Both)
	p.SetLatency(faultproxy.Both, time.Hour)
	p.Refuse(true)
	p.Reset()
	c := dial(t, p)
	if _, err := c.Write([]byte("fine")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "fine" {
		t.Fatalf("after Reset read %q, %v", buf, err)
	}
}

func TestTargetMustBeLoopback(t *testing.T) {
	tests := []struct {
		target string
		ok     bool
	}{
		{"127.0.0.1:143", true},
		{"localhost:993", true},
		{"[::1]:143", true},
		{"127.0.0.2:143", true},
		{"192.0.2.1:143", false},
		{"example.org:993", false},
		{"no-port", false},
	}
	for _, tt := range tests {
		p, err := faultproxy.New(tt.target)
		if p != nil {
			p.Close()
		}
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) error = %v, want ok=%v", tt.target, err, tt.ok)
		}
	}
}

func TestCloseWithStalledConnection(t *testing.T) {
	s := startSink(t, true)
	p, err := faultproxy.New(s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	p.Stall(faultproxy.Both)
	if _, err := c.Write(bytes.Repeat([]byte("z"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := io.ReadAll(c); err != nil && !errors.Is(err, net.ErrClosed) {
		// EOF or reset are both fine; the point is that Close returned.
		t.Logf("read after Close: %v", err)
	}
	if _, err := net.Dial("tcp", p.Addr()); err == nil {
		t.Errorf("dial after Close succeeded")
	}
}

// BenchmarkThroughput measures forwarding speed, 64 kB writes echoed back.
func BenchmarkThroughput(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(c, c)
	}()
	p, err := faultproxy.New(ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	go func() {
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	rbuf := make([]byte, len(buf))
	for b.Loop() {
		if _, err := io.ReadFull(c, rbuf); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBandwidth sends 4 MB over two connections through a link shaped to
// 8 MB/s up: every byte arrives, the proxy's account of the link adds up
// (all bytes through it, at the set rate, never faster), and the
// unshaped direction is left alone. Wall time is only checked from below
// (the proxy cannot deliver faster than its link), which cannot flake.
func TestBandwidth(t *testing.T) {
	const rate = 8 << 20
	s := startSink(t, false)
	p := faultproxy.Start(t, s.ln.Addr().String())
	p.SetBandwidth(faultproxy.Up, rate)
	msgs := [][]byte{
		bytes.Repeat([]byte("first connection "), 2<<20/17),
		bytes.Repeat([]byte("second one "), 2<<20/11),
	}
	total := int64(len(msgs[0]) + len(msgs[1]))
	conns := []net.Conn{dial(t, p), dial(t, p)}
	start := time.Now()
	for i, c := range conns {
		go func() {
			_, _ = c.Write(msgs[i])
			_ = c.(*net.TCPConn).CloseWrite()
		}()
	}
	for i := range conns {
		if got := s.got(t, i); !bytes.Equal(got, msgs[0]) && !bytes.Equal(got, msgs[1]) {
			t.Errorf("connection %d: server received %d bytes, not what was sent", i, len(got))
		}
	}
	elapsed := time.Since(start)
	st := p.Stats()
	link := st.UpLink
	if st.Up != total || link.Bytes != total {
		t.Fatalf("forwarded %d bytes, link carried %d, want %d", st.Up, link.Bytes, total)
	}
	want := time.Duration(float64(total) / rate * float64(time.Second))
	if d := link.Busy - want; d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("link busy %v for %d bytes at %d B/s, want %v", link.Busy, total, rate, want)
	}
	carried := float64(link.Bytes) / (link.Busy + link.Idle).Seconds()
	if carried > rate*1.001 {
		t.Errorf("link carried %.0f B/s, more than its %d", carried, rate)
	}
	if elapsed < want-50*time.Millisecond {
		t.Errorf("%d bytes arrived after %v, faster than the link's %v", total, elapsed, want)
	}
	if st.DownLink != (faultproxy.LinkStats{}) {
		t.Errorf("unshaped direction accounted: %+v", st.DownLink)
	}
	t.Logf("link: %d bytes, busy %v, idle %v: %.1f MB/s of %.1f", link.Bytes, link.Busy, link.Idle, carried/(1<<20), float64(rate)/(1<<20))

	// Without a limit, nothing more goes through the link's account.
	p.SetBandwidth(faultproxy.Up, 0)
	c := dial(t, p)
	c.Write([]byte("unshaped"))
	c.(*net.TCPConn).CloseWrite()
	if got := s.got(t, 2); string(got) != "unshaped" {
		t.Errorf("after the limit was lifted: %q", got)
	}
	if after := p.Stats().UpLink; after != link {
		t.Errorf("link account changed without a limit: %+v, was %+v", after, link)
	}
}
