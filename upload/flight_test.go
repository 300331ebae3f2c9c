package upload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/upload/bulk"
	"mailferry/upload/rehearsal"
)

// flightGate sits between the client and the rehearsal server (plain
// text) and checks that the client sends whole flights of commands
// without waiting for answers in between: once a connection's client sent
// the first command of an expected flight, the server's bytes are held
// back from it until it sent the rest of that flight. A client that waits
// for an answer in the middle of a flight would wait for ever; after
// holdLimit the gate lets the answers through and records the flight as
// broken, so the test fails instead of hanging.
type flightGate struct {
	t       *testing.T
	to      string
	flights [][]*regexp.Regexp // each: its first command starts it
	ln      net.Listener

	mu     sync.Mutex
	broken []string
	seen   map[int]int // flights completed, by index: how many times
}

const holdLimit = 3 * time.Second

func newFlightGate(t *testing.T, to string, flights ...[]string) *flightGate {
	t.Helper()
	g := &flightGate{t: t, to: to, seen: map[int]int{}}
	for _, f := range flights {
		var res []*regexp.Regexp
		for _, c := range f {
			res = append(res, regexp.MustCompile(c))
		}
		g.flights = append(g.flights, res)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.ln = ln
	t.Cleanup(func() { ln.Close() })
	go g.accept()
	return g
}

func (g *flightGate) addr() string { return g.ln.Addr().String() }

func (g *flightGate) accept() {
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", g.to)
		if err != nil {
			c.Close()
			continue
		}
		go g.relay(c, s)
	}
}

// gateState is one connection's gate: closed while a flight is open.
type gateState struct {
	mu      sync.Mutex
	cond    *sync.Cond
	open    int // index of the flight in progress, -1 for none
	missing []*regexp.Regexp
	since   time.Time
	done    bool
}

