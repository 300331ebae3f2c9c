package thunderbird_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
)

func TestStandardContract(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	var paths []string
	msgs, skipped := 0, 0
	for _, w := range tbtest.StandardWant() {
		paths = append(paths, w.Path)
		msgs += w.Messages + w.Skipped
		skipped += w.Skipped
	}
	formatstest.Run(t, func(t *testing.T) formats.Reader {
		r, _ := open(t, built.Root, thunderbird.Options{})
		return r
	}, formatstest.Want{Mailboxes: paths, Messages: msgs, Skipped: skipped})
}

// read opens source and returns DisplayPath → "messages/skipped".
func read(t *testing.T, source string, opts thunderbird.Options) (map[string]string, *thunderbird.Reader, *warnings) {
	t.Helper()
	r, w := open(t, source, opts)
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	n := map[*formats.Mailbox][2]int{}
	for _, m := range msgs {
		c := n[m.Mailbox]
		if m.Skip != "" {
			c[1]++
		} else {
			c[0]++
		}
		n[m.Mailbox] = c
	}
	out := map[string]string{}
	for _, b := range boxes {
		c := n[b]
		out[b.DisplayPath()] = strings.Repeat("m", c[0]) + strings.Repeat("s", c[1])
	}
	return out, r, w
}

func TestSources(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	p := func(rel string) string { return filepath.Join(built.Profile, filepath.FromSlash(rel)) }
	local := p("Mail/Local Folders")
	tests := []struct {
		name   string
		source string
		opts   thunderbird.Options
		kind   thunderbird.Kind
		want   map[string]string
	}{
		{"profile directory", built.Profile, thunderbird.Options{}, thunderbird.KindProfile, nil},
		{"Local Folders", local, thunderbird.Options{}, thunderbird.KindAccount, map[string]string{
			"Local Folders/Inbox": "mm", "Local Folders/Drafts": "m", "Local Folders/Trash": "ms",
			"Local Folders/Entwürfe": "m", "Local Folders/Entwürfe/Ärger": "m",
			"Local Folders/Fragen/Antworten": "m", "Local Folders/Notes: 2024": "m"}},
		{"POP3 account directory, named from prefs.js", p("Mail/pop.example.com"), thunderbird.Options{}, thunderbird.KindAccount, map[string]string{
			"alice@example.com/Inbox": "mmms", "alice@example.com/Sent": "m", "alice@example.com/Trash": "",
			"alice@example.com/Archives": "", "alice@example.com/Archives/2023": "m", "alice@example.com/Archives/2023/Q1": "mm"}},
		{".sbd subtree", p("Mail/pop.example.com/Archives.sbd"), thunderbird.Options{}, thunderbird.KindAccount, map[string]string{
			"alice@example.com/Archives/2023": "m", "alice@example.com/Archives/2023/Q1": "mm"}},
		{"single mbox file inside a profile", p("Mail/pop.example.com/Archives.sbd/2023.sbd/Q1"), thunderbird.Options{}, thunderbird.KindFile, map[string]string{
			"alice@example.com/Archives/2023/Q1": "mm"}},
		{"its .msf names the same folder", p("Mail/pop.example.com/Inbox.msf"), thunderbird.Options{}, thunderbird.KindFile, map[string]string{
			"alice@example.com/Inbox": "mmms"}},
		{"hashed single file", p("Mail/Local Folders/" + tbtest.HashName("Fragen/Antworten")), thunderbird.Options{}, thunderbird.KindFile, map[string]string{
			"Local Folders/Fragen/Antworten": "m"}},
		{"maildir-store account", p("Mail/maildir.example.com"), thunderbird.Options{}, thunderbird.KindAccount, map[string]string{
			"Maildir Account/Inbox": "mm"}},
		{"Mail directory", p("Mail"), thunderbird.Options{}, thunderbird.KindMailDir, nil},
		{"ImapMail directory", p("ImapMail"), thunderbird.Options{}, thunderbird.KindMailDir, map[string]string{
			"imap.example.com/INBOX": "ms"}},
		{"root without the IMAP cache", built.Root, thunderbird.Options{SkipIMAPCache: true}, thunderbird.KindRoot, nil},
		{"root, profile by name", built.Root, thunderbird.Options{Profile: "old.default"}, thunderbird.KindRoot, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, r, _ := read(t, tt.source, tt.opts)
			if r.Kind() != tt.kind {
				t.Errorf("Kind = %q, want %q", r.Kind(), tt.kind)
			}
			want := tt.want
			if want == nil { // everything of the standard profile, minus what the options leave out
				want = map[string]string{}
				for _, w := range tbtest.StandardWant() {
					if tt.opts.SkipIMAPCache && strings.HasPrefix(w.Path, "imap.example.com/") {
						continue
					}
					if tt.kind == thunderbird.KindMailDir && strings.HasPrefix(w.Path, "imap.example.com/") {
						continue
					}
					want[w.Path] = strings.Repeat("m", w.Messages) + strings.Repeat("s", w.Skipped)
				}
			}
			if len(got) != len(want) {
				t.Errorf("mailboxes = %q, want %q", got, want)
			}
			for k, v := range want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("mailbox %q = %q (found %v), want %q", k, g, ok, v)
				}
			}
		})
	}
}

