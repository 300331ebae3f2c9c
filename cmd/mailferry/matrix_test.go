package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/formats/thunderbird/tbtest"
	"mailferry/internal/couriertest"
	"mailferry/internal/cyrustest"
	"mailferry/internal/servertest"
	"mailferry/upload"
)

// The server matrix, end to end: the same Thunderbird profile, with the
// folder names and messages that servers treat differently, goes through
// the command line to every server of internal/servertest (Dovecot in
// three layouts, Courier, Cyrus in two namespaces), and each server's own
// files are the judge of where every message landed and how.

// mxFolder is one folder of the matrix profile.
type mxFolder struct {
	key string // names the folder in mxExpected
	// local: the folder is in Local Folders, else in the POP3 account
	// me@example.org.
	local bool
	path  []string // the folder's path in Thunderbird
	// special: the server name comes from the folder's role (the inbox,
	// a special folder, or a child of one), not from its path.
	special bool
	msgs    []mxMessage
}

// mxMessage is one message of the matrix profile and what the server must
// keep of it.
type mxMessage struct {
	// id is the Message-ID without <> and "@matrix.example"; a message
	// given twice with the same id is the same bytes twice (a copy the
	// server must hold twice, like the source).
	id      string
	subject string // raw bytes: 8-bit allowed
	body    string // "" for a line naming the subject
	status  string // X-Mozilla-Status
	keys    string // X-Mozilla-Keys (tags)
	date    time.Time
	flags   []string // flags on the server, besides longKeyword
	deleted bool     // deleted in the source (not compacted): skipped
}

// longKeyword is a tag longer than Dovecot keeps (it refuses keywords
// over 50 characters).
const longKeyword = "Ein_sehr_langes_Schlagwort_das_laenger_ist_als_fuenfzig_Zeichen"

// longName is a folder name of 200 characters.
var longName = strings.Repeat("Projektablage Kunde Nord ", 7) + "Projektablage Kunde 12345"

// longCyrillic is a folder name of 200 Cyrillic characters: too long for
// every server of the matrix (Dovecot keeps names in modified UTF-7, 2.7
// bytes per character here, Courier in UTF-8). cyrillic100 and cyrillic50
// are its first 100 and 50 characters: the fallback names it gets.
// cyrillic60 with cyrillicChild below it is a path too long for Maildir++
// (one directory name for the whole path) in modified UTF-7, though each
// name alone is not.
var (
	longCyrillic  = firstRunes(strings.Repeat("Входящие документы ", 11), 200)
	cyrillic100   = firstRunes(longCyrillic, 100)
	cyrillic50    = firstRunes(longCyrillic, 50)
	cyrillic60    = firstRunes(longCyrillic, 60)
	cyrillicChild = "Договоры и счета за прошлый год с клиентами из Новосибирска"
)

func firstRunes(s string, n int) string { return string([]rune(s)[:n]) }

