package detect

import (
	"path/filepath"
	"testing"
)

// A copy of a Linux home folder: the Thunderbird profile in the hidden
// .thunderbird is read along with Apple Mail and the exported .eml files;
// the caches of other programs are not searched, and every other file is
// accounted for.
func TestHomeFolderCopy(t *testing.T) {
	home := t.TempDir()
	tree{
		".thunderbird/profiles.ini":                               "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n",
		".thunderbird/abcd.default/prefs.js":                      `user_pref("mail.server.server1.type", "none");` + "\n" + `user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/Local Folders");` + "\n",
		".thunderbird/abcd.default/Mail/Local Folders/Inbox":      tbMbox(msgA, msgB),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf":  "// mork\n",
		".thunderbird/abcd.default/Mail/Local Folders/Sent":       tbMbox(msgA),
		".thunderbird/abcd.default/session.json":                  "{}",
		".thunderbird/abcd.default/places.sqlite":                 "SQLite format 3\x00",
		".cache/thunderbird/abcd.default/cache2/entries/0A1B2C3D": "\x00\x01binary",
		".local/share/Trash/files/old.txt":                        "old",
		".bashrc":                                                 "export PATH=$PATH:~/bin\n",
		"Library/Mail/V10/MailData/Envelope Index":                "SQLite format 3\x00",
		"Library/Mail/V10/Mailboxes/Archive.mbox/Messages/1.emlx": emlxFile(msgA),
		"Library/Mail/V10/Mailboxes/Archive.mbox/Info.plist":      "<plist/>",
		"Documents/Exported/a.eml":                                msgA,
		"Documents/Exported/b.eml":                                msgB,
		"Documents/report.pdf":                                    "%PDF-1.4\n",
		"Documents/saved-message.txt":                             msgB,
		"Pictures/cat.jpg":                                        "\xff\xd8\xff\xe0",
	}.build(t, home)

	r := readSource(t, home)
	check(t, "stores", r.stores(home), []string{
		"thunderbird .thunderbird",
		"applemail Library/Mail",
		"eml Documents/Exported",
	})
	check(t, "folders", r.folders, []string{
		".thunderbird: Local Folders/Inbox",
		".thunderbird: Local Folders/Sent",
		"Library/Mail: On My Mac/Archive",
		"Documents/Exported/Exported",
	})
	if r.messages != 6 || r.skipped != 0 {
		t.Errorf("read %d messages (%d skipped), want 6 (0)", r.messages, r.skipped)
	}
	check(t, "not read", r.notRead(), []string{"Documents/saved-message.txt|mail|true|1"})
	check(t, "no mail", r.noMail(), []string{
		".bashrc|" + reasonText,
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf|" + reasonSummary,
		".thunderbird/abcd.default/places.sqlite|" + reasonDatabase,
		".thunderbird/abcd.default/prefs.js|" + reasonSettings,
		".thunderbird/abcd.default/session.json|" + reasonProgramData,
		".thunderbird/profiles.ini|" + reasonSettings,
		"Documents/report.pdf|" + reasonDocument,
		"Library/Mail/V10/MailData/Envelope Index|" + reasonAppleIndex,
		"Library/Mail/V10/Mailboxes/Archive.mbox/Info.plist|" + reasonSettings,
		"Pictures/cat.jpg|" + reasonMedia,
	})
	check(t, "not searched", r.notSearched(), []string{".cache", ".local/share"})
	l := r.ledger
	if l.Files != 16 || l.Read.Files != 5 {
		t.Errorf("ledger: %d files, %d read; want 16 files, 5 read (2 mbox, 1 emlx, 2 eml)", l.Files, l.Read.Files)
	}
}

// A directory whose root looks like a Thunderbird profile (Mail/, no
// prefs.js) with other stores beside it: all of them are read, each under
// its own label, so that no two stores' folders share a name.
func TestProfileRootWithStoresBeside(t *testing.T) {
	root := t.TempDir()
	tree{
		"Mail/Local Folders/Inbox":                                  tbMbox(msgA),
		"Mail/Local Folders/Inbox.msf":                              "",
		"Mail/Local Folders/Archive":                                tbMbox(msgB),
		"Library/Mail/V10/Mailboxes/Archive.mbox/Messages/1.emlx":   emlxFile(msgB),
		"Library/Mail/V10/Mailboxes/INBOX.mbox/Messages/2.emlx":     emlxFile(msgA),
		"Exported EML/Archive/x.eml":                                msgA,
		"Exported EML/Inbox/y.eml":                                  msgB,
		"Library/Mail/V10/Mailboxes/Archive.mbox/Attachments/1/2/a": "x",
	}.build(t, root)

	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{
		"thunderbird .",
		"applemail Library/Mail",
		"eml Exported EML",
	})
	check(t, "folders", r.folders, []string{
		"Thunderbird: Local Folders/Inbox",
		"Thunderbird: Local Folders/Archive",
		"Library/Mail: On My Mac/Archive",
		"Library/Mail: On My Mac/INBOX",
		"Exported EML/Archive",
		"Exported EML/Inbox",
	})
	seen := map[string]bool{}
	for _, f := range r.folders {
		if seen[f] {
			t.Errorf("folder %q appears twice", f)
		}
		seen[f] = true
	}
	if r.messages != 6 {
		t.Errorf("read %d messages, want 6", r.messages)
	}
	check(t, "not read", r.notRead(), nil)
	check(t, "no mail", r.noMail(), []string{
		"Library/Mail/V10/Mailboxes/Archive.mbox/Attachments/1/2/a|" + reasonAttachment,
		"Mail/Local Folders/Inbox.msf|" + reasonSummary,
	})
	if r.ledger.Files != 8 || r.ledger.Read.Files != 6 {
		t.Errorf("ledger: %d files, %d read; want 8, 6", r.ledger.Files, r.ledger.Read.Files)
	}
	if rel, _ := filepath.Rel(root, r.src.Root); rel != "." {
		t.Errorf("Source.Root = %s, want %s", r.src.Root, root)
	}
}
