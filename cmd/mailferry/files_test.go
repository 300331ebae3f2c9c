package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailferry/upload"
)

// writeTree writes files (slash paths → content; "-> target" makes a
// symbolic link) below root.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Skipf("no symbolic links: %v", err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	fileMsgA = "From: anna@example.org\nTo: ben@example.org\nSubject: one\nDate: Mon, 7 Jun 2010 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nbody one\n"
	fileMsgB = "From: ben@example.org\nTo: anna@example.org\nSubject: two\nDate: Tue, 8 Jun 2010 10:00:00 +0000\nMessage-ID: <2@example.org>\n\nbody two\n"
)

func tbFolder(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From - Mon Jun  7 10:00:00 2010\nX-Mozilla-Status: 0001\n" + m + "\n")
	}
	return b.String()
}

func emlxOf(msg string) string {
	return fmt.Sprintf("%d\n%s<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>flags</key><integer>1</integer></dict></plist>\n", len(msg), msg)
}

// homeCopy is a copied Linux home folder: Thunderbird in the hidden
// .thunderbird, Apple Mail copied from a Mac, exported .eml files, an
// Outlook file that cannot be read, a saved message no store holds, a link out of the tree and
// the caches of other programs.
func homeCopy(t *testing.T) (home, outside string) {
	outside = t.TempDir()
	writeTree(t, outside, map[string]string{"passwd": "root:x:0:0:root:/root:/bin/bash\n"})
	home = t.TempDir()
	writeTree(t, home, map[string]string{
		".thunderbird/profiles.ini":                               "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n",
		".thunderbird/abcd.default/prefs.js":                      `user_pref("mail.server.server1.type", "none");` + "\n",
		".thunderbird/abcd.default/Mail/Local Folders/Inbox":      tbFolder(fileMsgA, fileMsgB),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf":  "",
		".thunderbird/abcd.default/Mail/Local Folders/Sent":       tbFolder(fileMsgA),
		".cache/thunderbird/cache2/entries/0A1B":                  "\x00\x01",
		"Library/Mail/V10/Mailboxes/Archive.mbox/Messages/1.emlx": emlxOf(fileMsgB),
		"Documents/Exported/a.eml":                                fileMsgA,
		"Documents/Exported/passwd.eml":                           "-> " + filepath.Join(outside, "passwd"),
		"Documents/saved.txt":                                     fileMsgB,
		"Documents/old.pst":                                       "!BDN0000",
		"Pictures/cat.jpg":                                        "\xff\xd8\xff\xe0",
	})
	return home, outside
}

type ledgerJSON struct {
	Root   string `json:"root"`
	Files  int    `json:"files"`
	Read   struct{ Files int }
	NoMail []struct {
		Reason string
		Files  int
	} `json:"no_mail"`
	NotRead []struct {
		Path, Kind, Reason, Advice string
		Files                      int
		Mail                       bool
	} `json:"not_read"`
	NotSearched []struct{ Path string } `json:"not_searched"`
}

func (l ledgerJSON) notRead() []string {
	var out []string
	for _, n := range l.NotRead {
		out = append(out, fmt.Sprintf("%s|%s|%v", n.Path, n.Kind, n.Mail))
	}
	return out
}

func (l ledgerJSON) adds() bool {
	n := l.Read.Files
	for _, g := range l.NoMail {
		n += g.Files
	}
	for _, e := range l.NotRead {
		n += e.Files
	}
	return n == l.Files
}

// filesLineRE is the accounting line printFiles writes.
var filesLineRE = regexp.MustCompile(`(?m)^Files under .*: (\d+) \([^)]*\) = read as mail (\d+) \+ no mail (\d+) \+ not read (\d+)$`)

// wantOutput reports each of wants that out, what a command printed (its
// name in what), lacks.
func wantOutput(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, out)
		}
	}
}

// uploadReport reads the report an upload wrote to path and checks that
// its totals add up.
func uploadReport(t *testing.T, path string) *upload.Report {
	t.Helper()
	rep := readReport(t, path)
	if rep == nil {
		t.Fatalf("no report at %s", path)
	}
	if err := rep.CheckTotals(); err != nil {
		t.Errorf("report totals: %v", err)
	}
	return rep
}

// checkFilesLine asserts that out holds exactly one accounting line of the
// files under a source, that it adds up, and that no warning says
// otherwise; it returns the line's numbers (files, read, no mail, not
// read).
func checkFilesLine(t *testing.T, what, out string) [4]int {
	t.Helper()
	all := filesLineRE.FindAllStringSubmatch(out, -1)
	if len(all) != 1 {
		t.Errorf("%s: %d accounting lines of the files, want 1:\n%s", what, len(all), out)
		return [4]int{}
	}
	var n [4]int
	for i := range n {
		n[i], _ = strconv.Atoi(all[0][i+1])
	}
	if n[0] != n[1]+n[2]+n[3] || strings.Contains(out, "do not add up") {
		t.Errorf("%s: the files do not add up: %s", what, all[0][0])
	}
	return n
}