// mxProfile is the matrix profile: a POP3 account with the inbox and a
// child of it, the special folders and a child of one, names with ".",
// "/", "&", "%", non-ASCII, 200 characters, leading and trailing spaces,
// and an empty folder; Local Folders with an inbox and a Trash that merge
// with the account's; messages with flags, tags (one too long for some
// servers), raw 8-bit header bytes, dates, one twice, one of 300 KB, and
// one deleted in the source.
func mxProfile() []mxFolder {
	day := func(d int) time.Time { return time.Date(2021, 3, d, 9, 30, 15, 0, time.FixedZone("", 3600)) }
	one := func(id string, d int) []mxMessage {
		return []mxMessage{{id: id, subject: "in " + id, status: "0001", date: day(d), flags: []string{`\Seen`}}}
	}
	return []mxFolder{
		{key: "inbox", path: []string{"Inbox"}, special: true, msgs: []mxMessage{
			{id: "read-replied", subject: "read and replied", status: "0003", date: day(1), flags: []string{`\Answered`, `\Seen`}},
			{id: "flagged-tags", subject: "flagged with tags", status: "0005", keys: "$label1 projekt-x " + longKeyword, date: day(2),
				flags: []string{"$label1", `\Flagged`, `\Seen`, "projekt-x"}},
			{id: "eight-bit", subject: "Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln", status: "0001", date: day(3), flags: []string{`\Seen`}},
			{id: "forwarded", subject: "forwarded", status: "1001", date: day(4), flags: []string{"$Forwarded", `\Seen`}},
			{id: "unread", subject: "unread", status: "0000", date: day(5)},
			{id: "twice", subject: "downloaded twice", status: "0001", date: day(22), flags: []string{`\Seen`}},
			{id: "twice", subject: "downloaded twice", status: "0001", date: day(22), flags: []string{`\Seen`}},
			{id: "deleted", subject: "deleted, not compacted", status: "0009", date: day(6), deleted: true},
		}},
		{key: "family", path: []string{"Inbox", "Family"}, special: true, msgs: one("family", 7)},
		{key: "sent", path: []string{"Sent"}, special: true, msgs: one("sent", 8)},
		{key: "drafts", path: []string{"Drafts"}, special: true, msgs: []mxMessage{
			{id: "draft", subject: "a draft", status: "0000", date: day(9), flags: []string{`\Draft`}},
		}},
		{key: "trash", path: []string{"Trash"}, special: true, msgs: one("trash", 10)},
		{key: "junk", path: []string{"Junk"}, special: true, msgs: one("junk", 11)},
		{key: "archives", path: []string{"Archives"}, special: true, msgs: one("archived", 12)},
		{key: "archives-2019", path: []string{"Archives", "2019"}, special: true, msgs: []mxMessage{
			{id: "archived-2019", subject: "in archived-2019", status: "0001", date: day(13), flags: []string{`\Seen`}},
			{id: "large", subject: "a large one", status: "0001", date: day(23), flags: []string{`\Seen`},
				body: strings.Repeat("A line of text that makes this message larger than servers take in one piece.\n", 4000)},
		}},
		{key: "dot", path: []string{"Importiert (.eml)"}, msgs: one("dot", 14)},
		{key: "slash", path: []string{"A/B"}, msgs: one("slash", 15)},
		{key: "ampersand", path: []string{"Tom & Jerry"}, msgs: one("ampersand", 16)},
		{key: "percent", path: []string{"100% erledigt"}, msgs: one("percent", 17)},
		{key: "umlaut", path: []string{"Verträge"}, msgs: []mxMessage{
			{id: "umlaut", subject: "Vertr\xc3\xa4ge 2021", status: "0001", date: day(18), flags: []string{`\Seen`}},
		}},
		{key: "long", path: []string{longName}, msgs: one("long-name", 19)},
		{key: "long-cyrillic", path: []string{longCyrillic}, msgs: one("long-cyrillic", 21)},
		{key: "cyrillic-parent", path: []string{cyrillic60}},
		{key: "cyrillic-child", path: []string{cyrillic60, cyrillicChild}, msgs: one("cyrillic-child", 26)},
		{key: "spaced", path: []string{" spaced "}, msgs: one("spaced", 20)},
		{key: "empty", path: []string{"Leer"}},
		{key: "local-inbox", local: true, path: []string{"Inbox"}, special: true, msgs: one("local-inbox", 24)},
		{key: "local-trash", local: true, path: []string{"Trash"}, special: true, msgs: one("local-trash", 25)},
	}
}

// mxExpect is what one variant of the matrix must end with.
type mxExpect struct {
	// folders are the server names of the profile's folders, by key.
	folders map[string]string
	// revealedByCreate are the folders whose new name only a refused
	// CREATE teaches (Courier and Cyrus answer STATUS of such a name as
	// of any missing folder): before the first upload, the dry run and
	// verify show the name as the source spells it.
	revealedByCreate []string
	// keepsLongKeyword: the server stores longKeyword (else it refuses
	// it, and the report says so).
	keepsLongKeyword bool
}

