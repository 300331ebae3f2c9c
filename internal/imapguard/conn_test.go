package imapguard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// fakeServer runs serve on the server side of a loopback TCP connection
// and returns the client side. The test's cleanup closes both and waits
// for serve.
func fakeServer(t *testing.T, serve func(c net.Conn, br *bufio.Reader)) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	accepted := make(chan net.Conn, 1)
	go func() {
		defer close(done)
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			return
		}
		accepted <- c
		defer c.Close()
		serve(c, bufio.NewReader(c))
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		select {
		case sc := <-accepted:
			sc.Close()
		default:
		}
		<-done
	})
	return cc
}

// endless is a reader of the same bytes forever.
type endless struct{ b []byte }

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.b[i%len(e.b)]
	}
	return len(p), nil
}

// flood writes prefix, then filler until the connection fails or n bytes
// went out; it returns the bytes written.
func flood(c net.Conn, prefix string, filler byte, n int64) int64 {
	k, err := io.WriteString(c, prefix)
	if err != nil {
		return int64(k)
	}
	m, _ := io.Copy(c, io.LimitReader(endless{[]byte{filler}}, n))
	return int64(k) + m
}

// readCommand reads one command line and returns its tag.
func readCommand(br *bufio.Reader) (string, error) {
	l, err := br.ReadString('\n')
	tag, _, _ := strings.Cut(l, " ")
	return tag, err
}

// allocated runs f and returns the bytes the process allocated meanwhile.
func allocated(f func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// goIMAP starts go-imap on a guard over conn and waits for the greeting.
func goIMAP(t *testing.T, conn net.Conn, l Limits) (*imapclient.Client, *Conn) {
	t.Helper()
	g := New(conn, l)
	c := imapclient.New(g, nil)
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatalf("greeting: %v (guard: %v)", err, g.Err())
	}
	return c, g
}

func wantLimit(t *testing.T, err error, limit Limit, max int64) *LimitError {
	t.Helper()
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != limit || le.Max != max {
		t.Fatalf("guard error %v, want %v with limit %d", err, limit, max)
	}
	return le
}

const preauth = "* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n"

// TestHugeLine: a greeting line of a gigabyte (as anyone on the path of
// imap:// can send before STARTTLS) ends at the line limit, with go-imap
// on top, in bounded memory and without the server getting far.
func TestHugeLine(t *testing.T) {
	var sent atomic.Int64
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		sent.Store(flood(c, "* OK ", 'a', 1<<30))
	})
	var gerr error
	alloc := allocated(func() {
		g := New(conn, Limits{})
		c := imapclient.New(g, nil)
		if err := c.WaitGreeting(); err == nil {
			t.Errorf("greeting of a gigabyte accepted")
		}
		c.Close()
		gerr = g.Err()
	})
	le := wantLimit(t, gerr, LineLimit, DefaultMaxLine)
	if le.Got <= DefaultMaxLine {
		t.Errorf("Got %d, want more than the limit", le.Got)
	}
	if alloc > 64<<20 {
		t.Errorf("reading the huge line allocated %d MB", alloc>>20)
	}
	conn.Close()
	t.Logf("guard stopped at %d bytes; allocated %d KB", le.Got, alloc>>10)
}

// TestHugeLiteral: a literal announced larger than the limit ends the
// connection at its announcement, before any of its bytes.
func TestHugeLiteral(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		tag, err := readCommand(br)
		if err != nil {
			return
		}
		_ = tag
		flood(c, "* 1 FETCH (UID 1 BODY[] {1073741824}\r\n", 'x', 1<<30)
	})
	c, g := goIMAP(t, conn, Limits{MaxLiteral: 10 << 20})
	var err error
	alloc := allocated(func() {
		_, err = c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	})
	if err == nil {
		t.Fatal("FETCH of a 1 GB literal succeeded")
	}
	le := wantLimit(t, g.Err(), LiteralLimit, 10<<20)
	if le.Got != 1<<30 {
		t.Errorf("Got %d, want the announced %d", le.Got, 1<<30)
	}
	if alloc > 32<<20 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
}

// TestDeepNesting: a body structure nested ten million levels deep, which
// overflows go-imap's stack unguarded, ends at the depth limit.
func TestDeepNesting(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		if _, err := readCommand(br); err != nil {
			return
		}
		flood(c, "* 1 FETCH (UID 1 BODYSTRUCTURE ", '(', 10_000_000)
	})
	c, g := goIMAP(t, conn, Limits{})
	_, err := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodyStructure: &imap.FetchItemBodyStructure{Extended: true}}).Collect()
	if err == nil {
		t.Fatal("FETCH of a 10M deep body structure succeeded")
	}
	le := wantLimit(t, g.Err(), DepthLimit, DefaultMaxDepth)
	if le.Got != DefaultMaxDepth+1 {
		t.Errorf("Got %d, want %d", le.Got, DefaultMaxDepth+1)
	}
}

