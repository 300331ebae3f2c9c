package emlx

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

const inboxUUID = "0A1B2C3D-1111-2222-3333-444455556666"

func openReader(t *testing.T, src string, warns *[]formats.Warning) *Reader {
	t.Helper()
	r, err := Open(src, formats.Options{Warn: func(w formats.Warning) {
		if warns != nil {
			*warns = append(*warns, w)
		}
	}})
	if err != nil {
		t.Fatalf("Open(%s): %v", src, err)
	}
	return r
}

func TestV10Tree(t *testing.T) {
	for _, src := range []string{"emlx/V10tree/Mail", "emlx/V10tree/Mail/V10"} {
		t.Run(src, func(t *testing.T) {
			dir := testutil.Testdata(t, src)
			if !Detect(dir) {
				t.Errorf("Detect(%s) = false", src)
			}
			formatstest.Run(t, func(t *testing.T) formats.Reader { return openReader(t, dir, nil) }, formatstest.Want{
				Mailboxes: []string{
					"On My Mac/Archive", "On My Mac/Work", "On My Mac/Work/Projects", "On My Mac/Work/Projects/Old",
					inboxUUID + "/INBOX", inboxUUID + "/Sent Messages", inboxUUID + "/Deleted Messages",
					"bob@example.com/INBOX",
				},
				Messages: 10, // V9's stale copy not read; 33.partial.emlx loses to 33.emlx
				Skipped:  1,  // 34 is deleted
				Check:    checkV10,
			})
		})
	}
}

func checkV10(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
	special := map[string]formats.Special{}
	for _, b := range boxes {
		special[b.DisplayPath()] = b.Special
		if b.Store != StoreEmlx {
			t.Errorf("%s: Store = %q", b.DisplayPath(), b.Store)
		}
	}
	for path, want := range map[string]formats.Special{
		inboxUUID + "/INBOX": formats.SpecialInbox, inboxUUID + "/Sent Messages": formats.SpecialSent,
		inboxUUID + "/Deleted Messages": formats.SpecialTrash, "On My Mac/Archive": formats.SpecialArchive,
		"On My Mac/Work": formats.SpecialNone, "bob@example.com/INBOX": formats.SpecialInbox,
	} {
		if special[path] != want {
			t.Errorf("%s: Special = %q, want %q", path, special[path], want)
		}
	}
	bySubject := map[string]formatstest.Collected{}
	for _, m := range msgs {
		s := formats.ParseHeader(m.Bytes)
		subj, _ := s.Get("Subject")
		bySubject[subj] = m
	}
	for subj, want := range map[string]struct {
		box   string
		flags []string
		skip  string
	}{
		"archived":            {"On My Mac/Archive", []string{`\Seen`, `\Flagged`}, ""},
		"work":                {"On My Mac/Work", nil, ""},
		"project":             {"On My Mac/Work/Projects", []string{`\Seen`, `\Answered`}, ""},
		"old project":         {"On My Mac/Work/Projects/Old", []string{`\Seen`, "$Forwarded"}, ""},
		"deep inbox message":  {inboxUUID + "/INBOX", []string{`\Seen`, "$NotJunk"}, ""},
		"with attachment":     {inboxUUID + "/INBOX", []string{`\Seen`}, ""},
		"full copy wins":      {inboxUUID + "/INBOX", []string{`\Seen`}, ""},
		"deleted, not purged": {inboxUUID + "/INBOX", []string{`\Seen`}, formats.SkipDeleted},
		"sent":                {inboxUUID + "/Sent Messages", []string{`\Seen`}, ""},
		"pop inbox":           {"bob@example.com/INBOX", nil, ""},
	} {
		m, ok := bySubject[subj]
		if !ok {
			t.Errorf("message %q not read", subj)
			continue
		}
		if m.Mailbox.DisplayPath() != want.box || !slices.Equal(m.Flags, want.flags) || m.Skip != want.skip {
			t.Errorf("%q: in %s with %q, skip %q; want %s, %q, %q", subj, m.Mailbox.DisplayPath(), m.Flags, m.Skip, want.box, want.flags, want.skip)
		}
		if m.DateSource != formats.DateStore || m.Date.Unix() != 1672650000 {
			t.Errorf("%q: date %v from %q", subj, m.Date, m.DateSource)
		}
	}
	att := bySubject["with attachment"]
	if !strings.Contains(string(att.Bytes), "\r\n\r\nSGVsbG8sIHdvcmxkIQoKCg==\r\n--XX--\r\n") || strings.Contains(string(att.Bytes), "X-Apple") || att.Incomplete != "" {
		t.Errorf("partial message not rebuilt:\n%s", att.Bytes)
	}
}

