package mbox

import (
	"bytes"
	"context"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

func TestParseFromLine(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name   string
		line   string
		sender string
		want   time.Time // zero: no date
	}{
		{"asctime, space-padded day", "From MAILER-DAEMON Fri Jul  8 12:08:34 2011", "MAILER-DAEMON", time.Date(2011, 7, 8, 12, 8, 34, 0, cet)},
		{"Thunderbird 128, zero-padded day, CRLF", "From - Fri Jul 08 12:08:34 2011\r\n", "-", time.Date(2011, 7, 8, 12, 8, 34, 0, cet)},
		{"old Thunderbird", "From - Sat Jan  3 01:05:34 1996", "-", time.Date(1996, 1, 3, 1, 5, 34, 0, cet)},
		{"address", "From alice@example.org Sun Jan 23 20:41:55 2022", "alice@example.org", time.Date(2022, 1, 23, 20, 41, 55, 0, cet)},
		{"zone before the year (Gmail)", "From 1844347792267117879@xxx Wed Sep 27 16:28:20 +0000 2017", "1844347792267117879@xxx", time.Date(2017, 9, 27, 16, 28, 20, 0, time.UTC)},
		{"zone after the year", "From a@b Wed Sep 27 16:28:20 2017 -0700", "a@b", time.Date(2017, 9, 27, 23, 28, 20, 0, time.UTC)},
		{"zone name", "From a@b Wed Sep 27 16:28:20 EST 2017", "a@b", time.Date(2017, 9, 27, 21, 28, 20, 0, time.UTC)},
		{"UUCP remote from", "From bob Tue Dec  9 15:30:45 2014 remote from uunet", "bob", time.Date(2014, 12, 9, 15, 30, 45, 0, cet)},
		{"no sender", "From Fri Aug 24 11:55:47 2018", "", time.Date(2018, 8, 24, 11, 55, 47, 0, cet)},
		{"extra spaces", "From  a@b   Fri Aug 24 11:55:47 2018  ", "a@b", time.Date(2018, 8, 24, 11, 55, 47, 0, cet)},
		{"no date (Gmail Takeout id only)", "From 1844347792267117879@xxx", "1844347792267117879@xxx", time.Time{}},
		{"bare From", "From ", "", time.Time{}},
		{"bare From dash", "From -", "-", time.Time{}},
		{"body text", "From Russia with love", "Russia", time.Time{}},
		{"impossible date", "From a@b Fri Feb 31 11:55:47 2018", "a@b", time.Time{}},
		{"not a From line", "Subject: From a@b Fri Aug 24 11:55:47 2018", "", time.Time{}},
		{"From: header", "From: a@b", "", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sender, got, ok := ParseFromLine(tt.line, cet)
			if sender != tt.sender || ok != !tt.want.IsZero() || !got.Equal(tt.want) {
				t.Errorf("ParseFromLine(%q) = %q, %v, %v; want %q, %v, %v",
					tt.line, sender, got, ok, tt.sender, tt.want, !tt.want.IsZero())
			}
		})
	}
}

