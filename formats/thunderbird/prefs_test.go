package thunderbird

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePrefs(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Prefs
		problems int
	}{
		{"string", `user_pref("mail.server.server1.hostname", "pop.example.com");`, Prefs{"mail.server.server1.hostname": "pop.example.com"}, 0},
		{"number and bool", "user_pref(\"a\", 42);\nuser_pref(\"b\", true);\nuser_pref(\"c\", -1);", Prefs{"a": "42", "b": "true", "c": "-1"}, 0},
		{"windows directory", `user_pref("mail.server.server2.directory", "C:\\Users\\alice\\AppData\\Roaming\\Thunderbird\\Profiles\\x.default\\Mail\\Local Folders");`,
			Prefs{"mail.server.server2.directory": `C:\Users\alice\AppData\Roaming\Thunderbird\Profiles\x.default\Mail\Local Folders`}, 0},
		{"profD with backslash", `user_pref("mail.server.server2.directory-rel", "[ProfD]Mail\\Local Folders");`,
			Prefs{"mail.server.server2.directory-rel": `[ProfD]Mail\Local Folders`}, 0},
		{"quote escape", `user_pref("mail.server.server1.name", "Alice \"Work\" Mail");`, Prefs{"mail.server.server1.name": `Alice "Work" Mail`}, 0},
		{"unicode escape", `user_pref("mail.server.server1.name", "Entw\u00fcrfe \u00c4rger");`, Prefs{"mail.server.server1.name": "Entwürfe Ärger"}, 0},
		{"surrogate pair", `user_pref("x", "\ud83d\ude00!");`, Prefs{"x": "😀!"}, 0},
		{"lone surrogate", `user_pref("x", "\ud83d.");`, Prefs{"x": "\uFFFD."}, 0},
		{"hex escape", `user_pref("x", "caf\xe9");`, Prefs{"x": "café"}, 0},
		{"raw UTF-8", `user_pref("x", "Entwürfe");`, Prefs{"x": "Entwürfe"}, 0},
		{"single quotes", `user_pref('x', 'it\'s');`, Prefs{"x": "it's"}, 0},
		{"comments and blank lines", "// Mozilla User Preferences\n\n/* Do not edit\n this file */\n# hash comment\nuser_pref(\"x\", \"1\");\n", Prefs{"x": "1"}, 0},
		{"pref and sticky_pref", "pref(\"a\", \"1\");\nsticky_pref(\"b\", \"2\");", Prefs{"a": "1", "b": "2"}, 0},
		{"spaces everywhere", "user_pref ( \"x\" ,\t\"y\" ) ;", Prefs{"x": "y"}, 0},
		{"CRLF", "user_pref(\"x\", \"1\");\r\nuser_pref(\"y\", \"2\");\r\n", Prefs{"x": "1", "y": "2"}, 0},
		{"later wins", "user_pref(\"x\", \"1\");\nuser_pref(\"x\", \"2\");", Prefs{"x": "2"}, 0},
		{"bad line skipped", "user_pref(\"x\", );\nuser_pref(\"y\", \"ok\");", Prefs{"y": "ok"}, 1},
		{"garbage skipped", "garbage here;\nuser_pref(\"y\", \"ok\");", Prefs{"y": "ok"}, 1},
		{"unterminated string", "user_pref(\"x\", \"open\nuser_pref(\"y\", \"ok\");", Prefs{"y": "ok"}, 1},
		{"BOM", "\xef\xbb\xbfuser_pref(\"x\", \"1\");", Prefs{"x": "1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems := ParsePrefs([]byte(tt.in))
			if len(got) != len(tt.want) {
				t.Errorf("ParsePrefs = %q, want %q", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("pref %q = %q, want %q", k, got[k], v)
				}
			}
			if len(problems) != tt.problems {
				t.Errorf("problems = %q, want %d", problems, tt.problems)
			}
		})
	}
}

