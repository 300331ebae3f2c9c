package couriertest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestParseEnvFile checks the subset of shell syntax Courier's
// configuration files use, in the shapes Debian's imapd and imapd-ssl
// have, and that anything else is refused.
func TestParseEnvFile(t *testing.T) {
	text := `##NAME: ADDRESS:0
# comment
ADDRESS=0
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN"
IMAP_CAPABILITY_TLS="$IMAP_CAPABILITY AUTH=PLAIN"
TLS_STARTTLS_PROTOCOL="$TLS_PROTOCOL"
BRACED=${ADDRESS}x
SINGLE='$NOT expanded'
ESCAPED="a \"quoted\" \$x"
TRAILING=value # comment

IMAP_CAPABILITY="changed"
`
	p := filepath.Join(t.TempDir(), "imapd")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var env envFile
	if err := env.parseEnvFile(p); err != nil {
		t.Fatalf("parseEnvFile: %v", err)
	}
	want := map[string]string{
		"ADDRESS":               "0",
		"IMAP_CAPABILITY":       "changed",
		"IMAP_CAPABILITY_TLS":   "IMAP4rev1 UIDPLUS CHILDREN AUTH=PLAIN",
		"TLS_STARTTLS_PROTOCOL": "",
		"BRACED":                "0x",
		"SINGLE":                "$NOT expanded",
		"ESCAPED":               `a "quoted" $x`,
		"TRAILING":              "value",
	}
	for k, v := range want {
		if got := env.values[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := env.environ(); len(got) != len(want) || got[0] != "ADDRESS=0" || got[1] != "IMAP_CAPABILITY=changed" {
		t.Errorf("environ() = %q, want %d entries in order of first assignment", got, len(want))
	}

	for _, bad := range []string{"export X=1", "X=$(id)", "X=`id`", "X=a b", `X="open`, "X=a;b"} {
		if err := os.WriteFile(p, []byte(bad+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var env envFile
		if err := env.parseEnvFile(p); err == nil {
			t.Errorf("parseEnvFile(%q) = %v, want an error", bad, env.values)
		}
	}
}

// TestReadKeywords checks the keyword store: the stable :list, then the
// update files, a plain BASENAME winning over ".N.BASENAME" and the
// largest N over smaller ones, and entries of absent messages ignored.
func TestReadKeywords(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		":list":         "$Forwarded\nalpha\nbeta\n\nm1:0 1\nm2:2\nm3:0\ngone:1\n",
		".5.m2":         "old\n",
		".9.m2":         "newer\n",
		"m3":            "",
		".7.m3":         "ignored\n",
		".3.m4":         "only-update\n",
		".x.m4":         "not a number\n",
		".2.gone":       "x\n",
		"m1.unrelevant": "ignored: no such message\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	present := map[string]bool{"m1": true, "m2": true, "m3": true, "m4": true, "m5": true}
	kw, err := readKeywords(dir, present)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"m1": {"$Forwarded", "alpha"},
		"m2": {"newer"},
		"m3": nil,
		"m4": {"only-update"},
	}
	for base, w := range want {
		if got := kw[base]; !slices.Equal(got, w) {
			t.Errorf("keywords of %s = %q, want %q", base, got, w)
		}
	}
	if _, ok := kw["gone"]; ok {
		t.Errorf("keywords of an absent message were read")
	}
	if got, err := readKeywords(filepath.Join(dir, "missing"), present); err != nil || len(got) != 0 {
		t.Errorf("readKeywords(missing dir) = %v, %v; want none", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ":list"), []byte("a\n\nm1:7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readKeywords(dir, present); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("readKeywords with a bad index = %v, want an error", err)
	}
}

// TestReadUIDs checks courierimapuiddb: the header, "UID BASENAME" lines,
// a missing file, and a bad header.
func TestReadUIDs(t *testing.T) {
	p := filepath.Join(t.TempDir(), "courierimapuiddb")
	if err := os.WriteFile(p, []byte("1 796193667 4\n1 a.host,S=48\n3 b.host,S=22\nweird line here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uids, err := readUIDs(p)
	if err != nil || uids["a.host,S=48"] != 1 || uids["b.host,S=22"] != 3 || len(uids) != 2 {
		t.Errorf("readUIDs = %v, %v", uids, err)
	}
	if uids, err := readUIDs(p + ".missing"); err != nil || len(uids) != 0 {
		t.Errorf("readUIDs(missing) = %v, %v; want none", uids, err)
	}
	if err := os.WriteFile(p, []byte("2 x y z\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readUIDs(p); err == nil {
		t.Errorf("readUIDs with a version-2 header: want an error")
	}
}

// TestFolderDir checks the mapping from IMAP names to Maildir++
// directories.
func TestFolderDir(t *testing.T) {
	m := Maildir{Path: "/m"}
	tests := []struct{ in, want string }{
		{"INBOX", "/m"},
		{"inbox", "/m"},
		{"INBOX.a", "/m/.a"},
		{"Inbox.a.b", "/m/.a.b"},
		{"INBOX.Entwürfe", "/m/.Entwürfe"},
	}
	for _, tt := range tests {
		if got, err := m.folderDir(tt.in); err != nil || got != tt.want {
			t.Errorf("folderDir(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"Sent", "INBOX.a/b", "INBOX.a..b", "INBOXa"} {
		if got, err := m.folderDir(bad); err == nil {
			t.Errorf("folderDir(%q) = %q, want an error", bad, got)
		}
	}
}
