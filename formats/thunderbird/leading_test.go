package thunderbird_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mailferry/formats/formatstest"
	"mailferry/formats/mbox"
	"mailferry/formats/thunderbird"
)

// A Thunderbird folder file with text before its first message, given
// alone or found outside a profile, is still Thunderbird's: its read state
// comes from X-Mozilla-Status, and the text is quarantined.
func TestFolderFileWithLeadingText(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Inbox")
	content := "notes typed in front\n\nFrom - Mon Jun  7 10:00:00 2010\nX-Mozilla-Status: 0001\nFrom: a@example.org\nSubject: x\n\nbody\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if k, _ := thunderbird.Detect(path); k != thunderbird.KindFile {
		t.Fatalf("Detect = %q, want %q", k, thunderbird.KindFile)
	}
	r, _ := open(t, path, thunderbird.Options{})
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%q %v", m.Quarantine, m.Flags))
	}
	want := []string{fmt.Sprintf("%q []", mbox.QuarantineLeadingText), `"" [\Seen]`}
	if !slices.Equal(got, want) {
		t.Errorf("messages = %q, want %q", got, want)
	}
}
