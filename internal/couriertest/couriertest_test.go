package couriertest_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/couriertest"
	"mailferry/internal/daemontest"
	"mailferry/internal/testutil"
)

func appendMessage(t *testing.T, c *imapclient.Client, mailbox string, msg string, opts *imap.AppendOptions) *imap.AppendData {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatalf("APPEND to %q: %v", mailbox, err)
	}
	return data
}

// TestMailboxNames records how Courier answers CREATE: its one namespace
// is "INBOX." with ".", a name outside it, with "/" or with an empty level
// is refused with a bare NO (no response code), an existing name too (not
// [ALREADYEXISTS]), and a nested name is made without its parent (which
// LIST shows as \Noselect). Names are stored in UTF-8 on disk.
func TestMailboxNames(t *testing.T) {
	t.Parallel()
	srv := couriertest.Start(t, couriertest.Config{})
	c := srv.Dial(t)
	if err := c.Create("INBOX.Dup", nil).Wait(); err != nil {
		t.Fatalf("CREATE INBOX.Dup: %v", err)
	}
	refused := []struct{ name, text string }{
		{"Projects", "Invalid mailbox name."},
		{"INBOX.a/b", "Invalid mailbox name."},
		{"INBOX.a..b", "Invalid mailbox name."},
		{"INBOX", "INBOX already exists!"},
		{"INBOX.Dup", "Cannot create this folder."},
		{"#shared.x", `Access denied for CREATE on #shared.x (ACL "c" required)`},
	}
	for _, r := range refused {
		err := c.Create(r.name, nil).Wait()
		var imapErr *imap.Error
		if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo || imapErr.Text != r.text || imapErr.Code != "" {
			t.Errorf("CREATE %q = %v, want NO %q without a response code", r.name, err, r.text)
		}
	}
	for _, name := range []string{"INBOX.Projects.2024", "INBOX.Entwürfe", "inbox.lower", "INBOX.a b:c", "INBOX.Trash", "INBOX.Sent"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Errorf("CREATE %q: %v", name, err)
		}
	}
	want := []string{"INBOX", "INBOX.Dup", "INBOX.Entwürfe", "INBOX.Projects.2024", "INBOX.Sent", "INBOX.Trash", "INBOX.a b:c", "INBOX.lower"}
	if got := srv.Mailboxes(t); !slices.Equal(got, want) {
		t.Errorf("Mailboxes() = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(srv.Maildir, ".Entwürfe", "cur")); err != nil {
		t.Errorf("folder directory not in UTF-8: %v", err)
	}
	list, err := c.List("", "INBOX.Projects", nil).Collect()
	if err != nil || len(list) != 1 || !slices.Contains(list[0].Attrs, imap.MailboxAttrNoSelect) {
		t.Errorf(`LIST "" INBOX.Projects = %+v, %v; want one \Noselect`, list, err)
	}
	// LIST-EXTENDED syntax is a syntax error here.
	_, err = c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true}).Collect()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Text != "Error in IMAP command received by server." {
		t.Errorf("LIST ... RETURN (SPECIAL-USE) = %v, want NO Error in IMAP command received by server.", err)
	}
	if err := c.Subscribe("INBOX.Entwürfe").Wait(); err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if got := srv.Subscribed(t); !slices.Equal(got, []string{"INBOX.Entwürfe"}) {
		t.Errorf("Subscribed() = %q, want [INBOX.Entwürfe]", got)
	}
}

