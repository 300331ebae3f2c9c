package formats

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func loaded(t testing.TB, l *Loader) string {
	t.Helper()
	rc, err := l.Spool().Open()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != l.Spool().Size() {
		t.Fatalf("Size %d, Open yielded %d bytes", l.Spool().Size(), len(b))
	}
	return string(b)
}

func TestLoaderStripsFields(t *testing.T) {
	strip := []string{"X-Mozilla-Status", "X-Mozilla-Keys"}
	tests := []struct{ name, in, want, from string }{
		{"fields and continuations", "From - Mon Jan 01 00:00:00 2024\nX-Mozilla-Status: 0001\nSubject: a\nX-Mozilla-Keys: $label1\n  folded\nTo: b\n\nX-Mozilla-Status: body text\n",
			"Subject: a\r\nTo: b\r\n\r\nX-Mozilla-Status: body text\r\n", "From - Mon Jan 01 00:00:00 2024"},
		{"case and blanks before the colon", "x-mozilla-status : 0001\r\nSubject: a\r\n\r\nb", "Subject: a\r\n\r\nb\r\n", ""},
		{"body without blank line", "X-Mozilla-Status: 0001\nnot a field\nX-Mozilla-Keys: stays\n", "not a field\r\nX-Mozilla-Keys: stays\r\n", ""},
		{"From: field is no From_ line", "From: a@b\nX-Mozilla-Keys: x\n\nc\n", "From: a@b\r\n\r\nc\r\n", ""},
	}
	l := NewLoader(t.TempDir(), 0)
	for _, tc := range tests {
		res, err := l.Load(strings.NewReader(tc.in), LoadOptions{StripFromLine: true, StripFields: strip})
		if err != nil {
			t.Fatal(err)
		}
		if got := loaded(t, l); got != tc.want || res.FromLine != tc.from {
			t.Errorf("%s: %q, From_ line %q; want %q, %q", tc.name, got, res.FromLine, tc.want, tc.from)
		}
		if _, ok := res.Header.Get("X-Mozilla-Status"); !ok && strings.Contains(strings.ToLower(tc.in), "x-mozilla-status") {
			t.Errorf("%s: Header lost the stripped field", tc.name)
		}
	}
}

// TestLoaderLongHeader: a header longer than the look at the start is
// parsed from the spool; stripped fields stay in Header.
func TestLoaderLongHeader(t *testing.T) {
	in := "X-Mozilla-Status: 0005\nTo: " + strings.Repeat("a@example.org, ", 10000) + "\nDate: Mon, 2 Mar 2020 12:00:00 +0000\n\nbody\n"
	l := NewLoader(t.TempDir(), 1024)
	res, err := l.Load(strings.NewReader(in), LoadOptions{StripFields: []string{"X-Mozilla-Status"}})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := res.Header.Get("X-Mozilla-Status"); !ok || v != "0005" {
		t.Errorf("X-Mozilla-Status = %q, %v; want 0005 kept in Header", v, ok)
	}
	if _, ok := res.Header.Date(); !ok {
		t.Errorf("Date: after a 150 KB header not found")
	}
	if got := loaded(t, l); strings.Contains(got, "X-Mozilla-Status") || !strings.HasSuffix(got, "\r\n\r\nbody\r\n") {
		t.Errorf("bytes start %q, end %q", got[:40], got[len(got)-20:])
	}
}

func TestLoaderCheckAndNULs(t *testing.T) {
	l := NewLoader(t.TempDir(), 0)
	res, err := l.Load(strings.NewReader("\xef\xbb\xbfhello\n"), LoadOptions{StripBOM: true, Check: func(head []byte) string {
		if !StartsWithHeader(head) {
			return SkipNotMail
		}
		return ""
	}})
	if err != nil || res.Skip != SkipNotMail || l.Spool().Size() != 0 {
		t.Errorf("Check: %+v, %v, %d bytes loaded; want skipped, nothing loaded", res, err, l.Spool().Size())
	}
	res, err = l.Load(bytes.NewReader([]byte("Subject: a\n\nb\x00c\n\x00\x00")), LoadOptions{TrimNULs: true})
	if err != nil || res.NULs != 2 || loaded(t, l) != "Subject: a\r\n\r\nb\x00c\r\n" {
		t.Errorf("TrimNULs: %+v, %v, %q", res, err, loaded(t, l))
	}
}

// FuzzLoader: no panic, exact size, CRLF output, and no stripped field in
// the header of the output.
func FuzzLoader(f *testing.F) {
	for _, s := range []string{"X-Mozilla-Status: 1\n x\nA: b\n\nc", "From - x\nX-Mozilla-Keys: y\r\n\r\n", "\r\r\n\x00", "X-Mozilla-Status"} {
		f.Add([]byte(s))
	}
	l := NewLoader(f.TempDir(), 128)
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := l.Load(bytes.NewReader(in), LoadOptions{StripFromLine: true, StripFields: []string{"X-Mozilla-Status"}, TrimNULs: true}); err != nil {
			t.Fatal(err)
		}
		got := loaded(t, l)
		if len(got) > 0 && !strings.HasSuffix(got, "\r\n") {
			t.Fatalf("%q: output %q does not end in CRLF", in, got)
		}
		if _, ok := ParseHeader([]byte(got)).Get("X-Mozilla-Status"); ok {
			t.Fatalf("%q: stripped field left in the header: %q", in, got)
		}
	})
}
