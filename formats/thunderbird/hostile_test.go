package thunderbird

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
)

const tbMsg = "From - Mon Jun  7 10:00:00 2010\nX-Mozilla-Status: 0001\nFrom: a@example.org\nSubject: s%d\nDate: Mon, 7 Jun 2010 10:00:00 +0000\n\nbody\n\n"

// readAll opens source and returns the folder paths, the message count
// and the warnings.
func readAll(t *testing.T, source string) ([]string, int, []string) {
	t.Helper()
	var warns []string
	r, err := Open(source, Options{Options: formats.Options{Warn: func(w formats.Warning) { warns = append(warns, w.String()) }}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	boxes, err := r.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, b := range boxes {
		paths = append(paths, b.DisplayPath())
	}
	n := 0
	for {
		_, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return paths, n, warns
}

func hasWarning(warns []string, sub string) bool {
	return slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, sub) })
}

// A ".sbd" link back to its own directory once turned 20 folders into
// hundreds: links are not followed, and the tree is read once.
func TestSbdLinkLoopNotFollowed(t *testing.T) {
	prof := t.TempDir()
	lf := filepath.Join(prof, "Mail", "Local Folders")
	for i := range 20 {
		mkfile(t, filepath.Join(lf, fmt.Sprintf("F%02d", i)), fmt.Sprintf(tbMsg, i)+fmt.Sprintf(tbMsg, i+100))
	}
	if err := os.Symlink(".", filepath.Join(lf, "Loop.sbd")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Symlink("F00", filepath.Join(lf, "Alias")); err != nil {
		t.Fatal(err)
	}
	paths, n, warns := readAll(t, prof)
	if len(paths) != 20 || n != 40 {
		t.Errorf("read %d folders and %d messages, want 20 and 40: %q", len(paths), n, paths)
	}
	if !hasWarning(warns, "Loop.sbd: symbolic link not followed") || !hasWarning(warns, "Alias: symbolic link not followed") {
		t.Errorf("warnings do not name the links: %q", warns)
	}
}

// prefs.js is input like any other: directories it names in system
// places, or that hold no mail folders, or that a link in the profile
// leads out to, are not read.
func TestPrefsDirectoriesMustLookLikeMail(t *testing.T) {
	prof := t.TempDir()
	outside := t.TempDir()
	// Real mail kept outside the profile (another disk): read.
	mkfile(t, filepath.Join(outside, "archive", "Old"), fmt.Sprintf(tbMsg, 1))
	mkfile(t, filepath.Join(outside, "archive", "Old.msf"), "")
	// Files that are not mail, outside the profile: never read.
	mkfile(t, filepath.Join(outside, "etc", "passwd"), "root:x:0:0:root:/root:/bin/bash\n")
	mkfile(t, filepath.Join(outside, "etc", "hosts"), "127.0.0.1 localhost\n")
	// A link inside the profile to outside mail: not followed.
	mkfile(t, filepath.Join(outside, "linked", "Secret"), fmt.Sprintf(tbMsg, 2))
	mkfile(t, filepath.Join(outside, "linked", "Secret.msf"), "")
	if err := os.MkdirAll(filepath.Join(prof, "Mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "linked"), filepath.Join(prof, "Mail", "linked")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	mkfile(t, filepath.Join(prof, "Mail", "Local Folders", "Inbox"), fmt.Sprintf(tbMsg, 3))
	var prefs strings.Builder
	server := func(key, typ, host, field, dir string) {
		fmt.Fprintf(&prefs, "user_pref(\"mail.server.%s.type\", %q);\nuser_pref(\"mail.server.%s.hostname\", %q);\nuser_pref(\"mail.server.%s.%s\", %q);\n", key, typ, key, host, key, field, dir)
	}
	server("server1", "none", "Local Folders", "directory-rel", "[ProfD]Mail/Local Folders")
	server("server2", "pop3", "proc.example", "directory", "/proc/self")
	server("server3", "pop3", "dev.example", "directory", "/dev")
	server("server4", "pop3", "etc.example", "directory", filepath.Join(outside, "etc"))
	server("server5", "pop3", "archive.example", "directory", filepath.Join(outside, "archive"))
	server("server6", "pop3", "linked.example", "directory-rel", "[ProfD]Mail/linked")
	server("server7", "pop3", "up.example", "directory-rel", "[ProfD]../../../../../../etc")
	server("server8", "pop3", "self.example", "directory-rel", "[ProfD].")
	mkfile(t, filepath.Join(prof, "prefs.js"), prefs.String())

	accts, warns, err := ReadAccounts(prof)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	for _, a := range accts {
		dirs[a.Hostname] = a.Dir
	}
	want := map[string]string{
		"Local Folders":   filepath.Join(prof, "Mail", "Local Folders"),
		"proc.example":    "",
		"dev.example":     "",
		"etc.example":     "",
		"archive.example": filepath.Join(outside, "archive"),
		"linked.example":  "",
		"up.example":      "",
		"self.example":    "",
	}
	for host, d := range want {
		if dirs[host] != d {
			t.Errorf("account %s: directory %q, want %q", host, dirs[host], d)
		}
	}
	for _, sub := range []string{
		"/proc is a system directory",
		"/dev is a system directory",
		filepath.Join(outside, "etc") + " as an account's mail directory; not read: it holds no Thunderbird mail folders",
		"outside the profile (links that leave the source are not followed)",
		"the profile directory itself",
	} {
		if !hasWarning(warns, sub) {
			t.Errorf("no warning %q in %q", sub, warns)
		}
	}
	paths, n, _ := readAll(t, prof)
	if n != 2 || len(paths) != 2 {
		t.Errorf("read %q and %d messages; want Local Folders/Inbox and archive.example/Old, 2 messages", paths, n)
	}
}

// A huge prefs.js is read only up to MaxPrefsBytes: memory stays
// bounded, and accounts beyond the limit are still found on disk.
func TestHugePrefsBounded(t *testing.T) {
	prof := t.TempDir()
	mkfile(t, filepath.Join(prof, "Mail", "Local Folders", "Inbox"), fmt.Sprintf(tbMsg, 1))
	mkfile(t, filepath.Join(prof, "Mail", "pop.late.example", "Inbox"), fmt.Sprintf(tbMsg, 2))
	f, err := os.Create(filepath.Join(prof, "prefs.js"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "user_pref(\"mail.server.server1.type\", \"none\");\nuser_pref(\"mail.server.server1.directory-rel\", \"[ProfD]Mail/Local Folders\");\n")
	line := "user_pref(\"extensions.junk\", \"" + strings.Repeat("x", 1000) + "\");\n"
	for written := 0; written <= MaxPrefsBytes; written += len(line) {
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Fprintf(f, "user_pref(\"mail.server.server2.type\", \"pop3\");\nuser_pref(\"mail.server.server2.hostname\", \"pop.late.example\");\n")
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	accts, warns, err := ReadAccounts(prof)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(warns, fmt.Sprintf("more than the %d read", MaxPrefsBytes)) {
		t.Errorf("no warning about the size: %q", warns)
	}
	if hasWarning(warns, "line ") {
		t.Errorf("the cut made a statement malformed: %q", warns)
	}
	var got []string
	for _, a := range accts {
		got = append(got, a.Name+"|"+a.DirFrom)
	}
	want := []string{"Local Folders|directory-rel", "pop.late.example|disk"}
	if !slices.Equal(got, want) {
		t.Errorf("accounts = %q, want %q", got, want)
	}
}
