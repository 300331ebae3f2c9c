package fakeimap

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// raw is a hand-driven client, to see exactly what the server sends.
type raw struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
	n  int
}

func dial(t *testing.T, s *Server) *raw {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, br: bufio.NewReaderSize(c, 64<<10)}
}

// greet dials and reads the greeting.
func greet(t *testing.T, s *Server) *raw {
	t.Helper()
	r := dial(t, s)
	if g := r.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return r
}

func (r *raw) line() string {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	l, err := r.br.ReadString('\n')
	if err != nil {
		r.t.Fatalf("read: %v (after %.100q)", err, l)
	}
	return strings.TrimRight(l, "\r\n")
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := r.c.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// cmd sends a command and returns its untagged lines and tagged answer.
func (r *raw) cmd(format string, args ...any) ([]string, string) {
	r.t.Helper()
	r.n++
	tag := fmt.Sprintf("T%d", r.n)
	r.send(tag + " " + fmt.Sprintf(format, args...) + "\r\n")
	var untagged []string
	for {
		l := r.line()
		if strings.HasPrefix(l, tag+" ") {
			return untagged, strings.TrimPrefix(l, tag+" ")
		}
		untagged = append(untagged, l)
	}
}

func (r *raw) login(s *Server) {
	r.t.Helper()
	if _, got := r.cmd("LOGIN %s %s", s.User, s.Password); !strings.HasPrefix(got, "OK") {
		r.t.Fatalf("LOGIN: %s", got)
	}
}

// appendMsg appends with a non-synchronizing literal and returns the
// tagged answer.
func (r *raw) appendMsg(msg string) string {
	r.t.Helper()
	_, got := r.cmd("APPEND INBOX {%d+}\r\n%s", len(msg), msg)
	return got
}

// silent reports whether nothing arrives for d.
func (r *raw) silent(d time.Duration) bool {
	_ = r.c.SetReadDeadline(time.Now().Add(d))
	_, err := r.br.ReadByte()
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// eof reports whether the server ended the connection, after any lines
// still buffered; it returns those lines.
func (r *raw) eof() (bool, []string) {
	var lines []string
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		l, err := r.br.ReadString('\n')
		if l != "" {
			lines = append(lines, strings.TrimRight(l, "\r\n"))
		}
		if err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout()), lines
		}
	}
}

