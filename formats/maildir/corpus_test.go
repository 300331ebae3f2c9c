package maildir

import (
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// The real maildirs of ../shared/corpus/maildir (SOURCES.md). Their
// modification times are those of the checkout, so every date must come
// from a file name or a header, never from the copy time.

func TestCorpusMoxImporttest(t *testing.T) {
	src := testutil.Corpus(t, "maildir/mox-importtest")
	formatstest.Run(t, openFn(src, nil), formatstest.Want{
		Mailboxes: []string{"INBOX"},
		Messages:  2, // asserted upstream: mox webaccount/account_test.go
		Skipped:   1, // new/...:2,Tad is trashed
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
			for _, m := range msgs {
				var want []string
				var skip string
				var date int64
				switch {
				case strings.HasSuffix(m.Pos.File, ":2,RSFbcde"):
					want = []string{`\Answered`, `\Seen`, `\Flagged`, "$Forwarded", "$NotJunk", "Custom", "custom"}
					date = 1642966915
				case strings.HasSuffix(m.Pos.File, ":2,Tad"):
					want, skip = []string{"$Junk", "Custom"}, formats.SkipDeleted
				default:
					t.Errorf("unexpected message %s", m.Pos.File)
					continue
				}
				if !slices.Equal(m.Flags, want) || m.Skip != skip {
					t.Errorf("%s: flags %q, skip %q; want %q, %q", m.Pos.File, m.Flags, m.Skip, want, skip)
				}
				if date != 0 && m.Date.Unix() != date {
					// Two files 20 minutes apart by name but not by mtime:
					// flattened, so the name's time is used.
					t.Errorf("%s: date %v (%s), want %v", m.Pos.File, m.Date, m.DateSource, time.Unix(date, 0).UTC())
				}
			}
		},
	})
}

// TestCorpusNotmuchDefault: 53 files in a nested tree. The 10 files lying
// outside cur/ and new/ are read as messages of their directory's folder,
// with a warning (notmuch indexes them; see the package comment).
func TestCorpusNotmuchDefault(t *testing.T) {
	src := testutil.Corpus(t, "maildir/notmuch/default")
	var warns []formats.Warning
	formatstest.Run(t, openFn(src, &warns), formatstest.Want{
		Mailboxes: []string{"INBOX", "foo", "foo/baz", "bar", "bar/baz"},
		Messages:  53,
		Skipped:   0,
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
			perFolder := map[string]int{}
			ids := map[string]int{}
			for _, m := range msgs {
				perFolder[m.Mailbox.Path.String()]++
				id, _ := formats.ParseHeader(m.Bytes).Get("Message-ID")
				ids[id]++
				if len(m.Flags) != 0 {
					t.Errorf("%s: flags %q, want none (names end in :2,)", m.Pos.File, m.Flags)
				}
				if m.DateSource != formats.DateReceived && m.DateSource != formats.DateHeader {
					t.Errorf("%s: date from %q, want from a header (flattened mtimes, names without times)", m.Pos.File, m.DateSource)
				}
				if m.Date.Year() > 2010 {
					t.Errorf("%s: date %v: the early notmuch list is from 2009", m.Pos.File, m.Date)
				}
			}
			want := map[string]int{"INBOX": 28, "foo": 6, "foo/baz": 6, "bar": 6, "bar/baz": 7}
			for f, n := range want {
				if perFolder[f] != n {
					t.Errorf("folder %s has %d messages, want %d", f, perFolder[f], n)
				}
			}
			if len(ids) != 52 || ids["<20091117232137.GA7669@griffis1.net>"] != 2 {
				t.Errorf("%d unique Message-IDs (want 52), griffis1 twice: %d", len(ids), ids["<20091117232137.GA7669@griffis1.net>"])
			}
		},
	})
	formatstest.Collect(t, openFn(src, &warns)(t))
	loose := 0
	for _, w := range warns {
		if strings.Contains(w.Message, "outside cur/ and new/") {
			var n int
			for _, c := range w.Message {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int(c-'0')
			}
			loose += n
		}
	}
	if loose != 10 {
		t.Errorf("warnings count %d files outside cur/ and new/, want 10: %v", loose, warns)
	}
}

func TestCorpusLKML(t *testing.T) {
	src := testutil.Corpus(t, "maildir/notmuch/lkml")
	formatstest.Run(t, openFn(src, nil), formatstest.Want{
		Mailboxes: []string{"INBOX"},
		Messages:  210,
		Skipped:   0,
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
			ids := map[string]bool{}
			for _, m := range msgs {
				id, _ := formats.ParseHeader(m.Bytes).Get("Message-ID")
				ids[id] = true
				if m.DateSource != formats.DateFileName {
					t.Errorf("%s: date from %q, want from the file name", m.Pos.File, m.DateSource)
				}
			}
			if len(ids) != 176 {
				t.Errorf("%d unique Message-IDs, want 176", len(ids))
			}
		},
	})
}

// TestCorpusStalwartNames: names only, every file a 2-byte "b\n" stub. The
// stubs are reported as skipped "not a mail message" (the trashed ones as
// deleted), with the flags their names carry, so that the counts add up
// and the user sees them.
func TestCorpusStalwartNames(t *testing.T) {
	src := testutil.Corpus(t, "maildir/stalwart-maildirpp-names")
	var warns []formats.Warning
	formatstest.Run(t, openFn(src, &warns), formatstest.Want{
		Mailboxes: []string{"INBOX", "My Folder", "My Folder/Nested Folder"},
		Messages:  6,
		Skipped:   6,
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
			want := map[string]struct {
				flags []string
				skip  string
			}{
				",S=10956;2,STln": {[]string{`\Seen`}, formats.SkipDeleted},
				",W=4642;2,Sb":    {[]string{`\Seen`}, formats.SkipNotMail},
				",W=1394;2,":      {nil, formats.SkipNotMail},
				",W=1030;2,TDR":   {[]string{`\Draft`, `\Answered`}, formats.SkipDeleted},
				",W=1030;2,RDF,":  {[]string{`\Answered`, `\Draft`, `\Flagged`}, formats.SkipNotMail},
				"kurkku;2,FP":     {[]string{`\Flagged`, "$Forwarded"}, formats.SkipNotMail},
			}
			for _, m := range msgs {
				found := false
				for suffix, w := range want {
					if strings.HasSuffix(m.Pos.File, suffix) {
						found = true
						if !slices.Equal(m.Flags, w.flags) || m.Skip != w.skip {
							t.Errorf("%s: flags %q, skip %q; want %q, %q", m.Pos.File, m.Flags, m.Skip, w.flags, w.skip)
						}
					}
				}
				if !found {
					t.Errorf("unexpected file %s", m.Pos.File)
				}
			}
		},
	})
	formatstest.Collect(t, openFn(src, &warns)(t))
	for _, l := range []string{"'l'", "'n'", "'b'"} {
		if !slices.ContainsFunc(warns, func(w formats.Warning) bool { return strings.Contains(w.Message, l) }) {
			t.Errorf("no warning about keyword letter %s (no dovecot-keywords): %v", l, warns)
		}
	}
}
