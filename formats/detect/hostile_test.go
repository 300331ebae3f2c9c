package detect

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/formats"
)

// Stores of programs mailferry cannot read are named with what to do,
// whether they are the source itself or lie inside a tree.
func TestOtherStoresInTree(t *testing.T) {
	root := t.TempDir()
	cfb := "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest"
	tree{
		"Documents/Outlook Files/archive.pst":                                                                     "!BDNxxxx",
		"AppData/Local/Microsoft/Outlook/me@example.org.ost":                                                      "!BDNxxxx",
		"AppData/Local/Comms/Unistore/data/3/abc.dat":                                                             "x",
		"AppData/Local/Comms/UnistoreDB/store.vol":                                                                "\x00\x00\x00\x00\xef\xcd\xab\x89",
		"AppData/Roaming/eM Client/1234/mail_data.dat":                                                            "SQLite format 3\x00",
		"AppData/Roaming/eM Client/1234/mail_index.dat":                                                           "SQLite format 3\x00",
		"Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles/Main Profile/Data/Outlook.sqlite": "SQLite format 3\x00",
		"Desktop/forwarded.msg":                                                                                   cfb,
		"Desktop/notes.msg":                                                                                       "not an outlook message, just text\n",
		"Desktop/renamed-backup":                                                                                  "!BDNxxxx",
		"Mail/inbox.mbox":                                                                                         "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgA,
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{
		"mbox Mail/inbox.mbox",
		"other AppData/Local/Comms/Unistore",
		"other AppData/Local/Comms/UnistoreDB",
		"other AppData/Local/Microsoft/Outlook/me@example.org.ost",
		"other AppData/Roaming/eM Client",
		"other Desktop/forwarded.msg",
		"other Desktop/renamed-backup",
		"other Documents/Outlook Files/archive.pst",
		"other Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles",
	})
	check(t, "not read", r.notRead(), []string{
		"AppData/Local/Comms/Unistore|store|true|1",
		"AppData/Local/Comms/UnistoreDB|store|true|1",
		"AppData/Local/Microsoft/Outlook/me@example.org.ost|store|true|1",
		"AppData/Roaming/eM Client|store|true|2",
		"Desktop/forwarded.msg|store|true|1",
		"Desktop/renamed-backup|store|true|1",
		"Documents/Outlook Files/archive.pst|store|true|1",
		"Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles|store|true|1",
	})
	check(t, "no mail", r.noMail(), []string{"Desktop/notes.msg|" + reasonText})
	for _, n := range r.ledger.NotRead {
		if n.Advice == "" || !strings.Contains(n.Reason, "mailferry cannot read it") {
			t.Errorf("%s: reason %q, advice %q: want what it is and what to do", n.Path, n.Reason, n.Advice)
		}
	}
	if r.messages != 1 {
		t.Errorf("read %d messages, want 1", r.messages)
	}
}

// A source that holds only stores mailferry cannot read is an error that
// names them (scan shows them), matched by ErrNoMail.
func TestOnlyOtherStores(t *testing.T) {
	root := t.TempDir()
	tree{"backup.pst": "!BDNxxxx", "readme.txt": "hello\n", "saved.txt": msgA}.build(t, root)
	_, err := Open(root, Auto, formats.Options{})
	var nm *NoMailError
	if !errors.As(err, &nm) || !errors.Is(err, ErrNoMail) {
		t.Fatalf("Open = %v, want a *NoMailError", err)
	}
	if len(nm.Others) != 1 || nm.Others[0].Program != "Outlook" || !strings.Contains(err.Error(), "what to do:") {
		t.Errorf("NoMailError = %+v (%v), want the .pst with advice", nm.Others, err)
	}
	// The other files there are accounted for all the same.
	l, err := nm.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Check(); err != nil || l.Files != 3 || l.Read.Files != 0 || l.MailNotRead() != 2 {
		t.Errorf("ledger: %d files, %d read, %d mail not read (%v); want 3, 0, 2 (the .pst and the saved message)", l.Files, l.Read.Files, l.MailNotRead(), err)
	}
	if _, err := Open(filepath.Join(root, "backup.pst"), Auto, formats.Options{}); !errors.As(err, &nm) || len(nm.Others) != 1 {
		t.Errorf("Open(backup.pst) = %v, want a *NoMailError naming it", err)
	}
}

// The usual places of the programs mailferry cannot read are looked at.
func TestOtherSources(t *testing.T) {
	home := t.TempDir()
	tree{
		"AppData/Local/Comms/Unistore/data/3/x.dat":         "x",
		"AppData/Local/Microsoft/Outlook/a@example.org.ost": "!BDN",
		"Documents/Outlook Files/old.pst":                   "!BDN",
		"AppData/Roaming/The Bat!/account/messages.tbb":     "x",
	}.build(t, home)
	got := OtherSources(Paths{Home: home, GOOS: "windows"})
	var names []string
	for _, f := range got {
		rel, _ := filepath.Rel(home, f.Path)
		names = append(names, f.Program+"|"+filepath.ToSlash(rel))
	}
	check(t, "other sources", names, []string{
		"Windows Mail|AppData/Local/Comms/Unistore",
		"The Bat!|AppData/Roaming/The Bat!",
		// Outlook files that cannot be read (these are not real ones);
		// DefaultSources has those that can.
		"Outlook|Documents/Outlook Files/old.pst",
		"Outlook|AppData/Local/Microsoft/Outlook/a@example.org.ost",
	})
	mac := t.TempDir()
	tree{"Library/Group Containers/UBF8T346G9.Office/Outlook/Outlook 15 Profiles/Main Profile/Data/Outlook.sqlite": "x"}.build(t, mac)
	if got := OtherSources(Paths{Home: mac, GOOS: "darwin"}); len(got) != 1 || got[0].Program != "Outlook for Mac" {
		t.Errorf("OtherSources(darwin) = %+v", got)
	}
}

