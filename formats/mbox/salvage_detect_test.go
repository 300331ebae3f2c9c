package mbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TextBeforeFirstMessage decides, by the splitter's own separator rule,
// whether a file that does not start with a From_ line is an mbox with
// text before its first message.
func TestTextBeforeFirstMessage(t *testing.T) {
	const headed = "From a@example.org Mon Jun 01 10:00:00 2009\nFrom: a@example.org\nSubject: x\n\nbody\n"
	const bare = "From a@example.org Mon Jun 01 10:00:00 2009\nbody without header fields\n"
	tests := []struct {
		name, content string
		envelope, tb  bool // want, with EnvelopeSeparators and ThunderbirdSeparators
	}{
		{"notes before a message", "notes typed in front\nmore notes\n\n" + headed, true, true},
		{"damaged start, no blank line", "\x00\x00garbage\n" + headed, true, true},
		{"starts with a From_ line", headed, false, false},
		{"a message, From_ line in its body", "From: a@example.org\nSubject: y\n\ntext\n\n" + headed, false, false},
		{"text that mentions From", "a letter\n\nFrom here on we go\nand on\n", false, false},
		{"envelope without header fields after a blank line", "notes\n\n" + bare, true, false},
		{"no separator in the window", strings.Repeat("notes\n", salvageWindow/6+1) + "\n" + headed, false, false},
		{"separator far into a text file", strings.Repeat("notes\n", binaryWindow/6+1) + "\n" + headed, true, true},
		{"separator far into a binary file", "\x00" + strings.Repeat("notes\n", binaryWindow/6+1) + "\n" + headed, false, false},
		{"empty", "", false, false},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		p := filepath.Join(dir, string(rune('a'+i)))
		if err := os.WriteFile(p, []byte(tt.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := TextBeforeFirstMessage(p, EnvelopeSeparators); got != tt.envelope {
			t.Errorf("%s: envelope rule: got %v, want %v", tt.name, got, tt.envelope)
		}
		if got := TextBeforeFirstMessage(p, ThunderbirdSeparators); got != tt.tb {
			t.Errorf("%s: Thunderbird rule: got %v, want %v", tt.name, got, tt.tb)
		}
	}
	if TextBeforeFirstMessage(filepath.Join(dir, "missing"), EnvelopeSeparators) {
		t.Errorf("a missing file is not an mbox")
	}
	// An empty file beside such an mbox is an empty folder of the same
	// export.
	write := func(rel, content string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("export/Damaged.mbox", "notes\n\n"+headed)
	if !IsEmptyFolder(write("export/Empty.mbox", "")) {
		t.Errorf("an empty .mbox beside a damaged one is not an empty folder")
	}
}
