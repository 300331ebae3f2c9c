package bulk

import (
	"bytes"
	"context"
	"errors"
	"log"
	"net"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// startMem runs go-imap's memory server with caps on 127.0.0.1 and returns
// its address. User "u", password "p", mailboxes INBOX and "Entwürfe".
func startMem(t testing.TB, caps imap.CapSet) string {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("u", "p")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	if err := user.Create("Entwürfe", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: true,
		Logger:       log.New(discard{}, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// memFetch reads every message of mailbox back through go-imap.
func memFetch(t testing.TB, addr, mailbox string) []*imapclient.FetchMessageBuffer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select(mailbox, nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var all imap.SeqSet
	all.AddRange(1, 0)
	msgs, err := c.Fetch(all, &imap.FetchOptions{
		UID: true, Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil && len(msgs) == 0 && !errors.Is(err, context.Canceled) {
		// An empty mailbox answers the range with NO on some servers.
		return nil
	}
	return msgs
}

// TestMemServer appends pipelined (no MULTIAPPEND in go-imap's server)
// with LITERAL- (synchronizing literals above 4 KB) and LITERAL+, into a
// mailbox with a non-ASCII name, and reads everything back.
func TestMemServer(t *testing.T) {
	tests := []struct {
		name     string
		caps     imap.CapSet
		opts     Options
		wantCaps []string // announced after login
	}{
		{"LITERAL-", imap.CapSet{imap.CapIMAP4rev1: {}}, Options{}, []string{"LITERAL-"}},
		{"LITERAL+ and UIDPLUS", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapLiteralPlus: {}, imap.CapUIDPlus: {}}, Options{}, []string{"LITERAL+", "UIDPLUS"}},
		{"synchronizing only", imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapLiteralPlus: {}}, Options{NoLiteralPlus: true, MaxInFlight: 2}, []string{"LITERAL+"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := startMem(t, tc.caps)
			c := login(t, addr, "u", "p", "Entwürfe", tc.opts)
			if c.MultiAppend() {
				t.Fatalf("MultiAppend() = true on a server without MULTIAPPEND")
			}
			for _, capa := range tc.wantCaps {
				if !c.Has(capa) {
					t.Errorf("after login: %s not among %v", capa, c.Caps())
				}
			}
			msgs := testMessages(40, 11, 0.1)
			res, err := c.Append(context.Background(), "Entwürfe", items(msgs))
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			for i, r := range res {
				if r.Err != nil {
					t.Errorf("item %d: %v", i, r.Err)
				}
				if r.Batch != i {
					t.Errorf("item %d: batch %d, want one APPEND per message", i, r.Batch)
				}
			}
			got := memFetch(t, addr, "Entwürfe")
			if len(got) != len(msgs) {
				t.Fatalf("server holds %d messages, want %d", len(got), len(msgs))
			}
			uidplus := c.Has("UIDPLUS")
			for i, m := range got {
				want := msgs[i]
				body := m.FindBodySection(&imap.FetchItemBodySection{})
				if !bytes.Equal(body, want.data) {
					t.Errorf("message %d: stored bytes differ (%d vs %d bytes)", i+1, len(body), len(want.data))
				}
				var flags []string
				for _, f := range m.Flags {
					flags = append(flags, string(f))
				}
				if !sameFlags(flags, want.flags) {
					t.Errorf("message %d: flags %q, want %q", i+1, flags, want.flags)
				}
				if !m.InternalDate.Equal(want.date) {
					t.Errorf("message %d: internal date %v, want %v", i+1, m.InternalDate, want.date)
				}
				if uidplus && (res[i].UID == 0 || uint32(m.UID) != res[i].UID) {
					t.Errorf("message %d: UID %d, APPENDUID said %d", i+1, m.UID, res[i].UID)
				}
			}
			if n := c.Exists(); n != uint32(len(msgs)) {
				t.Errorf("Exists() = %d, want %d", n, len(msgs))
			}
			if err := c.Logout(context.Background()); err != nil {
				t.Errorf("Logout: %v", err)
			}
		})
	}
}

// TestMemServerMultiAppendRefused: Submit of several items without
// MULTIAPPEND is refused before anything is sent.
func TestMemServerMultiAppendRefused(t *testing.T) {
	addr := startMem(t, imap.CapSet{imap.CapIMAP4rev1: {}})
	c := login(t, addr, "u", "p", "INBOX", Options{})
	_, err := c.Submit(context.Background(), "INBOX", items(testMessages(2, 1, -1)))
	if !errors.Is(err, ErrNoMultiAppend) {
		t.Fatalf("Submit of 2 items: %v, want ErrNoMultiAppend", err)
	}
	if c.Err() != nil {
		t.Errorf("the connection ended: %v", c.Err())
	}
}