// mxExpected is the matrix: per variant, what the server's own files
// must show after an upload of mxProfile.
var mxExpected = map[string]mxExpect{
	// Maildir++ with "/": "." is refused ([CANNOT], also to STATUS), "/"
	// is the delimiter; no special-use folders, so the conventional names;
	// a name or path over 255 bytes in modified UTF-7 is refused ("Mailbox
	// name too long", or "Not found" for a child): the child is halved.
	"dovecot": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX/Family", "sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk",
		"archives": "Archives", "archives-2019": "Archives/2019", "dot": "Importiert (_eml)", "slash": "A_B",
		"ampersand": "Tom & Jerry", "percent": "100% erledigt", "umlaut": "Verträge", "long": longName, "spaced": " spaced ", "empty": "Leer",
		"long-cyrillic": cyrillic50, "local-inbox": "INBOX", "local-trash": "Trash",
		"cyrillic-parent": cyrillic60, "cyrillic-child": cyrillic60 + "/" + firstRunes(cyrillicChild, 29),
	}, revealedByCreate: []string{"long-cyrillic", "cyrillic-child"}},
	// LAYOUT=fs keeps "." in names.
	"dovecot-fs": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX/Family", "sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk",
		"archives": "Archives", "archives-2019": "Archives/2019", "dot": "Importiert (.eml)", "slash": "A_B",
		"ampersand": "Tom & Jerry", "percent": "100% erledigt", "umlaut": "Verträge", "long": longName, "spaced": " spaced ", "empty": "Leer",
		"long-cyrillic": cyrillic50, "local-inbox": "INBOX", "local-trash": "Trash",
		"cyrillic-parent": cyrillic60, "cyrillic-child": cyrillic60 + "/" + cyrillicChild,
	}, revealedByCreate: []string{"long-cyrillic"}},
	// Hosting panels: everything below "INBOX.", the panel's special-use
	// folders (INBOX.spam for Junk, INBOX.Archive for Archives), "/"
	// refused with [CANNOT] (also to STATUS).
	"dovecot-panel": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX.Family", "sent": "INBOX.Sent", "drafts": "INBOX.Drafts", "trash": "INBOX.Trash",
		"junk": "INBOX.spam", "archives": "INBOX.Archive", "archives-2019": "INBOX.Archive.2019", "dot": "INBOX.Importiert (_eml)",
		"slash": "INBOX.A_B", "ampersand": "INBOX.Tom & Jerry", "percent": "INBOX.100% erledigt", "umlaut": "INBOX.Verträge",
		"long": "INBOX." + longName, "spaced": "INBOX. spaced ", "empty": "INBOX.Leer", "long-cyrillic": "INBOX." + cyrillic50,
		"local-inbox": "INBOX", "local-trash": "INBOX.Trash",
		"cyrillic-parent": "INBOX." + cyrillic60, "cyrillic-child": "INBOX." + cyrillic60 + "." + firstRunes(cyrillicChild, 29),
	}, revealedByCreate: []string{"long-cyrillic", "cyrillic-child"}},
	// Courier: "INBOX." with ".", no special-use folders, "/" refused with
	// a bare NO (learned by creating a test folder).
	"courier": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX.Family", "sent": "INBOX.Sent", "drafts": "INBOX.Drafts", "trash": "INBOX.Trash",
		"junk": "INBOX.Junk", "archives": "INBOX.Archives", "archives-2019": "INBOX.Archives.2019", "dot": "INBOX.Importiert (_eml)",
		"slash": "INBOX.A_B", "ampersand": "INBOX.Tom & Jerry", "percent": "INBOX.100% erledigt", "umlaut": "INBOX.Verträge",
		"long": "INBOX." + longName, "spaced": "INBOX. spaced ", "empty": "INBOX.Leer", "long-cyrillic": "INBOX." + cyrillic100,
		"local-inbox": "INBOX", "local-trash": "INBOX.Trash",
		"cyrillic-parent": "INBOX." + cyrillic60, "cyrillic-child": "INBOX." + cyrillic60 + "." + cyrillicChild,
	}, revealedByCreate: []string{"slash", "long-cyrillic"}, keepsLongKeyword: true},
	// Cyrus as Debian configures it: like Courier, and "%" refused too.
	"cyrus": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX.Family", "sent": "INBOX.Sent", "drafts": "INBOX.Drafts", "trash": "INBOX.Trash",
		"junk": "INBOX.Junk", "archives": "INBOX.Archives", "archives-2019": "INBOX.Archives.2019", "dot": "INBOX.Importiert (_eml)",
		"slash": "INBOX.A_B", "ampersand": "INBOX.Tom & Jerry", "percent": "INBOX.100_ erledigt", "umlaut": "INBOX.Verträge",
		"long": "INBOX." + longName, "spaced": "INBOX. spaced ", "empty": "INBOX.Leer", "long-cyrillic": "INBOX." + cyrillic100,
		"local-inbox": "INBOX", "local-trash": "INBOX.Trash",
		"cyrillic-parent": "INBOX." + cyrillic60, "cyrillic-child": "INBOX." + cyrillic60 + "." + cyrillicChild,
	}, revealedByCreate: []string{"slash", "percent", "long-cyrillic"}, keepsLongKeyword: true},
	// Cyrus with altnamespace and unixhierarchysep: "" with "/", its
	// special-use folders (Archive for Archives), "." kept, "%" refused.
	"cyrus-alt": {folders: map[string]string{
		"inbox": "INBOX", "family": "INBOX/Family", "sent": "Sent", "drafts": "Drafts", "trash": "Trash", "junk": "Junk",
		"archives": "Archive", "archives-2019": "Archive/2019", "dot": "Importiert (.eml)", "slash": "A_B",
		"ampersand": "Tom & Jerry", "percent": "100_ erledigt", "umlaut": "Verträge", "long": longName, "spaced": " spaced ", "empty": "Leer",
		"long-cyrillic": cyrillic100, "local-inbox": "INBOX", "local-trash": "Trash",
		"cyrillic-parent": cyrillic60, "cyrillic-child": cyrillic60 + "/" + cyrillicChild,
	}, revealedByCreate: []string{"percent", "long-cyrillic"}, keepsLongKeyword: true},
}

// mxSource is the built profile and what its reader yields.
type mxSource struct {
	root    string
	folders []mxFolder
	// bytes are the messages as the reader yields them (what APPEND
	// sends), by mxMessage.id.
	bytes map[string][]byte
	// uploadable is the number of messages not deleted in the source.
	uploadable int
}