// stored reads what the honest server holds in INBOX, bypassing the
// Behaviour.
func stored(t *testing.T, s *Server) [][]byte {
	t.Helper()
	c, err := imapclient.DialInsecure(s.BackendAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	data, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, m := range msgs {
		out = append(out, m.FindBodySection(body))
	}
	return out
}

func TestHonestAndTLS(t *testing.T) {
	s := Start(t, Honest())
	r := greet(t, s)
	r.login(s)
	if got := r.appendMsg("Subject: x\r\n\r\nbody"); !strings.HasPrefix(got, "OK") {
		t.Fatalf("APPEND: %s", got)
	}
	if got := stored(t, s); len(got) != 1 || string(got[0]) != "Subject: x\r\n\r\nbody" {
		t.Errorf("stored %q", got)
	}
	// A TLS client against this plaintext server (imaps:// pointing at
	// it) fails the handshake.
	c, err := tls.Dial("tcp", s.Addr, &tls.Config{ServerName: "127.0.0.1"})
	if err == nil {
		c.Close()
		t.Errorf("TLS handshake with a plaintext server succeeded")
	}

	ts := StartTLS(t, Honest())
	tc, err := tls.Dial("tcp", ts.Addr, &tls.Config{RootCAs: ts.CAPool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("TLS: %v", err)
	}
	defer tc.Close()
	l, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "* OK ") {
		t.Errorf("greeting over TLS: %q, %v", l, err)
	}
	// A plain client against the TLS server waits for a greeting that is
	// not coming.
	if r := dial(t, ts); !r.silent(300 * time.Millisecond) {
		t.Errorf("a TLS server greeted a plain client")
	}
}

func TestPoison(t *testing.T) {
	tests := []struct {
		b      Behaviour
		bye    bool
		stored bool
	}{
		{PoisonBye("X-Poison", false), true, false},
		{PoisonBye("X-Poison", true), true, true},
		{PoisonCrash("X-Poison", false), false, false},
		{PoisonCrash("X-Poison", true), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.b.Name, func(t *testing.T) {
			s := Start(t, tt.b)
			for round := 0; round < 2; round++ { // every time
				r := greet(t, s)
				r.login(s)
				if got := r.appendMsg("Subject: fine\r\n\r\nx"); !strings.HasPrefix(got, "OK") {
					t.Fatalf("harmless APPEND: %s", got)
				}
				r.send("P1 APPEND INBOX {28+}\r\nSubject: x\r\nX-Poison: 1\r\n\r\nx\r\n")
				closed, lines := r.eof()
				if !closed {
					t.Fatalf("connection still open after the poison APPEND")
				}
				gotBye := len(lines) == 1 && strings.HasPrefix(lines[0], "* BYE ")
				if gotBye != tt.bye || len(lines) > 1 || len(lines) == 1 && !gotBye {
					t.Errorf("round %d: after the poison APPEND: %q, want BYE %v and no tagged answer", round, lines, tt.bye)
				}
			}
			want := 2
			if tt.stored {
				want = 4
			}
			if got := stored(t, s); len(got) != want {
				t.Errorf("server holds %d messages, want %d", len(got), want)
			}
			if s.Hits() != 2 {
				t.Errorf("Hits = %d, want 2", s.Hits())
			}
		})
	}
}

func TestMalformedTagged(t *testing.T) {
	s := Start(t, MalformedTagged("APPEND", "{tag} OK [APPENDUID 38505"))
	r := greet(t, s)
	r.login(s)
	if got := r.appendMsg("Subject: x\r\n\r\n"); got != "OK [APPENDUID 38505" {
		t.Errorf("APPEND answered %q", got)
	}
	if _, got := r.cmd("NOOP"); !strings.HasPrefix(got, "OK") {
		t.Errorf("NOOP: %q (other commands are answered honestly)", got)
	}
}

func TestHugeLine(t *testing.T) {
	const size = 32 << 20
	s := Start(t, HugeLine("SELECT", size, 0))
	r := greet(t, s)
	r.login(s)
	r.send("T1 SELECT INBOX\r\n")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	head := make([]byte, 5)
	if _, err := io.ReadFull(r.br, head); err != nil || string(head) != "* OK " {
		t.Fatalf("start of the line: %q, %v", head, err)
	}
	_ = r.c.SetReadDeadline(time.Now().Add(time.Minute))
	n, err := io.CopyN(io.Discard, &onlyByte{r: r.br, b: 'x'}, size)
	if err != nil || n != size {
		t.Fatalf("read %d bytes of x, %v", n, err)
	}
	if rest := r.line(); rest != "" {
		t.Errorf("line did not end after %d bytes: %.40q", size, rest)
	}
	if l := r.line(); l != "T1 OK done" {
		t.Errorf("tagged answer %q", l)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if after.HeapInuse > before.HeapInuse+8<<20 {
		t.Errorf("heap grew from %d to %d MiB streaming %d MiB", before.HeapInuse>>20, after.HeapInuse>>20, size>>20)
	}
}

// onlyByte reads r and fails on any byte other than b.
type onlyByte struct {
	r io.Reader
	b byte
}

func (o *onlyByte) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	if bytes.Count(p[:n], []byte{o.b}) != n {
		i := bytes.IndexFunc(p[:n], func(r rune) bool { return r != rune(o.b) })
		return i, fmt.Errorf("byte %q, want only %q", p[i], o.b)
	}
	return n, err
}

// TestRateAndPromptClose: a 1 GiB line at 200 KB/s arrives at that rate,
// and Close ends it at once.
func TestRateAndPromptClose(t *testing.T) {
	s := Start(t, HugeLine("LIST", 1<<30, 200_000))
	r := greet(t, s)
	r.login(s)
	r.send(`T1 LIST "" "*"` + "\r\n")
	start := time.Now()
	var got int64
	buf := make([]byte, 4096)
	for time.Since(start) < 500*time.Millisecond {
		_ = r.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := r.br.Read(buf)
		got += int64(n)
	}
	if got < 20_000 || got > 250_000 {
		t.Errorf("received %d bytes in 0.5 s at 200 KB/s", got)
	}
	closeStart := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(closeStart); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if closed, _ := r.eof(); !closed {
		t.Errorf("connection open after Close")
	}
}

func TestHugeFolderName(t *testing.T) {
	for _, literal := range []bool{false, true} {
		t.Run(fmt.Sprint("literal ", literal), func(t *testing.T) {
			const size = 3 << 20
			s := Start(t, HugeFolderName(size, 0, literal))
			r := greet(t, s)
			r.login(s)
			r.send(`T1 LIST "" "*"` + "\r\n")
			l := r.line()
			want := `* LIST () "/" "` + strings.Repeat("a", size) + `"`
			if literal {
				want = fmt.Sprintf(`* LIST () "/" {%d}`, size)
				if l != want {
					t.Fatalf("LIST line %.60q", l)
				}
				l = r.line()
				want = strings.Repeat("a", size)
			}
			if l != want {
				t.Errorf("LIST answer of %d bytes, want %d", len(l), len(want))
			}
			if l := r.line(); l != "T1 OK LIST done" {
				t.Errorf("tagged answer %q", l)
			}
		})
	}
}

func TestHugeLiteral(t *testing.T) {
	s := Start(t, HugeLiteral(1<<62))
	r := greet(t, s)
	r.login(s)
	r.cmd("SELECT INBOX")
	r.send("T9 UID FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER])\r\n")
	if l := r.line(); l != "* 1 FETCH (UID 1 RFC822.SIZE 100 BODY[HEADER] {4611686018427387904}" {
		t.Errorf("FETCH answer %q", l)
	}
	if l := r.line(); l != "From: a" {
		t.Errorf("literal start %q", l)
	}
	if !r.silent(300 * time.Millisecond) {
		t.Errorf("more came after the literal's first bytes")
	}
}

func TestDeepNesting(t *testing.T) {
	const depth = 10_000_000
	s := Start(t, DeepNesting(depth))
	r := greet(t, s)
	r.login(s)
	r.cmd("SELECT INBOX")
	r.send("T9 FETCH 1 (BODYSTRUCTURE)\r\n")
	head := "* 1 FETCH (UID 1 BODYSTRUCTURE "
	got := make([]byte, len(head))
	if _, err := io.ReadFull(r.br, got); err != nil || string(got) != head {
		t.Fatalf("start %q, %v", got, err)
	}
	_ = r.c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.CopyN(io.Discard, &onlyByte{r: r.br, b: '('}, depth); err != nil {
		t.Fatalf("opening parentheses: %v", err)
	}
	if _, err := io.CopyN(io.Discard, &onlyByte{r: r.br, b: ')'}, depth+1); err != nil {
		t.Fatalf("closing parentheses: %v", err)
	}
	if l := r.line(); l != "" {
		t.Errorf("line goes on: %.40q", l)
	}
	if l := r.line(); l != "T9 OK FETCH done" {
		t.Errorf("tagged answer %q", l)
	}
}

func TestKeepalive(t *testing.T) {
	s := Start(t, Keepalive("APPEND", 50*time.Millisecond))
	r := greet(t, s)
	r.login(s)
	r.send("T1 APPEND INBOX {14}\r\n")
	if l := r.line(); l != "+ go ahead" {
		t.Fatalf("continuation %q", l)
	}
	r.send("Subject: x\r\n\r\n\r\n")
	start := time.Now()
	for i := 0; i < 4; i++ {
		if l := r.line(); l != "* OK Still here" {
			t.Fatalf("line %d: %q", i, l)
		}
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Errorf("4 keepalives took %v, want about 200 ms", d)
	}
	if len(stored(t, s)) != 0 {
		t.Errorf("the never-completing APPEND stored a message")
	}
}

func TestSlowHeader(t *testing.T) {
	s := Start(t, SlowHeader(2<<30, 1<<20))
	r := greet(t, s)
	r.login(s)
	r.cmd("SELECT INBOX")
	r.send("T9 FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER])\r\n")
	if l := r.line(); l != "* 1 FETCH (UID 1 RFC822.SIZE 2147483650 BODY[HEADER] {2147483648}" {
		t.Fatalf("FETCH answer %q", l)
	}
	if l := r.line(); l != "X-Filler: "+strings.Repeat("a", 68) {
		t.Errorf("first header line %q", l)
	}
	start := time.Now()
	var got int64
	buf := make([]byte, 4096)
	for time.Since(start) < 500*time.Millisecond {
		_ = r.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, _ := r.br.Read(buf)
		got += int64(n)
	}
	if got < 200_000 || got > 1_000_000 {
		t.Errorf("received %d bytes in 0.5 s at 1 MB/s", got)
	}
}

func TestBadUTF7(t *testing.T) {
	s := Start(t, BadUTF7())
	r := greet(t, s)
	r.login(s)
	u, got := r.cmd(`LIST "" "*"`)
	if !strings.HasPrefix(got, "OK") {
		t.Fatalf("LIST: %s", got)
	}
	var names []string
	for _, l := range u {
		if i := strings.LastIndex(l, ` "/" `); i >= 0 {
			names = append(names, strings.Trim(l[i+5:], `"`))
		}
	}
	if want := append([]string{"INBOX"}, InvalidUTF7Names...); fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("LIST names %q, want %q", names, want)
	}
}

