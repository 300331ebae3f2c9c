package bulk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/dovecottest"
	"mailferry/internal/imapguard"
)

// TestDetachGreeting: Detach asks for the capabilities once more, stops
// reading right after the answer, and hands over a connection that starts
// with a PREAUTH greeting (without STARTTLS and LOGINDISABLED), then the
// server's bytes the client had already read, then the stream. The Client
// is done: its commands fail, its Close leaves the connection open.
func TestDetachGreeting(t *testing.T) {
	served := make(chan string, 1)
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		readCmd(br) // AUTHENTICATE
		io.WriteString(w, "B1 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n")
		readCmd(br) // CAPABILITY of Detach
		io.WriteString(w, "* CAPABILITY IMAP4rev1 LITERAL+ STARTTLS LOGINDISABLED X-Mixed-Case\r\nB2 OK done\r\n* 9 EXISTS\r\n")
		served <- readCmd(br)
		io.WriteString(w, "X1 OK noop\r\n")
		readCmd(br)
	})
	ctx := context.Background()
	if err := c.Login(ctx, "u", "p"); err != nil {
		t.Fatal(err)
	}
	conn, err := c.Detach(ctx)
	if err != nil {
		t.Fatalf("Detach: %v", err)
	}
	defer conn.Close() // the scripted server waits for it
	c.Close()          // must leave conn open
	var lost *LostError
	if _, err := c.Submit(ctx, "INBOX", []Item{{Size: 1, Open: opener([]byte("x"))}}); !errors.As(err, &lost) || !errors.Is(err, ErrDetached) {
		t.Errorf("Submit after Detach: %v, want a LostError with ErrDetached", err)
	}
	br := bufio.NewReader(conn)
	for _, want := range []string{
		"* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ X-Mixed-Case] authenticated by mailferry's bulk client\r\n",
		"* 9 EXISTS\r\n",
	} {
		if l, err := br.ReadString('\n'); l != want {
			t.Fatalf("detached connection read %q (%v), want %q", l, err, want)
		}
	}
	io.WriteString(conn, "X1 NOOP\r\n")
	if got := <-served; got != "X1 NOOP" {
		t.Errorf("server got %q after Detach", got)
	}
	if l, err := br.ReadString('\n'); l != "X1 OK noop\r\n" {
		t.Errorf("read %q (%v) after Detach", l, err)
	}
}

