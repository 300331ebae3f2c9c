package detect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

func TestDetectKinds(t *testing.T) {
	tests := []struct {
		name string
		path string
		want Kind
	}{
		{"thunderbird profile", testutil.Testdata(t, "sample-profile"), Thunderbird},
		{"thunderbird account", testutil.Testdata(t, "sample-profile/Mail/pop.example.net"), Thunderbird},
		{"apple mail emlx set", testutil.Corpus(t, "applemail/mikez-emlx"), AppleMail},
		{"maildir", testutil.Corpus(t, "maildir/mox-importtest"), Maildir},
		{"eml tree", testutil.Corpus(t, "eml/mimekit"), EML},
		{"mbox file", testutil.Corpus(t, "mbox/mox/importtest.mbox"), Mbox},
		{"thunderbird mbox file", testutil.Corpus(t, "thunderbird/comm-central-mailnews-test-data/bugmail-1"), Thunderbird},
	}
	for _, tt := range tests {
		found, err := Detect(tt.path)
		if err != nil {
			t.Errorf("%s: Detect: %v", tt.name, err)
			continue
		}
		if len(found) != 1 || found[0].Kind != tt.want {
			t.Errorf("%s: Detect(%s) = %+v, want one %s", tt.name, tt.path, found, tt.want)
		}
	}
}

func TestDetectNotMail(t *testing.T) {
	for _, rel := range []string{"mbox/neomutt-test-files/cherry.mbox", "mbox/neomutt-test-files/endive.mbox"} {
		p := testutil.Corpus(t, rel)
		found, err := Detect(p)
		if err != nil || len(found) != 0 {
			t.Errorf("Detect(%s) = %+v, %v; want nothing (plain text, not an mbox)", rel, found, err)
		}
		if _, err := Open(p, Auto, formats.Options{}); err == nil {
			t.Errorf("Open(%s) succeeded on a file that is not mail", rel)
		}
	}
}

// A directory that mixes store kinds yields one stream over all of them.
func TestDetectMixedTree(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const msg = "From: a@example.org\nSubject: hi\nDate: Mon, 7 Jun 2010 10:00:00 +0000\n\nbody\n"
	write("old-server/Maildir/cur/1275904800.1.host:2,S", msg)
	write("old-server/Maildir/new/1275904801.2.host", msg)
	write("old-server/Maildir/tmp/.keep", "")
	write("exports/2019/a.eml", msg)
	write("exports/2019/b.EML", msg)
	write("spool/anna.mbox", "From anna@example.org Mon Jun  7 10:00:00 2010\n"+msg)
	write("notes.txt", "not mail\n")

	found, err := Detect(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[Kind]int{}
	for _, f := range found {
		kinds[f.Kind]++
	}
	if kinds[Maildir] != 1 || kinds[EML] != 1 || kinds[Mbox] != 1 || len(found) != 3 {
		t.Fatalf("Detect(mixed tree) = %+v, want one Maildir, one EML tree and one mbox", found)
	}
	open := func(t *testing.T) formats.Reader {
		s, err := Open(dir, Auto, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Reader
	}
	formatstest.Run(t, open, formatstest.Want{Messages: 5, Skipped: 0})
}

func TestOpenMissingSource(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope"), Auto, formats.Options{}); err == nil {
		t.Fatal("Open of a missing path succeeded")
	}
}

func TestParseKind(t *testing.T) {
	for _, s := range KindNames() {
		if k, err := ParseKind(s); err != nil || string(k) != s {
			t.Errorf("ParseKind(%q) = %q, %v", s, k, err)
		}
	}
	for _, alias := range []string{"pst", "ost"} {
		if k, err := ParseKind(alias); err != nil || k != Outlook {
			t.Errorf("ParseKind(%q) = %q, %v; want %q", alias, k, err, Outlook)
		}
	}
	if _, err := ParseKind("olm"); err == nil {
		t.Errorf("ParseKind accepted an unknown kind")
	}
}

func TestDefaultSources(t *testing.T) {
	home := t.TempDir()
	prof := filepath.Join(home, ".thunderbird", "abcd.default")
	if err := os.MkdirAll(filepath.Join(prof, "Mail", "Local Folders"), 0o755); err != nil {
		t.Fatal(err)
	}
	ini := "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n"
	if err := os.WriteFile(filepath.Join(home, ".thunderbird", "profiles.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(prof, "prefs.js"), []byte(`user_pref("mail.server.server1.type", "none");`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	found := DefaultSources(Paths{Home: home, Getenv: func(string) string { return "" }, GOOS: "linux"})
	if len(found) != 1 || found[0].Path != prof || found[0].Kind != Thunderbird {
		t.Errorf("DefaultSources = %+v, want the one profile %s", found, prof)
	}
}

func TestExplain(t *testing.T) {
	perm := &os.PathError{Op: "open", Path: "/Users/a/Library/Mail/V10", Err: os.ErrPermission}
	tests := []struct {
		goos string
		err  error
		want string
	}{
		{"darwin", perm, "Full Disk Access"},
		{"windows", perm, "close it"},
		{"linux", perm, "not readable for this user"},
		{"linux", os.ErrNotExist, ""},
	}
	for _, tt := range tests {
		got := explainFor(tt.err, tt.goos)
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: explained error %v no longer wraps %v", tt.goos, got, tt.err)
		}
		if tt.want == "" && got.Error() != tt.err.Error() {
			t.Errorf("%s: %v was changed to %v", tt.goos, tt.err, got)
		}
		if tt.want != "" && !strings.Contains(got.Error(), tt.want) {
			t.Errorf("%s: %q lacks %q", tt.goos, got, tt.want)
		}
	}
	if Explain(nil) != nil {
		t.Errorf("Explain(nil) != nil")
	}
}
