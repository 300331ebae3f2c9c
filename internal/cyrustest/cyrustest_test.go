package cyrustest_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/cyrustest"
	"mailferry/internal/daemontest"
)

func appendMessage(c *imapclient.Client, mailbox, msg string, opts *imap.AppendOptions) (*imap.AppendData, error) {
	cmd := c.Append(mailbox, int64(len(msg)), opts)
	_, werr := cmd.Write([]byte(msg))
	cerr := cmd.Close()
	data, err := cmd.Wait()
	if err == nil {
		err = errors.Join(werr, cerr)
	}
	return data, err
}

// refusal asserts that err is a tagged NO with exactly text and no
// response code.
func refusal(t *testing.T, what string, err error, text string) {
	t.Helper()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Type != imap.StatusResponseTypeNo || imapErr.Text != text || imapErr.Code != "" {
		t.Errorf("%s = %v, want NO %q without a response code", what, err, text)
	}
}

// TestMunge8Bit records how Cyrus stores a message with raw 8-bit bytes in
// its header (munge8bit, the default): every byte of 0x80 and above in the
// top-level header section, folded lines included, becomes "X" (so the
// size stays the same); MIME part headers and the body are kept, and so
// are control bytes. Messages with bare LF line endings or NUL bytes are
// refused whatever munge8bit says.
func TestMunge8Bit(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{})
	c := srv.Dial(t)
	tests := []struct{ sent, stored string }{
		{
			"From: J\xc3\xbcrgen <j@example.org>\r\nSubject: caf\xe9 \x80\xff \x7f\x01\r\nX-Folded: a\r\n \xc3\xa4 b\r\n\r\nbody \xc3\xa4 \xff\r\n",
			"From: JXXrgen <j@example.org>\r\nSubject: cafX XX \x7f\x01\r\nX-Folded: a\r\n XX b\r\n\r\nbody \xc3\xa4 \xff\r\n",
		},
		{
			"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=\"\xc3\xa4.txt\"\r\n\r\n\xc3\xa4\r\n--b--\r\n",
			"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=\"\xc3\xa4.txt\"\r\n\r\n\xc3\xa4\r\n--b--\r\n",
		},
		{"Subject: only a header \xc3\xa4\r\n", "Subject: only a header XX\r\n"},
		{"Subject: bare CR \r inside\r\n\r\nbody\r\n", "Subject: bare CR \r inside\r\n\r\nbody\r\n"},
	}
	for i, tt := range tests {
		data, err := appendMessage(c, "INBOX", tt.sent, nil)
		if err != nil {
			t.Fatalf("APPEND %d: %v", i+1, err)
		}
		if data.UID != imap.UID(i+1) {
			t.Errorf("APPEND %d: UID %d", i+1, data.UID)
		}
	}
	stored := srv.Fetch(t, "INBOX")
	if len(stored) != len(tests) {
		t.Fatalf("ground truth: %d messages, want %d", len(stored), len(tests))
	}
	for i, tt := range tests {
		if string(stored[i].Text) != tt.stored {
			t.Errorf("message %d stored as\n%q\nwant\n%q", i+1, stored[i].Text, tt.stored)
		}
		if stored[i].Size != int64(len(tt.sent)) {
			t.Errorf("message %d: size %d, want %d (munging keeps the size)", i+1, stored[i].Size, len(tt.sent))
		}
	}
	_, err := appendMessage(c, "INBOX", "Subject: LF\n\nbody\n", nil)
	refusal(t, "APPEND with bare LF", err, "Message contains bare newlines")
	_, err = appendMessage(c, "INBOX", "Subject: NUL \x00\r\n\r\nbody\r\n", nil)
	refusal(t, "APPEND with NUL", err, "Message contains NUL characters")
}

// TestReject8Bit checks reject8bit: yes: 8-bit bytes in the top-level
// header are refused, in the body or a MIME part header they are stored
// unchanged.
func TestReject8Bit(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{Reject8Bit: true})
	c := srv.Dial(t)
	_, err := appendMessage(c, "INBOX", "Subject: caf\xc3\xa9\r\n\r\nbody\r\n", nil)
	refusal(t, "APPEND with 8-bit header", err, "Message contains non-ASCII characters in headers")
	kept := []string{
		"Subject: x\r\n\r\nbody \xc3\xa9\r\n",
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; name=\"\xc3\xa4\"\r\n\r\nx\r\n--b--\r\n",
	}
	for _, m := range kept {
		if _, err := appendMessage(c, "INBOX", m, nil); err != nil {
			t.Fatalf("APPEND %q: %v", m, err)
		}
	}
	stored := srv.Fetch(t, "INBOX")
	if len(stored) != 2 || string(stored[0].Text) != kept[0] || string(stored[1].Text) != kept[1] {
		t.Errorf("stored %+v, want the two messages unchanged", stored)
	}
}

