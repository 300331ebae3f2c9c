package maildir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomaildir "github.com/emersion/go-maildir"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// openFn returns an opener for formatstest.Run that collects warnings
// into *warns (reset on every open).
func openFn(source string, warns *[]formats.Warning) func(t *testing.T) formats.Reader {
	return func(t *testing.T) formats.Reader {
		t.Helper()
		if warns != nil {
			*warns = nil
		}
		r, err := Open(source, formats.Options{Warn: func(w formats.Warning) {
			if warns != nil {
				*warns = append(*warns, w)
			}
		}})
		if err != nil {
			t.Fatalf("Open(%s): %v", source, err)
		}
		return r
	}
}

// bySubject indexes collected messages by their Subject (or file name when
// they have none).
func bySubject(t *testing.T, msgs []formatstest.Collected) map[string]formatstest.Collected {
	t.Helper()
	out := map[string]formatstest.Collected{}
	for _, m := range msgs {
		key := filepath.Base(m.Pos.File)
		if m.Bytes != nil {
			if s, ok := formats.ParseHeader(m.Bytes).Get("Subject"); ok {
				key = s
			}
		}
		out[key] = m
	}
	return out
}

func TestPlusPlusFixture(t *testing.T) {
	var warns []formats.Warning
	src := testutil.Testdata(t, "maildir/plusplus")
	formatstest.Run(t, openFn(src, &warns), formatstest.Want{
		Mailboxes: []string{"INBOX", "Entwürfe", "Sent", "Archive/2019", "Empty"},
		Messages:  12,
		Skipped:   3,
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			specials := map[string]formats.Special{}
			for _, b := range boxes {
				specials[b.Path.String()] = b.Special
				if b.Store != "maildir" {
					t.Errorf("%s: Store = %q, want maildir", b.Path, b.Store)
				}
			}
			if specials["INBOX"] != formats.SpecialInbox || specials["Sent"] != formats.SpecialSent || specials["Archive/2019"] != formats.SpecialNone {
				t.Errorf("specials = %v", specials)
			}
			tests := []struct {
				key    string
				folder string
				flags  []string
				skip   string
				name   int64 // the seconds in the file name = the date (copied fixture)
			}{
				{"replied seen work", "INBOX", []string{`\Answered`, `\Seen`, "work"}, "", 1700000000},
				{"1700000100.M2P1.host:2,ST", "INBOX", []string{`\Seen`}, formats.SkipDeleted, 0},
				{"flagged unknown keyword", "INBOX", []string{`\Flagged`}, "", 1700000300},
				{"new unread", "INBOX", nil, "", 1700000200},
				{"1700000600.M6P1.host:2,S", "INBOX", []string{`\Seen`}, formats.SkipNotMail, 0},
				{"1700000650.M8P1.host", "INBOX", nil, formats.SkipEmpty, 0},
				{"beside cur", "INBOX", []string{`\Seen`}, "", 1700000700},
				{"draft", "Entwürfe", []string{`\Draft`}, "", 1700000400},
				{"sent and forwarded", "Sent", []string{`\Seen`, "$Forwarded"}, "", 1700000800},
				{"sent junk", "Sent", []string{`\Seen`, "$Junk"}, "", 1700000900},
				{"archived", "Archive/2019", []string{`\Seen`}, "", 1546300800},
				{"archived new", "Archive/2019", nil, "", 1546387200},
			}
			got := bySubject(t, msgs)
			for _, tc := range tests {
				m, ok := got[tc.key]
				if !ok {
					t.Errorf("message %q not read; have %v", tc.key, keys(got))
					continue
				}
				if m.Mailbox.Path.String() != tc.folder || !slices.Equal(m.Flags, tc.flags) || m.Skip != tc.skip {
					t.Errorf("%q: folder %s, flags %q, skip %q; want %s, %q, %q", tc.key, m.Mailbox.Path, m.Flags, m.Skip, tc.folder, tc.flags, tc.skip)
				}
				// git checkouts flatten modification times: the reader must
				// notice and take the file name's time.
				if tc.name != 0 && (m.DateSource != formats.DateFileName || m.Date.Unix() != tc.name) {
					t.Errorf("%q: date %v (%s), want %v from the file name", tc.key, m.Date, m.DateSource, time.Unix(tc.name, 0).UTC())
				}
			}
			for _, m := range msgs {
				// Look only below the fixture: the checkout itself may lie in /tmp.
				rel, err := filepath.Rel(src, m.Pos.File)
				if err != nil {
					t.Fatal(err)
				}
				for _, elem := range strings.Split(filepath.ToSlash(rel), "/") {
					if elem == "tmp" || elem == ".hidden" || elem == ".notmuch" {
						t.Errorf("read %s, which must be ignored", m.Pos.File)
					}
				}
			}
		},
	})
	// Warnings: keyword z, the file beside cur/, flattened times (INBOX,
	// Archive/2019 by themselves; Entwürfe and Sent through the cluster).
	formatstest.Collect(t, openFn(src, &warns)(t))
	want := []string{"keyword letter 'z'", "outside cur/ and new/", "copied without keeping times"}
	for _, w := range want {
		if !slices.ContainsFunc(warns, func(x formats.Warning) bool { return strings.Contains(x.Message, w) }) {
			t.Errorf("no warning containing %q in %v", w, warns)
		}
	}
	n := 0
	for _, w := range warns {
		if strings.Contains(w.Message, "copied without keeping times") {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d flattened-times warnings, want one per non-empty folder (4): %v", n, warns)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// writeMsg writes a small message at dir/name with the given mtime.
func writeMsg(t testing.TB, path, subject, date string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("Received: from x by y; %s\nSubject: %s\nDate: %s\n\nbody\n", date, subject, date)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func mkdirs(t testing.TB, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDates(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2020, 3, d, 12, 0, 0, 0, time.UTC) }
	copied := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	rfc := func(t time.Time) string { return t.Format(time.RFC1123Z) }
	type want struct {
		date time.Time
		src  formats.DateSource
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  map[string]want // by subject
		warns int             // flattened-times warnings
	}{
		{"mtimes kept", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/1583150000.a:2,S", "a", rfc(day(1)), day(2))
			writeMsg(t, dir+"/new/1583160000.b", "b", rfc(day(3)), day(4))
		}, map[string]want{"a": {day(2), formats.DateFileMtime}, "b": {day(4), formats.DateFileMtime}}, 0},
		{"flattened, names", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/1583064000.a:2,S", "a", rfc(day(9)), copied)
			writeMsg(t, dir+"/cur/1583150400.b:2,S", "b", rfc(day(9)), copied.Add(time.Second))
		}, map[string]want{"a": {day(1), formats.DateFileName}, "b": {day(2), formats.DateFileName}}, 1},
		{"flattened, headers", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/01:2,", "a", rfc(day(1)), copied)
			writeMsg(t, dir+"/cur/02:2,", "b", rfc(day(5)), copied)
		}, map[string]want{"a": {day(1), formats.DateReceived}, "b": {day(5), formats.DateReceived}}, 1},
		{"really arrived within minutes", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/1583064000.a:2,S", "a", rfc(day(1)), day(1))
			writeMsg(t, dir+"/cur/1583064060.b:2,S", "b", rfc(day(1)), day(1).Add(time.Minute))
		}, map[string]want{"a": {day(1), formats.DateFileMtime}, "b": {day(1).Add(time.Minute), formats.DateFileMtime}}, 0},
		{"single file in a flattened cluster", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/1583064000.a:2,S", "a", rfc(day(1)), copied)
			writeMsg(t, dir+"/cur/1583150400.b:2,S", "b", rfc(day(2)), copied)
			writeMsg(t, dir+"/.Sent/cur/1583236800.c:2,S", "c", rfc(day(3)), copied.Add(2*time.Second))
			writeMsg(t, dir+"/.Old/cur/1583323200.d:2,S", "d", rfc(day(4)), day(20))
		}, map[string]want{"a": {day(1), formats.DateFileName}, "c": {day(3), formats.DateFileName}, "d": {day(20), formats.DateFileMtime}}, 2},
		{"epoch mtime", func(t *testing.T, dir string) {
			writeMsg(t, dir+"/cur/01:2,", "a", rfc(day(1)), time.Unix(0, 0))
			writeMsg(t, dir+"/cur/02:2,", "b", "garbage", time.Unix(0, 0))
		}, map[string]want{"a": {day(1), formats.DateReceived}, "b": {time.Time{}, formats.DateUnknown}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mkdirs(t, dir+"/cur", dir+"/new")
			tc.setup(t, dir)
			var warns []formats.Warning
			_, msgs := formatstest.Collect(t, openFn(dir, &warns)(t))
			got := bySubject(t, msgs)
			for subj, w := range tc.want {
				m := got[subj]
				if m.Message == nil {
					t.Fatalf("message %q missing", subj)
				}
				if !m.Date.Equal(w.date) || m.DateSource != w.src {
					t.Errorf("%s: date %v (%s), want %v (%s)", subj, m.Date, m.DateSource, w.date, w.src)
				}
			}
			n := 0
			for _, w := range warns {
				if strings.Contains(w.Message, "copied without keeping times") {
					n++
				}
			}
			if n != tc.warns {
				t.Errorf("%d flattened-times warnings, want %d: %v", n, tc.warns, warns)
			}
		})
	}
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		name    string
		files   []string // message files to create; dirs in dirs
		dirs    []string
		want    []string // DisplayPath of the mailboxes
		special map[string]formats.Special
	}{
		{"single maildir", []string{"cur/1.a:2,S", "new/2.b"}, []string{"tmp"}, []string{"INBOX"},
			map[string]formats.Special{"INBOX": formats.SpecialInbox}},
		{"mbsync verbatim tree", []string{"INBOX/cur/1.a:2,S", "Sent/cur/2.b:2,S", "Archive/2019/cur/3.c:2,S", "Entw&APw-rfe/new/4.d"},
			[]string{"Trash/cur", "Trash/new", "Trash/tmp", "Archive/2019/new"},
			[]string{"INBOX", "Sent", "Archive/2019", "Entwürfe", "Trash"},
			map[string]formats.Special{"INBOX": formats.SpecialInbox, "Sent": formats.SpecialSent, "Trash": formats.SpecialTrash, "Archive/2019": formats.SpecialNone}},
		{"layout fs with root inbox", []string{"cur/1.a:2,S", "foo/cur/2.b:2,", "foo/baz/new/3.c:2,"}, nil,
			[]string{"INBOX", "foo", "foo/baz"}, nil},
		{"maildir++ under an account dir", []string{"acct/cur/1.a:2,S", "acct/.Junk/cur/2.b:2,S", "acct/.Spam/new/3.c"}, nil,
			[]string{"acct", "acct/Junk", "acct/Spam"}, nil},
		{"courier INBOX namespace", []string{"cur/1.a:2,S", ".INBOX.Sent/cur/2.b:2,S", ".Archives/cur/3.c"}, nil,
			[]string{"INBOX", "INBOX/Sent", "Archives"},
			map[string]formats.Special{"INBOX/Sent": formats.SpecialSent, "Archives": formats.SpecialArchive}},
		{"listescape", []string{"cur/1.a:2,S", `.a\2eb.c/cur/2.b:2,S`}, nil, []string{"INBOX", "a.b/c"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, d := range tc.dirs {
				mkdirs(t, filepath.Join(dir, d))
			}
			for i, f := range tc.files {
				writeMsg(t, filepath.Join(dir, f), f, "Mon, 2 Mar 2020 12:00:00 +0000", time.Date(2020, 3, 2, 12, i, 0, 0, time.UTC))
			}
			formatstest.Run(t, openFn(dir, nil), formatstest.Want{
				Mailboxes: tc.want, Messages: len(tc.files), Skipped: 0,
				Check: func(t *testing.T, boxes []*formats.Mailbox, _ []formatstest.Collected) {
					for _, b := range boxes {
						if s, ok := tc.special[b.Path.String()]; ok && s != b.Special {
							t.Errorf("%s: Special = %q, want %q", b.Path, b.Special, s)
						}
					}
				},
			})
		})
	}
}