// TestEndlessUntagged: a server that answers a command with "* OK" every
// few milliseconds, forever, meets the budget's time; one that floods,
// its size.
func TestEndlessUntagged(t *testing.T) {
	tests := []struct {
		name  string
		pause time.Duration
		b     Budget
		limit Limit
		max   int64
	}{
		{"trickle", 5 * time.Millisecond, Budget{Within: 300 * time.Millisecond}, AnswerTime, int64(300 * time.Millisecond)},
		{"flood", 0, Budget{MaxBytes: 1 << 20}, AnswerBytes, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
				io.WriteString(c, preauth)
				if _, err := readCommand(br); err != nil {
					return
				}
				for {
					if _, err := io.WriteString(c, "* OK still working on it\r\n"); err != nil {
						return
					}
					time.Sleep(tc.pause)
				}
			})
			c, g := goIMAP(t, conn, Limits{})
			g.Expect(tc.b)
			start := time.Now()
			err := c.Noop().Wait()
			if err == nil {
				t.Fatal("NOOP completed")
			}
			wantLimit(t, g.Err(), tc.limit, tc.max)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("the budget ended the answer after %v", d)
			}
		})
	}
}

// TestSlowDrip: a header of 2 GB sent at a trickle meets the minimum
// rate even with the size limits off.
func TestSlowDrip(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		if _, err := readCommand(br); err != nil {
			return
		}
		if _, err := io.WriteString(c, "* 1 FETCH (UID 1 BODY[HEADER] {2000000000}\r\n"); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("X-Drip: x\r\n"), 100)
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	c, g := goIMAP(t, conn, Limits{MaxLiteral: -1, MaxResponse: -1})
	g.Expect(Budget{MinRate: 1 << 20, Grace: 200 * time.Millisecond})
	cmd := c.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Specifier: imap.PartSpecifierHeader, Peek: true}}})
	start := time.Now()
	var readErr error
	for msg := cmd.Next(); msg != nil && readErr == nil; msg = cmd.Next() {
		for item := msg.Next(); item != nil; item = msg.Next() {
			if bs, ok := item.(imapclient.FetchItemDataBodySection); ok {
				_, readErr = io.Copy(io.Discard, bs.Literal)
				break
			}
		}
	}
	le := wantLimit(t, g.Err(), AnswerRate, 1<<20)
	if le.Got >= 1<<20 {
		t.Errorf("reported rate %d, want below the minimum", le.Got)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the budget ended the drip after %v", d)
	}
}

// TestBudgetEnds: a budget ends with the tagged answer (Answers of them),
// and the answers that follow are not bound by it.
func TestBudgetEnds(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		for {
			tag, err := readCommand(br)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "* 1 EXISTS\r\n%s OK done\r\n", tag)
		}
	})
	c, g := goIMAP(t, conn, Limits{})
	g.Expect(Budget{Within: 200 * time.Millisecond, MaxBytes: 100, Answers: 2})
	for i := range 2 {
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("NOOP %d: %v", i, err)
		}
	}
	time.Sleep(400 * time.Millisecond) // past Within: the budget has ended
	for i := range 5 {                 // past MaxBytes
		if err := c.Noop().Wait(); err != nil {
			t.Fatalf("NOOP after the budget %d: %v (guard %v)", i, err, g.Err())
		}
	}
}

// TestNormalTraffic: a session of legitimate responses, big literals
// within the limit included, passes byte for byte, read raw with small
// and large buffers.
func TestNormalTraffic(t *testing.T) {
	var want bytes.Buffer
	want.WriteString("* OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] Dovecot ready.\r\n")
	want.WriteString("A1 OK [CAPABILITY IMAP4rev1 MULTIAPPEND] Logged in\r\n")
	want.WriteString("* LIST (\\HasNoChildren) \"/\" {9}\r\nA \"b\" (c)\r\n")
	want.WriteString("* LIST (\\HasChildren) \"/\" \"Archiv/Entw&APw-rfe\"\r\n")
	want.WriteString("A2 OK List completed (0.001 + 0.000 secs).\r\n")
	body := bytes.Repeat([]byte("Subject: (((not nesting {99}\r\n\"quoted\r\n"), 50_000) // 2 MB
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(&want, "* %d FETCH (UID %d RFC822.SIZE %d BODY[] {%d}\r\n", i, i, len(body), len(body))
		want.Write(body)
		want.WriteString(" FLAGS (\\Seen $Forwarded))\r\n")
	}
	want.WriteString("* 4 FETCH (BODYSTRUCTURE " + strings.Repeat("(", 40) + "\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1" + strings.Repeat(")", 40) + ")\r\n")
	want.WriteString("A3 OK Fetch completed.\r\n")
	for _, size := range []int{61, 4096, 1 << 20} {
		conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
			c.Write(want.Bytes())
		})
		g := New(conn, Limits{MaxLiteral: 8 << 20, MaxResponse: 8 << 20})
		var got bytes.Buffer
		buf := make([]byte, size)
		for {
			n, err := g.Read(buf)
			got.Write(buf[:n])
			if err != nil {
				if err != io.EOF {
					t.Fatalf("read (buffer %d): %v", size, err)
				}
				break
			}
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("buffer %d: read %d bytes, not the %d sent", size, got.Len(), want.Len())
		}
		g.Close()
	}
}

