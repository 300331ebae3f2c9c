package cyrustest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailferry/internal/daemontest"
)

// The ground truth comes from Cyrus's own tool run on the databases and
// the spool, never through IMAP: mbexamine prints each mailbox's index
// (its spool path, the user flag names, and per message UID, internal
// date, size, GUID and flags), and the message itself is the spool file
// PATH/UID. (Cyrus stores messages with CRLF line endings, so the file is
// exactly what IMAP serves.) One mbexamine run covers all of a user's
// mailboxes: each run costs a few hundred milliseconds.

// tool runs one of Cyrus's programs as the cyrus user (they refuse to run
// as root or would leave files root cannot share) and returns stdout.
func (s *Server) tool(bin string, args ...string) ([]byte, error) {
	cmd := exec.Command(bin, append([]string{"-C", s.ConfPath}, args...)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	cmd.Dir = s.Dir
	if os.Geteuid() == 0 {
		daemontest.RunAs(cmd, s.uid, s.gid)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// adminSep is the hierarchy separator of the names mbexamine takes and
// prints: "/" with unixhierarchysep, else ".". It is also the delimiter
// IMAP shows, so only the user's own prefix differs between the two.
func (s *Server) adminSep() string {
	_, delim := s.cfg.Namespace()
	return string(delim)
}

// examineUser runs mbexamine on every mailbox of user ("user.NAME" and
// everything below it) and returns them sorted by IMAP name. A user who
// never logged in has none.
func (s *Server) examineUser(user string) ([]*examined, error) {
	sep := s.adminSep()
	home := "user" + sep + user
	out, err := s.tool(s.bins.mbexamine, home, home+sep+"*")
	if err != nil {
		return nil, err
	}
	prefix, _ := s.cfg.Namespace()
	var boxes []*examined
	heads := examiningRE.FindAllSubmatchIndex(out, -1)
	for i, h := range heads {
		end := len(out)
		if i+1 < len(heads) {
			end = heads[i+1][0]
		}
		ex, err := parseExamine(out[h[1]:end])
		if err != nil {
			return nil, err
		}
		admin := string(out[h[2]:h[3]])
		switch rest, ok := strings.CutPrefix(admin, home+sep); {
		case admin == home:
			ex.name = "INBOX"
		case ok:
			if ex.name, err = decodeMUTF7(rest); err != nil {
				return nil, fmt.Errorf("mailbox %q: %w", admin, err)
			}
			ex.name = prefix + ex.name
		default:
			return nil, fmt.Errorf("mbexamine reported %q, which is not a mailbox of %s", admin, user)
		}
		boxes = append(boxes, ex)
	}
	slices.SortFunc(boxes, func(a, b *examined) int { return strings.Compare(a.name, b.name) })
	return boxes, nil
}

// examiningRE matches the line that starts each mailbox's report.
var examiningRE = regexp.MustCompile(`(?m)^Examining (.*)\.\.\. Mailbox Header Info:[ \t]*$`)

// examined is what mbexamine reports about one mailbox.
type examined struct {
	name     string // as IMAP shows it, in UTF-8
	path     string
	msgs     []examinedMessage
	keywords []string // the user flag names, by bit number
}

type examinedMessage struct {
	uid       uint32
	date      int64
	size      int64
	guid      string
	system    []string // FLAG_SEEN ...
	userFlags [4]uint32
}

var (
	recordRE = regexp.MustCompile(`(?m)^\d+> UID:`)
	uidRE    = regexp.MustCompile(`UID:(\d+)`)
	dateRE   = regexp.MustCompile(`INT_DATE:(\d+)`)
	sizeRE   = regexp.MustCompile(` SIZE:(\d+)`)
	guidRE   = regexp.MustCompile(`GUID:([0-9a-f]+)`)
	sysRE    = regexp.MustCompile(`SYSTEMFLAGS:([A-Z_ ]*)`)
	userRE   = regexp.MustCompile(`USERFLAGS:((?: [0-9a-fA-F]{8}){4})`)
)

// parseExamine reads mbexamine's report on one mailbox (after its
// "Examining" line): "Path to mailbox: ...", "User Flags: a b " (or
// "[none]"), then after "Message Info:" one record per message, starting
// with "NNNNNN> UID:" and continued on "> " lines.
func parseExamine(out []byte) (*examined, error) {
	ex := &examined{}
	head, info, ok := bytes.Cut(out, []byte("Message Info:"))
	if !ok {
		return nil, fmt.Errorf("mbexamine: no \"Message Info:\" in %q", out)
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Path to mailbox: "); ok {
			ex.path = v
		}
		if v, ok := strings.CutPrefix(line, "User Flags:"); ok && strings.TrimSpace(v) != "[none]" {
			ex.keywords = strings.Fields(v)
		}
	}
	if ex.path == "" {
		return nil, fmt.Errorf("mbexamine: no mailbox path in %q", head)
	}
	starts := recordRE.FindAllIndex(info, -1)
	for i, st := range starts {
		end := len(info)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		rec := info[st[0]:end]
		var m examinedMessage
		uid, err1 := strconv.ParseUint(submatch(uidRE, rec), 10, 32)
		date, err2 := strconv.ParseInt(submatch(dateRE, rec), 10, 64)
		size, err3 := strconv.ParseInt(submatch(sizeRE, rec), 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("mbexamine: record %q: no UID, INT_DATE or SIZE", rec)
		}
		m.uid, m.date, m.size = uint32(uid), date, size
		m.guid = submatch(guidRE, rec)
		m.system = strings.Fields(submatch(sysRE, rec))
		words := strings.Fields(submatch(userRE, rec))
		if len(words) != 4 {
			return nil, fmt.Errorf("mbexamine: record %q: no USERFLAGS", rec)
		}
		// Printed from the highest word to the lowest.
		for j, w := range words {
			v, err := strconv.ParseUint(w, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("mbexamine: USERFLAGS %q: %w", w, err)
			}
			m.userFlags[3-j] = uint32(v)
		}
		ex.msgs = append(ex.msgs, m)
	}
	return ex, nil
}

func submatch(re *regexp.Regexp, b []byte) string {
	m := re.FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// systemFlags maps mbexamine's names of the system flags to IMAP's.
var systemFlags = map[string]string{
	"FLAG_ANSWERED": `\Answered`,
	"FLAG_FLAGGED":  `\Flagged`,
	"FLAG_DELETED":  `\Deleted`,
	"FLAG_DRAFT":    `\Draft`,
	"FLAG_SEEN":     `\Seen`,
}

// MailboxesOf returns the names of user's mailboxes as IMAP shows them,
// in UTF-8, sorted. INBOX exists after the user's first login.
func (s *Server) MailboxesOf(user string) ([]string, error) {
	boxes, err := s.examineUser(user)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(boxes))
	for i, b := range boxes {
		names[i] = b.name
	}
	return names, nil
}

// FetchOf returns every message of one of user's mailboxes as Cyrus stored
// it, in UID order (expunged messages are left out, by mbexamine as by
// IMAP). A mailbox that does not exist is an error.
func (s *Server) FetchOf(user, mailboxName string) ([]daemontest.StoredMessage, error) {
	boxes, err := s.examineUser(user)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(boxes, func(b *examined) bool { return b.name == mailboxName })
	if i < 0 {
		return nil, fmt.Errorf("mailbox %q of %s does not exist", mailboxName, user)
	}
	return boxes[i].stored()
}

// FetchAllOf returns every message of every mailbox of user, ordered by
// mailbox name and UID.
func (s *Server) FetchAllOf(user string) ([]daemontest.StoredMessage, error) {
	boxes, err := s.examineUser(user)
	if err != nil {
		return nil, err
	}
	var all []daemontest.StoredMessage
	for _, b := range boxes {
		msgs, err := b.stored()
		if err != nil {
			return nil, err
		}
		all = append(all, msgs...)
	}
	return all, nil
}

// stored reads the messages of an examined mailbox from the spool.
func (ex *examined) stored() ([]daemontest.StoredMessage, error) {
	var msgs []daemontest.StoredMessage
	for _, m := range ex.msgs {
		text, err := os.ReadFile(filepath.Join(ex.path, strconv.FormatUint(uint64(m.uid), 10)+"."))
		if err != nil {
			return nil, fmt.Errorf("mailbox %q: %w", ex.name, err)
		}
		var flags []string
		for _, f := range m.system {
			if imapFlag, ok := systemFlags[f]; ok {
				flags = append(flags, imapFlag)
			}
		}
		for bit := range 128 {
			if m.userFlags[bit/32]&(1<<(bit%32)) == 0 {
				continue
			}
			if bit >= len(ex.keywords) {
				return nil, fmt.Errorf("mailbox %q UID %d: user flag %d has no name (the mailbox knows %d)", ex.name, m.uid, bit, len(ex.keywords))
			}
			flags = append(flags, ex.keywords[bit])
		}
		msgs = append(msgs, daemontest.StoredMessage{
			Mailbox:  ex.name,
			UID:      m.uid,
			GUID:     m.guid,
			Flags:    flags,
			Received: time.Unix(m.date, 0).UTC(),
			Size:     m.size,
			Text:     text,
		})
	}
	return msgs, nil
}

// Mailboxes returns the first user's mailboxes (see MailboxesOf); it fails
// the test when the tools fail.
func (s *Server) Mailboxes(t testing.TB) []string {
	t.Helper()
	names, err := s.MailboxesOf(s.User)
	if err != nil {
		t.Fatalf("cyrustest: %v", err)
	}
	return names
}

// Fetch returns every message of one of the first user's mailboxes (see
// FetchOf); a mailbox that does not exist fails the test.
func (s *Server) Fetch(t testing.TB, mailbox string) []daemontest.StoredMessage {
	t.Helper()
	msgs, err := s.FetchOf(s.User, mailbox)
	if err != nil {
		t.Fatalf("cyrustest: fetch: %v", err)
	}
	return msgs
}

// FetchAll returns every message of every mailbox of the first user,
// ordered by mailbox name and UID.
func (s *Server) FetchAll(t testing.TB) []daemontest.StoredMessage {
	t.Helper()
	msgs, err := s.FetchAllOf(s.User)
	if err != nil {
		t.Fatalf("cyrustest: fetch: %v", err)
	}
	return msgs
}

// SubscribedOf returns the names of the mailboxes user has subscribed, as
// IMAP shows them, in UTF-8, sorted. Cyrus keeps them in the user's
// sub.db (subscription_db: flat) beside the user's other databases, in a
// directory named after the INBOX's unique id, as the spool is: one line
// "N" + internal name + TAB + LF per mailbox, after a version line. The
// internal name separates levels with 0x1F and starts with "INBOX" for
// the user's own mailboxes; levels are in modified UTF-7, with a "."
// where IMAP shows "^" under Debian's namespace. A user who never logged
// in has none.
func (s *Server) SubscribedOf(user string) ([]string, error) {
	boxes, err := s.examineUser(user)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(boxes, func(b *examined) bool { return b.name == "INBOX" })
	if i < 0 {
		return nil, nil
	}
	id := filepath.Base(boxes[i].path)
	matches, err := filepath.Glob(filepath.Join(s.Dir, "lib", "user", "uuid", "*", "*", id, "sub.db"))
	if err != nil || len(matches) == 0 {
		return nil, err // nothing subscribed yet: no file
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return nil, err
	}
	prefix, delim := s.cfg.Namespace()
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		key, _, _ := strings.Cut(line, "\t")
		internal, ok := strings.CutPrefix(key, "N")
		if !ok {
			continue // the version line, or an empty one
		}
		levels := strings.Split(internal, "\x1f")
		if levels[0] != "INBOX" {
			return nil, fmt.Errorf("sub.db of %s: %q is not one of the user's mailboxes", user, internal)
		}
		if len(levels) == 1 {
			names = append(names, "INBOX")
			continue
		}
		if delim == '.' {
			// With "." as the separator Cyrus shows a "." inside a
			// level as "^" (and keeps it as "." inside).
			for i := range levels {
				levels[i] = strings.ReplaceAll(levels[i], ".", "^")
			}
		}
		name, err := decodeMUTF7(strings.Join(levels[1:], string(delim)))
		if err != nil {
			return nil, fmt.Errorf("sub.db of %s: %w", user, err)
		}
		names = append(names, prefix+name)
	}
	slices.Sort(names)
	return names, nil
}

// Subscribed returns the first user's subscribed mailboxes (see
// SubscribedOf); it fails the test when they cannot be read.
func (s *Server) Subscribed(t testing.TB) []string {
	t.Helper()
	names, err := s.SubscribedOf(s.User)
	if err != nil {
		t.Fatalf("cyrustest: subscriptions: %v", err)
	}
	return names
}
