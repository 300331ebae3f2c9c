package bulk

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The scripted servers below read every command of a flight before they
// answer any: a client that waited for an answer in between would never
// send the rest, and the test's deadline would end it.

// TestDiscoverFlight: NAMESPACE, LIST and Detach's CAPABILITY go out
// together; when Detach returns, the first two are answered and their
// results complete.
func TestDiscoverFlight(t *testing.T) {
	got := make(chan []string, 1)
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 NAMESPACE] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		lines := []string{readCmd(br), readCmd(br), readCmd(br)}
		got <- lines
		io.WriteString(w, "* NAMESPACE ((\"INBOX.\" \".\")) NIL NIL\r\nB1 OK done\r\n")
		io.WriteString(w, "* LIST () \".\" INBOX\r\n* LIST (\\HasNoChildren) \".\" INBOX.Sent\r\nB2 OK done\r\n")
		io.WriteString(w, "* CAPABILITY IMAP4rev1 NAMESPACE MULTIAPPEND\r\nB3 OK done\r\n")
		readCmd(br)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ns, err := c.StartNamespace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.StartList(ctx, "", "*", false)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.Detach(ctx)
	if err != nil {
		t.Fatalf("Detach: %v", err)
	}
	defer conn.Close()
	if l := <-got; l[0] != "B1 NAMESPACE" || l[1] != `B2 LIST "" "*"` || l[2] != "B3 CAPABILITY" {
		t.Errorf("the server read %q", l)
	}
	prefix, delim, ok, err := ns.Wait(ctx)
	if err != nil || !ok || prefix != "INBOX." || delim != '.' {
		t.Errorf("namespace %q %q %v %v, want INBOX. and .", prefix, delim, ok, err)
	}
	folders, bad, err := list.Wait(ctx)
	if err != nil || len(bad) != 0 || len(folders) != 2 || folders[1].Name != "INBOX.Sent" {
		t.Errorf("list %+v %v %v, want INBOX and INBOX.Sent", folders, bad, err)
	}
	greeting, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* PREAUTH [CAPABILITY IMAP4rev1 NAMESPACE MULTIAPPEND]") {
		t.Errorf("greeting %q %v", greeting, err)
	}
}

// TestSelectThenAppendFlight: the first APPEND goes out behind
// SelectNoWait's SELECT; both answers arrive.
func TestSelectThenAppendFlight(t *testing.T) {
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1 LITERAL+] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		if l := readCmd(br); l != `B1 SELECT "INBOX"` {
			io.WriteString(w, "* BAD want SELECT, got "+l+"\r\n")
			return
		}
		if l := readCmd(br); !strings.HasPrefix(l, `B2 APPEND "INBOX"`) {
			io.WriteString(w, "* BAD want APPEND, got "+l+"\r\n")
			return
		}
		io.ReadFull(br, make([]byte, 5+2))
		io.WriteString(w, "* 0 EXISTS\r\n* OK [UIDVALIDITY 7] x\r\nB1 OK [READ-WRITE] selected\r\n")
		io.WriteString(w, "* 1 EXISTS\r\nB2 OK [APPENDUID 7 1] stored\r\n")
		readCmd(br)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sel, err := c.SelectNoWait(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := c.Submit(ctx, "INBOX", []Item{{Size: 5, Open: opener([]byte("a\r\nb\r"))}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cmd.Wait(ctx)
	if err != nil || len(res.UIDs) != 1 || res.UIDs[0] != 1 {
		t.Fatalf("APPEND: %+v %v", res, err)
	}
	if _, err := sel.Wait(ctx); err != nil {
		t.Errorf("SELECT: %v", err)
	}
}

// TestNewLoggedInWithCaps: a client given the capabilities asks for none;
// it knows MULTIAPPEND from them.
func TestNewLoggedInWithCaps(t *testing.T) {
	cc, sc := net.Pipe()
	first := make(chan string, 1)
	go func() {
		defer sc.Close()
		br := bufio.NewReader(sc)
		l := readCmd(br)
		first <- l
		io.WriteString(sc, "B1 OK [READ-WRITE] selected\r\n")
		readCmd(br)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := NewLoggedIn(ctx, cc, Options{}, []string{"IMAP4rev1", "MULTIAPPEND", "LITERAL+"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.MultiAppend() {
		t.Error("MULTIAPPEND not known from the capabilities given")
	}
	if _, err := c.Select(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	if l := <-first; l != `B1 SELECT "INBOX"` {
		t.Errorf("first command %q, want the SELECT (no CAPABILITY)", l)
	}
}
