package detect

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// An mbox file with text before its first separator (notes typed above
// the mail, the remains of a damaged start) is found and read wherever it
// lies: in a plain tree, in a hidden mail directory and as a folder of a
// Thunderbird profile. The text is yielded quarantined (kept, never
// uploaded), the file counts as read, and the ledger adds up.
func TestMboxWithLeadingTextInTree(t *testing.T) {
	const notes = "Notes typed above the mail\nbefore the first message\n\n"
	root := t.TempDir()
	tree{
		".thunderbird/profiles.ini":                              "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n",
		".thunderbird/abcd.default/prefs.js":                     `user_pref("mail.server.server1.type", "none");` + "\n",
		".thunderbird/abcd.default/Mail/Local Folders/Inbox":     tbMbox(msgA),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf": "",
		".thunderbird/abcd.default/Mail/Local Folders/Damaged":   notes + tbMbox(msgB),
		".mail/saved":            notes + plainMbox(msgA, msgB),
		".mail/empty":            "",
		"Backup/mbox/notes.mbox": notes + plainMbox(msgB),
		"Backup/mbox/todo.txt":   "buy milk\n\nFrom here on, only tea\n",
	}.build(t, root)

	r := readSource(t, root)
	for _, want := range []string{
		".thunderbird: Local Folders/Damaged",
		".mail/saved",
		".mail/empty",
		"Backup/mbox/notes",
	} {
		if !slices.ContainsFunc(r.folders, func(f string) bool { return strings.HasSuffix(f, want) }) {
			t.Errorf("no folder %q among %q", want, r.folders)
		}
	}
	n := len(notes)
	slices.Sort(r.quarantined)
	check(t, "quarantined", r.quarantined, []string{
		".mail/saved:0+" + strconv.Itoa(n),
		".thunderbird: Local Folders/Damaged:0+" + strconv.Itoa(n),
		"Backup/mbox/notes:0+" + strconv.Itoa(n),
	})
	if r.messages != 5+3 {
		t.Errorf("read %d items, want 5 messages and 3 quarantined texts", r.messages)
	}
	check(t, "not read", r.notRead(), nil)
	if l := r.ledger; l.Read.Files != 5 {
		t.Errorf("ledger: %d files read, want 5 (4 mbox files with mail, 1 empty mbox)", l.Read.Files)
	}
}

// Inside a store whose reader does not take it (here beside a Maildir's
// cur/ and new/), an mbox with text before its first message is not
// "text without mail headers": it is listed as mail not read.
func TestMboxWithLeadingTextNotTaken(t *testing.T) {
	root := t.TempDir()
	tree{
		"Maildir/cur/1275904800.1.host:2,S": msgA,
		"Maildir/new/.keep":                 "",
		"Maildir/old-notes":                 "Notes\n\nFrom anna@example.org Mon Jun  7 10:00:00 2010\n" + msgB,
	}.build(t, root)
	r := readSource(t, root)
	check(t, "not read", r.notRead(), []string{"Maildir/old-notes|mail|true|1"})
}

// plainMbox is an mbox as mail programs other than Thunderbird write it.
func plainMbox(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From anna@example.org Mon Jun  7 10:00:00 2010\n" + m + "\n")
	}
	return b.String()
}