var homeNotRead = []string{
	"Documents/Exported/passwd.eml|link|true",
	"Documents/old.pst|store|true",
	"Documents/saved.txt|mail|true",
}

// Issues: a copied home folder is read whole (the hidden Thunderbird
// profile included), every file is accounted for in scan, upload and
// convert, the accounting line adds up, and the exit code is 3 because
// mail-like files were not taken.
func TestHomeCopyScanUploadConvert(t *testing.T) {
	home, outside := homeCopy(t)

	res := runCLI(t, nil, "scan", home, "--json")
	if res.code != exitIncomplete {
		t.Fatalf("scan: exit %d, want %d\n%s", res.code, exitIncomplete, res.stderr)
	}
	var scan struct {
		Stores []struct {
			Kind, Path, Program, Advice string
		}
		Folders []struct{ Path string }
		Totals  struct{ Messages int }
		Files   ledgerJSON
	}
	if err := json.Unmarshal([]byte(res.stdout), &scan); err != nil {
		t.Fatal(err)
	}
	var stores, folders []string
	for _, s := range scan.Stores {
		rel, _ := filepath.Rel(home, s.Path)
		stores = append(stores, s.Kind+" "+filepath.ToSlash(rel))
	}
	for _, f := range scan.Folders {
		folders = append(folders, f.Path)
	}
	wantStores := []string{"thunderbird .thunderbird", "applemail Library/Mail", "eml Documents/Exported", "other Documents/old.pst"}
	if !slices.Equal(stores, wantStores) {
		t.Errorf("stores = %q, want %q", stores, wantStores)
	}
	wantFolders := []string{".thunderbird: Local Folders/Inbox", ".thunderbird: Local Folders/Sent", "Library/Mail: On My Mac/Archive", "Documents/Exported/Exported"}
	if !slices.Equal(folders, wantFolders) {
		t.Errorf("folders = %q, want %q", folders, wantFolders)
	}
	if scan.Totals.Messages != 5 {
		t.Errorf("scan counted %d messages, want 5", scan.Totals.Messages)
	}
	if got := scan.Files.notRead(); !slices.Equal(got, homeNotRead) {
		t.Errorf("scan not read = %q, want %q", got, homeNotRead)
	}
	if !scan.Files.adds() || scan.Files.Files != 11 || scan.Files.Read.Files != 4 {
		t.Errorf("scan ledger: %d files, %d read, adds up %v; want 11, 4 (2 mbox files, 1 .emlx, 1 .eml), true", scan.Files.Files, scan.Files.Read.Files, scan.Files.adds())
	}

	text := runCLI(t, nil, "scan", home)
	checkFilesLine(t, "scan", text.stdout)
	wantOutput(t, "scan output", text.stdout,
		"Found, but mailferry cannot read it:",
		"Outlook data file (.pst, .ost), damaged",
		fmt.Sprintf("Files under %s: 11 (", home),
		"= read as mail 4 + no mail 4 + not read 3",
		"! Documents/saved.txt (",
		"! Documents/Exported/passwd.eml (",
		"symbolic link to "+filepath.Join(outside, "passwd")+", outside the source: not followed",
		"what to do:",
		"Not searched (hidden settings and caches of programs): .cache",
	)

	report := filepath.Join(t.TempDir(), "report.json")
	up := runCLI(t, nil, "upload", home, "--report", report, "--quiet")
	if up.code != exitIncomplete {
		t.Fatalf("upload (rehearsal): exit %d, want %d\n%s\n%s", up.code, exitIncomplete, up.stdout, up.stderr)
	}
	wantOutput(t, "upload output", up.stdout, "Messages found: 5 = uploaded 5 + already on the server 0 + skipped 0 + quarantined 0",
		"= read as mail 4 + no mail 4 + not read 3", "Not read (3):")
	checkFilesLine(t, "upload", up.stdout)
	if strings.Contains(up.stdout, "root:x:0:0") {
		t.Errorf("the linked file was read")
	}
	rep := uploadReport(t, report)
	if rep.Files == nil || rep.Files.Check() != nil || rep.Files.MailNotRead() != 3 {
		t.Errorf("report files = %+v, want the ledger with 3 files not read", rep.Files)
	}

	out := filepath.Join(t.TempDir(), "out")
	conv := runCLI(t, nil, "convert", home, "--format", "eml", "--out", out, "--quiet")
	if conv.code != exitIncomplete {
		t.Fatalf("convert: exit %d, want %d\n%s\n%s", conv.code, exitIncomplete, conv.stdout, conv.stderr)
	}
	checkFilesLine(t, "convert", conv.stdout)
	if !strings.Contains(conv.stdout, "messages found 5 = written 5 + skipped 0 + not converted 0 + failed 0") ||
		!strings.Contains(conv.stdout, "= read as mail 4 + no mail 4 + not read 3") {
		t.Errorf("convert output:\n%s", conv.stdout)
	}
}

