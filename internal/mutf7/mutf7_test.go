package mutf7

import (
	"testing"
	"unicode/utf8"
)

func TestEncode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"Tom & Jerry", "Tom &- Jerry"},
		{"Rechnungen & Verträge", "Rechnungen &- Vertr&AOQ-ge"},
		{"&", "&-"},
		{"日本語", "&ZeVnLIqe-"},
		{"a/b.c", "a/b.c"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"}, // RFC 3501 5.1.3
		{"😀", "&2D3eAA-"},
		{"a\u00e9b\u00e9", "a&AOk-b&AOk-"},
		{"bad\xffbyte", "bad&,,0-byte"}, // invalid UTF-8 as U+FFFD
		{"", ""},
	} {
		got := Encode(tc.in)
		if got != tc.want {
			t.Errorf("Encode(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back, ok := Decode(got); !ok || (utf8.ValidString(tc.in) && back != tc.in) {
			t.Errorf("Decode(%q) = %q, %v; want %q", got, back, ok, tc.in)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"ascii", "Sent", "Sent", true},
		{"umlaut", "Entw&APw-rfe", "Entwürfe", true},
		{"ampersand", "Tom &- Jerry", "Tom & Jerry", true},
		{"japanese", "&ZeVnLIqe-", "日本語", true},
		{"rfc3501 example", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/台北/日本語", true},
		{"surrogate pair", "&2D3eAA-", "😀", true},
		{"bare ampersand", "Tom & Jerry", "Tom & Jerry", false},
		{"unterminated", "a&APw", "a&APw", false},
		{"encoded ascii", "&AEE-", "&AEE-", false},
		{"bad base64", "&A?w-", "&A?w-", false},
		{"nonzero padding bits", "&APx-", "&APx-", false},
		{"utf-8 name", "Entwürfe", "Entwürfe", false},
		{"lone surrogate", "&2D0-", "&2D0-", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Decode(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Decode(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzDecode: no panic; a decoded name is valid UTF-8; a rejected one
// comes back unchanged; valid UTF-8 survives Encode then Decode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"Entw&APw-rfe", "&-", "&ZeVnLIqe-", "&2D3eAA-", "a&", "&AEE-", "Grüße", "&2D0-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Decode(s)
		if !ok && got != s {
			t.Errorf("Decode(%q) = %q, false; want the input back", s, got)
		}
		if ok && !utf8.ValidString(got) {
			t.Errorf("Decode(%q) = %q: not UTF-8", s, got)
		}
		if utf8.ValidString(s) {
			if back, ok := Decode(Encode(s)); !ok || back != s {
				t.Errorf("Decode(Encode(%q)) = %q, %v", s, back, ok)
			}
		}
	})
}
