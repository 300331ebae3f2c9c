package detect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// Real Outlook files for the generated trees: corpus .pst files (their
// contents are asserted by formats/pst's TestCorpusContract) and the
// .msg fixtures of testdata.
func outlookFile(t *testing.T, which string) string {
	t.Helper()
	var p string
	switch which {
	case "support": // 17 mail messages
		p = testutil.Corpus(t, "pst/go-pst-support.pst")
	case "dist-list": // 4 items that are not mail: a calendar entry, 2 contacts, free/busy data
		p = testutil.Corpus(t, "pst/java-libpst-dist-list.pst")
	case "32-bit": // 1 calendar entry
		p = testutil.Corpus(t, "pst/go-pst-32-bit.pst")
	case "msg": // a mail message
		p = testutil.Testdata(t, "eml/tree/Inbox/outlook.msg")
	case "contact.msg":
		p = testutil.Testdata(t, "msg/contact.msg")
	default:
		t.Fatalf("no Outlook file %q", which)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A copied home folder with Outlook's files: each .pst is a store of its
// own, labelled by its path (so that two "Personal Folders" never share a
// name), a renamed Outlook file is read by its content, a folder of .msg
// files is a store, a folder mixing .eml and .msg files is one EML store,
// and an Outlook file that cannot be read is named with advice. Every file
// is accounted for.
func TestOutlookFilesInTree(t *testing.T) {
	root := t.TempDir()
	tree{
		"Documents/Outlook Files/archive.pst": outlookFile(t, "support"),
		"Documents/Outlook Files/old.pst":     outlookFile(t, "dist-list"),
		"Documents/Outlook Files/broken.pst":  "!BDNxxxx",
		"Backup/renamed":                      outlookFile(t, "32-bit"),
		"Desktop/Saved/one.msg":               outlookFile(t, "msg"),
		"Desktop/Saved/contact.msg":           outlookFile(t, "contact.msg"),
		"Desktop/Saved/attachment.pdf":        "%PDF-1.4\n",
		"Exports/mixed/a.eml":                 msgA,
		"Exports/mixed/b.msg":                 outlookFile(t, "msg"),
		"Mail/inbox.mbox":                     "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgB,
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{
		"outlook Backup/renamed",
		"outlook Documents/Outlook Files/archive.pst",
		"outlook Documents/Outlook Files/old.pst",
		"mbox Mail/inbox.mbox",
		"msg Desktop/Saved",
		"eml Exports/mixed",
		"other Documents/Outlook Files/broken.pst",
	})
	for _, f := range []string{
		"Documents/Outlook Files/archive.pst: support/Posta in arrivo",
		"Documents/Outlook Files/old.pst: Personal Folders/Inbox",
		"Backup/renamed: Personal Folders/Calendar",
		"Desktop/Saved/Saved",
		"Exports/mixed/mixed",
	} {
		if !slices.Contains(r.folders, f) {
			t.Errorf("no folder %q among %q", f, r.folders)
		}
	}
	// 17 in archive.pst, one each in one.msg, b.msg, a.eml and the mbox;
	// skipped: the 4 items of old.pst, the one of renamed, the contact.
	if r.messages != 21 || r.skipped != 6 {
		t.Errorf("read %d messages, %d skipped; want 21 and 6", r.messages, r.skipped)
	}
	check(t, "not read", r.notRead(), []string{"Documents/Outlook Files/broken.pst|store|true|1"})
	check(t, "no mail", r.noMail(), []string{"Desktop/Saved/attachment.pdf|" + reasonDocument})
	if l := r.ledger; l.Read.Files != 8 || l.Files != 10 {
		t.Errorf("ledger: %d files, %d read; want 10 and 8", l.Files, l.Read.Files)
	}
	for _, n := range r.ledger.NotRead {
		if !strings.Contains(n.Reason, "damaged") || !strings.Contains(n.Advice, "scanpst") {
			t.Errorf("%s: reason %q, advice %q; want what it is and how to repair it", n.Path, n.Reason, n.Advice)
		}
	}
}

// An Outlook file, a .msg file and a folder of .msg files given as the
// source are read alone, without a label; --format takes "pst" for
// "outlook".
func TestOutlookSourceAlone(t *testing.T) {
	dir := t.TempDir()
	tree{
		"backup.pst":                  outlookFile(t, "support"),
		"Saved/Inbox/one.msg":         outlookFile(t, "msg"),
		"Saved/Sent Items/two.msg":    outlookFile(t, "msg"),
		"Saved/Sent Items/notes.txt":  "notes\n",
		"Saved/Contacts/contact.msg":  outlookFile(t, "contact.msg"),
		"Saved/Contacts/Thumbs.db":    "x",
		"Saved/Projects/Old/old.MSG":  outlookFile(t, "msg"),
		"Saved/Projects/Old/note.txt": "n\n",
	}.build(t, dir)
	tests := []struct {
		path    string
		kind    Kind
		folders []string
		msgs    int // messages, skipped ones included
	}{
		{"backup.pst", Auto, nil, 17},
		{"backup.pst", Outlook, nil, 17},
		{"Saved", Auto, []string{"Contacts", "Inbox", "Projects", "Projects/Old", "Sent Items"}, 4},
		{"Saved/Inbox/one.msg", Auto, []string{"Inbox"}, 1},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, filepath.FromSlash(tt.path))
		src, err := Open(p, tt.kind, formats.Options{})
		if err != nil {
			t.Errorf("Open(%s, %q): %v", tt.path, tt.kind, err)
			continue
		}
		boxes, msgs := formatstest.Collect(t, src.Reader)
		src.Reader.Close()
		var folders []string
		for _, b := range boxes {
			folders = append(folders, b.DisplayPath())
			if tt.folders == nil && b.Account != "support" {
				t.Errorf("%s: account %q, want the store's display name \"support\" and no label", tt.path, b.Account)
			}
		}
		if tt.folders != nil {
			check(t, tt.path+" folders", folders, tt.folders)
		}
		if len(msgs) != tt.msgs || len(src.Found) != 1 {
			t.Errorf("Open(%s): %d messages, stores %+v; want %d messages in one store", tt.path, len(msgs), src.Found, tt.msgs)
		}
		if want := map[bool]Kind{true: MSG, false: Outlook}[strings.Contains(tt.path, "Saved")]; src.Found[0].Kind != want {
			t.Errorf("Open(%s): kind %q, want %q", tt.path, src.Found[0].Kind, want)
		}
	}
	// The msg reader leaves notes.txt to the file accounting.
	r := readSource(t, filepath.Join(dir, "Saved"))
	check(t, "no mail", r.noMail(), []string{"Contacts/Thumbs.db|" + reasonOSMeta, "Projects/Old/note.txt|" + reasonText, "Sent Items/notes.txt|" + reasonText})
	if r.ledger.Read.Files != 4 {
		t.Errorf("ledger: %d files read, want the 4 .msg files", r.ledger.Read.Files)
	}
}

// Trees of message files: sibling folders of .msg files are one MSG tree,
// a tree with .eml files anywhere is one EML tree (its reader reads the
// .msg files too), also when the .eml files lie in a subdirectory that
// sorts before the parent's own .msg files.
func TestMessageFileTrees(t *testing.T) {
	root := t.TempDir()
	tree{
		"Outlook export/Inbox/1.msg":      outlookFile(t, "msg"),
		"Outlook export/Sent Items/2.msg": outlookFile(t, "msg"),
		"Mixed/Inbox/a.eml":               msgA,
		"Mixed/Archive/b.msg":             outlookFile(t, "msg"),
		"Nest/b/x.eml":                    msgB,
		"Nest/c.msg":                      outlookFile(t, "msg"),
		"spool/x.mbox":                    "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgA,
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{"mbox spool/x.mbox", "eml Mixed", "eml Nest", "msg Outlook export"})
	if r.messages != 7 || r.skipped != 0 {
		t.Errorf("read %d messages (%d skipped), want 7", r.messages, r.skipped)
	}
	for _, f := range []string{"Mixed/Archive", "Nest/Nest", "Nest/b", "Outlook export/Inbox", "Outlook export/Sent Items"} {
		if !slices.Contains(r.folders, f) {
			t.Errorf("no folder %q among %q", f, r.folders)
		}
	}

	only := t.TempDir()
	tree{"Inbox/1.msg": outlookFile(t, "msg"), "Archive/2019/2.msg": outlookFile(t, "msg")}.build(t, only)
	r = readSource(t, only)
	check(t, "only .msg", r.stores(only), []string{"msg ."})
	check(t, "only .msg folders", r.folders, []string{"Archive", "Archive/2019", "Inbox"})
}

// One store that cannot be opened (an Outlook file whose header is
// fine but whose rest is missing) does not end the run when there are
// others: it is listed as not read with the error, and warned about. As
// the only store, it is an error naming the file.
func TestDamagedStoreAmongOthers(t *testing.T) {
	root := t.TempDir()
	tree{
		"archive.pst":     outlookFile(t, "support")[:4096],
		"Mail/inbox.mbox": "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgA,
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{"mbox Mail/inbox.mbox"})
	check(t, "not read", r.notRead(), []string{"archive.pst|error|true|1"})
	if r.messages != 1 {
		t.Errorf("read %d messages, want the 1 of the mbox", r.messages)
	}
	if !slices.ContainsFunc(r.warnings, func(w string) bool { return strings.Contains(w, "archive.pst") }) {
		t.Errorf("no warning names the damaged file: %q", r.warnings)
	}
	_, err := Open(filepath.Join(root, "archive.pst"), Auto, formats.Options{})
	var nm *NoMailError
	if err == nil || errors.As(err, &nm) || !strings.Contains(err.Error(), "archive.pst") {
		t.Errorf("Open(damaged .pst) = %v, want an error naming the file", err)
	}
}

// The Outlook files in the places Outlook keeps them are default
// sources (on Windows and macOS); those that cannot be read are other
// sources, with advice.
func TestDefaultSourcesOutlook(t *testing.T) {
	win := t.TempDir()
	pstFile := outlookFile(t, "32-bit")
	tree{
		"Documents/Outlook Files/me@example.org.pst": pstFile,
		"Documents/Outlook Files/broken.pst":         "!BDNxxxx",
		"Documents/Outlook Files/readme.txt":         "x",
		"OneDrive/Documents/Outlook Files/cloud.pst": pstFile,
		// The name says .ost; the content is a .pst's, which is all this
		// test needs: where the file lies.
		"AppData/Local/Microsoft/Outlook/me@work.example.ost":                      pstFile,
		"Local Settings/Application Data/Microsoft/Outlook/outlook.pst":            pstFile,
		"AppData/Local/Microsoft/Outlook/RoamCache/Stream_Autocomplete_0_x.dat":    "x",
		"AppData/Local/Microsoft/Windows Live Mail/pop.example.org/Inbox/msg1.eml": msgA,
	}.build(t, win)
	sources := func(found []Found, home string) []string {
		var out []string
		for _, f := range found {
			rel, _ := filepath.Rel(home, f.Path)
			out = append(out, string(f.Kind)+"|"+filepath.ToSlash(rel))
		}
		return out
	}
	p := Paths{Home: win, GOOS: "windows"}
	check(t, "windows", sources(DefaultSources(p), win), []string{
		"eml|AppData/Local/Microsoft/Windows Live Mail",
		"outlook|Documents/Outlook Files/me@example.org.pst",
		"outlook|OneDrive/Documents/Outlook Files/cloud.pst",
		"outlook|AppData/Local/Microsoft/Outlook/me@work.example.ost",
		"outlook|Local Settings/Application Data/Microsoft/Outlook/outlook.pst",
	})
	check(t, "windows others", sources(OtherSources(p), win), []string{"other|Documents/Outlook Files/broken.pst"})
	for _, f := range DefaultSources(p) {
		if strings.HasSuffix(f.Path, ".ost") && !strings.Contains(f.Note, "server") {
			t.Errorf("%s: note %q, want that its mail is usually on a server", f.Path, f.Note)
		}
	}
	// %LOCALAPPDATA% and %OneDrive% as the environment says.
	moved := t.TempDir()
	tree{"Local/Microsoft/Outlook/a.pst": pstFile, "OneDrive - Example Corp/Documents/Outlook Files/b.pst": pstFile}.build(t, moved)
	env := map[string]string{"LOCALAPPDATA": filepath.Join(moved, "Local"), "OneDrive": filepath.Join(moved, "OneDrive - Example Corp")}
	check(t, "windows, environment", sources(DefaultSources(Paths{Home: t.TempDir(), GOOS: "windows", Getenv: func(k string) string { return env[k] }}), moved),
		[]string{"outlook|OneDrive - Example Corp/Documents/Outlook Files/b.pst", "outlook|Local/Microsoft/Outlook/a.pst"})

	mac := t.TempDir()
	tree{"Documents/Outlook Files/from-windows.pst": pstFile}.build(t, mac)
	check(t, "darwin", sources(DefaultSources(Paths{Home: mac, GOOS: "darwin"}), mac), []string{"outlook|Documents/Outlook Files/from-windows.pst"})
	if got := DefaultSources(Paths{Home: mac, GOOS: "linux"}); len(got) != 0 {
		t.Errorf("linux: %+v, want none (Outlook keeps no files there)", got)
	}
	// Opening a default source reads it.
	src, err := Open(filepath.Join(mac, "Documents", "Outlook Files", "from-windows.pst"), Auto, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Reader.Close()
	if boxes, err := src.Reader.Mailboxes(context.Background()); err != nil || len(boxes) == 0 {
		t.Errorf("Mailboxes = %d, %v", len(boxes), err)
	}
}

// An Outlook file that cannot be opened (Windows refuses one that a
// running Outlook holds; here: no permission) is taken for an Outlook
// store by its name, so that the error says what to do, rather than for
// a damaged file.
//
// Root opens files whatever their mode, so as root (as CI runs) the tree
// is made here, where the user nobody can read it, and the test runs
// again as nobody on it.
func TestLockedOutlookFile(t *testing.T) {
	const rootEnv = "MAILFERRY_TEST_LOCKED_ROOT"
	root := os.Getenv(rootEnv)
	if root == "" {
		var err error
		if root, err = os.MkdirTemp("", "mailferry-locked-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(root) })
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		tree{"archive.pst": outlookFile(t, "32-bit"), "Mail/inbox.mbox": "From a@example.org Mon Jun  7 10:00:00 2010\n" + msgA}.build(t, root)
		if err := os.Chmod(filepath.Join(root, "archive.pst"), 0); err != nil {
			t.Fatal(err)
		}
		if testutil.AsUnprivileged(t, "TestLockedOutlookFile", rootEnv+"="+root) {
			return
		}
	}
	locked := filepath.Join(root, "archive.pst")
	found, err := Detect(locked)
	if err != nil || len(found) != 1 || found[0].Kind != Outlook {
		t.Errorf("Detect(locked .pst) = %+v, %v; want an Outlook store", found, err)
	}
	if _, err := Open(locked, Auto, formats.Options{}); !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "close it") {
		t.Errorf("Open(locked .pst) = %v, want the permission error with what to do", err)
	}
	r := readSource(t, root)
	check(t, "not read", r.notRead(), []string{"archive.pst|error|true|1"})
}

// An Outlook message inside another store's folders, which that store's
// reader does not take, is listed as mail not read, not as binary data.
func TestMsgInsideAnotherStore(t *testing.T) {
	root := t.TempDir()
	tree{
		"Mail/Local Folders/Inbox":       tbMbox(msgA),
		"Mail/Local Folders/Inbox.msf":   "",
		"Mail/Local Folders/dragged.msg": outlookFile(t, "msg"),
		"Mail/Local Folders/report.xls":  "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + strings.Repeat("\x00", 600),
	}.build(t, root)
	r := readSource(t, root)
	check(t, "stores", r.stores(root), []string{"thunderbird ."})
	check(t, "not read", r.notRead(), []string{"Mail/Local Folders/dragged.msg|mail|true|1"})
	for _, n := range r.ledger.NotRead {
		if !strings.Contains(n.Reason, "Outlook message") {
			t.Errorf("%s: reason %q, want it named an Outlook message", n.Path, n.Reason)
		}
	}
}