func TestAllProfiles(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	got, r, w := read(t, built.Root, thunderbird.Options{AllProfiles: true})
	if len(r.Profiles()) != 2 {
		t.Errorf("read %d profiles, want 2", len(r.Profiles()))
	}
	if _, ok := got["default-release: Local Folders/Inbox"]; !ok {
		t.Errorf("mailboxes %q lack the profile prefix", got)
	}
	w.hasNot(t, "has 2 profiles")
}

func TestUnknownProfile(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	_, err := thunderbird.Open(built.Root, thunderbird.Options{Profile: "nope"})
	if err == nil || !strings.Contains(err.Error(), `no profile named "nope"`) || !strings.Contains(err.Error(), "default-release") {
		t.Errorf("Open with an unknown profile: %v", err)
	}
}

func TestDetect(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	p := func(rel string) string { return filepath.Join(built.Profile, filepath.FromSlash(rel)) }
	other := t.TempDir()
	plain := filepath.Join(other, "plain.mbox")
	if err := os.WriteFile(plain, []byte("From a@b Mon Jan  1 00:00:00 2024\nSubject: x\n\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	firefox := filepath.Join(other, "ff.default")
	if err := os.MkdirAll(firefox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(firefox, "prefs.js"), []byte(`user_pref("browser.startup.page", 3);`), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(other, "saved")
	tbSaved := "From - Mon Jan 01 00:00:00 2024\nX-Mozilla-Status: 0001\nSubject: saved\n\nx\n"
	for _, n := range []string{"a.eml", "b.eml"} {
		if err := os.MkdirAll(saved, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(saved, n), []byte(tbSaved), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		path string
		want thunderbird.Kind
		note string
	}{
		{saved, thunderbird.KindNone, ""}, // .eml files saved by Thunderbird: the EML reader's
		{filepath.Join(saved, "a.eml"), thunderbird.KindNone, ""},
		{built.Root, thunderbird.KindRoot, "2 profile(s): default-release (default), old.default"},
		{built.Profile, thunderbird.KindProfile, "Thunderbird profile"},
		{p("Mail"), thunderbird.KindMailDir, ""},
		{p("ImapMail"), thunderbird.KindMailDir, ""},
		{p("Mail/Local Folders"), thunderbird.KindAccount, ""},
		{p("Mail/pop.example.com/Archives.sbd"), thunderbird.KindAccount, ""},
		{p("Mail/pop.example.com/Archives.sbd/2023.sbd"), thunderbird.KindAccount, ""},
		{p("Mail/Local Folders/Inbox"), thunderbird.KindFile, ""},  // X-Mozilla-Status
		{p("Mail/pop.example.com/Sent"), thunderbird.KindFile, ""}, // (no .msf, but X-Mozilla-Status)
		{p("Mail/pop.example.com/Inbox.msf"), thunderbird.KindNone, ""},
		{plain, thunderbird.KindNone, ""},
		{firefox, thunderbird.KindNone, ""},
		{other, thunderbird.KindNone, ""},
		{filepath.Join(other, "missing"), thunderbird.KindNone, ""},
	}
	for _, tt := range tests {
		kind, note := thunderbird.Detect(tt.path)
		if kind != tt.want || !strings.Contains(note, tt.note) {
			t.Errorf("Detect(%s) = %q, %q; want %q, %q", tt.path, kind, note, tt.want, tt.note)
		}
	}
}

func TestNameRecovery(t *testing.T) {
	spec := tbtest.Spec{Accounts: []tbtest.Account{{
		Type: "none", Name: "Local Folders", Hostname: "Local Folders",
		Folders: []tbtest.Folder{
			// real name only in folderTree.json (written below)
			{Name: "a/b", Messages: []tbtest.Message{{Status: "0001", Subject: "x"}}},
			// old Thunderbird: the whole name replaced by the hash, named in the .msf
			{Name: "Ärger?", Disk: tbtest.Hash("Ärger?"), MSF: true},
			// looks hashed, nothing knows it: kept, with a warning
			{Name: "lostname1a2b3c4d", Messages: []tbtest.Message{{Status: "0001", Subject: "y"}}},
			// a date, not a hash: no warning
			{Name: "20240101", Kind: "empty"},
			// a .msf whose folderName differs from an ordinary file name: the file name wins
			{Name: "Unsent Messages", MSFName: "Outbox", MSF: true, Kind: "empty"},
		},
	}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	tree := `{"all":{"mailbox://nobody@Local%20Folders":{"open":true},"mailbox://nobody@Local%20Folders/a%2Fb":{"open":false}}}`
	if err := os.WriteFile(filepath.Join(built.Profile, "folderTree.json"), []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, w := read(t, built.Profile, thunderbird.Options{})
	var names []string
	for k := range got {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{"Local Folders/20240101", "Local Folders/Unsent Messages", "Local Folders/a/b", "Local Folders/lostname1a2b3c4d", "Local Folders/Ärger?"}
	if !slices.Equal(names, want) {
		t.Errorf("mailboxes = %q, want %q", names, want)
	}
	w.has(t, `folder file name "lostname1a2b3c4d" looks like a hashed name`)
	w.hasNot(t, `"20240101"`)
}

func TestIMAPCacheNames(t *testing.T) {
	spec := tbtest.Spec{Unlisted: []tbtest.Account{{Type: "imap", Hostname: "imap.example.com", Folders: []tbtest.Folder{
		{Name: "INBOX", Kind: "parent", Children: []tbtest.Folder{
			{Name: "Entw&APw-rfe", Messages: []tbtest.Message{{Status: "0001", Subject: "old UTF-7 name"}}},
			{Name: "Tom & Jerry", Kind: "empty"},
			{Name: "Grüße", Kind: "empty"},
		}},
	}}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	got, _, _ := read(t, built.Profile, thunderbird.Options{})
	for _, want := range []string{"imap.example.com/INBOX/Entwürfe", "imap.example.com/INBOX/Tom & Jerry", "imap.example.com/INBOX/Grüße"} {
		if _, ok := got[want]; !ok {
			t.Errorf("mailbox %q missing in %q", want, got)
		}
	}
}

func TestForeignProfile(t *testing.T) {
	// Only the absolute Windows "directory" pref, no directory-rel: the
	// account directory is found by its tail and the user is told.
	spec := tbtest.Spec{Accounts: []tbtest.Account{{
		Type: "pop3", Hostname: "pop.example.com", Dir: "pop.example-1.com", NoDirectoryRel: true,
		Folders: []tbtest.Folder{{Name: "Inbox", Messages: []tbtest.Message{{Status: "0001", Subject: "x"}}}},
	}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	got, r, w := read(t, built.Profile, thunderbird.Options{})
	if got["pop.example.com/Inbox"] != "m" {
		t.Errorf("mailboxes = %q", got)
	}
	if a := r.Accounts()[0]; a.DirFrom != "fallback" || filepath.Base(a.Dir) != "pop.example-1.com" {
		t.Errorf("account = %+v", a)
	}
	w.has(t, `C:\Users\alice\AppData\Roaming\Thunderbird\Profiles\k3l9x2qa.default-release\Mail\pop.example-1.com" does not exist here`)
}

func TestLockWarning(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Spec{})
	if err := os.Symlink("127.0.1.1:+4242", filepath.Join(built.Profile, "lock")); err != nil {
		t.Skip("no symlinks:", err)
	}
	_, _, w := read(t, built.Profile, thunderbird.Options{})
	w.has(t, "Thunderbird may be running on profile")
	if _, note := thunderbird.Detect(built.Profile); !strings.Contains(note, "may be running") {
		t.Errorf("Detect note = %q, want a running warning", note)
	}
}

// TestSourceUntouched checks that reading changes nothing under the source.
func TestSourceUntouched(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	before := snapshot(t, built.Root)
	read(t, built.Root, thunderbird.Options{})
	after := snapshot(t, built.Root)
	if !slices.Equal(before, after) {
		t.Errorf("the source changed:\n before %q\n after  %q", before, after)
	}
}

func snapshot(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p+"|"+info.Mode().String()+"|"+info.ModTime().String()+"|"+strconv.FormatInt(info.Size(), 10))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