// mxBuild writes the profile as Thunderbird keeps it and reads it back
// with mailferry's reader, for the bytes the server must store.
func mxBuild(t *testing.T) *mxSource {
	t.Helper()
	folders := mxProfile()
	var pop, local []tbtest.Folder
	for _, f := range folders {
		level := &pop
		if f.local {
			level = &local
		}
		for i, name := range f.path {
			j := slices.IndexFunc(*level, func(x tbtest.Folder) bool { return x.Name == name })
			if j < 0 {
				nf := tbtest.Folder{Name: name, Kind: "parent"}
				if tbtest.HashName(name) != name {
					nf.CacheName = name // stored under a hashed file name: the real one is in folderCache.json
				}
				*level = append(*level, nf)
				j = len(*level) - 1
			}
			if i == len(f.path)-1 {
				(*level)[j].Kind = ""
				for _, m := range f.msgs {
					(*level)[j].Messages = append((*level)[j].Messages, tbtest.Message{
						Status: m.status, Status2: "00000000", Keys: m.keys, Date: m.date.Format(time.RFC1123Z),
						Subject: m.subject, MessageID: m.id + "@matrix.example", Body: m.body,
					})
				}
			}
			level = &(*level)[j].Children
		}
	}
	spec := tbtest.Spec{Accounts: []tbtest.Account{
		{Type: "pop3", Name: "me@example.org", Hostname: "pop.example.org", UserName: "me", Folders: pop},
		{Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody", Folders: local},
	}}
	src := &mxSource{root: tbtest.BuildProfile(t, t.TempDir(), spec).Root, folders: folders, bytes: map[string][]byte{}}
	for _, f := range folders {
		for _, m := range f.msgs {
			if !m.deleted {
				src.uploadable++
			}
		}
	}

	opened, err := detect.Open(src.root, detect.Auto, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Reader.Close()
	ctx := context.Background()
	read := 0
	if _, err := opened.Reader.Mailboxes(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := opened.Reader.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Skip != "" {
			continue
		}
		r, err := m.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		src.bytes[mxID(b)] = b
		read++
	}
	if read != src.uploadable {
		t.Fatalf("the reader yields %d messages to upload, the profile has %d", read, src.uploadable)
	}
	return src
}

// mxID returns the matrix id of a message (its Message-ID without
// "@matrix.example"), or "" for other messages.
func mxID(text []byte) string {
	for _, l := range strings.Split(string(text), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			break
		}
		if v, ok := strings.CutPrefix(l, "Message-ID: <"); ok {
			id, ok := strings.CutSuffix(v, "@matrix.example>")
			if ok {
				return id
			}
		}
	}
	return ""
}

// displayPath is a folder's path as reports name it.
func (f mxFolder) displayPath() string {
	account := "me@example.org"
	if f.local {
		account = "Local Folders"
	}
	return account + "/" + strings.Join(f.path, "/")
}

// eightBitHeader reports whether a message has raw 8-bit bytes in its
// header (which Cyrus replaces).
func eightBitHeader(msg []byte) bool {
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	return slices.ContainsFunc(head, func(c byte) bool { return c >= 0x80 })
}

// mxRun runs upload or verify against srv over implicit TLS with a
// password file and reads the JSON report (nil when none was written).
func mxRun(t *testing.T, srv *servertest.Server, cmd, src string, extra ...string) (result, *upload.Report) {
	t.Helper()
	return mxRunScheme(t, srv, "imaps", cmd, src, extra...)
}

// mxRunScheme is mxRun over "imaps" (implicit TLS) or "imap" (STARTTLS).
func mxRunScheme(t *testing.T, srv *servertest.Server, scheme, cmd, src string, extra ...string) (result, *upload.Report) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	args := append([]string{cmd, src, "--to", srv.URL(scheme), "--tls-ca", srv.CAFile,
		"--password-file", srv.PasswordFile(t), "--report", report, "--quiet"}, extra...)
	if cmd == "upload" {
		args = append(args, "--quarantine", filepath.Join(t.TempDir(), "quarantine"))
	}
	res := runCLI(t, nil, args...)
	return res, readReport(t, report)
}

// mxScanNames runs scan with the server and returns its server names by
// the matrix key of their source folder.
func mxScanNames(t *testing.T, srv *servertest.Server, src *mxSource) map[string]string {
	t.Helper()
	res := runCLI(t, nil, "scan", src.root, "--json", "--to", srv.URL("imaps"), "--tls-ca", srv.CAFile,
		"--password-file", srv.PasswordFile(t))
	if res.code != exitOK {
		t.Fatalf("scan --to: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var got scanResult
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("scan --to --json: %v\n%s", err, res.stdout)
	}
	if got.Server == "" {
		t.Errorf("scan --to does not name the server it planned for")
	}
	names := map[string]string{}
	for _, f := range src.folders {
		for _, sf := range got.Folders {
			if sf.Path == f.displayPath() {
				names[f.key] = sf.Target
			}
		}
	}
	return names
}

func readReport(t *testing.T, path string) *upload.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var rep upload.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report %s: %v", path, err)
	}
	return &rep
}

