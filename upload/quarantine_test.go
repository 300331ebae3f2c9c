package upload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSafeElement(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Inbox", "Inbox"},
		{"..", "_"},
		{".", "_"},
		{"", "_"},
		{"   ", "_"},
		{"../../etc", "_.._etc"},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"C:", "C_"},
		{"CON", "_CON"},
		{"con.txt", "_con.txt"},
		{"LPT1", "_LPT1"},
		{"nul\x00x", "nul_x"},
		{"tab\there", "tab_here"},
		{"what?*<>|\"", "what______"},
		{".hidden.", "hidden"},
		{"Entwürfe", "Entwürfe"},
		{"bad\xffutf8", "bad_utf8"},
	}
	for _, tt := range tests {
		if got := safeElement(tt.in); got != tt.want {
			t.Errorf("safeElement(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := safeElement(strings.Repeat("ü", 200))
	if len(long) > 100 || !strings.HasPrefix(long, "ü") || strings.ContainsRune(long, '\uFFFD') {
		t.Errorf("long name cut badly: %d bytes %q", len(long), long)
	}
}

func TestQuarantineStaysInside(t *testing.T) {
	root := t.TempDir()
	q := &quarantine{dir: root}
	hostile := [][]string{
		{".."}, {"..", ".."}, {"../../../tmp/evil"}, {"/abs"}, {"a", "..", "..", "b"},
		{`..\..`}, {"CON"}, {"\x00"}, {}, {"", ""}, {"ok", "sub"},
	}
	for _, folder := range hostile {
		path, err := q.save(folder, strings.NewReader("From: x\r\n\r\n"))
		if err != nil {
			t.Errorf("save(%q): %v", folder, err)
			continue
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || strings.HasPrefix(rel, "..") || filepath.IsAbs(rel) {
			t.Errorf("save(%q) wrote %s, outside %s", folder, path, root)
		}
		want := max(len(folder), 1) + 1
		if n := len(strings.Split(rel, string(filepath.Separator))); n != want {
			t.Errorf("save(%q) wrote %s: %d levels, want %d", folder, rel, n, want)
		}
	}
	// Numbers count up, nothing is overwritten.
	a, _ := q.save([]string{"X"}, strings.NewReader("1"))
	b, _ := q.save([]string{"X"}, strings.NewReader("2"))
	if a == b || filepath.Base(a) != "1.eml" || filepath.Base(b) != "2.eml" {
		t.Errorf("two saves gave %s and %s", a, b)
	}
	if got, _ := os.ReadFile(b); string(got) != "2" {
		t.Errorf("%s holds %q", b, got)
	}
	off := &quarantine{dir: filepath.Join(root, "off"), off: true}
	if p, err := off.save([]string{"X"}, strings.NewReader("1")); p != "" || err != nil {
		t.Errorf("switched-off quarantine wrote %q, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(root, "off")); !os.IsNotExist(err) {
		t.Errorf("switched-off quarantine created its directory")
	}
}