// TestThunderbirdMaildirStore: Thunderbird's maildir store belongs to the
// Thunderbird reader, but walking it must not fail (docs/thunderbird.md,
// The maildir store).
func TestThunderbirdMaildirStore(t *testing.T) {
	dir := t.TempDir()
	writeMsg(t, dir+"/Inbox/cur/1700000000.M1P2Q3.host.eml", "tb", "Mon, 2 Mar 2020 12:00:00 +0000", time.Now())
	writeMsg(t, dir+"/Inbox.sbd/Sub/cur/1700000001.M1P2Q4.host.eml", "tb2", "Mon, 2 Mar 2020 12:00:00 +0000", time.Now())
	mkdirs(t, dir+"/Inbox/tmp")
	if err := os.WriteFile(dir+"/Inbox.msf", []byte("// <!-- <mdb:mork:z v=\"1.4\"/> -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Detect(dir) || Detect(dir+"/Inbox") {
		t.Errorf("Detect says a Thunderbird maildir store is a Maildir")
	}
	_, msgs := formatstest.Collect(t, openFn(dir, nil)(t))
	if len(msgs) != 2 {
		t.Errorf("read %d messages from a Thunderbird maildir store, want 2", len(msgs))
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	writeMsg(t, dir+"/tree/INBOX/cur/1.a:2,S", "a", "", time.Now())
	writeMsg(t, dir+"/plain/cur/1.a:2,S", "a", "", time.Now())
	writeMsg(t, dir+"/curonly/cur/1.a", "a", "", time.Now())
	writeMsg(t, dir+"/eml/a.eml", "a", "", time.Now())
	mkdirs(t, dir+"/empty/cur", dir+"/empty/new", dir+"/empty/tmp", dir+"/pp/.Sent/cur", dir+"/pp/.Sent/new")
	tests := map[string]bool{
		testutil.Testdata(t, "maildir/plusplus"): true,
		dir + "/tree":                            true,
		dir + "/plain":                           true,
		dir + "/curonly":                         false, // could be Thunderbird's
		dir + "/eml":                             false,
		dir + "/empty":                           true,
		dir + "/pp":                              true,
		dir + "/missing":                         false,
		dir + "/eml/a.eml":                       false,
	}
	for p, want := range tests {
		if got := Detect(p); got != want {
			t.Errorf("Detect(%s) = %v, want %v", p, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	writeMsg(t, dir+"/eml/a.eml", "a", "", time.Now())
	if _, err := Open(dir+"/eml", formats.Options{}); !errors.Is(err, ErrNoMaildir) {
		t.Errorf("Open(no maildir) = %v, want ErrNoMaildir", err)
	}
	writeMsg(t, dir+"/md/cur/1.a:2,S", "a", "", time.Now())
	if _, err := Open(dir+"/md/cur", formats.Options{}); !errors.Is(err, ErrNoMaildir) || !strings.Contains(err.Error(), "holds cur/") {
		t.Errorf("Open(maildir/cur) = %v, want ErrNoMaildir with a hint", err)
	}
	if _, err := Open(dir+"/eml/a.eml", formats.Options{}); err == nil {
		t.Errorf("Open(a file) succeeded")
	}
	if _, err := Open(dir+"/missing", formats.Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v, want ErrNotExist", err)
	}
}

// TestSourceUntouched reads a maildir with files in new/ and checks that
// nothing was renamed (go-maildir's Unseen would move them to cur/).
func TestSourceUntouched(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2020, 3, 2, 12, 0, 0, 0, time.UTC)
	writeMsg(t, dir+"/new/1583150400.a", "a", "", mtime)
	writeMsg(t, dir+"/cur/1583150500.b:2,S", "b", "", mtime.Add(time.Hour))
	before := listTree(t, dir)
	formatstest.Collect(t, openFn(dir, nil)(t))
	if after := listTree(t, dir); !slices.Equal(before, after) {
		t.Errorf("source changed:\n%q\n%q", before, after)
	}
}

func listTree(t *testing.T, dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		st, _ := d.Info()
		out = append(out, fmt.Sprintf("%s %v", p, st.ModTime().UnixNano()))
		return nil
	})
	return out
}

// TestGoMaildirDoesNotFit documents why the reader walks directories
// itself: go-maildir v0.6.0's Walk misses new/ and names without an info
// part, and its Unseen moves files (see the package doc).
func TestGoMaildirDoesNotFit(t *testing.T) {
	dir := t.TempDir()
	writeMsg(t, dir+"/new/1583150400.a", "a", "", time.Now())
	writeMsg(t, dir+"/cur/1583150500.b:2,S", "b", "", time.Now())
	writeMsg(t, dir+"/cur/1583150600.c", "c", "", time.Now())
	writeMsg(t, dir+"/cur/1583150700.d;2,S", "d", "", time.Now())
	mkdirs(t, dir+"/tmp")
	var seen []string
	err := gomaildir.Dir(dir).Walk(func(m *gomaildir.Message) error {
		seen = append(seen, m.Key())
		return nil
	})
	if len(seen) != 1 || err == nil {
		t.Errorf("go-maildir Walk saw %q (err %v); expected it to see only b and to fail on c and d", seen, err)
	}
	if _, err := gomaildir.Dir(dir).Unseen(); err != nil { // a temporary copy: moving is harmless here
		t.Fatal(err)
	}
	if _, err := os.Stat(dir + "/new/1583150400.a"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("go-maildir Unseen no longer moves new/ files (%v); reconsider using it", err)
	}
}

func TestCancelledMailboxes(t *testing.T) {
	r := openFn(testutil.Testdata(t, "maildir/plusplus"), nil)(t)
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Mailboxes(ctx); err != context.Canceled {
		t.Errorf("Mailboxes(cancelled) = %v", err)
	}
}

// TestLiveMaildir: a server moving files while we read must not lose them.
func TestLiveMaildir(t *testing.T) {
	dir := t.TempDir()
	mt := time.Date(2020, 3, 2, 12, 0, 0, 0, time.UTC)
	writeMsg(t, dir+"/new/1583150400.a", "moved", "", mt)
	writeMsg(t, dir+"/cur/1583150500.b:2,S", "reflagged", "", mt.Add(time.Hour))
	writeMsg(t, dir+"/new/1583150600.c", "twice", "", mt.Add(2*time.Hour))
	if err := copyFile(dir+"/new/1583150600.c", dir+"/cur/1583150600.c:2,"); err != nil {
		t.Fatal(err)
	}
	var warns []formats.Warning
	r := openFn(dir, &warns)(t)
	// After Open listed the files, the server moves one and reflags another.
	if err := os.Rename(dir+"/new/1583150400.a", dir+"/cur/1583150400.a:2,S"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dir+"/cur/1583150500.b:2,S", dir+"/cur/1583150500.b:2,RS"); err != nil {
		t.Fatal(err)
	}
	_, msgs := formatstest.Collect(t, r)
	got := bySubject(t, msgs)
	if len(msgs) != 3 {
		t.Errorf("read %d messages, want 3 (each once): %v", len(msgs), keys(got))
	}
	if m := got["moved"]; !slices.Equal(m.Flags, []string{`\Seen`}) {
		t.Errorf("moved: flags %q, want \\Seen from its new name", m.Flags)
	}
	if m := got["reflagged"]; !slices.Equal(m.Flags, []string{`\Answered`, `\Seen`}) {
		t.Errorf("reflagged: flags %q, want \\Answered \\Seen", m.Flags)
	}
	if m := got["twice"]; m.Message == nil || !strings.Contains(m.Pos.File, "/cur/") {
		t.Errorf("twice: read from %v, want cur/", m.Pos)
	}
	if len(warns) != 3 {
		t.Errorf("warnings %v, want 3 (one duplicate, two renames)", warns)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func TestLongHeaderDate(t *testing.T) {
	dir := t.TempDir()
	mkdirs(t, dir+"/new")
	copied := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	for i, d := range []string{"Mon, 2 Mar 2020 12:00:00 +0000", "Tue, 3 Mar 2020 12:00:00 +0000"} {
		p := fmt.Sprintf("%s/cur/%02d:2,", dir, i)
		writeMsg(t, p, "x", d, copied)
		b, _ := os.ReadFile(p)
		b = append([]byte("To: "+strings.Repeat("a@example.org, ", 10000)+"\n"), b...)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, copied, copied); err != nil {
			t.Fatal(err)
		}
	}
	_, msgs := formatstest.Collect(t, openFn(dir, nil)(t))
	for _, m := range msgs {
		if m.DateSource != formats.DateReceived || m.Date.Year() != 2020 {
			t.Errorf("%s: date %v (%s), want 2020 from Received: behind a 150 KB To:", m.Pos.File, m.Date, m.DateSource)
		}
	}
}