// serverFolders maps the report's folders to their server names, by the
// matrix key of their source folder.
func serverFolders(t *testing.T, rep *upload.Report, src *mxSource) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, f := range src.folders {
		for _, fr := range rep.Folders {
			if slices.Contains(fr.Sources, f.displayPath()) {
				got[f.key] = fr.Server
			}
		}
		if _, ok := got[f.key]; !ok {
			t.Errorf("the report has no folder for %q", f.displayPath())
		}
	}
	return got
}

// snapshotKey renders the ground truth for comparisons between runs:
// every folder with its messages' ids, server ids and flags.
func snapshotKey(snap []servertest.Folder) string {
	var b strings.Builder
	for _, f := range snap {
		fmt.Fprintf(&b, "%q:", f.Name)
		var msgs []string
		for _, m := range f.Messages {
			msgs = append(msgs, fmt.Sprintf(" %s/%d/%s%v", mxID(m.Text), m.UID, m.GUID, m.SortedFlags()))
		}
		sort.Strings(msgs)
		b.WriteString(strings.Join(msgs, ""))
		b.WriteString("\n")
	}
	return b.String()
}

// mxCheckServer checks the server's own files after an upload: exactly the
// expected folders exist (no test folders left behind), each subscribed;
// every message is there as often as in the source, in its folder, with
// its flags, keywords, internal date and bytes (as the server rewrites
// them, if it does).
func mxCheckServer(t *testing.T, srv *servertest.Server, src *mxSource, want mxExpect) []servertest.Folder {
	t.Helper()
	facts := srv.Variant.Facts
	snap := srv.Snapshot(t)
	var names []string
	for _, f := range snap {
		names = append(names, f.Name)
	}
	wantNames := []string{}
	for _, n := range want.folders {
		wantNames = append(wantNames, n)
	}
	for n := range facts.SpecialUse {
		wantNames = append(wantNames, n)
	}
	slices.Sort(wantNames)
	wantNames = slices.Compact(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Errorf("folders on the server:\n%q\nwant\n%q", names, wantNames)
	}
	subscribed := srv.Subscribed(t)
	for _, n := range want.folders {
		if !slices.Contains(subscribed, n) {
			t.Errorf("folder %q is not subscribed (subscribed: %q)", n, subscribed)
		}
	}

	where := map[string][]servertest.StoredMessage{}
	for _, f := range snap {
		for _, m := range f.Messages {
			id := mxID(m.Text)
			if id == "" {
				t.Errorf("folder %q holds a message that is not from the source:\n%s", f.Name, m.Text)
				continue
			}
			where[id] = append(where[id], m)
		}
	}
	copies := map[string]int{}
	for _, f := range src.folders {
		for _, m := range f.msgs {
			if !m.deleted {
				copies[m.id]++
			}
		}
	}
	for _, f := range src.folders {
		for _, m := range f.msgs {
			stored := where[m.id]
			if m.deleted {
				if len(stored) != 0 {
					t.Errorf("message %s, deleted in the source, was uploaded", m.id)
				}
				continue
			}
			if len(stored) != copies[m.id] {
				t.Errorf("message %s is on the server %d times, want %d", m.id, len(stored), copies[m.id])
				if len(stored) == 0 {
					continue
				}
			}
			s := stored[0]
			for _, c := range stored {
				if c.Mailbox != want.folders[f.key] {
					t.Errorf("message %s is in %q, want %q", m.id, c.Mailbox, want.folders[f.key])
				}
			}
			wantFlags := slices.Clone(m.flags)
			if strings.Contains(m.keys, longKeyword) && want.keepsLongKeyword {
				wantFlags = append(wantFlags, longKeyword)
			}
			slices.Sort(wantFlags)
			if got := s.SortedFlags(); !slices.Equal(got, wantFlags) {
				t.Errorf("message %s has the flags %q, want %q", m.id, got, wantFlags)
			}
			if !s.Received.Equal(m.date) {
				t.Errorf("message %s has the internal date %v, want %v", m.id, s.Received, m.date)
			}
			wantBytes := src.bytes[m.id]
			if facts.MungesHeaders {
				wantBytes = servertest.MungeHeaders(wantBytes)
			}
			if got := s.CRLF(); !bytes.Equal(got, wantBytes) {
				t.Errorf("message %s stored as\n%q\nwant\n%q", m.id, got, wantBytes)
			}
		}
	}
	return snap
}

