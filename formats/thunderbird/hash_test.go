package thunderbird

import (
	"fmt"
	"strings"
	"testing"

	"mailferry/formats/thunderbird/tbtest"
)

func TestStringHash(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		// A folder "a/b" is stored as "a72130ad9" on Linux; checked against
		// the algorithm written out by hand below and in tbtest.
		{"a/b", "72130ad9"},
		{"", "00000001"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("%08x", StringHash(tt.name)); got != tt.want {
			t.Errorf("StringHash(%q) = %s, want %s", tt.name, got, tt.want)
		}
	}
	// By hand for "a": UTF-16LE bytes 0x61 0x00.
	h := uint32(1)
	h = 0x63c63cd9*h + 0x9c39c33d + 0x61
	h = 0x63c63cd9*h + 0x9c39c33d + 0x00
	if got := StringHash("a"); got != h {
		t.Errorf("StringHash(a) = %08x, want %08x", got, h)
	}
}

func TestHashIfNecessary(t *testing.T) {
	long := strings.Repeat("x", 56)
	emoji := strings.Repeat("y", 46) + "😀" + strings.Repeat("z", 10) // surrogate pair at units 46-47
	tests := []struct {
		name, goos, want string
	}{
		{"Inbox", "linux", "Inbox"},
		{"Entwürfe", "linux", "Entwürfe"},
		{"a/b", "linux", "a72130ad9"},
		{"a/b", "windows", "a72130ad9"},
		{"Notes: 2024", "linux", "Notes: 2024"},
		{"Notes: 2024", "windows", "Notes" + tbtest.Hash("Notes: 2024")},
		{"what?", "windows", "what" + tbtest.Hash("what?")},
		{"C#", "linux", "C" + tbtest.Hash("C#")},
		{"a;b", "darwin", "a" + tbtest.Hash("a;b")},
		{".hidden", "linux", tbtest.Hash(".hidden")},
		{"trailing.", "linux", "trailing" + tbtest.Hash("trailing.")},
		{"tilde~", "linux", "tilde" + tbtest.Hash("tilde~")},
		{"space ", "linux", "space" + tbtest.Hash("space ")},
		{strings.Repeat("x", 55), "linux", strings.Repeat("x", 55)},
		{long, "linux", strings.Repeat("x", 47) + tbtest.Hash(long)},
		{emoji, "linux", strings.Repeat("y", 46) + tbtest.Hash(emoji)},
	}
	for _, tt := range tests {
		if got := HashIfNecessary(tt.name, tt.goos); got != tt.want {
			t.Errorf("HashIfNecessary(%q, %s) = %q, want %q", tt.name, tt.goos, got, tt.want)
		}
		if tt.goos == "linux" {
			if got := tbtest.HashName(tt.name); got != tt.want {
				t.Errorf("tbtest.HashName(%q) = %q, want %q", tt.name, got, tt.want)
			}
		}
	}
}

func TestMatchesHashedName(t *testing.T) {
	tests := []struct {
		disk, name string
		want       bool
	}{
		{"a72130ad9", "a/b", true},
		{"72130ad9", "a/b", true}, // old form: the whole name replaced
		{"b72130ad9", "a/b", false},
		{"a72130ad8", "a/b", false},
		{"Notes" + tbtest.Hash("Notes: 2024"), "Notes: 2024", true}, // hashed on Windows, checked anywhere
		{"Note" + tbtest.Hash("Notes: 2024"), "Notes: 2024", true},  // any prefix of the name
		{"Fragen" + tbtest.Hash("Fragen/Antworten"), "Fragen/Antworten", true},
		{fmt.Sprintf("%08x", stringHashBytes([]byte("Ärger?"))), "Ärger?", true},                      // old 8-bit form, UTF-8
		{fmt.Sprintf("%08x", stringHashBytes([]byte{0xC4, 'r', 'g', 'e', 'r', '?'})), "Ärger?", true}, // Latin-1
		{"Inbox", "Inbox", false},
		{"Inbox", "", false},
		{"short", "a/b", false},
	}
	for _, tt := range tests {
		if got := MatchesHashedName(tt.disk, tt.name); got != tt.want {
			t.Errorf("MatchesHashedName(%q, %q) = %v, want %v", tt.disk, tt.name, got, tt.want)
		}
	}
	looks := map[string]bool{"a72130ad9": true, "20240101": false, "Inbox": false, "Projects 2024a1b2c3d4": true, "x" + strings.Repeat("y", 50) + "a1b2c3d4": true, "Projects 2024a1b2c3d4.msf": false}
	for disk, want := range looks {
		if got := looksHashed(disk); got != want {
			t.Errorf("looksHashed(%q) = %v, want %v", disk, got, want)
		}
	}
}
