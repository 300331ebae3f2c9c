package formats

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestListTree(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Export")
	for _, p := range []string{"a.msg", ".hidden", "skip.me", "Sub/b.msg", "Sub/Deeper/c.msg", "Box.mailbox/d.eml", ".dotdir/e.msg", "Too/Deep/f.msg"} {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(root, "Empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if err := os.Symlink(filepath.Join(root, "Sub"), filepath.Join(root, "link")); err != nil {
			t.Fatal(err)
		}
	}
	var warnings []string
	dirs, err := ListTree(root, TreeOptions{
		MaxDepth:   2,
		Ignore:     func(name string) bool { return name == "skip.me" },
		FolderName: func(dir string) string { return strings.TrimSuffix(dir, ".mailbox") },
		Warn: func(pos Pos, format string, args ...any) {
			warnings = append(warnings, filepath.Base(pos.File)+": "+fmt.Sprintf(format, args...))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range dirs {
		s := d.Path.String() + ":"
		for _, f := range d.Files {
			s += " " + filepath.Base(f.Path)
		}
		got = append(got, s)
	}
	want := []string{"Export: a.msg", "Box: d.eml", "Empty:", "Sub: b.msg", "Too:"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ListTree = %q, want %q", got, want)
	}
	joined := strings.Join(warnings, "|")
	for _, w := range []string{"Deeper: directory nested deeper than 2 levels", "Deep: directory nested deeper"} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q lack %q", warnings, w)
		}
	}
	if runtime.GOOS != "windows" && !strings.Contains(joined, "link: symbolic link not followed") {
		t.Errorf("warnings %q lack the symlink", warnings)
	}
	if _, err := ListTree(filepath.Join(root, "missing"), TreeOptions{MaxDepth: 2}); err == nil {
		t.Errorf("a missing root is not an error")
	}

	if !FindInTree(root, 3, 100, nil, func(p string) bool { return filepath.Base(p) == "c.msg" }) {
		t.Errorf("FindInTree did not find Sub/Deeper/c.msg")
	}
	if FindInTree(root, 3, 100, func(name string) bool { return name != "Sub" }, func(p string) bool { return filepath.Base(p) == "c.msg" }) {
		t.Errorf("FindInTree entered a directory it was told not to")
	}
	if FindInTree(root, 3, 100, nil, func(p string) bool { return filepath.Base(p) == "e.msg" }) {
		t.Errorf("FindInTree looked into a dot-directory")
	}
	if FindInTree(root, 3, 1, nil, func(p string) bool { return filepath.Base(p) == "c.msg" }) {
		t.Errorf("FindInTree went over its budget")
	}
}

func TestSpecialByName(t *testing.T) {
	for _, tc := range []struct {
		path Folder
		want Special
	}{
		{Folder{"Inbox"}, SpecialInbox}, {Folder{"Sent Items"}, SpecialSent}, {Folder{"deleted items"}, SpecialTrash},
		{Folder{"Junk E-mail"}, SpecialJunk}, {Folder{"Drafts"}, SpecialDrafts}, {Folder{"Outbox"}, SpecialOutbox},
		{Folder{"Archive"}, SpecialArchive}, {Folder{"Templates"}, SpecialTemplates},
		{Folder{"Projects"}, SpecialNone}, {Folder{"Archive", "Inbox"}, SpecialNone},
	} {
		if got := SpecialByName(tc.path); got != tc.want {
			t.Errorf("SpecialByName(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