// TestServerMatrix runs the command line against every server of the
// matrix: a dry run and a verify before anything was uploaded, the
// upload, a second upload and a verify, each judged by the report and by
// the server's own files.
func TestServerMatrix(t *testing.T) {
	src := mxBuild(t)
	servertest.Each(t, func(t *testing.T, srv *servertest.Server) {
		want, ok := mxExpected[srv.Variant.Name]
		if !ok {
			t.Fatalf("no expectations for the variant %s", srv.Variant.Name)
		}
		facts := srv.Variant.Facts
		// What the server starts with: INBOX and its special-use folders.
		pristine := append([]string{"INBOX"}, slices.Collect(maps.Keys(facts.SpecialUse))...)
		slices.Sort(pristine)

		// Before the first upload, a dry run shows the plan...
		res, rep := mxRun(t, srv, "upload", src.root, "--dry-run")
		if res.code != exitOK || rep == nil {
			t.Fatalf("upload --dry-run before the first upload: exit %d, want 0\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if !rep.DryRun || rep.Totals.Uploaded != src.uploadable || rep.Totals.Skipped != 1 || rep.Totals.Quarantined+rep.Totals.Failed != 0 {
			t.Errorf("dry run totals %+v, want %d to upload and 1 skipped", rep.Totals, src.uploadable)
		}
		planned := serverFolders(t, rep, src)
		// scan with the server plans with the same function.
		if got := mxScanNames(t, srv, src); !maps.Equal(got, planned) {
			t.Errorf("scan --to shows the server names %q, the dry run %q", got, planned)
		}
		for key, name := range want.folders {
			f := src.folders[slices.IndexFunc(src.folders, func(f mxFolder) bool { return f.key == key })]
			if slices.Contains(want.revealedByCreate, key) {
				name = srv.Mailbox(f.path...)
			}
			if planned[key] != name {
				t.Errorf("dry run plans %q for %q, want %q", planned[key], f.displayPath(), name)
			}
		}
		// ...and verify lists every message as missing, without an error.
		res, rep = mxRun(t, srv, "verify", src.root)
		if res.code != exitFailure || rep == nil {
			t.Fatalf("verify before the first upload: exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if rep.Totals.Missing != src.uploadable || rep.Totals.Already != 0 {
			t.Errorf("verify before the first upload: totals %+v, want all %d missing", rep.Totals, src.uploadable)
		}
		for _, f := range rep.Folders {
			if f.Verify == nil || f.Verify.Status == upload.StatusError || f.Verify.Error != "" {
				t.Errorf("verify before the first upload: folder %q could not be checked: %+v", f.Server, f.Verify)
			}
		}
		if got := srv.Mailboxes(t); !slices.Equal(got, pristine) {
			t.Errorf("after the dry run and verify the server has the folders %q, want %q (nothing created)", got, pristine)
		}

		// The upload.
		res, rep = mxRun(t, srv, "upload", src.root)
		if res.code != exitOK || rep == nil {
			t.Fatalf("upload: exit %d, want 0\n%s\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
		}
		if err := rep.CheckTotals(); err != nil {
			t.Error(err)
		}
		tot := rep.Totals
		if !rep.Verified || tot.Uploaded != src.uploadable || tot.Skipped != 1 || tot.Already+tot.Quarantined+tot.Failed+tot.Missing+tot.Mismatched != 0 {
			t.Errorf("upload: verified %v, totals %+v; want %d uploaded and verified, 1 skipped", rep.Verified, tot, src.uploadable)
		}
		got := serverFolders(t, rep, src)
		var wantRenames []string
		for _, f := range src.folders {
			if got[f.key] != want.folders[f.key] {
				t.Errorf("the report says %q went to %q, want %q", f.displayPath(), got[f.key], want.folders[f.key])
			}
			if !f.special && want.folders[f.key] != srv.Mailbox(f.path...) {
				wantRenames = append(wantRenames, f.displayPath()+" → "+want.folders[f.key])
			}
		}
		var renames []string
		for _, r := range rep.Renames {
			renames = append(renames, r.Source+" → "+r.Server)
		}
		slices.Sort(renames)
		slices.Sort(wantRenames)
		if !slices.Equal(renames, wantRenames) {
			t.Errorf("renames in the report:\n%q\nwant\n%q", renames, wantRenames)
		}
		checkChanged(t, "upload", rep, src, facts.MungesHeaders)
		var dropped []string
		for _, kw := range rep.KeywordWarnings {
			if kw.Server != "INBOX" {
				t.Errorf("tags not kept in %q: %+v; only INBOX has a tag to refuse", kw.Server, kw)
			}
			dropped = append(dropped, kw.Keywords...)
		}
		if wantDropped := []string{longKeyword}; !want.keepsLongKeyword && !slices.Equal(dropped, wantDropped) ||
			want.keepsLongKeyword && len(dropped) != 0 {
			t.Errorf("tags reported as not kept: %q; the server keeps the long one: %v", dropped, want.keepsLongKeyword)
		}
		if t.Failed() {
			t.Logf("upload:\n%s\n%s", res.stdout, res.stderr)
		}
		before := snapshotKey(mxCheckServer(t, srv, src, want))

		// A second upload (over STARTTLS) finds everything and adds nothing.
		res, rep = mxRunScheme(t, srv, "imap", "upload", src.root)
		if res.code != exitOK || rep == nil {
			t.Fatalf("second upload: exit %d, want 0\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if tot := rep.Totals; tot.Uploaded != 0 || tot.Already != src.uploadable || tot.Missing+tot.Mismatched+tot.Extra != 0 {
			t.Errorf("second upload: totals %+v, want all %d already on the server", tot, src.uploadable)
		}
		checkChanged(t, "second upload", rep, src, facts.MungesHeaders)
		// The folders of the first run say what it learned about names: no
		// test folders again.
		if len(rep.NameRules) != 0 {
			t.Errorf("the second upload learned about names again: %q", rep.NameRules)
		}
		if after := snapshotKey(srv.Snapshot(t)); after != before {
			t.Errorf("the second upload changed the server:\nbefore\n%s\nafter\n%s\n%s\n%s", before, after, res.stdout, res.stderr)
		}

		res, rep = mxRun(t, srv, "verify", src.root)
		if res.code != exitOK || rep == nil {
			t.Fatalf("verify: exit %d, want 0\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if tot := rep.Totals; tot.Already != src.uploadable || tot.Missing+tot.Mismatched+tot.Extra != 0 {
			t.Errorf("verify: totals %+v, want all %d on the server", tot, src.uploadable)
		}
		checkChanged(t, "verify", rep, src, facts.MungesHeaders)
		if got := serverFolders(t, rep, src); !maps.Equal(got, want.folders) {
			t.Errorf("verify checked the folders %q, want %q", got, want.folders)
		}

		// A dry run now finds every folder under the name the upload gave it.
		res, rep = mxRun(t, srv, "upload", src.root, "--dry-run")
		if res.code != exitOK || rep == nil {
			t.Fatalf("upload --dry-run after the upload: exit %d, want 0\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if got := serverFolders(t, rep, src); !maps.Equal(got, want.folders) {
			t.Errorf("the dry run after the upload plans the folders %q, want %q", got, want.folders)
		}
		if got := mxScanNames(t, srv, src); !maps.Equal(got, want.folders) {
			t.Errorf("scan --to after the upload shows the server names %q, want %q", got, want.folders)
		}
		if tot := rep.Totals; tot.Uploaded != 0 || tot.Already != src.uploadable {
			t.Errorf("the dry run after the upload: totals %+v, want all %d already on the server", tot, src.uploadable)
		}
		if after := snapshotKey(srv.Snapshot(t)); after != before {
			t.Errorf("verify or the dry run changed the server:\nbefore\n%s\nafter\n%s", before, after)
		}
	})
}

// checkChanged checks that the report lists exactly the messages with
// 8-bit header bytes as changed by a server that rewrites them, and none
// elsewhere.
func checkChanged(t *testing.T, what string, rep *upload.Report, src *mxSource, munges bool) {
	t.Helper()
	var got, want []string
	for _, f := range rep.Folders {
		if f.Verify == nil {
			continue
		}
		for _, c := range f.Verify.Changed {
			got = append(got, strings.TrimSuffix(strings.Trim(c.MessageID, "<>"), "@matrix.example"))
		}
	}
	if munges {
		for id, b := range src.bytes {
			if eightBitHeader(b) {
				want = append(want, id)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || rep.Totals.Changed != len(want) || munges && len(want) == 0 {
		t.Errorf("%s: changed by the server: %q (total %d), want %q", what, got, rep.Totals.Changed, want)
	}
}

// TestGuidedServerMatrix: the guided run with every answer given as a
// flag and the password in the environment, as a support desk would
// send it, succeeds on the first attempt on every server of the matrix.
func TestGuidedServerMatrix(t *testing.T) {
	src := mxBuild(t)
	servertest.Each(t, func(t *testing.T, srv *servertest.Server) {
		want := mxExpected[srv.Variant.Name]
		home := t.TempDir()
		report := filepath.Join(t.TempDir(), "report.json")
		res := runCLI(t, map[string]string{"HOME": home, "MAILFERRY_PASSWORD": srv.Password},
			"start", "--source", src.root, "--email", "me@example.org", "--server", srv.URL("imaps"), "--yes",
			"--tls-ca", srv.CAFile, "--report", report)
		if res.code != exitOK {
			t.Fatalf("guided run: exit %d, want 0\nstdout:\n%s\nstderr:\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
		}
		rep := readReport(t, report)
		if rep == nil {
			t.Fatalf("the guided run wrote no report to %s", report)
		}
		if tot := rep.Totals; !rep.Verified || tot.Uploaded != src.uploadable || tot.Mismatched+tot.Missing+tot.Quarantined+tot.Failed != 0 {
			t.Errorf("guided run: verified %v, totals %+v; want %d uploaded and verified", rep.Verified, tot, src.uploadable)
		}
		mxCheckServer(t, srv, src, want)
		if strings.Contains(res.stdout+res.stderr, srv.Password) {
			t.Errorf("the password appears in the output")
		}
	})
}

// mxServer is a matrix server of the named variant around a server of
// its kind started with another configuration.
func mxServer(t *testing.T, variant string, h servertest.Harness) *servertest.Server {
	t.Helper()
	v, ok := servertest.Lookup(variant)
	if !ok {
		t.Fatalf("no variant %s", variant)
	}
	return v.Around(t, h)
}

// A Courier that allows 2 connections per address (MAXPERIP) and an
// upload asking for 4: Courier closes the connections beyond its limit
// right after accepting them, which the upload must take as the limit
// (not as a failing network to retry for --retry-timeout): it finishes
// on 2 connections and says so.
func TestUploadCourierConnectionLimit(t *testing.T) {
	t.Parallel()
	src := mxBuild(t)
	srv := mxServer(t, "courier", couriertest.Start(t, couriertest.Config{MaxPerIP: 2}))
	start := time.Now()
	res, rep := mxRun(t, srv, "upload", src.root, "--connections", "4")
	took := time.Since(start)
	if res.code != exitOK || rep == nil {
		t.Fatalf("upload: exit %d, want 0\n%s\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
	}
	// Retrying the refused connections as a broken network would take
	// the whole --retry-timeout (2 minutes by default).
	if took > time.Minute {
		t.Errorf("the upload took %v: the connection limit was not recognised", took)
	}
	if rep.Connections != 2 || rep.ConnectionsAsked != 4 || !strings.Contains(res.stdout, "Connections: 2 of the 4 asked") {
		t.Errorf("connections %d of %d asked; summary:\n%s", rep.Connections, rep.ConnectionsAsked, res.stdout)
	}
	if tot := rep.Totals; !rep.Verified || tot.Uploaded != src.uploadable || tot.Mismatched+tot.Missing+tot.Failed != 0 {
		t.Errorf("upload: verified %v, totals %+v; want %d uploaded and verified", rep.Verified, tot, src.uploadable)
	}
	mxCheckServer(t, srv, src, mxExpected["courier"])
}

// A Cyrus with reject8bit refuses the messages with raw 8-bit header
// bytes: they are quarantined with the server's reason, everything else
// arrives, the summary does not claim that every message is on the
// server, and the exit code says so (3). A second run sends only those
// again.
func TestUploadCyrusReject8Bit(t *testing.T) {
	t.Parallel()
	src := mxBuild(t)
	srv := mxServer(t, "cyrus", cyrustest.Start(t, cyrustest.Config{Reject8Bit: true}))
	var refused []string
	for id, b := range src.bytes {
		if eightBitHeader(b) {
			refused = append(refused, id)
		}
	}
	slices.Sort(refused)
	quarantine := filepath.Join(t.TempDir(), "quarantine")
	for run := 1; run <= 2; run++ {
		res, rep := mxRun(t, srv, "upload", src.root, "--quarantine", quarantine)
		if res.code != exitIncomplete || rep == nil {
			t.Fatalf("run %d: exit %d, want %d\n%s\n%s", run, res.code, exitIncomplete, res.stdout, res.stderr)
		}
		var got []string
		for _, f := range rep.Folders {
			for _, q := range f.Quarantined {
				got = append(got, strings.TrimSuffix(strings.Trim(q.MessageID, "<>"), "@matrix.example"))
				if q.Code != upload.ProblemRefused || !strings.Contains(q.Reason, "non-ASCII") {
					t.Errorf("run %d: quarantined %+v, want refused with the server's reason", run, q)
				}
				if b, err := os.ReadFile(q.File); err != nil || !bytes.Equal(b, src.bytes[got[len(got)-1]]) {
					t.Errorf("run %d: the quarantined copy %q of %s is not the message (%v)", run, q.File, q.MessageID, err)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, refused) || len(refused) == 0 {
			t.Errorf("run %d: quarantined %q, want the messages with 8-bit header bytes %q", run, got, refused)
		}
		wantUploaded := src.uploadable - len(refused)
		if run == 2 {
			wantUploaded = 0
		}
		if tot := rep.Totals; tot.Uploaded != wantUploaded || tot.Already != src.uploadable-len(refused)-wantUploaded || tot.Missing+tot.Failed != 0 {
			t.Errorf("run %d: totals %+v, want %d uploaded", run, tot, wantUploaded)
		}
		if strings.Contains(res.stdout, "every message is on the server") || !strings.Contains(res.stdout, "quarantined: ") {
			t.Errorf("run %d: the summary claims every message is on the server, or names no quarantined one:\n%s", run, res.stdout)
		}
	}
	stored := 0
	for _, f := range srv.Snapshot(t) {
		for _, m := range f.Messages {
			if slices.Contains(refused, mxID(m.Text)) {
				t.Errorf("the refused message %s is on the server in %q", mxID(m.Text), f.Name)
			}
			stored++
		}
	}
	if stored != src.uploadable-len(refused) {
		t.Errorf("the server holds %d messages, want %d", stored, src.uploadable-len(refused))
	}
}