func TestAccountsFromPrefs(t *testing.T) {
	profile := filepath.FromSlash("/home/bob/.thunderbird/abc.default")
	p := func(rel string) string { return filepath.Join(profile, filepath.FromSlash(rel)) }
	tests := []struct {
		name   string
		prefs  string
		dirs   []string // directories that exist, relative to the profile
		want   []string // name|type|dir (relative)|from|maildir|skip
		warned []string
	}{
		{
			name: "directory-rel with backslashes first",
			prefs: `user_pref("mail.accountmanager.accounts", "account1,account2");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.accountmanager.localfoldersserver", "server2");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.hostname", "pop.example.com");
user_pref("mail.server.server1.userName", "bob");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail\\pop.example-1.com");
user_pref("mail.server.server1.directory", "C:\\Users\\bob\\AppData\\Roaming\\Thunderbird\\Profiles\\abc.default\\Mail\\pop.example-1.com");
user_pref("mail.server.server2.type", "none");
user_pref("mail.server.server2.hostname", "Local Folders");
user_pref("mail.server.server2.name", "Local Folders");
user_pref("mail.server.server2.directory-rel", "[ProfD]Mail/Local Folders");`,
			dirs: []string{"Mail/pop.example-1.com", "Mail/Local Folders", "Mail/pop.example.com"},
			want: []string{"pop.example.com|pop3|Mail/pop.example-1.com|directory-rel|false|", "Local Folders|none|Mail/Local Folders|directory-rel|false|"},
		},
		{
			name: "windows directory only: same tail in this profile",
			prefs: `user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.hostname", "pop.example.com");
user_pref("mail.server.server1.directory", "C:\\Users\\bob\\AppData\\Roaming\\Thunderbird\\Profiles\\abc.default\\Mail\\pop.example-1.com");`,
			dirs:   []string{"Mail/pop.example-1.com", "Mail/pop.example.com"},
			want:   []string{"pop.example.com|pop3|Mail/pop.example-1.com|fallback|false|"},
			warned: []string{`does not exist here (profile copied from another machine?)`},
		},
		{
			name: "nothing resolves: hostname fallback",
			prefs: `user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.type", "imap");
user_pref("mail.server.server1.hostname", "imap.example.com");
user_pref("mail.server.server1.directory-rel", "[ProfD]ImapMail/gone");
user_pref("mail.server.server1.directory", "/old/machine/ImapMail/gone");`,
			dirs:   []string{"ImapMail/imap.example.com"},
			want:   []string{"imap.example.com|imap|ImapMail/imap.example.com|fallback|false|"},
			warned: []string{"using " + p("ImapMail/imap.example.com")},
		},
		{
			name: "absolute directory that exists",
			prefs: `user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.type", "none");
user_pref("mail.server.server1.directory", "` + filepath.ToSlash(p("Mail/Elsewhere")) + `");`,
			dirs: []string{"Mail/Elsewhere"},
			want: []string{"Elsewhere|none|Mail/Elsewhere|directory|false|"},
		},
		{
			name: "maildir store, rss, nntp, orphan server",
			prefs: `user_pref("mail.accountmanager.accounts", "account1,account2,account3");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account3.server", "server3");
user_pref("mail.server.server1.type", "pop3");
user_pref("mail.server.server1.name", "Work");
user_pref("mail.server.server1.hostname", "mail.example.com");
user_pref("mail.server.server1.storeContractID", "@mozilla.org/msgstore/maildirstore;1");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/mail.example.com");
user_pref("mail.server.server2.type", "rss");
user_pref("mail.server.server2.name", "Blogs");
user_pref("mail.server.server2.hostname", "Feeds");
user_pref("mail.server.server3.type", "nntp");
user_pref("mail.server.server3.hostname", "news.example.com");
user_pref("mail.server.server9.type", "pop3");
user_pref("mail.server.server9.hostname", "old.example.com");
user_pref("mail.server.server9.directory-rel", "[ProfD]Mail/old.example.com");`,
			dirs: []string{"Mail/mail.example.com", "Mail/old.example.com"},
			want: []string{"Work|pop3|Mail/mail.example.com|directory-rel|true|", "Blogs|rss|||false|" + SkipRSS,
				"news.example.com|nntp|||false|" + SkipNews, "old.example.com|pop3|Mail/old.example.com|directory-rel|false|"},
		},
		{
			name: "default store for all servers",
			prefs: `user_pref("mail.serverDefaultStoreContractID", "@mozilla.org/msgstore/maildirstore;1");
user_pref("mail.accountmanager.accounts", "account1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.type", "none");
user_pref("mail.server.server1.directory-rel", "[ProfD]Mail/Local Folders");`,
			dirs: []string{"Mail/Local Folders"},
			want: []string{"Local Folders|none|Mail/Local Folders|directory-rel|true|"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefs, problems := ParsePrefs([]byte(tt.prefs))
			if len(problems) > 0 {
				t.Fatalf("problems: %q", problems)
			}
			exists := func(d string) bool {
				for _, e := range tt.dirs {
					if filepath.Clean(d) == p(e) {
						return true
					}
				}
				return false
			}
			accts, warns := AccountsFromPrefs(profile, prefs, exists)
			var got []string
			for _, a := range accts {
				rel := ""
				if a.Dir != "" {
					r, err := filepath.Rel(profile, a.Dir)
					if err != nil {
						t.Fatal(err)
					}
					rel = filepath.ToSlash(r)
				}
				got = append(got, strings.Join([]string{a.Name, a.Type, rel, a.DirFrom, boolStr(a.Maildir), a.Skip}, "|"))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("accounts:\n got  %q\n want %q", got, tt.want)
			}
			for _, w := range tt.warned {
				if !slices.ContainsFunc(warns, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning containing %q in %q", w, warns)
				}
			}
			if len(tt.warned) == 0 && len(warns) > 0 {
				t.Errorf("unexpected warnings %q", warns)
			}
		})
	}
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestMailTail(t *testing.T) {
	tests := map[string]string{
		`C:\Users\a\AppData\Roaming\Thunderbird\Profiles\x\Mail\Local Folders`: "Mail/Local Folders",
		"/Users/a/Library/Thunderbird/Profiles/x/ImapMail/imap.example.com":    "ImapMail/imap.example.com",
		"[ProfD]Mail/pop.example.com":                                          "Mail/pop.example.com",
		"/srv/mail/store":                                                      "",
		`D:\Mail`:                                                              "",
	}
	for in, want := range tests {
		if got := mailTail(in); got != want {
			t.Errorf("mailTail(%q) = %q, want %q", in, got, want)
		}
	}
}