// TestAnswerTimeout: a server that answers an APPEND with untagged
// responses every few milliseconds, never with the tagged one, is cut off
// after Timeout; so is a greeting that trickles in.
func TestAnswerTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi", Options{Timeout: timeout}, func(br *bufio.Reader, w io.Writer) {
		readCmd(br)
		for {
			if _, err := io.WriteString(w, "* OK still working\r\n"); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	start := time.Now()
	cmd, err := c.Submit(context.Background(), "INBOX", []Item{{Size: 3, Open: opener([]byte("x\r\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmd.Wait(context.Background())
	var lost *LostError
	var le *imapguard.LimitError
	if !errors.As(err, &lost) || !lost.Sent || !errors.As(err, &le) || le.Limit != imapguard.AnswerTime {
		t.Fatalf("Wait: %v, want a LostError (sent) for the answer time", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cut off after %v", d)
	}

	cc, sc := net.Pipe()
	defer cc.Close()
	go func() {
		defer sc.Close()
		io.WriteString(sc, "* OK ")
		for range 10_000 {
			if _, err := sc.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	_, err = New(cc, Options{Timeout: timeout})
	if !errors.As(err, &le) || le.Limit != imapguard.AnswerTime {
		t.Errorf("New with a trickling greeting: %v, want the answer time", err)
	}
}

// TestDovecotDetach: one login (and COMPRESS) for both clients. The bulk
// client appends, hands the connection to go-imap through the guard, which
// lists, selects and fetches; the guard hands it back to a bulk client,
// which appends more; go-imap takes it once more and finds everything.
func TestDovecotDetach(t *testing.T) {
	for _, compress := range []bool{false, true} {
		name := "plain"
		if compress {
			name = "COMPRESS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{Compress: compress})
			const box = "Archiv/Entwürfe"
			srv.Doveadm(t, "mailbox", "create", box)
			ctx := context.Background()
			msgs := testMessages(12, 41, 0.2)
			bc := dovecotLogin(t, srv, srv.TLSAddr, box, Options{})
			if bc.Compressed() != compress {
				t.Fatalf("Compressed() = %v", bc.Compressed())
			}
			if _, err := bc.Append(ctx, box, items(msgs[:8])); err != nil {
				t.Fatal(err)
			}
			conn, err := bc.Detach(ctx)
			if err != nil {
				t.Fatalf("Detach: %v", err)
			}
			g := imapguard.New(conn, imapguard.Limits{MaxLiteral: 4 << 20, MaxResponse: 5 << 20})
			ic := goIMAPOn(t, g, compress)
			checkGoIMAP(t, ic, g, box, msgs[:8])

			// Back to the bulk path on the same connection.
			ng, err := g.Detach(ctx)
			if err != nil {
				t.Fatalf("guard Detach: %v", err)
			}
			ic.Close()
			bc2, err := NewLoggedIn(ctx, ng, Options{}, nil)
			if err != nil {
				t.Fatalf("NewLoggedIn: %v", err)
			}
			if _, err := bc2.Select(ctx, box); err != nil {
				t.Fatal(err)
			}
			res, err := bc2.Append(ctx, box, items(msgs[8:]))
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("item %d: %v", i, r.Err)
				}
			}
			conn2, err := bc2.Detach(ctx)
			if err != nil {
				t.Fatalf("second Detach: %v", err)
			}
			g2 := imapguard.New(conn2, imapguard.Limits{MaxLiteral: 4 << 20, MaxResponse: 5 << 20})
			ic2 := goIMAPOn(t, g2, compress)
			checkGoIMAP(t, ic2, g2, box, msgs)
			if err := ic2.Logout().Wait(); err != nil {
				t.Errorf("LOGOUT: %v", err)
			}
			checkStored(t, srv, box, msgs, nil)
		})
	}
}

// goIMAPOn starts go-imap on a detached connection: it must take the
// connection as authenticated, and see neither STARTTLS nor, while it is
// on, COMPRESS.
func goIMAPOn(t *testing.T, g *imapguard.Conn, compress bool) *imapclient.Client {
	t.Helper()
	ic := imapclient.New(g, nil)
	t.Cleanup(func() { ic.Close() })
	if err := ic.WaitGreeting(); err != nil {
		t.Fatalf("go-imap greeting: %v (guard: %v)", err, g.Err())
	}
	if ic.State() != imap.ConnStateAuthenticated {
		t.Fatalf("go-imap state %v, want authenticated", ic.State())
	}
	caps := ic.Caps()
	if caps.Has(imap.CapStartTLS) || (compress && caps.Has("COMPRESS=DEFLATE")) || !caps.Has(imap.CapIMAP4rev1) {
		t.Errorf("go-imap capabilities %v", caps)
	}
	return ic
}

// checkGoIMAP lists, selects and fetches box with go-imap, each answer
// under a budget, and compares the messages with msgs.
func checkGoIMAP(t *testing.T, ic *imapclient.Client, g *imapguard.Conn, box string, msgs []testMsg) {
	t.Helper()
	g.Expect(imapguard.Budget{Within: time.Minute, MaxBytes: 1 << 20})
	list, err := ic.List("", "*", nil).Collect()
	if err != nil {
		t.Fatalf("LIST: %v (guard %v)", err, g.Err())
	}
	var names []string
	for _, l := range list {
		names = append(names, l.Mailbox)
	}
	if !strings.Contains(strings.Join(names, "|"), box) {
		t.Errorf("LIST: %q, want %q among them", names, box)
	}
	g.Expect(imapguard.Budget{Within: time.Minute})
	sel, err := ic.Select(box, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT: %v", err)
	}
	if sel.NumMessages != uint32(len(msgs)) {
		t.Errorf("SELECT: %d messages, want %d", sel.NumMessages, len(msgs))
	}
	g.Expect(imapguard.Budget{Within: time.Minute, MinRate: 64 << 10})
	got, err := ic.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatalf("FETCH: %v (guard %v)", err, g.Err())
	}
	if len(got) != len(msgs) {
		t.Fatalf("FETCH: %d messages, want %d", len(got), len(msgs))
	}
	for i, m := range got {
		var body []byte
		for _, b := range m.BodySection {
			body = b.Bytes
		}
		if !bytes.Equal(body, msgs[i].data) {
			t.Errorf("message %d: go-imap read %d bytes, want the %d appended", i+1, len(body), len(msgs[i].data))
		}
	}
	if g.Err() != nil {
		t.Errorf("guard: %v", g.Err())
	}
}

// TestHugeGreeting: a greeting line of a gigabyte (anyone on the path of
// a plain connection can send one before STARTTLS) ends at the line limit,
// with the memory it cost bounded.
func TestHugeGreeting(t *testing.T) {
	cc, sc := net.Pipe()
	defer cc.Close()
	go func() {
		defer sc.Close()
		io.WriteString(sc, "* OK ")
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range (1 << 30) / len(chunk) {
			if _, err := sc.Write(chunk); err != nil {
				return
			}
		}
	}()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := New(cc, Options{})
	runtime.ReadMemStats(&after)
	var le *imapguard.LimitError
	if !errors.As(err, &le) || le.Limit != imapguard.LineLimit || le.Max != maxLine {
		t.Fatalf("New with a 1 GB greeting: %v, want the line limit", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("reading the greeting allocated %d MB", alloc>>20)
	}
}

// TestDovecotStartTLSDetach: STARTTLS, login and COMPRESS on the plain
// port, then go-imap on the detached connection.
func TestDovecotStartTLSDetach(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{Compress: true})
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.TLSConfig()
	cfg.ServerName = "localhost"
	ctx := context.Background()
	bc, err := NewStartTLS(ctx, conn, cfg, Options{})
	if err != nil {
		t.Fatalf("NewStartTLS: %v", err)
	}
	defer bc.Close()
	if err := bc.Login(ctx, srv.User, srv.Password); err != nil {
		t.Fatal(err)
	}
	if !bc.Compressed() {
		t.Fatalf("COMPRESS not in force (caps %v)", bc.Caps())
	}
	if _, err := bc.Select(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs := testMessages(5, 43, -1)
	if _, err := bc.Append(ctx, "INBOX", items(msgs)); err != nil {
		t.Fatal(err)
	}
	nc, err := bc.Detach(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g := imapguard.New(nc, imapguard.Limits{})
	ic := goIMAPOn(t, g, true)
	checkGoIMAP(t, ic, g, "INBOX", msgs)
}
