package thunderbird_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
)

// TestSummaryOrHeaders: Thunderbird shows what a folder's .msf says when
// the .msf is current for its store, and rebuilds it from the headers when
// it is not. Each folder here holds the same two messages, whose headers
// and summary rows disagree: the first is read in its header and unread in
// the summary (an import from .eml files), the second the other way round
// and tagged only in the summary.
func TestSummaryOrHeaders(t *testing.T) {
	msgs := func() []tbtest.Message {
		return []tbtest.Message{
			{Status: "0001", Status2: "00000000", Keys: "-", Subject: "read in header", MessageID: "one@example.com",
				MSFFlags: 0x10000}, // New, not Read
			{Status: "0000", Status2: "00000000", Keys: "-", Subject: "read in summary", MessageID: "two@example.com",
				MSFFlags: 0x5, MSFKeywords: "$label2"},
		}
	}
	fromSummary := [][]string{nil, {`\Seen`, `\Flagged`, "$label2"}}
	// Rebuilt from the headers; the tag survives, as Thunderbird copies it
	// from the old summary by Message-ID.
	fromHeaders := [][]string{{`\Seen`}, {"$label2"}}
	noSummary := [][]string{{`\Seen`}, nil}
	tests := []struct {
		folder tbtest.Folder
		source formats.FlagSource
		note   string
		want   [][]string
	}{
		{tbtest.Folder{Name: "Current", MSF: true}, formats.FlagsFromSummary, "current", fromSummary},
		{tbtest.Folder{Name: "StaleSize", MSF: true, MSFStale: "size"}, formats.FlagsFromHeaders, "bytes", fromHeaders},
		{tbtest.Folder{Name: "StaleDate", MSF: true, MSFStale: "date"}, formats.FlagsFromHeaders, "modified", fromHeaders},
		{tbtest.Folder{Name: "OldVersion", MSF: true, MSFStale: "version"}, formats.FlagsFromHeaders, "version 0", fromHeaders},
		{tbtest.Folder{Name: "NoSummary"}, formats.FlagsFromHeaders, "no summary", noSummary},
		{tbtest.Folder{Name: "MaildirCurrent", Kind: "maildir", MSF: true}, formats.FlagsFromSummary, "valid", fromSummary},
		{tbtest.Folder{Name: "MaildirStale", Kind: "maildir", MSF: true, MSFStale: "date"}, formats.FlagsFromHeaders, "maildirValid", fromHeaders},
	}
	var folders []tbtest.Folder
	for _, tt := range tests {
		f := tt.folder
		f.Messages = msgs()
		folders = append(folders, f)
	}
	spec := tbtest.Spec{
		Accounts: []tbtest.Account{{Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody", Folders: folders}},
		// IMAP folders are not checked: Thunderbird keeps their state in
		// the summary, however old the offline store's file times are.
		Unlisted: []tbtest.Account{{Type: "imap", Hostname: "imap.example.com", Folders: []tbtest.Folder{
			{Name: "INBOX", MSF: true, MSFStale: "date", Messages: msgs()},
		}}},
	}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	r, _ := open(t, built.Profile, thunderbird.Options{})
	boxes, all := formatstest.Collect(t, r)
	r.Close()
	byBox := map[string][]formatstest.Collected{}
	for _, m := range all {
		byBox[m.Mailbox.Path.String()] = append(byBox[m.Mailbox.Path.String()], m)
	}
	tests = append(tests, struct {
		folder tbtest.Folder
		source formats.FlagSource
		note   string
		want   [][]string
	}{tbtest.Folder{Name: "INBOX"}, formats.FlagsFromSummary, "IMAP", fromSummary})
	for _, tt := range tests {
		var box *formats.Mailbox
		for _, b := range boxes {
			if b.Path.String() == tt.folder.Name {
				box = b
			}
		}
		if box == nil {
			t.Errorf("%s: no such mailbox", tt.folder.Name)
			continue
		}
		if box.FlagSource != tt.source || !strings.Contains(box.FlagNote, tt.note) {
			t.Errorf("%s: flags from %q (%s), want %q (%s)", tt.folder.Name, box.FlagSource, box.FlagNote, tt.source, tt.note)
		}
		got := byBox[tt.folder.Name]
		if len(got) != 2 {
			t.Errorf("%s: %d messages, want 2", tt.folder.Name, len(got))
			continue
		}
		for i, m := range got {
			if !slices.Equal(m.Flags, tt.want[i]) {
				t.Errorf("%s message %d: flags %q, want %q", tt.folder.Name, i+1, m.Flags, tt.want[i])
			}
		}
	}
}

// TestSummaryExpungedNotListed: in a current summary, a message whose
// header is marked expunged has no row; it stays skipped as deleted, and
// is not counted as missing from the summary.
func TestSummaryExpungedNotListed(t *testing.T) {
	spec := tbtest.Spec{Accounts: []tbtest.Account{{Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody",
		Folders: []tbtest.Folder{{Name: "Inbox", MSF: true, Messages: []tbtest.Message{
			{Status: "0001", Status2: "00000000", Subject: "kept"},
			{Status: "0009", Status2: "00000000", Subject: "expunged", NotInMSF: true},
		}}}}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	r, w := open(t, filepath.Join(built.Profile, "Mail", "Local Folders"), thunderbird.Options{})
	_, msgs := formatstest.Collect(t, r)
	r.Close()
	if len(msgs) != 2 || msgs[0].Skip != "" || msgs[1].Skip != formats.SkipDeleted {
		t.Fatalf("messages %+v, want one kept and one deleted", msgs)
	}
	w.hasNot(t, "does not list")
}

// TestFolderQuirks: text before the first From_ line of a folder's mbox
// is yielded quarantined (never given flags), and an empty file named like
// a folder is an empty folder.
func TestFolderQuirks(t *testing.T) {
	spec := tbtest.Spec{Accounts: []tbtest.Account{{Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody",
		Folders: []tbtest.Folder{{Name: "Inbox", MSF: true, Messages: []tbtest.Message{{Status: "0001", Status2: "00000000", Subject: "kept"}}}}}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	dir := filepath.Join(built.Profile, "Mail", "Local Folders")
	inbox := filepath.Join(dir, "Inbox")
	b, err := os.ReadFile(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(inbox, append([]byte("damaged start\n\n"), b...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Empty"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := open(t, dir, thunderbird.Options{})
	boxes, msgs := formatstest.Collect(t, r)
	r.Close()
	var names []string
	for _, b := range boxes {
		names = append(names, b.Path.String())
	}
	if !slices.Contains(names, "Empty") {
		t.Errorf("mailboxes %q, want the empty folder too", names)
	}
	if len(msgs) != 2 || msgs[0].Quarantine == "" || string(msgs[0].Bytes) != "damaged start\n\n" || len(msgs[0].Flags) != 0 {
		t.Fatalf("messages %+v, want the quarantined text, then the message", msgs)
	}
	if msgs[1].Quarantine != "" || !slices.Equal(msgs[1].Flags, []string{`\Seen`}) {
		t.Errorf("message: quarantine %q flags %q", msgs[1].Quarantine, msgs[1].Flags)
	}
}
