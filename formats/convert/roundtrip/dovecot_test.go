//go:build unix

package roundtrip

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailferry/formats/convert"
	"mailferry/formats/convert/internal/memsource"
	"mailferry/internal/dovecottest"
)

// TestDovecotImportsMaildir proves the Maildir output importable by Dovecot
// as it is: `doveadm import` reads it (as Maildir++ with modified UTF-7
// names) into a private server, which must then hold every folder under
// its real name, every message with its flags, keywords and received date.
func TestDovecotImportsMaildir(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{})
	out := filepath.Join(srv.Dir, "converted")
	rep, err := convert.Convert(context.Background(), memsource.Sample(), convert.Options{Format: convert.FormatMaildir, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	// The server may run as its own user: give it the output, as a user
	// copying a Maildir to a server would.
	var uid, gid int
	if fi, err := os.Stat(srv.Home); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	_ = filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && uid != os.Getuid() {
			_ = os.Lchown(p, uid, gid)
		}
		return nil
	})
	// How Dovecot sees the output itself, empty folders included.
	mailboxes := lines(srv.Doveadm(t, "-o", "mail_location=maildir:"+out, "mailbox", "list"))
	// What it holds after importing the output.
	srv.Doveadm(t, "import", "maildir:"+out, "", "all")
	stored := srv.FetchAll(t)
	byBox := map[string][]dovecottest.StoredMessage{}
	for _, m := range stored {
		byBox[m.Mailbox] = append(byBox[m.Mailbox], m)
	}
	src := memsource.Sample()
	for i, fr := range rep.Folders {
		name := strings.Join(fr.Names, "/")
		if !slices.Contains(mailboxes, name) {
			t.Errorf("Dovecot has no mailbox %q (source %q); it has %q", name, fr.Source, mailboxes)
			continue
		}
		var want []memsource.Msg
		for _, m := range src.Written() {
			if m.Box == i {
				want = append(want, m)
			}
		}
		got := byBox[name]
		if len(got) != len(want) {
			t.Errorf("mailbox %q: Dovecot holds %d messages, want %d", name, len(got), len(want))
			continue
		}
		for _, w := range want {
			found := false
			for _, g := range got {
				if string(normalize(g.CRLF())) != string(normalize(w.Bytes)) {
					continue
				}
				found = true
				for _, f := range w.Flags {
					if f == `\Draft` || f == `\Seen` || f == `\Answered` || f == `\Flagged` || f == "$Forwarded" ||
						!slices.Contains(lostIn(fr.LostFlags), f) {
						if !g.HasFlag(f) {
							t.Errorf("mailbox %q: message %q lacks flag %s (has %q)", name, firstLine(w.Bytes), f, g.Flags)
						}
					}
				}
				wd := w.Date
				if wd.IsZero() {
					wd = time.Unix(0, 0)
				}
				if !g.Received.Equal(wd.Truncate(time.Second)) {
					t.Errorf("mailbox %q: message %q received %v, want %v", name, firstLine(w.Bytes), g.Received, wd)
				}
			}
			if !found {
				t.Errorf("mailbox %q: message %q not found with the same bytes", name, firstLine(w.Bytes))
			}
		}
	}
}

// lostIn lists the flags a folder report says were lost.
func lostIn(lost map[string]int) []string {
	var out []string
	for k := range lost {
		out = append(out, k)
	}
	return out
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.Index(s, "Subject: "); i >= 0 {
		s = s[i:]
	}
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
