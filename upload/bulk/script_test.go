package bulk

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// scripted runs server on one end of a pipe and returns a client on the
// other (greeting already read). server reads commands with its
// bufio.Reader and answers on conn.
func scripted(t *testing.T, greeting string, opts Options, server func(br *bufio.Reader, w io.Writer)) *Client {
	t.Helper()
	cc, sc := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer sc.Close()
		io.WriteString(sc, greeting+"\r\n")
		server(bufio.NewReader(sc), sc)
	}()
	c, err := New(cc, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		c.Close()
		<-done
	})
	return c
}

func readCmd(br *bufio.Reader) string {
	l, err := br.ReadString('\n')
	if err != nil {
		return ""
	}
	return strings.TrimRight(l, "\r\n")
}

// TestSyncLiteralRefused: the server answers NO [LIMIT] instead of "+":
// the literal is not sent, the error says LIMIT, and the next command on
// the same connection works.
func TestSyncLiteralRefused(t *testing.T) {
	got := make(chan []string, 1)
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 UIDPLUS] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		var seen []string
		l := readCmd(br) // B1 APPEND "INBOX" {5000}
		seen = append(seen, l)
		io.WriteString(w, "B1 NO [LIMIT] too big\r\n")
		l = readCmd(br) // B2 APPEND "INBOX" (\Seen) "..." {5}
		seen = append(seen, l)
		io.WriteString(w, "+ go ahead\r\n")
		body := make([]byte, 5+2)
		io.ReadFull(br, body)
		seen = append(seen, string(body))
		io.WriteString(w, "* 1 EXISTS\r\nB2 OK [APPENDUID 9 7] done\r\n")
		got <- seen
		readCmd(br)
	})
	ctx := context.Background()
	big := Item{Size: 5000, Open: opener(make([]byte, 5000))}
	cmd, err := c.Submit(ctx, "INBOX", []Item{big})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	_, err = cmd.Wait(ctx)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != "LIMIT" || se.Type != "NO" {
		t.Fatalf("Wait: %v, want NO [LIMIT]", err)
	}
	date := time.Date(2020, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))
	small := Item{Flags: []string{`\Seen`}, Date: date, Size: 5, Open: opener([]byte("hi\r\n\r"))}
	small.Open = opener([]byte("a\r\nb\r"))
	cmd, err = c.Submit(ctx, "INBOX", []Item{small})
	if err != nil {
		t.Fatalf("second Submit: %v", err)
	}
	r, err := cmd.Wait(ctx)
	if err != nil {
		t.Fatalf("second Wait: %v", err)
	}
	if r.UIDValidity != 9 || len(r.UIDs) != 1 || r.UIDs[0] != 7 {
		t.Errorf("result %+v, want UIDVALIDITY 9, UID 7", r)
	}
	seen := <-got
	want := []string{`B1 APPEND "INBOX" {5000}`, `B2 APPEND "INBOX" (\Seen) " 4-Mar-2020 05:06:07 +0100" {5}`, "a\r\nb\r\r\n"}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("server saw %q, want %q", seen[i], want[i])
		}
	}
	if c.Exists() != 1 {
		t.Errorf("Exists() = %d, want 1", c.Exists())
	}
}

// TestByeMidCommand: the server says BYE and closes while an APPEND waits
// for its answer: Wait says the command was sent and may have landed, and
// why the connection ended.
func TestByeMidCommand(t *testing.T) {
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		readCmd(br)
		io.WriteString(w, "* BYE shutting down\r\n")
	})
	ctx := context.Background()
	cmd, err := c.Submit(ctx, "INBOX", []Item{{Size: 3, Open: opener([]byte("x\r\n"))}})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	_, err = cmd.Wait(ctx)
	var lost *LostError
	var bye *ByeError
	if !errors.As(err, &lost) || !lost.Sent || !errors.As(err, &bye) || bye.Text != "shutting down" {
		t.Fatalf("Wait: %v, want a LostError (sent) from BYE", err)
	}
	if _, err := c.Submit(ctx, "INBOX", []Item{{Size: 3, Open: opener([]byte("x\r\n"))}}); !errors.As(err, &lost) || lost.Sent {
		t.Errorf("Submit after BYE: %v, want a LostError (not sent)", err)
	}
}

// TestWrongSize: a body shorter or longer than its Size ends the
// connection (the command cannot be completed), and the command counts as
// not sent; a bad flag is refused before anything is sent.
func TestWrongSize(t *testing.T) {
	tests := []struct {
		name string
		body string
		size int64
	}{
		{"short", "abc", 10},
		{"long", "abcdefghijkl", 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := scripted(t, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
				io.Copy(io.Discard, br)
			})
			ctx := context.Background()
			_, err := c.Submit(ctx, "INBOX", []Item{{Flags: []string{"bad flag"}, Size: 3, Open: opener([]byte("x\r\n"))}})
			if err == nil || c.Err() != nil {
				t.Fatalf("Submit with a bad flag: %v (connection: %v), want an error and a working connection", err, c.Err())
			}
			_, err = c.Submit(ctx, "INBOX", []Item{{Size: tc.size, Open: opener([]byte(tc.body))}})
			var lost *LostError
			if !errors.As(err, &lost) || lost.Sent {
				t.Fatalf("Submit: %v, want a LostError (not sent)", err)
			}
			if c.Err() == nil {
				t.Errorf("the connection still works after a broken literal")
			}
		})
	}
}

// TestInFlightBound: with MaxInFlight 2 the server never sees a third
// APPEND while two are unanswered (it waits a moment for one before it
// answers).
func TestInFlightBound(t *testing.T) {
	maxSeen := make(chan int, 1)
	cc, sc := net.Pipe()
	go func() {
		defer sc.Close()
		io.WriteString(sc, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n")
		br := bufio.NewReader(sc)
		var pending []string
		most := 0
		for answered := 0; answered < 6; {
			if answered+len(pending) < 6 {
				sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				if len(pending) == 0 {
					sc.SetReadDeadline(time.Time{})
				}
				l := readCmd(br)
				sc.SetReadDeadline(time.Time{})
				if l != "" {
					tag, _, _ := strings.Cut(l, " ")
					pending = append(pending, tag)
					io.ReadFull(br, make([]byte, 3+2))
					most = max(most, len(pending))
					continue
				}
			}
			io.WriteString(sc, pending[0]+" OK done\r\n")
			pending = pending[1:]
			answered++
		}
		maxSeen <- most
		readCmd(br)
	}()
	c, err := New(cc, Options{MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var its []Item
	for range 6 {
		its = append(its, Item{Size: 3, Open: opener([]byte("x\r\n"))})
	}
	res, err := c.Append(context.Background(), "INBOX", its)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Errorf("item %d: %v", i, r.Err)
		}
	}
	if m := <-maxSeen; m != 2 {
		t.Errorf("server saw at most %d APPENDs in flight, want 2", m)
	}
}
