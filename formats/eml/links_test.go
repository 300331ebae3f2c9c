package eml

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
)

// A link in an EML tree is never followed, so a copied or hostile tree
// cannot make mailferry upload a file of this computer; the files read
// are reported through Options.OnFile.
func TestLinksNotFollowed(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "passwd")
	if err := os.WriteFile(secret, []byte("From: root\nSubject: secret\n\nroot:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.eml"), []byte("From: a@example.org\nSubject: a\n\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "b.eml")); err != nil {
		t.Skipf("no symbolic links: %v", err)
	}
	if err := os.Symlink(".", filepath.Join(dir, "Loop")); err != nil {
		t.Fatal(err)
	}
	var warns, read []string
	r, err := Open(dir, formats.Options{
		Warn:   func(w formats.Warning) { warns = append(warns, w.String()) },
		OnFile: func(p string, err error) { read = append(read, filepath.Base(p)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		m, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Skip == "" {
			n++
		}
	}
	if n != 1 || !slices.Equal(read, []string{"a.eml"}) {
		t.Errorf("read %d messages from %q, want 1 from a.eml", n, read)
	}
	for _, name := range []string{"b.eml", "Loop"} {
		if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, name+": symbolic link not followed") }) {
			t.Errorf("no warning for %s: %q", name, warns)
		}
	}
}
