package detect

import (
	"path/filepath"
	"strings"
	"testing"
)

// Hidden directories are searched where mail programs keep mail, and
// when they are a store themselves; others are listed as not searched.
func TestHiddenMailDirectories(t *testing.T) {
	home := t.TempDir()
	maildirMsg := func(dir string) tree {
		return tree{dir + "/cur/1275904800.1.host:2,S": msgA, dir + "/new/": ""}
	}
	tr := tree{
		".mozilla/seamonkey/profiles.ini":                                                        "[Profile0]\nName=default\nIsRelative=1\nPath=sm.default\nDefault=1\n",
		".mozilla/seamonkey/sm.default/Mail/Local Folders/Inbox":                                 tbMbox(msgB),
		".mozilla/seamonkey/sm.default/Mail/Local Folders/Inbox.msf":                             "",
		".mozilla/firefox/xyz.default/places.sqlite":                                             "SQLite format 3\x00",
		".var/app/eu.betterbird.Betterbird/.thunderbird/bb.default/Mail/Local Folders/Inbox":     tbMbox(msgA),
		".var/app/eu.betterbird.Betterbird/.thunderbird/bb.default/Mail/Local Folders/Inbox.msf": "",
		".var/app/org.example.Other/data/x":                                                      "x",
		".secret-mbox/old":                                                                       "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgA,
		"Documents/a.txt":                                                                        "text\n",
		"Pictures/b.png":                                                                         "\x89PNG",
	}
	for k, v := range maildirMsg(".local/share/evolution/mail/local") {
		tr[k] = v
	}
	for k, v := range maildirMsg(".maildir") {
		tr[k] = v
	}
	for k, v := range maildirMsg(".offlineimap-copy") { // not on the list, but a maildir itself
		tr[k] = v
	}
	for k, v := range maildirMsg("Maildir") {
		tr[k] = v
	}
	tr.build(t, home)
	r := readSource(t, home)
	check(t, "stores", r.stores(home), []string{
		"maildir .local/share/evolution/mail", // its only subdirectory, local/, is a maildir
		"maildir .maildir",
		"thunderbird .mozilla/seamonkey",
		"maildir .offlineimap-copy",
		"thunderbird .var/app/eu.betterbird.Betterbird/.thunderbird/bb.default", // no profiles.ini above it
		"maildir Maildir",
	})
	if r.messages != 6 {
		t.Errorf("read %d messages, want 6", r.messages)
	}
	check(t, "not searched", r.notSearched(), []string{".mozilla", ".secret-mbox", ".var/app"})
	check(t, "not read", r.notRead(), nil)
	for _, n := range r.ledger.NotSearched {
		if n.Path == ".var/app" && !strings.Contains(n.Reason, "1 other entries") {
			t.Errorf("%s: %q, want the other entries counted", n.Path, n.Reason)
		}
	}
}

// A home folder with a Maildir beside other folders is not one big
// Maildir tree; a Dovecot LAYOUT=fs root (only maildirs below) is.
func TestMaildirRootRule(t *testing.T) {
	home := t.TempDir()
	tree{
		"Maildir/cur/1275904800.1.host:2,S": msgA, "Maildir/new/": "",
		"Documents/Exported/a.eml": msgB,
		"Pictures/":                "", "Music/": "",
	}.build(t, home)
	r := readSource(t, home)
	check(t, "home stores", r.stores(home), []string{"maildir Maildir", "eml Documents/Exported"})

	fs := t.TempDir()
	tree{
		"INBOX/cur/1275904800.1.host:2,S": msgA, "INBOX/new/": "",
		"Sent/cur/1275904801.2.host:2,S": msgB, "Sent/new/": "",
		"attachments/": "",
	}.build(t, fs)
	r = readSource(t, fs)
	check(t, "fs stores", r.stores(fs), []string{"maildir ."})
	check(t, "fs folders", r.folders, []string{"INBOX", "Sent"})
}

// The profiles of Thunderbird's siblings are default sources, named
// after their program; on Windows the .eml stores of Windows Live Mail
// are too.
func TestDefaultSourcesSiblings(t *testing.T) {
	home := t.TempDir()
	tree{
		".mozilla/seamonkey/profiles.ini":        "[Profile0]\nName=default\nIsRelative=1\nPath=sm.default\nDefault=1\n",
		".mozilla/seamonkey/sm.default/prefs.js": `user_pref("mail.server.server1.type", "none");`,
		".icedove/ic.default/prefs.js":           `user_pref("mail.server.server1.type", "none");`,
	}.build(t, home)
	var got []string
	for _, f := range DefaultSources(Paths{Home: home, GOOS: "linux"}) {
		rel, _ := filepath.Rel(home, f.Path)
		got = append(got, filepath.ToSlash(rel)+"|"+f.Note)
	}
	check(t, "linux", got, []string{
		".icedove/ic.default|Icedove profile ic.default (default)",
		".mozilla/seamonkey/sm.default|SeaMonkey profile default (default)",
	})
	win := t.TempDir()
	tree{"AppData/Local/Microsoft/Windows Live Mail/pop.example.org/Inbox/msg1.eml": msgA}.build(t, win)
	got = nil
	for _, f := range DefaultSources(Paths{Home: win, GOOS: "windows"}) {
		rel, _ := filepath.Rel(win, f.Path)
		got = append(got, string(f.Kind)+"|"+filepath.ToSlash(rel))
	}
	check(t, "windows", got, []string{"eml|AppData/Local/Microsoft/Windows Live Mail"})
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{msgA, "From a@b Mon Jun  7 10:00:00 2010\n" + msgA, emlxFile(msgB), "!BDN", "%PDF-1.4", "text\n", "\x00\x01\x02", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := sniffBytes(b)
		if s.reason == "" {
			t.Fatalf("sniffBytes(%q) gave no reason", b)
		}
	})
}
