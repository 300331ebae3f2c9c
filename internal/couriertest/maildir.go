package couriertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailferry/internal/daemontest"
)

// Maildir reads what Courier stored for one user, from the files (never
// through IMAP). Courier keeps Maildir++: INBOX is the Maildir itself, a
// folder INBOX.a.b is the directory ".a.b" in it, its name in UTF-8
// (Courier-IMAP 5 converts IMAP's modified UTF-7 to UTF-8 on disk).
// Messages are files in new/ and cur/, stored with LF line endings; the
// flags are the letters after ":2," in the file name, keywords live in
// courierimapkeywords/, UIDs in courierimapuiddb, and the internal date is
// the file's modification time.
type Maildir struct {
	Path string // the Maildir (INBOX)
}

// Mailboxes returns the names of all folders, INBOX included, sorted, in
// UTF-8 with the delimiter ".". Intermediate levels exist only when they
// were created themselves: Courier makes INBOX.a.b without INBOX.a.
func (m Maildir) Mailboxes() ([]string, error) {
	entries, err := os.ReadDir(m.Path)
	if err != nil {
		return nil, err
	}
	names := []string{"INBOX"}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".") || e.Name() == "." || e.Name() == ".." {
			continue
		}
		if _, err := os.Stat(filepath.Join(m.Path, e.Name(), "cur")); err != nil {
			continue // not a folder (Courier's own directories have no cur/)
		}
		names = append(names, "INBOX"+e.Name())
	}
	slices.Sort(names)
	return names, nil
}

// Subscribed returns the subscribed folder names (the file
// courierimapsubscribed), sorted.
func (m Maildir) Subscribed() ([]string, error) {
	data, err := os.ReadFile(filepath.Join(m.Path, "courierimapsubscribed"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		if l != "" {
			names = append(names, l)
		}
	}
	slices.Sort(names)
	return names, nil
}

// folderDir returns the directory of a folder name as IMAP shows it
// ("INBOX", "INBOX.a.b"; the INBOX part in any case, as Courier accepts).
func (m Maildir) folderDir(mailbox string) (string, error) {
	if strings.EqualFold(mailbox, "INBOX") {
		return m.Path, nil
	}
	if len(mailbox) < len("INBOX.") || !strings.EqualFold(mailbox[:len("INBOX.")], "INBOX.") {
		return "", fmt.Errorf("mailbox %q is not below INBOX. (Courier's only namespace)", mailbox)
	}
	rest := mailbox[len("INBOX"):]
	if strings.Contains(rest, "/") || strings.Contains(rest, "..") {
		return "", fmt.Errorf("mailbox %q: not a Courier folder name", mailbox)
	}
	return filepath.Join(m.Path, rest), nil
}

// maildirFlags maps the info letters of a Maildir file name to IMAP flags
// (the letters Courier writes; see the Maildir specification at
// cr.yp.to/proto/maildir.html).
var maildirFlags = map[byte]string{
	'D': `\Draft`,
	'F': `\Flagged`,
	'R': `\Answered`,
	'S': `\Seen`,
	'T': `\Deleted`,
}

// Fetch returns every message of one folder as stored, ordered by UID
// (messages without one yet last, by file name). A folder that does not
// exist is an error.
func (m Maildir) Fetch(mailbox string) ([]daemontest.StoredMessage, error) {
	dir, err := m.folderDir(mailbox)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
	}
	uids, err := readUIDs(filepath.Join(dir, "courierimapuiddb"))
	if err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
	}
	var msgs []daemontest.StoredMessage
	present := map[string]bool{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			path := filepath.Join(dir, sub, e.Name())
			text, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
			}
			base, info, _ := strings.Cut(e.Name(), ":2,")
			var flags []string
			for i := 0; i < len(info); i++ {
				if f, ok := maildirFlags[info[i]]; ok {
					flags = append(flags, f)
				}
			}
			present[base] = true
			msgs = append(msgs, daemontest.StoredMessage{
				Mailbox:  mailboxName(mailbox),
				UID:      uids[base],
				GUID:     base,
				Flags:    flags,
				Received: fi.ModTime().UTC().Truncate(1e9),
				Size:     int64(len(daemontest.ToCRLF(text))),
				Text:     text,
			})
		}
	}
	keywords, err := readKeywords(filepath.Join(dir, "courierimapkeywords"), present)
	if err != nil {
		return nil, fmt.Errorf("mailbox %q: %w", mailbox, err)
	}
	for i := range msgs {
		msgs[i].Flags = append(msgs[i].Flags, keywords[msgs[i].GUID]...)
	}
	slices.SortFunc(msgs, func(a, b daemontest.StoredMessage) int {
		switch {
		case a.UID == b.UID:
			return strings.Compare(a.GUID, b.GUID)
		case a.UID == 0:
			return 1
		case b.UID == 0:
			return -1
		case a.UID < b.UID:
			return -1
		default:
			return 1
		}
	})
	return msgs, nil
}

// mailboxName spells INBOX in upper case, as LIST shows it.
func mailboxName(mailbox string) string {
	if len(mailbox) >= 5 && strings.EqualFold(mailbox[:5], "INBOX") {
		return "INBOX" + mailbox[5:]
	}
	return mailbox
}

