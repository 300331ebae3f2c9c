package dovecottest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailferry/internal/daemontest"
)

// StoredMessage is one message as Dovecot stored it, read with doveadm
// fetch (not through IMAP). Text has LF line endings unless
// Config.SaveCRLF; GUID is Dovecot's message GUID.
type StoredMessage = daemontest.StoredMessage

// doveadm runs `doveadm -c CONF args...` as the test user (USER and HOME
// set, so no -u and no running daemon are needed) and returns stdout.
func (s *Server) doveadm(args ...string) ([]byte, error) {
	cmd := exec.Command(s.doveadmBin, append([]string{"-c", s.ConfPath}, args...)...)
	cmd.Env = s.userEnv()
	cmd.Dir = s.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("doveadm %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// userEnv is the environment for doveadm and `doveadm exec imap`: acting as
// the test user without a userdb lookup (mail_uid, mail_gid and mail_home
// are in the configuration).
func (s *Server) userEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "USER=" + s.User, "HOME=" + s.Home}
}

// Doveadm runs `doveadm -c CONF args...` and returns its standard output;
// it fails the test when doveadm fails. USER is set to the test user, so
// mail commands need no -u: s.Doveadm(t, "mailbox", "status", "messages", "INBOX").
func (s *Server) Doveadm(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.doveadm(args...)
	if err != nil {
		t.Fatalf("dovecottest: %v\n%s", err, s.LogTail(20))
	}
	return string(out)
}

// fetchFields are the doveadm fetch fields parseFetch reads; text must
// come last and size.physical before it (it says how long text is).
const fetchFields = "mailbox uid guid flags date.received.unixtime size.virtual size.physical text"

// Fetch returns every message in mailbox as Dovecot stored it, in UID order.
// A mailbox that does not exist fails the test.
func (s *Server) Fetch(t testing.TB, mailbox string) []StoredMessage {
	t.Helper()
	if _, err := s.doveadm("mailbox", "status", "messages", mailbox); err != nil {
		t.Fatalf("dovecottest: fetch %q: %v", mailbox, err)
	}
	return s.fetch(t, "mailbox", mailbox, "ALL")
}

// FetchAll returns every message of every mailbox, ordered by mailbox name
// and UID.
func (s *Server) FetchAll(t testing.TB) []StoredMessage {
	t.Helper()
	return s.fetch(t, "ALL")
}

func (s *Server) fetch(t testing.TB, query ...string) []StoredMessage {
	t.Helper()
	out, err := s.doveadm(append([]string{"-f", "pager", "fetch", fetchFields}, query...)...)
	if err != nil {
		t.Fatalf("dovecottest: %v\n%s", err, s.LogTail(20))
	}
	msgs, err := parseFetch(out)
	if err != nil {
		t.Fatalf("dovecottest: doveadm fetch %s: %v", strings.Join(query, " "), err)
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		if msgs[i].Mailbox != msgs[j].Mailbox {
			return msgs[i].Mailbox < msgs[j].Mailbox
		}
		return msgs[i].UID < msgs[j].UID
	})
	return msgs
}

// parseFetch reads doveadm's pager format: per message "name: value\n"
// lines, the text field as "text:\n" followed by exactly size.physical
// bytes, and "\f\n" between messages.
func parseFetch(out []byte) ([]StoredMessage, error) {
	var msgs []StoredMessage
	rest := out
	for len(rest) > 0 {
		var m StoredMessage
		physical := int64(-1)
		for {
			nl := bytes.IndexByte(rest, '\n')
			if nl < 0 {
				return nil, fmt.Errorf("message %d: unterminated field line %q", len(msgs)+1, rest)
			}
			line := string(rest[:nl])
			rest = rest[nl+1:]
			if line == "text:" {
				if physical < 0 || physical > int64(len(rest)) {
					return nil, fmt.Errorf("message %d: size.physical %d does not fit the %d bytes left", len(msgs)+1, physical, len(rest))
				}
				m.Text = append([]byte(nil), rest[:physical]...)
				rest = rest[physical:]
				break
			}
			name, value, ok := strings.Cut(line, ": ")
			if !ok {
				name, value, ok = strings.Cut(line, ":")
			}
			if !ok {
				return nil, fmt.Errorf("message %d: field line %q has no colon", len(msgs)+1, line)
			}
			var err error
			switch name {
			case "mailbox":
				m.Mailbox = value
			case "uid":
				var u uint64
				u, err = strconv.ParseUint(value, 10, 32)
				m.UID = uint32(u)
			case "guid":
				m.GUID = value
			case "flags":
				for _, f := range strings.Fields(value) {
					if !strings.EqualFold(f, `\Recent`) {
						m.Flags = append(m.Flags, f)
					}
				}
			case "date.received.unixtime":
				var sec int64
				sec, err = strconv.ParseInt(value, 10, 64)
				m.Received = time.Unix(sec, 0).UTC()
			case "size.virtual":
				m.Size, err = strconv.ParseInt(value, 10, 64)
			case "size.physical":
				physical, err = strconv.ParseInt(value, 10, 64)
			default:
				return nil, fmt.Errorf("message %d: unexpected field %q", len(msgs)+1, name)
			}
			if err != nil {
				return nil, fmt.Errorf("message %d: field %s: %w", len(msgs)+1, name, err)
			}
		}
		msgs = append(msgs, m)
		switch {
		case len(rest) == 0:
		case bytes.HasPrefix(rest, []byte("\f\n")):
			rest = rest[2:]
		case bytes.Equal(rest, []byte("\n")): // a trailing newline, if a version adds one
			rest = nil
		default:
			return nil, fmt.Errorf("message %d: text is not followed by the record separator (size.physical wrong?): %.40q", len(msgs), rest)
		}
	}
	return msgs, nil
}

// Mailboxes returns the names of all mailboxes (`doveadm mailbox list`),
// sorted, in UTF-8 with the server's delimiter. Parents that exist only
// implicitly (\Noselect in Maildir++) are listed too.
func (s *Server) Mailboxes(t testing.TB) []string {
	t.Helper()
	return lines(s.Doveadm(t, "mailbox", "list"))
}

// Subscribed returns the names of the subscribed mailboxes (what LSUB
// shows), sorted.
func (s *Server) Subscribed(t testing.TB) []string {
	t.Helper()
	return lines(s.Doveadm(t, "mailbox", "list", "-s"))
}

func lines(out string) []string {
	var names []string
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			names = append(names, l)
		}
	}
	sort.Strings(names)
	return names
}

// MailboxStatus is what `doveadm mailbox status` reports for one mailbox.
type MailboxStatus struct {
	Messages int
	VSize    int64 // sum of the messages' RFC822.SIZE
}

// Status returns the message count and virtual size of every mailbox that
// can hold messages.
func (s *Server) Status(t testing.TB) map[string]MailboxStatus {
	t.Helper()
	out := s.Doveadm(t, "-f", "tab", "mailbox", "status", "messages vsize", "*")
	st := map[string]MailboxStatus{}
	for i, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if i == 0 || l == "" { // header line
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			t.Fatalf("dovecottest: mailbox status line %q: want 3 tab-separated fields", l)
		}
		n, err1 := strconv.Atoi(f[1])
		v, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("dovecottest: mailbox status line %q: bad numbers", l)
		}
		st[f[0]] = MailboxStatus{Messages: n, VSize: v}
	}
	return st
}
