package formats

import "testing"

func TestIsKeyword(t *testing.T) {
	for k, want := range map[string]bool{
		"$Forwarded": true, "$label1": true, "projekt-x": true, "wichtig!": true, "NonJunk": true,
		"": false, "two words": false, `\Seen`: false, "(paren)": false, "50%": false, "prio*": false,
		`"q"`: false, "a]": false, "a{": false, "Ärger": false, "tab\there": false, "del\x7f": false,
	} {
		if got := IsKeyword(k); got != want {
			t.Errorf("IsKeyword(%q) = %v, want %v", k, got, want)
		}
	}
}

func TestSanitizeKeyword(t *testing.T) {
	tests := []struct {
		in, want string
		changed  bool
	}{
		{"$label1", "$label1", false},
		{"projekt-x", "projekt-x", false},
		{"NonJunk", "NonJunk", false},
		{"two words", "two_words", true},
		{"wichtig!", "wichtig!", false},
		{"(paren)", "_paren_", true},
		{`back\slash`, "back_slash", true},
		{"50%", "50_", true},
		{"prio*", "prio_", true},
		{`"quoted"`, "_quoted_", true},
		{"bracket]", "bracket_", true},
		{"brace{", "brace_", true},
		{"Ärger", "_rger", true},
		{"tab\there", "tab_here", true},
	}
	for _, tt := range tests {
		got, changed := SanitizeKeyword(tt.in)
		if got != tt.want || changed != tt.changed {
			t.Errorf("SanitizeKeyword(%q) = %q, %v; want %q, %v", tt.in, got, changed, tt.want, tt.changed)
		}
	}
}

func TestIsDirIsFile(t *testing.T) {
	dir := t.TempDir()
	if !IsDir(dir) || IsFile(dir) || IsDir(dir+"/missing") || IsFile(dir+"/missing") {
		t.Errorf("IsDir/IsFile wrong for a directory or a missing path")
	}
}