func TestLyingPrescan(t *testing.T) {
	s := Start(t, LyingPrescan(1))
	r := greet(t, s)
	r.login(s)
	for i := 0; i < 3; i++ {
		r.appendMsg(fmt.Sprintf("Subject: %d\r\n\r\n", i))
	}
	if u, _ := r.cmd("SELECT INBOX"); !hasLine(u, "* 3 EXISTS") {
		t.Errorf("SELECT: %q", u)
	}
	u, got := r.cmd("FETCH 1:* (RFC822.SIZE BODY.PEEK[HEADER])")
	var seqs []string
	for _, l := range u {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "*" && f[2] == "FETCH" {
			seqs = append(seqs, f[1])
		}
	}
	if !strings.HasPrefix(got, "OK") || fmt.Sprint(seqs) != "[2 3]" {
		t.Errorf("pre-scan FETCH answered messages %q (%s), want 2 and 3 (the first hidden)", seqs, got)
	}
	if u, _ := r.cmd("STATUS INBOX (MESSAGES)"); len(u) != 1 || !strings.Contains(u[0], "MESSAGES 3") {
		t.Errorf("STATUS: %q", u)
	}
	if u, _ := r.cmd("FETCH 1:* (FLAGS)"); len(u) != 3 {
		t.Errorf("a FETCH without RFC822.SIZE: %q, want all 3", u)
	}
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestFlipBodyByte(t *testing.T) {
	s := Start(t, FlipBodyByte())
	r := greet(t, s)
	r.login(s)
	r.appendMsg("Subject: x\r\n\r\nbody")
	got := stored(t, s)
	if len(got) != 1 || string(got[0]) != "Subject: x\r\n\r\ncody" {
		t.Errorf("stored %q, want the body's first byte changed", got)
	}
}

func TestControlText(t *testing.T) {
	s := Start(t, ControlText("LOGIN", ""))
	r := greet(t, s)
	r.send("T1 LOGIN a b\r\n")
	want := "T1 NO " + NastyText + "\r\n"
	got := make([]byte, len(want))
	_ = r.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(r.br, got); err != nil || string(got) != want {
		t.Errorf("LOGIN answered %q, %v; want %q", got, err, want)
	}

	s2 := Start(t, ControlText("APPEND", "no\x00way"))
	r2 := greet(t, s2)
	r2.login(s2)
	if got := r2.appendMsg("Subject: x\r\n\r\n"); got != "NO no\x00way" {
		t.Errorf("APPEND answered %q", got)
	}
	if _, got := r2.cmd("NOOP"); !strings.HasPrefix(got, "OK") {
		t.Errorf("NOOP after the refused APPEND: %q", got)
	}
}

func TestStartTLSRefused(t *testing.T) {
	s := Start(t, StartTLSRefused(""))
	r := dial(t, s)
	if g := r.line(); !strings.Contains(g, " STARTTLS]") {
		t.Errorf("greeting without STARTTLS: %q", g)
	}
	if u, _ := r.cmd("CAPABILITY"); len(u) != 1 || !strings.HasSuffix(u[0], " STARTTLS") {
		t.Errorf("CAPABILITY: %q", u)
	}
	r.send("T9 STARTTLS\r\n")
	if l := r.line(); l != "T9 NO "+NastyText[:strings.IndexByte(NastyText, '\n')] {
		t.Errorf("STARTTLS answered %q", l)
	}
	if l := r.line(); l != NastyText[strings.IndexByte(NastyText, '\n')+1:] {
		t.Errorf("after the LF: %q", l)
	}
}

func TestNoGreeting(t *testing.T) {
	s := Start(t, NoGreeting())
	r := dial(t, s)
	if !r.silent(300 * time.Millisecond) {
		t.Errorf("something arrived")
	}
	r.send("T1 CAPABILITY\r\n")
	if !r.silent(200 * time.Millisecond) {
		t.Errorf("an answer arrived")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if closed, _ := r.eof(); !closed {
		t.Errorf("connection open after Close")
	}
}
