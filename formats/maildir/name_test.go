package maildir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/internal/testutil"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name, in    string
		base, flags string
		ok          bool
	}{
		{"standard", "1642966915.1.mox:2,RSFbcde", "1642966915.1.mox", "RSFbcde", true},
		{"semicolon", "1276533073.M242911P3632.kurkku;2,FP", "1276533073.M242911P3632.kurkku", "FP", true},
		{"bang", "1700000400.M5P1.host!2,D", "1700000400.M5P1.host", "D", true},
		{"size fields", "1234567890.M20046P2137.mailserver,S=4542,W=4642;2,Sb", "1234567890.M20046P2137.mailserver", "Sb", true},
		{"S only", "1491941793.M41850P8566V0000000000000015I0000000004F3030E_0.mx1.example.com,S=10956;2,STln",
			"1491941793.M41850P8566V0000000000000015I0000000004F3030E_0.mx1.example.com", "STln", true},
		{"trailing comma", "1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,", "1035478339.27041_118.foo.org", "RDF", true},
		{"empty flags", "1276528487.M364837P9451.kurkku,S=1355,W=1394;2,", "1276528487.M364837P9451.kurkku", "", true},
		{"notmuch", "01:2,", "01", "", true},
		{"no info (new/)", "1700000200.M3P1.host", "1700000200.M3P1.host", "", false},
		{"thunderbird", "1700000200.M3P1Q2.host.eml", "1700000200.M3P1Q2.host.eml", "", false},
		{"experimental info 1", "123.host:1,xyz", "123.host", "", false},
		{"escaped colon in host", `123.M1.host\072x:2,S`, `123.M1.host\072x`, "S", true},
		{"last separator wins", "a:2,b:2,S", "a:2,b", "S", true},
		{"other comma field kept", "123.host,X=1:2,S", "123.host,X=1", "S", true},
		{"empty", "", "", "", false},
		{"only info", ":2,S", "", "S", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, flags, ok := ParseName(tc.in)
			if base != tc.base || flags != tc.flags || ok != tc.ok {
				t.Errorf("ParseName(%q) = %q, %q, %v; want %q, %q, %v", tc.in, base, flags, ok, tc.base, tc.flags, tc.ok)
			}
		})
	}
}

func TestMapFlags(t *testing.T) {
	kw := Keywords{"$Junk", "$Forwarded", "$NotJunk", "Custom", "custom"}
	tests := []struct {
		name    string
		letters string
		kw      *Keywords
		flags   []string
		deleted bool
		unknown string
	}{
		{"seen", "S", &kw, []string{`\Seen`}, false, ""},
		{"replied", "R", &kw, []string{`\Answered`}, false, ""},
		{"flagged", "F", &kw, []string{`\Flagged`}, false, ""},
		{"draft", "D", &kw, []string{`\Draft`}, false, ""},
		{"passed", "P", &kw, []string{"$Forwarded"}, false, ""},
		{"trashed", "T", &kw, nil, true, ""},
		{"mox cur", "RSFbcde", &kw, []string{`\Answered`, `\Seen`, `\Flagged`, "$Forwarded", "$NotJunk", "Custom", "custom"}, false, ""},
		{"mox new", "Tad", &kw, []string{"$Junk", "Custom"}, true, ""},
		{"P and $Forwarded once", "Pb", &kw, []string{"$Forwarded"}, false, ""},
		{"keyword without entry", "Sz", &kw, []string{`\Seen`}, false, "z"},
		{"no keywords file", "Sab", nil, []string{`\Seen`}, false, "ab"},
		{"unknown upper case", "SXX", &kw, []string{`\Seen`}, false, "X"},
		{"repeated", "SS", &kw, []string{`\Seen`}, false, ""},
		{"empty", "", &kw, nil, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			flags, deleted, unknown := MapFlags(tc.letters, tc.kw)
			if !slices.Equal(flags, tc.flags) || deleted != tc.deleted || unknown != tc.unknown {
				t.Errorf("MapFlags(%q) = %q, %v, %q; want %q, %v, %q", tc.letters, flags, deleted, unknown, tc.flags, tc.deleted, tc.unknown)
			}
		})
	}
}

// TestFlagTable pins the one table from info letters to IMAP flags.
func TestFlagTable(t *testing.T) {
	want := map[byte]string{'S': `\Seen`, 'R': `\Answered`, 'F': `\Flagged`, 'D': `\Draft`, 'P': "$Forwarded"}
	if len(flagTable) != len(want) {
		t.Errorf("flagTable has %d entries, want %d", len(flagTable), len(want))
	}
	for _, e := range flagTable {
		if want[byte(e.Letter)] != e.Flag {
			t.Errorf("flagTable[%c] = %q, want %q", e.Letter, e.Flag, want[byte(e.Letter)])
		}
	}
}

func TestParseKeywords(t *testing.T) {
	in := "0 $Junk\n1 $Forwarded\r\n\n3 Custom\n26 tooFar\nnonsense\n5 bad\\flag\n-1 neg\n"
	kw, problems, err := ParseKeywords(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := Keywords{"$Junk", "$Forwarded", "", "Custom"}
	if kw != want {
		t.Errorf("ParseKeywords = %q, want %q", kw, want)
	}
	if len(problems) != 4 {
		t.Errorf("ParseKeywords problems = %q, want 4 (26, nonsense, bad\\flag, -1)", problems)
	}
}

func TestDecodeName(t *testing.T) {
	tests := map[string]string{
		"Entw&APw-rfe": "Entwürfe",
		`a\2eb`:        "a.b",
		`a\5c2eb`:      `a\2eb`,
		"Tom & Jerry":  "Tom & Jerry",
		"Grüße":        "Grüße",
	}
	for in, want := range tests {
		if got := decodeName(in); got != want {
			t.Errorf("decodeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNameTime(t *testing.T) {
	tests := []struct {
		name, base string
		want       time.Time
		ok         bool
	}{
		{"seconds", "1642966915.1.mox", time.Unix(1642966915, 0).UTC(), true},
		{"notmuch counter", "01", time.Time{}, false},
		{"too small", "123456789.x", time.Time{}, false},
		{"future", "9999999999.x", time.Time{}, false},
		{"signed", "+642966915.x", time.Time{}, false},
		{"no dot", "1642966915", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NameTime(tc.base)
			if !got.Equal(tc.want) || ok != tc.ok {
				t.Errorf("NameTime(%q) = %v, %v; want %v, %v", tc.base, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzParseName checks that ParseName never panics, never returns commas
// in the flags, and that a parsed name put back together parses the same.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"1642966915.1.mox:2,RSFbcde", "a;2,", "b!2,S", "x,S=1,W=2:2,RDF,", "01:2,", "n", "a:1,x", ":2,", "\\072:2,S"} {
		f.Add(s)
	}
	_ = filepath.WalkDir(testutil.Testdata(f, "maildir"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f.Add(d.Name())
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, name string) {
		base, flags, ok := ParseName(name)
		if strings.Contains(flags, ",") {
			t.Errorf("ParseName(%q) flags %q contain a comma", name, flags)
		}
		if !ok {
			if flags != "" {
				t.Errorf("ParseName(%q) = flags %q without an info part", name, flags)
			}
			return
		}
		b2, f2, ok2 := ParseName(base + ":2," + flags)
		if b2 != base || f2 != flags || !ok2 {
			t.Errorf("ParseName(%q) = %q, %q; reparsed %q, %q, %v", name, base, flags, b2, f2, ok2)
		}
		MapFlags(flags, &Keywords{})
	})
}