// TestMailboxNames records how both namespaces answer CREATE, and that the
// ground truth names what IMAP shows.
func TestMailboxNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     cyrustest.Config
		refused []struct{ name, text string }
		created []string
		want    []string // Mailboxes() afterwards
	}{
		{
			name: "debian",
			cfg:  cyrustest.Config{},
			refused: []struct{ name, text string }{
				{"Projects", "Permission denied"},
				{"INBOX.a/b", "Invalid mailbox name"},
				{"INBOX.100%", "Invalid mailbox name"},
				{`INBOX.back\slash`, "Invalid mailbox name"},
				{`INBOX."q"`, "Invalid mailbox name"},
				{"INBOX.Dup", "Mailbox already exists"},
				{"INBOX.Dup.", "Mailbox already exists"},           // a trailing delimiter is dropped
				{"INBOX.Projects..2024", "Mailbox already exists"}, // empty levels collapse
			},
			created: []string{"INBOX.Dup", "INBOX.Projects.2024", "INBOX.Entwürfe", "INBOX.a*b", "INBOX.a^b", "INBOX.~x"},
			want:    []string{"INBOX", "INBOX.Dup", "INBOX.Entwürfe", "INBOX.Projects", "INBOX.Projects.2024", "INBOX.a*b", "INBOX.a^b", "INBOX.~x"},
		},
		{
			name: "altnamespace",
			cfg:  cyrustest.Config{AltNamespace: true},
			refused: []struct{ name, text string }{
				{"INBOX", "Mailbox already exists"},
				{"a^b", "Invalid mailbox name"},
				{"100%", "Invalid mailbox name"},
				{"Dup", "Mailbox already exists"},
				{"Dup/", "Mailbox already exists"},
				{"Projects//2024", "Mailbox already exists"},
			},
			created: []string{"Dup", "Projects/2024", "Entwürfe", "a.b", "a..b", "Dup."},
			want:    []string{"Dup", "Dup.", "Entwürfe", "INBOX", "Projects", "Projects/2024", "a..b", "a.b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := cyrustest.Start(t, tt.cfg)
			c := srv.Dial(t)
			for _, n := range tt.created {
				if err := c.Create(n, nil).Wait(); err != nil {
					t.Errorf("CREATE %q: %v", n, err)
				}
			}
			for _, r := range tt.refused {
				refusal(t, fmt.Sprintf("CREATE %q", r.name), c.Create(r.name, nil).Wait(), r.text)
			}
			if got := srv.Mailboxes(t); !slices.Equal(got, tt.want) {
				t.Errorf("Mailboxes() = %q, want %q", got, tt.want)
			}
			list, err := c.List("", "*", nil).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range list {
				names = append(names, l.Mailbox)
			}
			slices.Sort(names)
			if !slices.Equal(names, tt.want) {
				t.Errorf("LIST = %q, ground truth %q", names, tt.want)
			}

			// Subscriptions: the ground truth from sub.db against LSUB.
			// Cyrus may subscribe the INBOX it creates at the first login.
			if got := srv.Subscribed(t); len(got) > 1 || len(got) == 1 && got[0] != "INBOX" {
				t.Errorf("before any SUBSCRIBE Subscribed() = %q, want at most INBOX", got)
			}
			for _, n := range append([]string{"INBOX"}, tt.created...) {
				if err := c.Subscribe(n).Wait(); err != nil {
					t.Errorf("SUBSCRIBE %q: %v", n, err)
				}
			}
			subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
			if err != nil {
				t.Fatal(err)
			}
			var lsub []string
			for _, l := range subs {
				lsub = append(lsub, l.Mailbox)
			}
			slices.Sort(lsub)
			if got := srv.Subscribed(t); len(got) != len(tt.created)+1 || !slices.Equal(got, lsub) {
				t.Errorf("Subscribed() = %q, LIST (SUBSCRIBED) = %q; want INBOX and the %d created", got, lsub, len(tt.created))
			}
		})
	}
}

// TestSpecialUse checks SpecialUse: the folders appear at the first login
// (not before), subscribed, and Cyrus spells their attributes in lower
// case on the wire (\sent); a second mailbox with the same attribute is
// refused with [USEATTR].
func TestSpecialUse(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{SpecialUse: true})
	if got := srv.Mailboxes(t); len(got) != 0 {
		t.Errorf("before the first login Mailboxes() = %q, want none", got)
	}
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "a LOGIN %s %s\r\nb LIST \"\" \"*\"\r\nc LSUB \"\" \"*\"\r\nd CREATE INBOX.Sent2 (USE (\\Sent))\r\ne LOGOUT\r\n", srv.User, srv.Password)
	var lines []string
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{
		`* LIST (\HasNoChildren \sent) "." INBOX.Sent`,
		`* LIST (\HasNoChildren \junk) "." INBOX.Junk`,
		`* LIST (\HasNoChildren \archive) "." INBOX.Archive`,
		`* LSUB (\drafts) "." INBOX.Drafts`,
		`* LSUB (\trash) "." INBOX.Trash`,
		`d NO [USEATTR] SPECIAL-USE flag conflict`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("session lacks %q:\n%s", want, text)
		}
	}
	want := []string{"INBOX", "INBOX.Archive", "INBOX.Drafts", "INBOX.Junk", "INBOX.Sent", "INBOX.Trash"}
	if got := srv.Mailboxes(t); !slices.Equal(got, want) {
		t.Errorf("after login Mailboxes() = %q, want %q", got, want)
	}
}