// TestConnectionLimit checks MaxPerIP: one connection over the limit is
// accepted and closed before any greeting (the client reads EOF, or
// ECONNRESET when its write reached the closed socket first), and a slot
// frees when a connection ends.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	srv := couriertest.Start(t, couriertest.Config{MaxPerIP: 2})
	greet := func() (net.Conn, string, error) {
		conn, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
		if err != nil {
			return nil, "", err
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(conn).ReadString('\n')
		return conn, line, err
	}
	var open []net.Conn
	for i := range 2 {
		conn, line, err := greet()
		if err != nil || !strings.HasPrefix(line, "* OK") {
			t.Fatalf("connection %d: %q, %v; want a greeting", i+1, line, err)
		}
		open = append(open, conn)
	}
	conn, line, err := greet()
	if line != "" || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("connection 3 over MaxPerIP 2: read %q, %v; want the connection closed before a greeting", line, err)
	}
	if conn != nil {
		conn.Close()
	}
	open[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, line, err := greet()
		if err == nil && strings.HasPrefix(line, "* OK") {
			conn.Close()
			break
		}
		if conn != nil {
			conn.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("no greeting after a connection closed: %q, %v", line, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	open[1].Close()
}

// TestFlagsAndKeywords checks the ground truth against IMAP after flags
// and keywords change (Courier writes keyword updates as files of their
// own beside courierimapkeywords/:list).
func TestFlagsAndKeywords(t *testing.T) {
	t.Parallel()
	srv := couriertest.Start(t, couriertest.Config{})
	c := srv.Dial(t)
	msg := "Subject: k\r\n\r\nbody\r\n"
	appendMessage(t, c, "INBOX", msg, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "$Forwarded", "alpha"}})
	appendMessage(t, c, "INBOX", msg, &imap.AppendOptions{Flags: []imap.Flag{imap.FlagDraft}})
	appendMessage(t, c, "INBOX", msg, nil)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	stores := []struct {
		seq  uint32
		op   imap.StoreFlagsOp
		flag []imap.Flag
	}{
		{1, imap.StoreFlagsDel, []imap.Flag{"alpha"}},
		{1, imap.StoreFlagsAdd, []imap.Flag{"beta", imap.FlagFlagged}},
		{2, imap.StoreFlagsAdd, []imap.Flag{"gamma", imap.FlagAnswered}},
		{3, imap.StoreFlagsAdd, []imap.Flag{imap.FlagDeleted}},
	}
	for _, s := range stores {
		if err := c.Store(imap.SeqSetNum(s.seq), &imap.StoreFlags{Op: s.op, Flags: s.flag, Silent: true}, nil).Close(); err != nil {
			t.Fatalf("STORE %d: %v", s.seq, err)
		}
	}
	msgs, err := c.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{UID: true, Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	stored := srv.Fetch(t, "INBOX")
	if len(stored) != 3 {
		t.Fatalf("ground truth: %d messages, want 3", len(stored))
	}
	want := [][]string{{"$Forwarded", `\Flagged`, `\Seen`, "beta"}, {`\Answered`, `\Draft`, "gamma"}, {`\Deleted`}}
	for i, m := range msgs {
		var imapFlags []string
		for _, f := range m.Flags {
			if f != `\Recent` {
				imapFlags = append(imapFlags, string(f))
			}
		}
		slices.Sort(imapFlags)
		if !slices.Equal(imapFlags, want[i]) {
			t.Errorf("IMAP flags of %d = %q, want %q", i+1, imapFlags, want[i])
		}
		if got := stored[i].SortedFlags(); !slices.Equal(got, want[i]) {
			t.Errorf("stored flags of %d = %q, want %q", i+1, got, want[i])
		}
		if uint32(m.UID) != stored[i].UID {
			t.Errorf("message %d: IMAP UID %d, stored UID %d", i+1, m.UID, stored[i].UID)
		}
	}
}

// TestUsersAndEnv checks several users with their own Maildirs and
// passwords, and that Config.Env reaches imapd.
func TestUsersAndEnv(t *testing.T) {
	t.Parallel()
	srv := couriertest.Start(t, couriertest.Config{
		Users: []daemontest.User{{Name: "alice", Password: "alice-pw"}, {Name: "bob"}},
		// TLS sessions (STARTTLS or implicit) announce IMAP_CAPABILITY_TLS.
		Env: map[string]string{"IMAP_CAPABILITY": "IMAP4rev1 UIDPLUS NAMESPACE", "IMAP_CAPABILITY_TLS": "IMAP4rev1 UIDPLUS NAMESPACE XTESTCAP"},
	})
	if srv.User != "alice" || srv.Password != "alice-pw" || srv.Users[1].Password == "" {
		t.Fatalf("users = %+v", srv.Users)
	}
	c := srv.Dial(t)
	caps, err := c.Capability().Wait()
	if err != nil || !caps.Has("XTESTCAP") || caps.Has(imap.CapIdle) {
		t.Errorf("CAPABILITY = %v, %v; want Env's IMAP_CAPABILITY (XTESTCAP, no IDLE)", caps, err)
	}
	appendMessage(t, c, "INBOX", "Subject: for alice\r\n\r\n.\r\n", nil)

	bob, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := bob.Login("bob", srv.Users[1].Password).Wait(); err != nil {
		t.Fatalf("LOGIN bob: %v", err)
	}
	st, err := bob.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil || *st.NumMessages != 0 {
		t.Errorf("bob's INBOX: %+v, %v; want empty", st, err)
	}
	if got := srv.Fetch(t, "INBOX"); len(got) != 1 {
		t.Errorf("alice's ground truth: %d messages, want 1", len(got))
	}
	if got, err := srv.MaildirOf("bob").FetchAll(); err != nil || len(got) != 0 {
		t.Errorf("bob's ground truth: %d messages, %v; want none", len(got), err)
	}
}

// TestRestart checks that Restart keeps the ports and the mail.
func TestRestart(t *testing.T) {
	t.Parallel()
	srv := couriertest.Start(t, couriertest.Config{})
	appendMessage(t, srv.Dial(t), "INBOX", "Subject: kept\r\n\r\n.\r\n", nil)
	addr := srv.TLSAddr
	srv.Restart(t)
	if srv.TLSAddr != addr {
		t.Errorf("TLSAddr %s after Restart, was %s", srv.TLSAddr, addr)
	}
	st, err := srv.Dial(t).Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || *st.NumMessages != 1 {
		t.Errorf("after Restart: %+v, %v; want 1 message", st, err)
	}
}

// TestEmptyTrash shows what Debian's IMAP_EMPTYTRASH=Trash:7 does: at
// every login Courier deletes the messages of INBOX.Trash whose file
// changed status (ctime: arrival, or a flag change, which renames the
// file) more than 7 days ago; the internal date plays no part. The test
// runs imapd 8 days in the future (libfaketime) over a Maildir written
// just now; Courier's clock-skew check then ends the session, but only
// after the purge.
func TestEmptyTrash(t *testing.T) {
	t.Parallel()
	const faketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
	if _, err := os.Stat(faketime); err != nil {
		testutil.SkipOrFail(t, "libfaketime is not installed (Debian: apt-get install libfaketime): %v", err)
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		wantAll bool // nothing purged
	}{
		{"now", nil, true},
		{"8 days later", map[string]string{"LD_PRELOAD": faketime, "FAKETIME": "+8d", "NO_FAKE_STAT": "1"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, err := daemontest.ShortTempDir("couriertest-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			if os.Geteuid() != 0 {
				testutil.SkipOrFail(t, "couriertest needs root")
			}
			srv, err := couriertest.Setup(dir, couriertest.Config{Env: tt.env})
			if err != nil {
				testutil.SkipOrFail(t, "couriertest: %v", err)
			}
			// Messages with an internal date a month old, which arrived now.
			old := time.Now().Add(-30 * 24 * time.Hour)
			for _, folder := range []string{".Trash", ".Keep"} {
				for _, sub := range []string{"cur", "new", "tmp"} {
					if err := os.MkdirAll(filepath.Join(srv.Maildir, folder, sub), 0o700); err != nil {
						t.Fatal(err)
					}
				}
				p := filepath.Join(srv.Maildir, folder, "cur", "1700000000.M1P1.test:2,S")
				if err := os.WriteFile(p, []byte("Subject: old\n\nbody\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			uid, gid, err := daemontest.SystemUser("courier")
			if err != nil {
				t.Fatal(err)
			}
			if err := daemontest.ChownAll(srv.Maildir, uid, gid); err != nil {
				t.Fatal(err)
			}
			if err := srv.Run(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Stop() })
			c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			loginErr := c.Login(srv.User, srv.Password).Wait()
			var left []string
			for _, m := range srv.FetchAll(t) {
				left = append(left, m.Mailbox)
			}
			want := []string{"INBOX.Keep"}
			if tt.wantAll {
				want = []string{"INBOX.Keep", "INBOX.Trash"}
				if loginErr != nil {
					t.Errorf("LOGIN: %v", loginErr)
				}
			}
			if !slices.Equal(left, want) {
				t.Errorf("after login (%v) messages left in %q, want %q", loginErr, left, want)
			}
		})
	}
}