// TestGoIMAPFetch: go-imap reads a FETCH of big literals through the
// guard and gets every byte.
func TestGoIMAPFetch(t *testing.T) {
	body := bytes.Repeat([]byte("line of a message body\r\n"), 200_000) // 4.8 MB
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		tag, err := readCommand(br)
		if err != nil {
			return
		}
		for i := 1; i <= 2; i++ {
			fmt.Fprintf(c, "* %d FETCH (UID %d BODY[] {%d}\r\n", i, 10+i, len(body))
			c.Write(body)
			io.WriteString(c, ")\r\n")
		}
		fmt.Fprintf(c, "%s OK done\r\n", tag)
		readCommand(br)
	})
	c, g := goIMAP(t, conn, Limits{MaxLiteral: 5 << 20, MaxResponse: 5 << 20})
	g.Expect(Budget{Within: time.Minute, MaxBytes: 10 << 20})
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v (guard %v)", err, g.Err())
	}
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	for _, m := range msgs {
		for _, b := range m.BodySection {
			if !bytes.Equal(b.Bytes, body) {
				t.Errorf("UID %d: body of %d bytes differs", m.UID, len(b.Bytes))
			}
		}
	}
}

// TestDetach: go-imap stops at the response boundary after its last
// answer; the Conn Detach returns reads the connection from the next
// response on, with nothing lost; go-imap's Close leaves it open.
func TestDetach(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, preauth)
		for {
			tag, err := readCommand(br)
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s OK done\r\n", tag)
			if tag == "X1" {
				io.WriteString(c, "* 7 EXISTS\r\n")
			}
		}
	})
	c, g := goIMAP(t, conn, Limits{})
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ng, err := g.Detach(context.Background())
	if err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if err := c.Noop().Wait(); err == nil {
		t.Errorf("go-imap still works after Detach")
	}
	c.Close()
	io.WriteString(ng, "X1 NOOP\r\n")
	br := bufio.NewReader(ng)
	for _, want := range []string{"X1 OK done\r\n", "* 7 EXISTS\r\n"} {
		l, err := br.ReadString('\n')
		if err != nil || l != want {
			t.Fatalf("after Detach read %q (%v), want %q", l, err, want)
		}
	}
}

// TestDetachMidResponse: Detach while a response is half read waits for
// the reader to finish it; the next response goes to the new Conn.
func TestDetachMidResponse(t *testing.T) {
	release := make(chan struct{})
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, "* 1 FETCH (BODY[] {10}\r\nabc")
		<-release
		io.WriteString(c, "defghij)\r\n* 2 EXISTS\r\n")
		br.ReadByte()
	})
	g := New(conn, Limits{})
	got := make(chan string, 1)
	firstBytes := make(chan struct{})
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4)
		for {
			n, err := g.Read(buf)
			if b.Len() == 0 && n > 0 {
				close(firstBytes)
			}
			b.Write(buf[:n])
			if err != nil {
				if !errors.Is(err, ErrDetached) {
					b.WriteString(" error: " + err.Error())
				}
				got <- b.String()
				return
			}
		}
	}()
	<-firstBytes
	detached := make(chan *Conn, 1)
	go func() {
		ng, err := g.Detach(context.Background())
		if err != nil {
			t.Errorf("Detach: %v", err)
		}
		detached <- ng
	}()
	time.Sleep(50 * time.Millisecond) // let Detach wait for the boundary
	close(release)
	if s := <-got; s != "* 1 FETCH (BODY[] {10}\r\nabcdefghij)\r\n" {
		t.Errorf("old reader got %q", s)
	}
	ng := <-detached
	if ng == nil {
		return
	}
	l, err := bufio.NewReader(ng).ReadString('\n')
	if err != nil || l != "* 2 EXISTS\r\n" {
		t.Errorf("new Conn read %q (%v)", l, err)
	}
	if ng.s != g.s {
		t.Errorf("the new Conn has a stream of its own")
	}
	ng.Close()
}

// TestWithPrefix: New reads a prefix through the guard, and on a prefix
// over a guard's Conn goes on with that Conn's stream.
func TestWithPrefix(t *testing.T) {
	conn := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		io.WriteString(c, "* 3 EXISTS and more\r\n")
		br.ReadByte()
	})
	g1 := New(conn, Limits{})
	g2 := New(WithPrefix([]byte("* PREAUTH hi\r\n"), g1), Limits{MaxLine: 14})
	if g2.s != g1.s {
		t.Errorf("New stacked a second stream over a guard")
	}
	if _, err := g1.Read(make([]byte, 10)); !errors.Is(err, ErrDetached) {
		t.Errorf("the old Conn reads on: %v", err)
	}
	br := bufio.NewReader(g2)
	if l, err := br.ReadString('\n'); l != "* PREAUTH hi\r\n" {
		t.Errorf("read %q (%v), want the prefix", l, err)
	}
	// The stream goes on under the new Conn's limits.
	_, err := br.ReadString('\n')
	wantLimit(t, err, LineLimit, 14)
}
