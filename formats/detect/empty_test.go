package detect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
)

// TestEmptyMboxFiles: a 0-byte file named as the source is an empty mbox,
// and an empty file beside mbox files is an empty folder; both come out
// as mailboxes without messages.
func TestEmptyMboxFiles(t *testing.T) {
	dir := t.TempDir()
	msg := "From a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"
	for name, content := range map[string]string{"Inbox": msg, "Drafts": "", "Sent": msg} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		source string
		boxes  []string
	}{
		{dir, []string{"Drafts", "Inbox", "Sent"}},
		{filepath.Join(dir, "Drafts"), []string{"Drafts"}},
	} {
		src, err := Open(tc.source, Auto, formats.Options{})
		if err != nil {
			t.Fatalf("Open(%s): %v", tc.source, err)
		}
		boxes, err := src.Reader.Mailboxes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, b := range boxes {
			got[b.DisplayPath()] = true
		}
		for _, want := range tc.boxes {
			if !got[want] {
				t.Errorf("Open(%s): mailboxes %v, want %v", tc.source, got, tc.boxes)
			}
		}
		src.Reader.Close()
	}
	lonely := filepath.Join(t.TempDir(), "notes")
	if err := os.Mkdir(lonely, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lonely, "empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(lonely, Auto, formats.Options{}); !errors.Is(err, ErrNoMail) {
		t.Errorf("Open(directory with one empty file) = %v, want ErrNoMail", err)
	}
}
