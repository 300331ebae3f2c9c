package eml

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
)

func mhMessage(n int) string {
	return fmt.Sprintf("From: anna@example.org\nTo: ben@example.org\nSubject: message %d\nDate: Mon, 7 Jun 2010 10:00:00 +0000\nMessage-ID: <%d@example.org>\n\nbody %d\n", n, n, n)
}

// An MH tree (nmh's Mail/ with inbox and a nested folder): every numbered
// file is a message, read in the order of the numbers, with the flags of
// the folder's .mh_sequences (folded lines too); a folder without one
// gives its messages \Seen, as other message files get.
func TestMHFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Mail")
	files := map[string]string{
		"inbox/1":                 mhMessage(1),
		"inbox/2":                 mhMessage(2),
		"inbox/10":                mhMessage(10),
		"inbox/.mh_sequences":     "cur: 10\nunseen: 2\n 10\nflagged: 1-2\nreplied: 1\n",
		"inbox/old/3":             mhMessage(3),
		"inbox/old/.mh_sequences": "unseen: 3\n",
		"drafts/1":                mhMessage(4),
		"drafts/,2":               mhMessage(5), // deleted with rmm
		"drafts/#3":               mhMessage(6),
	}
	for rel, content := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !Detect(root) || !IsMHMessage(filepath.Join(root, "inbox", "10")) || IsMHMessage(filepath.Join(root, "inbox", ".mh_sequences")) {
		t.Fatalf("an MH tree is not recognised")
	}
	formatstest.Run(t, openFn(root, Config{}, nil), formatstest.Want{Mailboxes: []string{"drafts", "inbox", "inbox/old"}, Messages: 7, Skipped: 2})
	r, err := Open(root, Config{}.Options)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s/%s %s%s", m.Mailbox.DisplayPath(), filepath.Base(m.Pos.File), strings.Join(m.Flags, ","), m.Skip))
	}
	want := []string{
		`drafts/1 \Seen`,
		`drafts/#3 ` + formats.SkipDeleted,
		`drafts/,2 ` + formats.SkipDeleted,
		`inbox/1 \Seen,\Answered,\Flagged`,
		`inbox/2 \Flagged`,
		`inbox/10 `,
		`inbox/old/3 `,
	}
	if !slices.Equal(got, want) {
		t.Errorf("messages =\n%q\nwant\n%q", got, want)
	}
}

func TestMHRanges(t *testing.T) {
	got := mhRanges("1-3 7 x 9-8 0 12-12 5-99999999")
	var ns []int
	for n := range got {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	if !slices.Equal(ns, []int{1, 2, 3, 7, 12}) {
		t.Errorf("mhRanges = %v", ns)
	}
}