func (g *flightGate) relay(client, server net.Conn) {
	st := &gateState{open: -1}
	st.cond = sync.NewCond(&st.mu)
	go func() {
		// Server to client: held while a flight is open.
		buf := make([]byte, 32<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				g.wait(st)
				if _, werr := client.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		client.Close()
	}()
	br := bufio.NewReader(client)
	literal := regexp.MustCompile(`\{(\d+)\+?\}$`)
	for {
		line, err := br.ReadString('\n')
		if len(line) > 0 {
			if _, werr := io.WriteString(server, line); werr != nil {
				break
			}
			cmd := strings.TrimRight(line, "\r\n")
			g.command(st, cmd)
			if m := literal.FindStringSubmatch(cmd); m != nil {
				n, _ := strconv.Atoi(m[1])
				if _, err := io.CopyN(server, br, int64(n)); err != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	st.mu.Lock()
	st.done = true
	st.cond.Broadcast()
	st.mu.Unlock()
	server.Close()
}

// command notes one command line of the client.
func (g *flightGate) command(st *gateState, cmd string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.open >= 0 {
		for i, re := range st.missing {
			if re.MatchString(cmd) {
				st.missing = append(st.missing[:i], st.missing[i+1:]...)
				break
			}
		}
		if len(st.missing) == 0 {
			g.mu.Lock()
			g.seen[st.open]++
			g.mu.Unlock()
			st.open = -1
			st.cond.Broadcast()
		}
		return
	}
	for i, f := range g.flights {
		if f[0].MatchString(cmd) {
			st.open, st.since = i, time.Now()
			st.missing = append([]*regexp.Regexp(nil), f[1:]...)
			if len(st.missing) == 0 {
				g.mu.Lock()
				g.seen[i]++
				g.mu.Unlock()
				st.open = -1
			}
			return
		}
	}
}

// wait blocks while a flight is open on the connection, at most
// holdLimit; then the flight is recorded as broken.
func (g *flightGate) wait(st *gateState) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.open >= 0 && !st.done {
		left := holdLimit - time.Since(st.since)
		if left <= 0 {
			var missing []string
			for _, re := range st.missing {
				missing = append(missing, re.String())
			}
			g.mu.Lock()
			g.broken = append(g.broken, fmt.Sprintf("flight %d: the client waited for an answer before sending %s", st.open, strings.Join(missing, ", ")))
			g.mu.Unlock()
			st.open = -1
			return
		}
		timer := time.AfterFunc(left, func() {
			st.mu.Lock()
			st.cond.Broadcast()
			st.mu.Unlock()
		})
		st.cond.Wait()
		timer.Stop()
	}
}

// TestFlights: the commands that need no answer of each other go out
// together, on every connection: NAMESPACE, LIST and the hand-over to
// go-imap; each level of the folder tree's CREATEs and SUBSCRIBEs; a
// bulk connection's SELECT and its first APPEND; a folder's SELECT (or
// EXAMINE) and its FETCH in the pre-scan and the verify pass. The verify
// pass goes on with the upload's connections: no connection logs in
// twice.
func TestFlights(t *testing.T) {
	srv, err := rehearsal.Start(rehearsal.Options{Logger: testLogger(t), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var s source
	d := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	leaf := s.box("", formats.SpecialNone, "a", "b", "c")
	s.box("", formats.SpecialNone, "a", "d")
	s.box("", formats.SpecialNone, "x", "y")
	for i := range 40 {
		s.add(leaf, mail(fmt.Sprint(i), fmt.Sprintf("<%d@flight>", i), strings.Repeat("body line\n", i+1)), d)
	}
	g := newFlightGate(t, srv.Addr(),
		[]string{`^B\d+ NAMESPACE$`, `^B\d+ LIST "" "\*"`, `^B\d+ CAPABILITY$`},
		[]string{`^T\d+ CREATE "a"$`, `^T\d+ SUBSCRIBE "a"$`, `^T\d+ CREATE "x"$`, `^T\d+ SUBSCRIBE "x"$`},
		[]string{`^T\d+ CREATE "a/b"$`, `^T\d+ SUBSCRIBE "a/b"$`, `^T\d+ CREATE "a/d"$`, `^T\d+ SUBSCRIBE "a/d"$`,
			`^T\d+ SELECT "a/d"$`, `^T\d+ CREATE "x/y"$`, `^T\d+ SUBSCRIBE "x/y"$`},
		[]string{`^T\d+ CREATE "a/b/c"$`, `^T\d+ SUBSCRIBE "a/b/c"$`},
		[]string{`^B\d+ SELECT "a/b/c"$`, `^B\d+ APPEND "a/b/c"`},
		[]string{`^T\d+ SELECT "`, `^T\d+ UID FETCH 1:\*`},
		[]string{`^T\d+ EXAMINE "`, `^T\d+ UID FETCH 1:\*`},
	)
	opts := rehearsalOptions(t, srv)
	host, port, _ := net.SplitHostPort(g.addr())
	p, _ := strconv.Atoi(port)
	opts.Target.Host, opts.Target.Port = host, p
	opts.Connections = 2
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, b := range g.broken {
		t.Error(b)
	}
	for i := range 4 {
		if g.seen[i] != 1 {
			t.Errorf("flight %d seen %d times, want once", i, g.seen[i])
		}
	}
	if g.seen[4] != rep.Connections {
		t.Errorf("SELECT and APPEND together on %d connections, want all %d", g.seen[4], rep.Connections)
	}
	if g.seen[5] != 0 || g.seen[6] != 3 {
		t.Errorf("%d folders pre-scanned, want none (this run created them); EXAMINE and FETCH together for %d in the verify pass, want all 3",
			g.seen[5], g.seen[6])
	}
	if srv.Logins() != rep.Connections {
		t.Errorf("%d logins for %d connections: the verify pass (or a worker) logged in again", srv.Logins(), rep.Connections)
	}
	if rep.Totals.Uploaded != 40 {
		t.Errorf("%d uploaded, want 40", rep.Totals.Uploaded)
	}
	g.mu.Unlock()

	// Again: the folders are there now, and each is pre-scanned with its
	// SELECT and FETCH together.
	rep, err = Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	mustCheck(t, rep)
	g.mu.Lock()
	if g.seen[5] != 3 || g.seen[6] != 6 {
		t.Errorf("SELECT and FETCH together for %d folders in the pre-scan, EXAMINE and FETCH for %d in the verify passes; want 3 and 6",
			g.seen[5], g.seen[6])
	}
	if rep.Totals.Uploaded != 0 || rep.Totals.Already != 40 {
		t.Errorf("second run: totals %+v, want all 40 already there", rep.Totals)
	}
}

// TestBulkFallbackOnFirstAnswers: the first APPEND went out behind its
// SELECT without waiting; when the server's first answers on the
// connection are ones the bulk client cannot follow, the worker is told
// to fall back to go-imap's APPEND, and the batch in flight is handed
// back as unknown (checked on the server before it is sent again). Once
// an APPEND was answered, a broken answer is a broken connection only.
func TestBulkFallbackOnFirstAnswers(t *testing.T) {
	for _, answered := range []bool{false, true} {
		t.Run(fmt.Sprintf("answered=%v", answered), func(t *testing.T) {
			cc, sc := net.Pipe()
			go func() {
				defer sc.Close()
				br := bufio.NewReader(sc)
				io.WriteString(sc, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n")
				readCmd := func() string { l, _ := br.ReadString('\n'); return l }
				readCmd() // SELECT
				readCmd() // APPEND {5+}
				io.ReadFull(br, make([]byte, 5+2))
				io.WriteString(sc, "B1 SELECTED fine\r\nB2 OK stored\r\n")
				readCmd()
			}()
			c, err := bulk.New(cc, bulk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			rn := newRun(Options{}, ModeUpload)
			rn.connCtx = ctx
			w := &worker{rn: rn, bc: &bulkConn{c: c, stop: func() bool { return true }, answered: answered}}
			a := newBulkAppender(w)
			if _, err := c.SelectNoWait(ctx, "INBOX"); err != nil {
				t.Fatal(err)
			}
			cmd, err := c.Submit(ctx, "INBOX", []bulk.Item{{Size: 5, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader("a\r\nb\r")), nil
			}}})
			if err != nil {
				t.Fatal(err)
			}
			j := &job{}
			a.batches = []*bulkBatch{{jobs: []*job{j}, cmd: cmd}}
			r := a.waitOldest(ctx)
			if r.lost == nil || len(r.unknown) != 1 || r.unknown[0] != j {
				t.Fatalf("lost %v, unknown %v: want the batch handed back as unknown", r.lost, r.unknown)
			}
			if got := r.fallback != nil; got != !answered {
				t.Errorf("fallback %v, want %v", r.fallback, !answered)
			}
			if r.fallback != nil && !errors.Is(r.fallback, errNoBulk) {
				t.Errorf("fallback %v does not say errNoBulk", r.fallback)
			}
		})
	}
}