// TestUsers checks several users with their own mailboxes, the ground
// truth per user, and that flags, keywords, the internal date and
// expunged messages read back as IMAP shows them.
func TestUsers(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{AltNamespace: true, Users: []daemontest.User{{Name: "alice"}, {Name: "bob", Password: "bob-pw"}}})
	c := srv.Dial(t)
	date := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for i, flags := range [][]imap.Flag{{imap.FlagSeen, "one"}, {imap.FlagDraft, "two"}, {imap.FlagAnswered, imap.FlagFlagged, "$Forwarded", "one"}} {
		if _, err := appendMessage(c, "INBOX", fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i), &imap.AppendOptions{Flags: flags, Time: date}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	stored := srv.Fetch(t, "INBOX")
	if len(stored) != 2 || stored[0].UID != 1 || stored[1].UID != 3 {
		t.Fatalf("ground truth after EXPUNGE of UID 2: %+v", stored)
	}
	for i, want := range [][]string{{`\Seen`, "one"}, {"$Forwarded", `\Answered`, `\Flagged`, "one"}} {
		if got := stored[i].SortedFlags(); !slices.Equal(got, want) {
			t.Errorf("UID %d flags = %q, want %q", stored[i].UID, got, want)
		}
		if !stored[i].Received.Equal(date) {
			t.Errorf("UID %d internal date = %v, want %v", stored[i].UID, stored[i].Received, date)
		}
	}

	bob, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if err := bob.Login("bob", "bob-pw").Wait(); err != nil {
		t.Fatalf("LOGIN bob: %v", err)
	}
	if err := bob.Create("Bobs", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if got, err := srv.MailboxesOf("bob"); err != nil || !slices.Equal(got, []string{"Bobs", "INBOX"}) {
		t.Errorf("MailboxesOf(bob) = %q, %v", got, err)
	}
	if got := srv.Mailboxes(t); !slices.Equal(got, []string{"INBOX"}) {
		t.Errorf("alice's Mailboxes() = %q, want [INBOX]", got)
	}
	if all, err := srv.FetchAllOf("bob"); err != nil || len(all) != 0 {
		t.Errorf("FetchAllOf(bob) = %d messages, %v", len(all), err)
	}
	if _, err := srv.FetchOf("bob", "Missing"); err == nil {
		t.Errorf("FetchOf a missing mailbox: want an error")
	}
}

// TestFirstAppends: the first messages stored on a new server, from
// several connections at once, are all taken. imapd 3.6 creates the
// partition's stage directory at its first APPEND, and of two connections
// doing that at once one answers "NO System I/O error"; the harness
// creates the directory, as a server that has ever stored mail has it.
func TestFirstAppends(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{})
	if _, err := os.Stat(filepath.Join(srv.Dir, "spool", "stage.")); err != nil {
		t.Errorf("the stage directory: %v", err)
	}
	var clients []*imapclient.Client
	for range 8 {
		clients = append(clients, srv.Dial(t))
	}
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := appendMessage(c, "INBOX", fmt.Sprintf("Subject: %d\r\n\r\nx\r\n", i), nil); err != nil {
				t.Errorf("the first APPEND on connection %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if got := srv.Fetch(t, "INBOX"); len(got) != len(clients) {
		t.Errorf("INBOX holds %d messages, want %d", len(got), len(clients))
	}
}

// TestDeleteTwice: Debian's delete_mode: delayed keeps a deleted mailbox
// as DELETED.user...NAME.<seconds in hex>, so a mailbox of the same name
// deleted twice within a second is refused the second time.
func TestDeleteTwice(t *testing.T) {
	t.Parallel()
	srv := cyrustest.Start(t, cyrustest.Config{})
	c := srv.Dial(t)
	var err error
	// A second may end between the two; it cannot five times in a row.
	for range 5 {
		for range 2 {
			if cerr := c.Create("INBOX.gone", nil).Wait(); cerr != nil {
				t.Fatalf("CREATE INBOX.gone: %v", cerr)
			}
			if err = c.Delete("INBOX.gone").Wait(); err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	refusal(t, "the second DELETE of INBOX.gone within a second", err, "Mailbox already exists")
}
