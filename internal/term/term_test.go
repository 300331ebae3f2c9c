package term

import "testing"

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Inbox/Archive 2019", "Inbox/Archive 2019"},
		{"non-ascii", "Entwürfe/日本語", "Entwürfe/日本語"},
		{"windows path", `C:\Users\anna\Mail`, `C:\Users\anna\Mail`},
		{"escape sequence", "a\x1b[2Jb", `a\x1b[2Jb`},
		{"line breaks", "one\ntwo\rthree", `one\ntwo\rthree`},
		{"tab", "a\tb", `a\tb`},
		{"nul", "a\x00b", `a\x00b`},
		{"del", "a\x7fb", `a\x7fb`},
		{"c1 control (CSI)", "a\u009b2Jb", `a\x9b2Jb`},
		{"invalid utf-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"bidi override", "invoice\u202Efdp.exe", `invoice\u202efdp.exe`},
		{"bidi isolate", "a\u2066b", `a\u2066b`},
		{"zero width space", "a\u200bb", `a\u200bb`},
		{"byte order mark", "\ufeffname", `\ufeffname`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("%s: Escape(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestEscapeAll(t *testing.T) {
	got := EscapeAll([]string{"a\nb", "c"})
	if len(got) != 2 || got[0] != `a\nb` || got[1] != "c" {
		t.Errorf("EscapeAll = %q", got)
	}
}

// Whatever the input, the output holds no byte a terminal acts on.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a\x1b[31mred", "\u202e", "\xff\xfe", "ok"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !safe(out) {
			t.Fatalf("Escape(%q) = %q, still unsafe", s, out)
		}
	})
}
