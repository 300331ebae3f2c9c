package eml

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

func openFn(source string, cfg Config, warns *[]formats.Warning) func(t *testing.T) formats.Reader {
	return func(t *testing.T) formats.Reader {
		t.Helper()
		if warns != nil {
			*warns = nil
		}
		cfg.Warn = func(w formats.Warning) {
			if warns != nil {
				*warns = append(*warns, w)
			}
		}
		r, err := OpenWith(source, cfg)
		if err != nil {
			t.Fatalf("OpenWith(%s): %v", source, err)
		}
		return r
	}
}

func byName(msgs []formatstest.Collected) map[string]formatstest.Collected {
	out := map[string]formatstest.Collected{}
	for _, m := range msgs {
		out[filepath.Base(m.Pos.File)] = m
	}
	return out
}

func TestTreeFixture(t *testing.T) {
	src := testutil.Testdata(t, "eml/tree")
	utc := func(mo time.Month, d, h int) time.Time { return time.Date(2020, mo, d, h, 0, 0, 0, time.UTC) }
	formatstest.Run(t, openFn(src, Config{}, nil), formatstest.Want{
		Mailboxes: []string{"tree", "Inbox", "Sent Items", "Archive", "Archive/2019", "Empty"},
		Messages:  16,
		Skipped:   4,
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			for _, b := range boxes {
				want := map[string]formats.Special{"Inbox": formats.SpecialInbox, "Sent Items": formats.SpecialSent, "Archive": formats.SpecialArchive}[b.Path.String()]
				if b.Special != want || b.Store != "eml" {
					t.Errorf("%s: Special %q, Store %q; want %q, eml", b.Path, b.Special, b.Store, want)
				}
			}
			tests := []struct {
				file   string
				folder string
				skip   string
				date   time.Time // zero: the file's mtime
				src    formats.DateSource
				starts string   // the bytes begin so
				flags  []string // nil: \Seen, as every .eml file
			}{
				{"root.eml", "tree", "", utc(3, 2, 12), formats.DateHeader, "From: Alice", nil},
				{"a.EML", "Inbox", "", utc(3, 3, 11), formats.DateHeader, "From: Alice", nil},
				{"bom.eml", "Inbox", "", utc(3, 4, 12), formats.DateHeader, "From: Alice", nil},
				{"fromline.eml", "Inbox", "", time.Date(2018, 4, 14, 14, 1, 30, 0, time.UTC), formats.DateFromLine, "From: Alice", nil},
				{"empty.eml", "Inbox", formats.SkipEmpty, time.Time{}, formats.DateUnknown, "", nil},
				{"notmail.eml", "Inbox", formats.SkipNotMail, time.Time{}, formats.DateUnknown, "", nil},
				// Dragged out of Outlook: read through msg.Convert, with its own
				// flags, keywords and delivery time.
				{"outlook.msg", "Inbox", "", time.Date(2020, 3, 10, 12, 5, 0, 0, time.UTC), formats.DateStore, "Received: from mx", []string{`\Flagged`, "Projekt"}},
				{"notes.txt", "Inbox", SkipNotEML, time.Time{}, formats.DateUnknown, "", nil},
				{"README", "Inbox", SkipNotEML, time.Time{}, formats.DateUnknown, "", nil},
				{"nuls.eml", "Inbox", "", utc(3, 5, 12), formats.DateHeader, "From: Alice", nil},
				{"received.eml", "Inbox", "", utc(3, 6, 8), formats.DateReceived, "Received: from mx", nil},
				{"nodate.eml", "Inbox", "", time.Time{}, formats.DateFileMtime, "From: Alice", nil},
				{"mixed.eml", "Inbox", "", utc(3, 7, 12), formats.DateHeader, "From: Alice", nil},
				{"12", "Inbox", "", utc(3, 8, 12), formats.DateHeader, "From: Alice", nil},
				{"s.eml", "Sent Items", "", utc(3, 9, 12), formats.DateHeader, "From: Alice", nil},
				{"x.eml", "Archive/2019", "", time.Date(2019, 1, 1, 12, 0, 0, 0, time.UTC), formats.DateHeader, "From: Alice", nil},
			}
			got := byName(msgs)
			for _, tc := range tests {
				m, ok := got[tc.file]
				if !ok {
					t.Errorf("%s not reported", tc.file)
					continue
				}
				if m.Mailbox.Path.String() != tc.folder || m.Skip != tc.skip || m.DateSource != tc.src {
					t.Errorf("%s: folder %s, skip %q, date source %q; want %s, %q, %q", tc.file, m.Mailbox.Path, m.Skip, m.DateSource, tc.folder, tc.skip, tc.src)
				}
				if !tc.date.IsZero() && !m.Date.Equal(tc.date) {
					t.Errorf("%s: date %v, want %v", tc.file, m.Date, tc.date)
				}
				if tc.skip == "" {
					want := tc.flags
					if want == nil {
						want = []string{`\Seen`}
					}
					if !slices.Equal(m.Flags, want) {
						t.Errorf("%s: flags %q, want %q", tc.file, m.Flags, want)
					}
					if !bytes.HasPrefix(m.Bytes, []byte(tc.starts)) {
						t.Errorf("%s: bytes start %q, want %q", tc.file, m.Bytes[:min(len(m.Bytes), 20)], tc.starts)
					}
				}
			}
			if b := got["nuls.eml"].Bytes; !bytes.HasSuffix(b, []byte("trailing NULs follow\r\n")) {
				t.Errorf("nuls.eml ends %q", b[max(0, len(b)-30):])
			}
			if b := got["mixed.eml"].Bytes; !bytes.HasSuffix(b, []byte("\r\n\r\nCRLF line\r\nLF line\r\nCR line\r\nend\r\n")) {
				t.Errorf("mixed.eml ends %q", b[max(0, len(b)-50):])
			}
			for name := range got {
				if name == "Thumbs.db" || name == ".DS_Store" || strings.Contains(got[name].Pos.File, ".hidden") {
					t.Errorf("%s must be ignored", got[name].Pos.File)
				}
			}
		},
	})
}