func TestStatusFlags(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		flags   []string
		deleted bool
		warns   int
	}{
		{"nothing", "Subject: x\n", nil, false, 0},
		{"read", "Status: R\n", []string{`\Seen`}, false, 0},
		{"old but unread", "Status: O\n", nil, false, 0},
		{"read and old", "Status: RO\n", []string{`\Seen`}, false, 0},
		{"answered", "X-Status: A\n", []string{`\Answered`}, false, 0},
		{"flagged", "X-Status: F\n", []string{`\Flagged`}, false, 0},
		{"draft", "X-Status: T\n", []string{`\Draft`}, false, 0},
		{"deleted", "X-Status: D\n", nil, true, 0},
		{"all", "Status: RO\nX-Status: AFTD\n", []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`}, true, 0},
		{"keywords with commas (mox)", "X-Keywords: $NotJunk,$Forwarded\n", []string{"$NotJunk", "$Forwarded"}, false, 0},
		{"keywords with spaces (Dovecot)", "X-Keywords: $Forwarded Junk\n", []string{"$Forwarded", "Junk"}, false, 0},
		{"duplicate keywords", "X-Keywords: work, Work,work\n", []string{"work"}, false, 0},
		{"invalid keywords dropped", "X-Keywords: ok, bad(kw, \\Seen, caf\xc3\xa9, a]b, 50%\n", []string{"ok"}, false, 5},
		{"empty keywords", "X-Keywords: \n", nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warns := 0
			flags, deleted := StatusFlags(formats.ParseHeader([]byte(tt.header)), func(string, ...any) { warns++ })
			if !slices.Equal(flags, tt.flags) || deleted != tt.deleted || warns != tt.warns {
				t.Errorf("StatusFlags(%q) = %q, %v with %d warnings; want %q, %v with %d",
					tt.header, flags, deleted, warns, tt.flags, tt.deleted, tt.warns)
			}
		})
	}
}

func TestMailboxFor(t *testing.T) {
	tests := []struct {
		path    string
		name    string
		special formats.Special
	}{
		{"/x/Inbox.mbox", "Inbox", formats.SpecialInbox},
		{"/x/Sent.MBOX", "Sent", formats.SpecialSent},
		{"/x/Archive 2019.mbx", "Archive 2019", formats.SpecialNone},
		{"/x/list.txt", "list", formats.SpecialNone},
		{"/x/Takeout.tar.mbox", "Takeout.tar", formats.SpecialNone},
		{"/x/mbox", "mbox", formats.SpecialNone},
		{"/x/.mbox", ".mbox", formats.SpecialNone},
	}
	for _, tt := range tests {
		b := MailboxFor(tt.path)
		if !b.Path.Equal(formats.Folder{tt.name}) || b.Special != tt.special || b.Store != "mbox" || b.Location != tt.path {
			t.Errorf("MailboxFor(%q) = %+v, want name %q, special %q", tt.path, b, tt.name, tt.special)
		}
	}
}

func openFixture(t *testing.T, name string, opts ReaderOptions) formats.Reader {
	t.Helper()
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	r, err := Open(testutil.Testdata(t, "mbox/"+name), nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReaderStatusFlags(t *testing.T) {
	path := testutil.Testdata(t, "mbox/status-flags.mbox")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var warns []string
	opts := ReaderOptions{}
	opts.Warn = func(w formats.Warning) { warns = append(warns, w.String()) }
	formatstest.Run(t, func(t *testing.T) formats.Reader {
		return openFixture(t, "status-flags.mbox", opts)
	}, formatstest.Want{
		Mailboxes: []string{"status-flags"},
		Messages:  5,
		Skipped:   1,
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			want := []struct {
				flags  []string
				skip   string
				date   time.Time
				source formats.DateSource
			}{
				{[]string{`\Seen`, `\Answered`, `\Flagged`, "$Forwarded", "Work", "$NotJunk"}, "",
					time.Date(1996, 1, 3, 1, 5, 34, 0, time.UTC), formats.DateFromLine},
				{[]string{`\Seen`}, formats.SkipDeleted, time.Date(1996, 1, 4, 10, 0, 0, 0, time.UTC), formats.DateFromLine},
				{[]string{`\Draft`}, "", time.Date(1996, 1, 5, 8, 0, 0, 0, time.UTC), formats.DateReceived},
				{nil, "", time.Date(1996, 1, 6, 14, 30, 0, 0, time.UTC), formats.DateHeader},
				{nil, "", st.ModTime(), formats.DateFileMtime},
			}
			for i, w := range want {
				m := msgs[i]
				if !slices.Equal(m.Flags, w.flags) || m.Skip != w.skip || !m.Date.Equal(w.date) || m.DateSource != w.source {
					t.Errorf("message %d: flags %q, skip %q, date %v from %q; want %q, %q, %v from %q",
						i+1, m.Flags, m.Skip, m.Date, m.DateSource, w.flags, w.skip, w.date, w.source)
				}
			}
			b := string(msgs[0].Bytes)
			for _, gone := range []string{"Status:", "X-Status:", "X-Keywords:"} {
				if strings.Contains(b, gone) {
					t.Errorf("message 1 still has %s", gone)
				}
			}
			for _, kept := range []string{"X-UID: 7\r\n", "Content-Length: 5\r\n"} {
				if !strings.Contains(b, kept) {
					t.Errorf("message 1 lost %q", kept)
				}
			}
		},
	})
	if !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, `"bad(kw"`) }) {
		t.Errorf("no warning about the invalid keyword; warnings: %q", warns)
	}
}

func TestReaderSkipsNonMail(t *testing.T) {
	tests := []struct {
		file     string
		messages int
		skipped  int
	}{
		{"folder-data.mbox", 3, 1},      // UW-IMAP's FOLDER INTERNAL DATA
		{"consecutive-from.mbox", 2, 1}, // the empty message
		{"empty.mbox", 0, 0},            // no messages, no error
		{"headers-first.mbox", 3, 0},    // the EML in front is a message
		{"garbage-prefix.mbox", 3, 0},   // the garbage is quarantined, not skipped
		{"mboxcl2.mbox", 3, 0},          // Auto ignores Content-Length
		{"unescaped-from.mbox", 2, 0},   // Thunderbird's rule
		{"no-blank-before-from.mbox", 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			formatstest.Run(t, func(t *testing.T) formats.Reader {
				return openFixture(t, tt.file, ReaderOptions{})
			}, formatstest.Want{Messages: tt.messages, Skipped: tt.skipped})
		})
	}
}

func TestReaderKeepStatusFields(t *testing.T) {
	r := openFixture(t, "status-flags.mbox", ReaderOptions{KeepStatusFields: true})
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	if !bytes.Contains(msgs[0].Bytes, []byte("\r\nStatus: RO\r\n")) {
		t.Errorf("KeepStatusFields lost the Status field: %q", msgs[0].Bytes)
	}
	if !slices.Contains(msgs[0].Flags, `\Seen`) {
		t.Errorf("KeepStatusFields lost the flags: %q", msgs[0].Flags)
	}
}

func TestReaderFromStream(t *testing.T) {
	in := fixture(t, "two.mbox")
	r := NewReader(bytes.NewReader(in), "stdin", nil, time.Time{}, ReaderOptions{Location: time.UTC})
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	if len(boxes) != 1 || boxes[0].Path.String() != "stdin" || len(msgs) != 2 {
		t.Fatalf("got mailboxes %v and %d messages", boxes, len(msgs))
	}
	if r.Splitter().Variant() != MboxO {
		t.Errorf("Variant = %v", r.Splitter().Variant())
	}
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Errorf("Next after the end = %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.TempDir(), nil, ReaderOptions{}); err == nil {
		t.Error("Open(directory) succeeded")
	}
	if _, err := Open(t.TempDir()+"/missing.mbox", nil, ReaderOptions{}); err == nil {
		t.Error("Open(missing file) succeeded")
	}
}

// TestCorpus splits the real files in ../shared/corpus and asserts the
// counts SOURCES.md records.
func TestCorpus(t *testing.T) {
	tests := []struct {
		file    string
		count   int
		why     string
		skipped int
		// quarantined is the number of quarantined entries among count:
		// text before the first From_ line.
		quarantined int
	}{
		{"mbox/mimekit/content-length.mbox.txt", 29, "asserted by MimeKit", 0, 0},
		{"mbox/mimekit/issue1189.mbox.txt", 4, "asserted by MimeKit", 0, 0},
		// MimeKit asserts 4: it splits at every "From " after a blank
		// line. Thunderbird's rule gives 2: "From Russia with love" is not
		// followed by header fields (the second one by only "Year: 1963"
		// and a blank line, and "Russia with love" is no envelope). Two is
		// what the writer meant and what a human sees; we choose 2.
		{"mbox/mimekit/unmunged.mbox.txt", 2, "human count, not MimeKit's 4", 0, 0},
		{"mbox/mimekit/simple.mbox.txt", 3, "counted", 0, 0},
		// mox imports both; its first has "X-Status: AFTD", D = deleted:
		// reported, and skipped.
		{"mbox/mox/importtest.mbox", 2, "asserted by mox", 1, 0},
		{"mbox/mox/imaptest.mbox", 48, "counted", 0, 0},
		{"mbox/neomutt-test-files/banana.mbox", 1, "valid mbox", 0, 0},
		{"mbox/neomutt-test-files/cherry.mbox", 1, "plain text, not an mbox: kept whole, quarantined", 0, 1},
		{"mbox/neomutt-test-files/endive.mbox", 1, "plain text, not an mbox: kept whole, quarantined", 0, 1},
		{"mbox/neomutt-test-files/fig.mbox", 1, "an MMDF separator, no messages: quarantined", 0, 1},
		{"thunderbird/comm-central-mailnews-test-data/mbox_modern", 2, "asserted by Thunderbird", 0, 0},
		{"thunderbird/comm-central-mailnews-test-data/mbox_unquoted", 2, "asserted by Thunderbird", 0, 0},
		{"thunderbird/comm-central-mailnews-test-data/mbox_mboxrd", 2, "asserted by Thunderbird", 0, 0},
		{"thunderbird/comm-central-mailnews-test-data/bugmail-1", 1, "counted", 0, 0},
		{"thunderbird/comm-central-mailnews-test-data/SenderHeader", 1, "counted", 0, 0},
		{"thunderbird/comm-central-mailnews-test-data/mail-without-from", 1, "counted", 0, 0},
		{"thunderbird/local-test-data/movemailspool", 3, "counted", 0, 0},
		{"thunderbird/panorama-migration/migration", 3, "counted (the .msf lists 2)", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := testutil.Corpus(t, tt.file)
			formatstest.Run(t, func(t *testing.T) formats.Reader {
				r, err := Open(path, nil, ReaderOptions{Location: time.UTC})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}, formatstest.Want{Messages: tt.count, Skipped: tt.skipped, Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
				n := 0
				for _, m := range msgs {
					if m.Quarantine != "" {
						n++
					}
				}
				if n != tt.quarantined {
					t.Errorf("%d quarantined, want %d", n, tt.quarantined)
				}
			}})
			input, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			msgs, warns, err := splitAll(t, bytes.NewReader(input), SplitOptions{Variant: Raw}, bufSize)
			if err != nil {
				t.Fatal(err)
			}
			checkTiling(t, input, msgs, warns)
			checkRaw(t, input, msgs)
		})
	}
}

// TestCorpusUnquoting checks the >From quoting of the real files.
func TestCorpusUnquoting(t *testing.T) {
	tests := []struct {
		file, contains string
	}{
		{"thunderbird/comm-central-mailnews-test-data/mbox_mboxrd", "\r\nFrom (should be escaped).\r\n"},
		{"mbox/mox/importtest.mbox", "\r\n\r\nFrom testing\r\n"},
		// Thunderbird's " From " escaping is irreversible: keep the bytes.
		{"thunderbird/comm-central-mailnews-test-data/mbox_modern", "\r\n From - Fri Aug 24 11:55:47 2018\r\n"},
		{"thunderbird/comm-central-mailnews-test-data/mbox_unquoted", "like this:\r\nFrom \r\nThis could"},
	}
	for _, tt := range tests {
		input, err := os.ReadFile(testutil.Corpus(t, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		msgs, _, err := splitAll(t, bytes.NewReader(input), SplitOptions{}, bufSize)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("%s: %d messages, %v", tt.file, len(msgs), err)
		}
		if !bytes.Contains(msgs[0].Bytes, []byte(tt.contains)) {
			t.Errorf("%s: message 1 lacks %q:\n%s", tt.file, tt.contains, msgs[0].Bytes)
		}
	}
}

// TestParseAsctime checks ParseFromLine's fast path against the general
// date parser it stands in for.
func TestParseAsctime(t *testing.T) {
	for _, d := range []string{
		"Fri Aug 24 11:55:47 2018", "Sat Jan  3 01:05:34 1996", "Fri Jul 08 12:08:34 2011",
		"fri aug 24 11:55:47 2018", "Fri Feb 29 11:55:47 2019", "Fri Feb 29 11:55:47 2020",
		"Fri Aug 24 24:55:47 2018", "Fri Aug 24 11:60:47 2018", "Fri Aug 24 11:55:60 2018",
		"Fri Aug 00 11:55:47 2018", "Fri Aug 32 11:55:47 2018", "Fri Aug 24 11:55:47 1969",
		"Xyz Aug 24 11:55:47 2018", "Fri Auf 24 11:55:47 2018", "Fri Aug 2x 11:55:47 2018",
	} {
		got, ok := parseAsctime(d, time.UTC)
		want, wok := formats.ParseDate(d, time.UTC)
		if !strings.HasPrefix(d, "Xyz") && (ok != wok || !got.Equal(want)) {
			t.Errorf("parseAsctime(%q) = %v, %v; ParseDate gives %v, %v", d, got, ok, want, wok)
		}
		if strings.HasPrefix(d, "Xyz") && ok {
			t.Errorf("parseAsctime(%q) accepted a bad weekday", d)
		}
	}
}
