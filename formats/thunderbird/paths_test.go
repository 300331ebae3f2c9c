package thunderbird

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Profiles travel between Windows, macOS and Linux. The store
// paths in prefs.js then name another machine's directories, written with
// backslashes, drive letters, UNC shares, the \\?\ long-path prefix, or
// another case than the files have here.
func TestMailTailForeignPaths(t *testing.T) {
	tests := map[string]string{
		`\\nas\home\bob\AppData\Roaming\Thunderbird\Profiles\x.default\Mail\pop.example.com`:        "Mail/pop.example.com",
		`\\?\C:\Users\bob\AppData\Roaming\Thunderbird\Profiles\x.default\ImapMail\imap.example.com`: "ImapMail/imap.example.com",
		`C:\Users\bob\AppData\Roaming\Thunderbird\Profiles\x.default\mail\Local Folders`:            "mail/Local Folders",
		`[ProfD]mail\local folders`: "mail/local folders",
		`/Users/bob/Library/Thunderbird/Profiles/x.default/Mail/Local Folders`: "Mail/Local Folders",
		`C:\Mail Archive\Mail\old`: "Mail/old",
		`\\nas\share`:              "",
	}
	for in, want := range tests {
		if got := mailTail(in); got != want {
			t.Errorf("mailTail(%q) = %q, want %q", in, got, want)
		}
	}
}

// A profile copied from Windows: prefs.js names the folders in another case
// (Windows does not care), with backslashes, an absolute C:\ path and a
// very long UNC path; every account must still be found here.
func TestForeignProfilePathsResolve(t *testing.T) {
	profile := t.TempDir()
	for _, d := range []string{"Mail/Local Folders", "Mail/pop.example.com", "ImapMail/imap.example.com"} {
		if err := os.MkdirAll(filepath.Join(profile, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	long := `\\fileserver\profiles\` + strings.Repeat(`very long directory name\`, 12) + `ImapMail\imap.example.com`
	prefs := `user_pref("mail.accountmanager.accounts", "account1,account2,account3");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.server.server1.type", "none");
user_pref("mail.server.server1.directory-rel", "[ProfD]mail\\local folders");
user_pref("mail.server.server1.directory", "C:\\Users\\Bob\\AppData\\Roaming\\Thunderbird\\Profiles\\x.default\\mail\\local folders");
user_pref("mail.server.server2.type", "pop3");
user_pref("mail.server.server2.hostname", "POP.EXAMPLE.COM");
user_pref("mail.server.server2.directory", "D:\\Thunderbird\\MAIL\\POP.EXAMPLE.COM");
user_pref("mail.server.server3.type", "imap");
user_pref("mail.server.server3.hostname", "imap.example.com");
user_pref("mail.server.server3.directory", "` + strings.ReplaceAll(long, `\`, `\\`) + `");
`
	if err := os.WriteFile(filepath.Join(profile, "prefs.js"), []byte(prefs), 0o644); err != nil {
		t.Fatal(err)
	}
	accts, warns, err := ReadAccounts(profile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"server1": filepath.Join(profile, "Mail", "Local Folders"),
		"server2": filepath.Join(profile, "Mail", "pop.example.com"),
		"server3": filepath.Join(profile, "ImapMail", "imap.example.com"),
	}
	got := map[string]string{}
	for _, a := range accts {
		got[a.Key] = a.Dir
	}
	for k, dir := range want {
		if got[k] != dir {
			t.Errorf("account %s: directory %q, want %q (warnings %q)", k, got[k], dir, warns)
		}
	}
	for _, w := range warns {
		if strings.Contains(w, "no mail directory found") {
			t.Errorf("unexpected warning: %s", w)
		}
	}
}