// FetchAll returns every message of every folder, ordered by folder name
// and UID.
func (m Maildir) FetchAll() ([]daemontest.StoredMessage, error) {
	boxes, err := m.Mailboxes()
	if err != nil {
		return nil, err
	}
	var all []daemontest.StoredMessage
	for _, b := range boxes {
		msgs, err := m.Fetch(b)
		if err != nil {
			return nil, err
		}
		all = append(all, msgs...)
	}
	return all, nil
}

// readUIDs reads courierimapuiddb: a header line "1 UIDVALIDITY NEXTUID",
// then "UID BASENAME" per message that has a UID. A missing file means no
// UIDs yet (no IMAP session has opened the folder). Lines of another form
// are left alone: their messages read as UID 0.
func readUIDs(path string) (map[string]uint32, error) {
	uids := map[string]uint32{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return uids, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for first := true; sc.Scan(); first = false {
		f := strings.Fields(sc.Text())
		if first {
			if len(f) != 3 || f[0] != "1" {
				return nil, fmt.Errorf("%s: header %q: want \"1 UIDVALIDITY NEXTUID\"", path, sc.Text())
			}
			continue
		}
		if len(f) != 2 {
			continue
		}
		if uid, err := strconv.ParseUint(f[0], 10, 32); err == nil {
			uids[f[1]] = uint32(uid)
		}
	}
	return uids, sc.Err()
}

// readKeywords reads the keywords of the messages in present (by Maildir
// base name) from a courierimapkeywords directory, following Courier's
// description of the format (README.imapkeywords in courier-imap):
//
//   - ":list" holds the stable state: the keyword names one per line, an
//     empty line, then "BASENAME:N N ..." lines indexing into the names.
//   - an update for one message is a file named BASENAME or ".N.BASENAME"
//     holding its whole keyword set, one per line; a plain BASENAME is the
//     newest, otherwise the largest N wins. Updates replace the :list entry.
//
// Entries for messages no longer present are ignored, as Courier does.
func readKeywords(dir string, present map[string]bool) (map[string][]string, error) {
	kw := map[string][]string{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return kw, nil
	}
	if err != nil {
		return nil, err
	}
	if data, err := os.ReadFile(filepath.Join(dir, ":list")); err == nil {
		names, rest, _ := strings.Cut(string(data), "\n\n")
		if strings.HasPrefix(string(data), "\n") { // no names at all
			names, rest = "", string(data[1:])
		}
		list := strings.Split(names, "\n")
		for _, line := range strings.Split(rest, "\n") {
			base, idx, ok := strings.Cut(line, ":")
			if !ok || !present[base] {
				continue
			}
			var set []string
			for _, n := range strings.Fields(idx) {
				i, err := strconv.Atoi(n)
				if err != nil || i < 0 || i >= len(list) {
					return nil, fmt.Errorf("%s/:list: line %q: keyword index %q out of range", dir, line, n)
				}
				set = append(set, list[i])
			}
			kw[base] = set
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The update files: the newest per message.
	type update struct {
		n     int // -1 for a plain BASENAME (newest of all)
		path  string
		found bool
	}
	updates := map[string]update{}
	for _, e := range entries {
		name := e.Name()
		if name == ":list" || !e.Type().IsRegular() {
			continue
		}
		n, base := -1, name
		if strings.HasPrefix(name, ".") {
			num, b, ok := strings.Cut(name[1:], ".")
			v, err := strconv.Atoi(num)
			if !ok || err != nil {
				continue
			}
			n, base = v, b
		}
		if !present[base] {
			continue
		}
		u := updates[base]
		if !u.found || (u.n != -1 && (n == -1 || n > u.n)) {
			updates[base] = update{n: n, path: filepath.Join(dir, name), found: true}
		}
	}
	for base, u := range updates {
		data, err := os.ReadFile(u.path)
		if err != nil {
			return nil, err
		}
		var set []string
		for _, l := range strings.Split(string(data), "\n") {
			if l != "" {
				set = append(set, l)
			}
		}
		kw[base] = set
	}
	return kw, nil
}

// Mailboxes returns the first user's folder names (see Maildir.Mailboxes);
// it fails the test when the Maildir cannot be read.
func (s *Server) Mailboxes(t testing.TB) []string {
	t.Helper()
	names, err := s.MaildirOf(s.User).Mailboxes()
	if err != nil {
		t.Fatalf("couriertest: %v", err)
	}
	return names
}

// Subscribed returns the first user's subscribed folders.
func (s *Server) Subscribed(t testing.TB) []string {
	t.Helper()
	names, err := s.MaildirOf(s.User).Subscribed()
	if err != nil {
		t.Fatalf("couriertest: %v", err)
	}
	return names
}

// Fetch returns every message of one of the first user's folders as
// Courier stored it (see Maildir.Fetch); a folder that does not exist
// fails the test.
func (s *Server) Fetch(t testing.TB, mailbox string) []daemontest.StoredMessage {
	t.Helper()
	msgs, err := s.MaildirOf(s.User).Fetch(mailbox)
	if err != nil {
		t.Fatalf("couriertest: fetch: %v", err)
	}
	return msgs
}

// FetchAll returns every message of every folder of the first user.
func (s *Server) FetchAll(t testing.TB) []daemontest.StoredMessage {
	t.Helper()
	msgs, err := s.MaildirOf(s.User).FetchAll()
	if err != nil {
		t.Fatalf("couriertest: fetch: %v", err)
	}
	return msgs
}
