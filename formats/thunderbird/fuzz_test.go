package thunderbird

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

func seedFiles(f *testing.F, patterns ...string) {
	f.Helper()
	for _, p := range patterns {
		matches, _ := filepath.Glob(testutil.Testdata(f, p))
		for _, m := range matches {
			if b, err := os.ReadFile(m); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzMork: the Mork reader never panics or loops on any input.
func FuzzMork(f *testing.F) {
	seedFiles(f, "thunderbird/*.msf")
	f.Add([]byte("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n<(80=a)>{1:^80 {(k^80:c)} [1(^80=x)] -[2] 3}@$${1{@[-1:m]@$$}1}@"))
	f.Add([]byte("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n/* /* nested */ */ <<(a=c)>(80=\\\n$4)>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := parseMSF(b); err != nil {
			return
		}
	})
}

// FuzzPrefs: prefs.js parsing never panics, and what it returns, written
// back as prefs.js, reads back the same.
func FuzzPrefs(f *testing.F) {
	seedFiles(f, "thunderbird/*.js")
	f.Add([]byte(`user_pref("a", "\ud800\u"); pref('b', 1, locked); /* open`))
	f.Fuzz(func(t *testing.T, b []byte) {
		prefs, _ := ParsePrefs(b)
		var out strings.Builder
		for k, v := range prefs {
			fmt.Fprintf(&out, "user_pref(%s, %s);\n", jsLit(k), jsLit(v))
		}
		again, problems := ParsePrefs([]byte(out.String()))
		if len(problems) > 0 || !maps.Equal(prefs, again) {
			t.Errorf("round trip: %q became %q (%q)", prefs, again, problems)
		}
	})
}

func jsLit(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// FuzzProfilesINI: profiles.ini parsing never panics and marks at most one
// default.
func FuzzProfilesINI(f *testing.F) {
	seedFiles(f, "thunderbird/*/*.ini")
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		for _, p := range ParseProfilesINI(b, b, "/root") {
			if p.Default {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%d defaults", n)
		}
	})
}

// FuzzFolderFile reads fuzzed bytes as one Thunderbird folder file beside
// a fixed .msf: no panic, exact sizes, positions on errors.
func FuzzFolderFile(f *testing.F) {
	f.Add([]byte("From - Mon Jan 01 00:00:00 2024\nX-Mozilla-Status: 0009\nSubject: a\n\nx\n\nFrom - Mon Jan 01 00:00:00 2024\nX-Mozilla-Status: 0401\nX-Mozilla-Keys: a b\nSubject: b\n\ny\n"))
	f.Add([]byte("From \r\nSubject: c\r\n\r\nz"))
	msf, err := os.ReadFile(testutil.Testdata(f, "thunderbird/escapes.msf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "Inbox")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".msf", msf, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(p, Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer r.Close()
		formatstest.CheckStream(t, r)
	})
}
