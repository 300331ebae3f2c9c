package mbox

import (
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
)

func TestIsEmptyFolder(t *testing.T) {
	const msg = "From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"
	dir := t.TempDir()
	write := func(rel, content string) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("spool/Inbox", msg)
	write("export/Sent.mbox", msg)
	write("eml/a.eml", "Subject: x\n\nbody\n")
	write("eml/from.eml", msg) // an EML file that starts with a From_ line
	write("notes/todo.txt", "buy milk\n")
	tests := []struct {
		rel  string
		want bool
	}{
		{"spool/Drafts", true},            // beside an mbox without extension
		{"export/Old.mbox", true},         // same extension as the mbox beside it
		{"export/Old", true},              // no extension at all
		{"export/readme.txt", false},      // another extension
		{"spool/.hidden", false},          // hidden
		{"eml/empty", false},              // beside EML files only
		{"notes/empty", false},            // beside other text
		{"lonely/empty", false},           // alone
		{"spool/not-empty-either", false}, // written below with content
	}
	for _, tt := range tests {
		content := ""
		if tt.rel == "spool/not-empty-either" {
			content = "x"
		}
		p := write(tt.rel, content)
		if got := IsEmptyFolder(p); got != tt.want {
			t.Errorf("IsEmptyFolder(%s) = %v, want %v", tt.rel, got, tt.want)
		}
	}
	if IsEmptyFolder(filepath.Join(dir, "spool")) {
		t.Errorf("IsEmptyFolder(directory) = true")
	}
	// An empty mbox reads as one empty mailbox.
	formatstest.Run(t, func(t *testing.T) formats.Reader {
		r, err := Open(filepath.Join(dir, "spool", "Drafts"), nil, ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}, formatstest.Want{Mailboxes: []string{"Drafts"}, Messages: 0, Skipped: 0})
}

func TestIsEmptySource(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]bool{"Archive": true, "old.mbox": true, "saved.eml": false, "Inbox.msf": false} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := IsEmptySource(p); got != want {
			t.Errorf("IsEmptySource(%s) = %v, want %v", name, got, want)
		}
	}
	p := filepath.Join(dir, "full")
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if IsEmptySource(p) || IsEmptySource(dir) {
		t.Errorf("IsEmptySource is true for a file with content or a directory")
	}
}