func TestSingleMailboxCopies(t *testing.T) {
	root := testutil.Testdata(t, "emlx/V10tree/Mail/V10")
	tests := []struct {
		src   string
		boxes []string
		n     int
	}{
		{"Mailboxes/Work.mbox", []string{"Work", "Work/Projects", "Work/Projects/Old"}, 3},
		{"Mailboxes", []string{"Archive", "Work", "Work/Projects", "Work/Projects/Old"}, 4},
		{inboxUUID, []string{"INBOX", "Sent Messages", "Deleted Messages"}, 5},
		{"Mailboxes/Work.mbox/Messages/20.emlx", []string{"Work"}, 1},
		{inboxUUID + "/INBOX.mbox/9F8E7D6C-AAAA-BBBB-CCCC-DDDDEEEEFFFF/Data/3/1/Messages/31.emlx", []string{"INBOX"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			src := filepath.Join(root, tt.src)
			formatstest.Run(t, func(t *testing.T) formats.Reader { return openReader(t, src, nil) },
				formatstest.Want{Mailboxes: tt.boxes, Messages: tt.n, Skipped: -1})
		})
	}
}

func TestExportBundle(t *testing.T) {
	dir := testutil.Testdata(t, "emlx/export")
	if !Detect(filepath.Join(dir, "Family.mbox")) {
		t.Errorf("Detect(Family.mbox) = false")
	}
	formatstest.Run(t, func(t *testing.T) formats.Reader { return openReader(t, dir, nil) }, formatstest.Want{
		Mailboxes: []string{"Family", "Family/Kids"},
		Messages:  3,
		Skipped:   0,
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			for _, b := range boxes {
				if b.Store != StoreExport {
					t.Errorf("%s: Store = %q, want %q", b.DisplayPath(), b.Store, StoreExport)
				}
			}
			want := []string{"Family", "Family", "Family/Kids"}
			for i, m := range msgs {
				if i < len(want) && m.Mailbox.DisplayPath() != want[i] {
					t.Errorf("message %d in %s, want %s", i, m.Mailbox.DisplayPath(), want[i])
				}
			}
		},
	})
}

// TestNFDNames: macOS hands out decomposed names; folders are NFC.
func TestNFDNames(t *testing.T) {
	dir := t.TempDir()
	nfd := "Cafe\u0301.mbox" // "Café" decomposed
	mustWrite(t, filepath.Join(dir, nfd, "Messages", "1.emlx"), "5\nS: x\n<plist></plist>")
	r := openReader(t, dir, nil)
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	if len(boxes) != 1 || boxes[0].Path.String() != "Caf\u00e9" || len(msgs) != 1 {
		t.Errorf("mailboxes %v, %d messages; want one NFC \"Café\" with 1", boxes, len(msgs))
	}
}

func TestNewestVersionOnly(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "V2", "Mailboxes", "Old.mbox", "Messages", "1.emlx"), "5\nS: x\n")
	mustWrite(t, filepath.Join(dir, "V10", "Mailboxes", "New.mbox", "Messages", "1.emlx"), "5\nS: x\n")
	mustWrite(t, filepath.Join(dir, "V9", "Mailboxes", "Mid.mbox", "Messages", "1.emlx"), "5\nS: x\n")
	r := openReader(t, dir, nil)
	defer r.Close()
	boxes, _ := formatstest.Collect(t, r)
	if len(boxes) != 1 || boxes[0].DisplayPath() != "On My Mac/New" {
		t.Errorf("mailboxes %v, want only V10's", boxes)
	}
}

// TestPermissionDenied needs a directory its user may not read. Root
// reads everything, so as root (as CI runs) the test runs itself again as
// the user nobody.
func TestPermissionDenied(t *testing.T) {
	if testutil.AsUnprivileged(t, "TestPermissionDenied") {
		return
	}
	dir := t.TempDir()
	locked := filepath.Join(dir, "V10")
	if err := os.Mkdir(locked, 0o000); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(locked, 0o755)
	_, err := Open(locked, formats.Options{})
	if !errors.Is(err, fs.ErrPermission) || !IsAccessError(err) || !strings.Contains(err.Error(), "Full Disk Access") {
		t.Errorf("Open(unreadable) = %v, want an AccessError wrapping fs.ErrPermission", err)
	}
}

func TestAccessError(t *testing.T) {
	err := access("/Users/x/Library/Mail", &fs.PathError{Op: "open", Path: "/Users/x/Library/Mail", Err: fs.ErrPermission})
	if !errors.Is(err, fs.ErrPermission) || !IsAccessError(err) || !strings.Contains(err.Error(), "Full Disk Access") {
		t.Errorf("access() = %v", err)
	}
	if other := access("x", fs.ErrNotExist); IsAccessError(other) {
		t.Errorf("access() wrapped a non-permission error")
	}
}

func TestDetectNegative(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "a.eml"), "Subject: x\n\nbody\n")
	mustWrite(t, filepath.Join(dir, "fake.emlx"), "hello\nworld\n")
	mustWrite(t, filepath.Join(dir, "x.mbox", "notes.txt"), "x")
	for _, p := range []string{dir, filepath.Join(dir, "a.eml"), filepath.Join(dir, "fake.emlx"), filepath.Join(dir, "x.mbox"), filepath.Join(dir, "missing")} {
		if Detect(p) {
			t.Errorf("Detect(%s) = true", p)
		}
	}
}
