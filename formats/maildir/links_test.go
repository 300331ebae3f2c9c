package maildir

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

// A message file that is a link is never followed: in a copied or hostile
// maildir it may point at any file of this computer.
func TestLinkedMessageNotFollowed(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("From: root\nSubject: secret\n\nroot:x:0:0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cur", "1.host:2,S"), []byte("From: a@example.org\nSubject: a\n\nbody\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(dir, "cur", "2.host:2,S")); err != nil {
		t.Skipf("no symbolic links: %v", err)
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
		_, err := r.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 || !slices.Equal(read, []string{"1.host:2,S"}) {
		t.Errorf("read %d messages from %q, want 1 from 1.host:2,S", n, read)
	}
	if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, "2.host:2,S: symbolic link not followed") }) {
		t.Errorf("no warning for the link: %q", warns)
	}
}