// A tree with nothing left behind exits 0, and says every file's fate.
func TestCleanTreeExitsZero(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"Mail/Local Folders/Inbox":     tbFolder(fileMsgA),
		"Mail/Local Folders/Inbox.msf": "",
		"prefs.js":                     `user_pref("mail.server.server1.type", "none");` + "\n",
		"Exported/a.eml":               fileMsgB,
		"Exported/.DS_Store":           "\x00\x00\x00\x01Bud1",
	})
	res := runCLI(t, nil, "scan", root)
	if res.code != exitOK {
		t.Fatalf("scan: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	checkFilesLine(t, "scan", res.stdout)
	if !strings.Contains(res.stdout, "= read as mail 2 + no mail 3 + not read 0") || strings.Contains(res.stdout, "Not read (") {
		t.Errorf("scan output:\n%s", res.stdout)
	}
	up := runCLI(t, nil, "upload", root, "--quiet")
	if up.code != exitOK {
		t.Errorf("upload: exit %d\n%s", up.code, up.stdout)
	}
	checkFilesLine(t, "upload", up.stdout)
}

// A source holding only stores mailferry cannot read: scan names them and
// says what to do (exit 3); upload refuses with the same words (exit 2).
func TestOnlyOtherStoresCLI(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"Outlook 15 Profiles/Main Profile/Data/Outlook.sqlite":          "SQLite format 3\x00",
		"Outlook 15 Profiles/Main Profile/Data/Messages/1.olk15Message": "x",
		"backup.pst":          "!BDN0000",
		"Documents/saved.txt": fileMsgB,
	})
	res := runCLI(t, nil, "scan", root)
	if res.code != exitIncomplete {
		t.Fatalf("scan: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// Every other file is accounted for too: the saved message beside
	// them is mail not read.
	if n := checkFilesLine(t, "scan", res.stdout); n != [4]int{4, 0, 0, 4} {
		t.Errorf("files line = %v, want 4 files, all 4 not read:\n%s", n, res.stdout)
	}
	if strings.Contains(res.stdout, "Total:") {
		t.Errorf("scan shows totals of folders although none can be read:\n%s", res.stdout)
	}
	wantOutput(t, "scan output", res.stdout, "Outlook for Mac's mail database (Outlook for Mac)", "Outlook data file (.pst, .ost), damaged",
		"what to do:", "! Documents/saved.txt (")
	up := runCLI(t, nil, "upload", root)
	if up.code != exitUsage || !strings.Contains(up.stderr, "what to do:") {
		t.Errorf("upload: exit %d, stderr:\n%s", up.code, up.stderr)
	}
}

// Folder names with ESC, CR, LF or NUL print escaped in the scan and
// convert tables, never as raw control characters. A directory name can
// hold ESC, CR and LF; a NUL comes from a Maildir++ name in modified
// UTF-7 ("&AAA-").
func TestControlCharactersEscaped(t *testing.T) {
	root := t.TempDir()
	evil := "Evil\x1b[2J\rX\nY"
	if err := os.MkdirAll(filepath.Join(root, "Export", evil), 0o755); err != nil {
		t.Skipf("file system refuses the name: %v", err)
	}
	writeTree(t, root, map[string]string{
		"Export/" + evil + "/a.eml":                  fileMsgA,
		"Maildir/cur/1275904800.1.host:2,S":          fileMsgA,
		"Maildir/new/.keep":                          "",
		"Maildir/.N&AAA-Z/cur/1275904801.2.host:2,S": fileMsgB,
		"Maildir/.N&AAA-Z/new/.keep":                 "",
	})
	for _, tt := range []struct{ source, escaped string }{
		{"Export", `Evil\x1b[2J\rX\nY`},
		{"Maildir", `N\x00Z`},
	} {
		src := filepath.Join(root, tt.source)
		res := runCLI(t, nil, "scan", src)
		if res.code != exitOK {
			t.Fatalf("scan %s: exit %d\n%s%s", tt.source, res.code, res.stdout, res.stderr)
		}
		conv := runCLI(t, nil, "convert", src, "--format", "mbox", "--out", filepath.Join(t.TempDir(), "o"), "--quiet")
		for name, out := range map[string]string{"scan": res.stdout, "convert": conv.stdout} {
			if strings.ContainsAny(out, "\x1b\r\x00") {
				t.Errorf("%s %s printed a raw control character:\n%q", name, tt.source, out)
			}
			if !strings.Contains(out, tt.escaped) {
				t.Errorf("%s %s output lacks the escaped name %s:\n%s", name, tt.source, tt.escaped, out)
			}
		}
	}
}