func TestUnread(t *testing.T) {
	_, msgs := formatstest.Collect(t, openFn(testutil.Testdata(t, "eml/tree"), Config{Unread: true}, nil)(t))
	for _, m := range msgs {
		outlook := strings.EqualFold(filepath.Ext(m.Pos.File), ".msg") // carries its own flags
		if len(m.Flags) != 0 && !outlook {
			t.Errorf("%s: flags %q with Unread", m.Pos.File, m.Flags)
		}
		if outlook && len(m.Flags) == 0 {
			t.Errorf("%s: the flags of the Outlook message were lost with Unread", m.Pos.File)
		}
	}
}

func TestSingleFile(t *testing.T) {
	p := testutil.Testdata(t, "eml/tree/Sent Items/s.eml")
	formatstest.Run(t, openFn(p, Config{}, nil), formatstest.Want{Mailboxes: []string{"Sent Items"}, Messages: 1, Skipped: 0})
}

func TestTrailingNULWarning(t *testing.T) {
	var warns []formats.Warning
	formatstest.Collect(t, openFn(testutil.Testdata(t, "eml/tree/Inbox/nuls.eml"), Config{}, &warns)(t))
	if len(warns) != 1 || !strings.Contains(warns[0].Message, "4 trailing NUL") || warns[0].Pos.File == "" {
		t.Errorf("warnings = %v, want one about 4 trailing NULs with a position", warns)
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		strict bool
		want   string // bytes yielded; "" with skip
		skip   string
		from   bool // a From_ line date was found
	}{
		{"plain LF", "Subject: a\n\nb\n", false, "Subject: a\r\n\r\nb\r\n", "", false},
		{"no final newline", "Subject: a\n\nb", false, "Subject: a\r\n\r\nb\r\n", "", false},
		{"header only", "Subject: a\n", false, "Subject: a\r\n", "", false},
		{"BOM", "\xef\xbb\xbfSubject: a\n\nb\n", false, "Subject: a\r\n\r\nb\r\n", "", false},
		{"From_ line", "From - Sat Apr 14 14:01:30 2018\r\nSubject: a\r\n\r\nb\r\n", false, "Subject: a\r\n\r\nb\r\n", "", true},
		{"BOM and From_", "\xef\xbb\xbfFrom x@y Sat Apr 14 14:01:30 2018\nSubject: a\n\nb\n", false, "Subject: a\r\n\r\nb\r\n", "", true},
		{"From_ without date", "From \nSubject: a\n\nb\n", false, "Subject: a\r\n\r\nb\r\n", "", false},
		{"From: header kept", "From: a@b\n\nFrom me\n", false, "From: a@b\r\n\r\nFrom me\r\n", "", false},
		{"obsolete From : header kept", "From : a@b\n\nx\n", false, "From : a@b\r\n\r\nx\r\n", "", false},
		{"trailing NULs", "Subject: a\n\nb\n\x00\x00", false, "Subject: a\r\n\r\nb\r\n", "", false},
		{"inner NULs kept", "Subject: a\n\nb\x00c\n", false, "Subject: a\r\n\r\nb\x00c\r\n", "", false},
		{"only NULs", "\x00\x00\x00", false, "", formats.SkipEmpty, false},
		{"only BOM", "\xef\xbb\xbf", false, "", formats.SkipEmpty, false},
		{"only From_ line", "From - Sat Apr 14 14:01:30 2018\n", false, "", formats.SkipEmpty, true},
		{"text", "hello\n", false, "", formats.SkipNotMail, false},
		{"stub", "b\n", false, "", formats.SkipNotMail, false},
		{"leading blank line", "\nSubject: a\n", false, "", formats.SkipNotMail, false},
		{"continuation first", " x\nSubject: a\n", false, "", formats.SkipNotMail, false},
		{"strict: mail", "Subject: a\n\nb\n", true, "Subject: a\r\n\r\nb\r\n", "", false},
		{"strict: header only", "Subject: a\n", true, "", formats.SkipNotMail, false},
		{"strict: unknown fields", "Notes: x\n\nb\n", true, "", formats.SkipNotMail, false},
	}
	l := newLoader(t.TempDir(), 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := l.load(strings.NewReader(tc.in), tc.strict)
			if err != nil {
				t.Fatal(err)
			}
			if res.skip != tc.skip || res.fromDate.IsZero() == tc.from {
				t.Errorf("load(%q): skip %q, from date %v; want %q, %v", tc.in, res.skip, res.fromDate, tc.skip, tc.from)
			}
			if tc.skip != "" {
				return
			}
			rc, _ := l.spool.Open()
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			if b.String() != tc.want || l.spool.Size() != int64(b.Len()) {
				t.Errorf("load(%q) = %q (size %d), want %q", tc.in, b.String(), l.spool.Size(), tc.want)
			}
		})
	}
}