// Links in an untrusted tree are never followed: a link to a file of this
// computer is not uploaded, a looping link does not multiply folders, and
// the ledger lists every link with the reason.
func TestLinksNotFollowed(t *testing.T) {
	outside := t.TempDir()
	tree{"etc/passwd": "root:x:0:0:root:/root:/bin/bash\n", "secret.eml": msgB}.build(t, outside)
	root := t.TempDir()
	tree{
		"Export/a.eml":                      msgA,
		"Export/passwd.eml":                 "-> " + filepath.Join(outside, "etc", "passwd"),
		"Export/secret.eml":                 "-> " + filepath.Join(outside, "secret.eml"),
		"Export/again.eml":                  "-> a.eml",
		"Export/gone.eml":                   "-> nowhere.eml",
		"Export/Loop":                       "-> ..",
		"Maildir/cur/1275904800.1.host:2,S": msgA,
		"Maildir/new/":                      "",
		"Maildir/cur/1275904801.2.host:2,S": "-> " + filepath.Join(outside, "secret.eml"),
		"Mail/Local Folders/Inbox":          tbMbox(msgA, msgB),
		"Mail/Local Folders/Inbox.msf":      "",
		"Mail/Local Folders/Loop.sbd":       "-> .",
		"Mail/Local Folders/Outside":        "-> " + filepath.Join(outside, "etc", "passwd"),
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{"thunderbird .", "maildir Maildir", "eml Export"})
	if r.messages != 4 {
		t.Errorf("read %d messages, want 4 (Export/a.eml, one maildir file, two in Inbox)", r.messages)
	}
	check(t, "not read", r.notRead(), []string{
		"Export/Loop|link|false|1",
		"Export/passwd.eml|link|true|1",
		"Export/secret.eml|link|true|1",
		"Mail/Local Folders/Loop.sbd|link|false|1",
		"Mail/Local Folders/Outside|link|true|1",
		"Maildir/cur/1275904801.2.host:2,S|link|true|1",
	})
	check(t, "no mail", r.noMail(), []string{
		"Export/again.eml|" + reasonLinkInside,
		"Export/gone.eml|" + reasonLinkDangling,
		"Mail/Local Folders/Inbox.msf|" + reasonSummary,
	})
	for _, n := range r.ledger.NotRead {
		if n.Mail && !strings.Contains(n.Reason, "outside the source: not followed") {
			t.Errorf("%s: reason %q", n.Path, n.Reason)
		}
	}
}

// A file that cannot be read (gone since it was listed) is recorded and
// the run goes on with the next file and store.
func TestUnreadableFileGoesOn(t *testing.T) {
	root := t.TempDir()
	tree{
		"Mail/Local Folders/Inbox":  tbMbox(msgA),
		"Mail/Local Folders/Drafts": tbMbox(msgB),
		"Mail/Local Folders/Sent":   tbMbox(msgA, msgB),
		"Export/a.eml":              msgA,
		"Export/b.eml":              msgB,
	}.build(t, root)
	src, err := Open(root, Auto, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Reader.Close()
	for _, p := range []string{"Mail/Local Folders/Drafts", "Export/b.eml"} {
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for {
		m, err := src.Reader.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v (the run should go on)", err)
		}
		if m.Skip == "" {
			n++
		}
	}
	if n != 4 {
		t.Errorf("read %d messages, want 4", n)
	}
	l, err := src.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range l.NotRead {
		got = append(got, e.Path+"|"+string(e.Kind))
	}
	check(t, "not read", got, []string{"Export/b.eml|error", "Mail/Local Folders/Drafts|error"})
	if l.MailNotRead() != 2 {
		t.Errorf("MailNotRead = %d, want 2", l.MailNotRead())
	}
}

// Apple Mail stores: a looping directory link and links to message files
// or mailboxes outside the source are not followed either.
func TestAppleMailLinksNotFollowed(t *testing.T) {
	outside := t.TempDir()
	tree{"x.emlx": emlxFile(msgB), "Other.mbox/Messages/9.emlx": emlxFile(msgB)}.build(t, outside)
	root := t.TempDir()
	tree{
		"Mail/V10/Mailboxes/Archive.mbox/Messages/1.emlx": emlxFile(msgA),
		"Mail/V10/Mailboxes/Archive.mbox/Messages/2.emlx": "-> " + filepath.Join(outside, "x.emlx"),
		"Mail/V10/Mailboxes/Archive.mbox/Loop":            "-> ..",
		"Mail/V10/Mailboxes/Linked.mbox":                  "-> " + filepath.Join(outside, "Other.mbox"),
		"Loose/3.emlx":                                    emlxFile(msgA),
		"Loose/Loop":                                      "-> .",
	}.build(t, root)
	for _, tt := range []struct {
		src  string
		want []string
	}{
		{"Mail", []string{
			"V10/Mailboxes/Archive.mbox/Loop|link|false|1",
			"V10/Mailboxes/Archive.mbox/Messages/2.emlx|link|true|1",
			"V10/Mailboxes/Linked.mbox|link|true|1",
		}},
		{"Loose", []string{"Loop|link|false|1"}},
	} {
		r := readSource(t, filepath.Join(root, tt.src))
		if r.messages != 1 {
			t.Errorf("%s: read %d messages, want 1 (links not followed): %q", tt.src, r.messages, r.folders)
		}
		check(t, tt.src+": not read", r.notRead(), tt.want)
	}
}
