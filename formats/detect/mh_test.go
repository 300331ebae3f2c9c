package detect

import (
	"testing"
)

// MH folders (numbered message files with .mh_sequences, as nmh, Claws
// Mail, Sylpheed and Evolution keep them) in a copied home folder are
// found and read, each folder under its name, and their .mh_sequences
// accounted for; pointed at directly, an MH folder is a source too.
func TestMHFoldersInTree(t *testing.T) {
	home := t.TempDir()
	tree{
		".mh_profile":              "Path: Mail\n",
		"Mail/context":             "Current-Folder: inbox\n",
		"Mail/inbox/1":             msgA,
		"Mail/inbox/2":             msgB,
		"Mail/inbox/.mh_sequences": "unseen: 2\n",
		"Mail/inbox/,3":            msgB, // deleted with rmm
		"Mail/work/1":              msgB,
		"Documents/Exported/a.eml": msgA,
		"Backup/old.mbox":          "From anna@example.org Mon Jun  7 10:00:00 2010\n" + msgA,
	}.build(t, home)
	r := readSource(t, home)
	check(t, "stores", r.stores(home), []string{"mbox Backup/old.mbox", "eml Documents/Exported", "eml Mail"})
	check(t, "folders", r.folders, []string{"Backup/old", "Documents/Exported/Exported", "Mail/inbox", "Mail/work"})
	if r.messages != 5 || r.skipped != 1 {
		t.Errorf("read %d messages (%d skipped), want 5 (1, deleted)", r.messages, r.skipped)
	}
	check(t, "not read", r.notRead(), nil)
	check(t, "no mail", r.noMail(), []string{
		".mh_profile|" + reasonText,
		"Mail/context|" + reasonText,
		"Mail/inbox/.mh_sequences|" + reasonMHSequences,
	})

	inbox := readSource(t, home+"/Mail/inbox")
	if inbox.messages != 2 || len(inbox.folders) != 1 {
		t.Errorf("the MH folder as source: %d messages in %q, want 2 in one folder", inbox.messages, inbox.folders)
	}
}
