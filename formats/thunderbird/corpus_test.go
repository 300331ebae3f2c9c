package thunderbird_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/thunderbird"
	"mailferry/internal/testutil"
)

// TestCorpus reads the real Thunderbird files of ../shared/corpus, each as
// a single-folder source, with the counts SOURCES.md records.
func TestCorpus(t *testing.T) {
	tests := []struct {
		file     string
		messages int // SOURCES.md "expected count"
		check    func(t *testing.T, msgs []formatstest.Collected, w *warnings)
	}{
		{"thunderbird/comm-central-mailnews-test-data/mbox_modern", 2, nil},   // asserted upstream
		{"thunderbird/comm-central-mailnews-test-data/mbox_unquoted", 2, nil}, // asserted upstream; a naive splitter gets 3
		{"thunderbird/comm-central-mailnews-test-data/mbox_mboxrd", 2, nil},   // asserted upstream
		{"thunderbird/comm-central-mailnews-test-data/bugmail-1", 1, func(t *testing.T, msgs []formatstest.Collected, w *warnings) {
			m := msgs[0]
			if want := []string{`\Seen`, "$label4"}; !slices.Equal(m.Flags, want) {
				t.Errorf("flags = %q, want %q", m.Flags, want)
			}
			if want := time.Date(2008, 5, 7, 21, 55, 21, 0, time.UTC); !m.Date.Equal(want) || m.DateSource != formats.DateReceived {
				t.Errorf("date = %v (%s), want %v from the top Received:", m.Date, m.DateSource, want)
			}
			w.hasNot(t, "summary")
		}},
		{"thunderbird/comm-central-mailnews-test-data/SenderHeader", 1, nil},
		{"thunderbird/comm-central-mailnews-test-data/mail-without-from", 1, func(t *testing.T, msgs []formatstest.Collected, w *warnings) {
			// No Received:, no Date: the From_ line (2015, before UTC From_ lines: local time, here UTC).
			if want := time.Date(2015, 4, 26, 21, 30, 59, 0, time.UTC); !msgs[0].Date.Equal(want) || msgs[0].DateSource != formats.DateFromLine {
				t.Errorf("date = %v (%s), want %v from the From_ line", msgs[0].Date, msgs[0].DateSource, want)
			}
		}},
		{"thunderbird/local-test-data/movemailspool", 3, nil}, // counted
		{"thunderbird/panorama-migration/migration", 3, func(t *testing.T, msgs []formatstest.Collected, w *warnings) {
			// As copied into the corpus, the mbox's modification time is
			// not the one its .msf recorded: Thunderbird would rebuild the
			// summary from the mbox, which has no X-Mozilla-Status, so no
			// flags; the $label5 tag survives the rebuild, found by
			// Message-ID. TestCorpusSummaryCurrent reads the same pair
			// with the summary current.
			want := [][]string{{"$label5"}, nil, nil}
			for i, m := range msgs {
				if !slices.Equal(m.Flags, want[i]) {
					t.Errorf("message %d flags = %q, want %q", i+1, m.Flags, want[i])
				}
			}
			if b := msgs[0].Mailbox; b.FlagSource != formats.FlagsFromHeaders || !strings.Contains(b.FlagNote, "out of date") {
				t.Errorf("flag source %q (%s), want headers, the summary being out of date", b.FlagSource, b.FlagNote)
			}
			w.hasNot(t, "does not list")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := testutil.Corpus(t, tt.file)
			r, w := open(t, path, thunderbird.Options{})
			boxes, msgs := formatstest.Collect(t, r)
			r.Close()
			if len(boxes) != 1 || boxes[0].Store != "thunderbird-mbox" || boxes[0].Location != path {
				t.Errorf("mailboxes = %+v, want one thunderbird-mbox at %s", boxes, path)
			}
			if len(msgs) != tt.messages {
				t.Fatalf("read %d messages, want %d", len(msgs), tt.messages)
			}
			for _, m := range msgs {
				if m.Skip != "" || m.Incomplete != "" || m.DateSource == formats.DateUnknown {
					t.Errorf("%v: skip %q, incomplete %q, date source %q", m.Pos, m.Skip, m.Incomplete, m.DateSource)
				}
			}
			if tt.check != nil {
				tt.check(t, msgs, w)
			}
		})
	}
}

// TestCorpusContract runs the shared reader contract on a real folder
// with its .msf.
func TestCorpusContract(t *testing.T) {
	path := testutil.Corpus(t, "thunderbird/panorama-migration/migration")
	formatstest.Run(t, func(t *testing.T) formats.Reader {
		r, _ := open(t, path, thunderbird.Options{})
		return r
	}, formatstest.Want{Mailboxes: []string{"migration"}, Messages: 3, Skipped: 0})
}

// TestCorpusSummaryCurrent reads the real folder/summary pairs with the
// mbox's modification time set back to what the summary recorded (a copy
// that kept times): the summary is then current, and its flags and tags
// are what Thunderbird shows. panorama-migration's mbox has no
// X-Mozilla-Status at all; its summary has the first message read and
// tagged $label5, the third unread, and no row for the middle one.
func TestCorpusSummaryCurrent(t *testing.T) {
	tests := []struct {
		file       string
		folderDate int64 // the summary's folderDate
		want       [][]string
		missing    bool // a message not in the summary
	}{
		{"thunderbird/panorama-migration/migration", 0x6826aabe, [][]string{{`\Seen`, "$label5"}, nil, nil}, true},
		{"thunderbird/comm-central-mailnews-test-data/bugmail-1", 0x4b01c51b, [][]string{{`\Seen`, "$label4"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src := testutil.Corpus(t, tt.file)
			dir := t.TempDir()
			dst := filepath.Join(dir, filepath.Base(src))
			for _, ext := range []string{"", ".msf"} {
				b, err := os.ReadFile(src + ext)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dst+ext, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			mtime := time.Unix(tt.folderDate+30, 0) // within Thunderbird's leeway
			if err := os.Chtimes(dst, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			r, w := open(t, dst, thunderbird.Options{})
			boxes, msgs := formatstest.Collect(t, r)
			r.Close()
			if len(msgs) != len(tt.want) {
				t.Fatalf("read %d messages, want %d", len(msgs), len(tt.want))
			}
			for i, m := range msgs {
				if !slices.Equal(m.Flags, tt.want[i]) {
					t.Errorf("message %d flags = %q, want %q", i+1, m.Flags, tt.want[i])
				}
			}
			if b := boxes[0]; b.FlagSource != formats.FlagsFromSummary || !strings.Contains(b.FlagNote, "current") {
				t.Errorf("flag source %q (%s), want the current summary", b.FlagSource, b.FlagNote)
			}
			if tt.missing {
				w.has(t, "the mbox holds 1 message(s) that the current summary (.msf) does not list")
			} else {
				w.hasNot(t, "does not list")
			}
		})
	}
}
