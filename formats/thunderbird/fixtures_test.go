package thunderbird

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/internal/testutil"
)

func TestFixturePrefsWindows(t *testing.T) {
	data, err := os.ReadFile(testutil.Testdata(t, "thunderbird/prefs-windows.js"))
	if err != nil {
		t.Fatal(err)
	}
	prefs, problems := ParsePrefs(data)
	if len(problems) > 0 {
		t.Errorf("problems: %q", problems)
	}
	if got, want := prefs["mail.identity.id1.fullName"], `Jürgen "Jür" Müller`; got != want {
		t.Errorf("fullName = %q, want %q", got, want)
	}
	profile := filepath.FromSlash("/home/j/.thunderbird/4x7yq2ab.default-release")
	exists := func(d string) bool {
		return d == filepath.Join(profile, "Mail", "pop.example.com") || d == filepath.Join(profile, "Mail", "Local Folders")
	}
	accts, warns := AccountsFromPrefs(profile, prefs, exists)
	var got []string
	for _, a := range accts {
		got = append(got, strings.Join([]string{a.Key, a.AccountKey, a.Type, a.Name, a.Hostname, a.UserName, a.Port, a.DirFrom, a.DeferredTo, a.Skip}, "|"))
	}
	want := []string{
		"server1|account1|pop3|Jürgen (privat)|pop.example.com|juergen|995|directory-rel|account2|",
		"server3|account3|rss|Blogs & News Feeds|Feeds|nobody||||" + SkipRSS,
		"server2|account2|none|Lokale Ordner|Local Folders|nobody||directory-rel||",
	}
	if !slices.Equal(got, want) {
		t.Errorf("accounts:\n got  %q\n want %q", got, want)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %q", warns)
	}
	if !strings.Contains(accts[0].Note, "mail goes to the Inbox of account2") {
		t.Errorf("deferred account note = %q", accts[0].Note)
	}
}

func TestFixtureProfilesINI(t *testing.T) {
	root := testutil.Testdata(t, "thunderbird/root-two-installs")
	ps, err := ReadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Name+"|"+filepath.Base(p.Dir)+"|"+boolStr(p.Default)+"|"+boolStr(p.Missing))
	}
	// Two installs; the first [Install…] section's default wins over the
	// legacy Default=1 of the other profile.
	want := []string{"default|8mw3kq1c.default|false|true", "default-release|4x7yq2ab.default-release|true|true"}
	if !slices.Equal(got, want) {
		t.Errorf("profiles:\n got  %q\n want %q", got, want)
	}
}

func TestFixtureEscapesMSF(t *testing.T) {
	data, err := os.ReadFile(testutil.Testdata(t, "thunderbird/escapes.msf"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseMSF(data)
	if err != nil {
		t.Fatalf("parseMSF: %v", err)
	}
	if info.FolderName != "Entwürfe (alt)" || info.MailboxName != "AB" {
		t.Errorf("folderName %q, mailboxName %q; want %q, %q", info.FolderName, info.MailboxName, "Entwürfe (alt)", "AB")
	}
	type msg struct {
		token, id string
		flags     uint32
		keywords  []string
		junk      string
	}
	var got []msg
	for _, m := range info.Msgs {
		got = append(got, msg{m.Token, m.MessageID, m.Flags, m.Keywords, m.JunkScore})
	}
	want := []msg{
		{"0", "m1@example.com", 1, []string{"$label1", `back\slash`}, ""},
		{"900", "m3@example.com", 0, []string{"continued", "value"}, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("messages = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.token != w.token || g.id != w.id || g.flags != w.flags || !slices.Equal(g.keywords, w.keywords) || g.junk != w.junk {
			t.Errorf("message %d = %+v, want %+v", i, g, w)
		}
	}
	db, err := parseMork(data)
	if err != nil {
		t.Fatal(err)
	}
	if v := db.atoms[0x93]; v != "a$$b" {
		t.Errorf("atom 93 = %q, want %q", v, "a$$b")
	}
}

func TestFixtureFolderTree(t *testing.T) {
	data, err := os.ReadFile(testutil.Testdata(t, "thunderbird/folderTree.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := newNameHints()
	h.addFolderTree(data)
	for _, name := range []string{"Archiv/2019", "INBOX", "Fragen: alt", "Kunden #wichtig"} {
		if !h.pool[name] {
			t.Errorf("name %q not collected from folderTree.json (got %v)", name, h.pool)
		}
	}
	if name, ok := h.recoverName(HashIfNecessary("Kunden #wichtig", "linux")); !ok || name != "Kunden #wichtig" {
		t.Errorf("recoverName = %q, %v", name, ok)
	}
}

func TestMorkErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"not mork", "hello", false},
		{"empty dict", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n<>", true},
		{"truncated value", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n<(80=abc", true},
		{"garbage", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n" + strings.Repeat("#", 200), false},
		{"bad group end", "// <!-- <mdb:mork:z v=\"1.4\"/> -->\n@$${1{@[1:m(a=b)]@$$}2}@", true},
	}
	for _, tt := range tests {
		_, err := parseMork([]byte(tt.in))
		if (err == nil) != tt.ok {
			t.Errorf("%s: parseMork error = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}