// TestLoadLarge spools a message larger than the memory limit and a long
// run of inner NULs.
func TestLoadLarge(t *testing.T) {
	l := newLoader(t.TempDir(), 1024)
	in := "Subject: a\n\n" + strings.Repeat("line\n", 1000) + strings.Repeat("\x00", 10000) + "x\n" + strings.Repeat("\x00", 5000)
	res, err := l.load(strings.NewReader(in), false)
	if err != nil || res.skip != "" || res.nuls != 5000 {
		t.Fatalf("load: %v, %+v", err, res)
	}
	want := int64(len("Subject: a\r\n\r\n") + 6*1000 + 10000 + 3)
	if l.spool.Size() != want || l.spool.Bytes() != nil {
		t.Errorf("size %d (in memory: %v), want %d spooled to disk", l.spool.Size(), l.spool.Bytes() != nil, want)
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(dir+"/deep/a/b/c.eml", "Subject: x\n\ny\n")
	write(dir+"/notmail/c.eml", "hello\n")
	write(dir+"/tb/Inbox/cur/1.M2P3Q4.host.eml", "Subject: x\n\ny\n")
	write(dir+"/fromline/c.eml", "From - Sat Apr 14 14:01:30 2018\nSubject: x\n\ny\n")
	tests := map[string]bool{
		testutil.Testdata(t, "eml/tree"):                 true,
		testutil.Testdata(t, "eml/tree/Inbox/bom.eml"):   true,
		testutil.Testdata(t, "eml/tree/Inbox/notes.txt"): false,
		dir + "/deep":     true,
		dir + "/notmail":  false,
		dir + "/tb":       false, // Thunderbird maildir store
		dir + "/fromline": true,
		dir + "/missing":  false,
	}
	for p, want := range tests {
		if got := Detect(p); got != want {
			t.Errorf("Detect(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), formats.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
}

// FuzzLoad checks the header, BOM, From_ and NUL handling on any bytes:
// no panic, exact size, CRLF output.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{"Subject: a\n\nb\n", "\xef\xbb\xbfFrom - Sat Apr 14 14:01:30 2018\r\nSubject: a\r\n\r\nb\x00\x00", "From \n", "b\n", "\r\r\n\x00", "From : x\n\n"} {
		f.Add([]byte(s), false)
	}
	_ = filepath.WalkDir(testutil.Testdata(f, "eml/tree"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, true)
			}
		}
		return nil
	})
	l := newLoader(f.TempDir(), 256)
	f.Fuzz(func(t *testing.T, in []byte, strict bool) {
		res, err := l.load(bytes.NewReader(in), strict)
		if err != nil {
			t.Fatal(err)
		}
		if res.skip != "" {
			return
		}
		rc, err := l.spool.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(rc)
		if int64(b.Len()) != l.spool.Size() {
			t.Fatalf("size %d, read %d", l.spool.Size(), b.Len())
		}
		if err := formatstest.CheckCRLF(b.Bytes()); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if bytes.HasPrefix(b.Bytes(), []byte("From ")) && !formats.IsHeaderLine(b.Bytes()[:bytes.IndexByte(b.Bytes(), '\n')+1]) {
			t.Fatalf("%q: output starts with a From_ line", in)
		}
	})
}

func TestLoadLongHeader(t *testing.T) {
	for _, prefix := range []string{"", "\xef\xbb\xbf", "From - Sat Apr 14 14:01:30 2018\n"} {
		l := newLoader(t.TempDir(), 1024)
		in := prefix + "To: " + strings.Repeat("a@example.org, ", 10000) + "\nDate: Mon, 2 Mar 2020 12:00:00 +0000\n\nbody\n"
		res, err := l.load(strings.NewReader(in), false)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := res.header.Date(); !ok {
			t.Errorf("prefix %q: Date: after a 150 KB header not found", prefix)
		}
	}
}

// TestRootNamedAfterDirectory: "." is named after the real directory.
func TestRootNamedAfterDirectory(t *testing.T) {
	t.Chdir(testutil.Testdata(t, "eml/tree/Sent Items"))
	formatstest.Run(t, openFn(".", Config{}, nil), formatstest.Want{Mailboxes: []string{"Sent Items"}, Messages: 1, Skipped: 0})
}
