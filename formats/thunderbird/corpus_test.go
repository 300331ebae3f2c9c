package thunderbird_test

import (
	"slices"
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
			// The mbox has no X-Mozilla-Status: flags and the $label5 tag
			// come from the .msf, matched by storeToken (offsets 0 and
			// 1143); the middle message is not in the summary.
			want := [][]string{{`\Seen`, "$label5"}, nil, nil}
			for i, m := range msgs {
				if !slices.Equal(m.Flags, want[i]) {
					t.Errorf("message %d flags = %q, want %q", i+1, m.Flags, want[i])
				}
			}
			if msgs[2].Pos.Offset != 1143 {
				t.Errorf("third message at offset %d, want 1143 (its storeToken)", msgs[2].Pos.Offset)
			}
			w.has(t, "the summary (.msf) lists 2 messages, the mbox holds 3")
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
