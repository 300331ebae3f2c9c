package eml

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// TestCorpus reads ../shared/corpus/eml (SOURCES.md): 66 files, all read
// without error. The 59 .eml files and the 6 extensionless messages
// (notmuch-broken/broken-cc, empty-part, loop/loop-12, loop/loop-21,
// thunderbird/bug460636, draft1) are messages; dovecot-malformed/COPYING
// is listed as skipped.
func TestCorpus(t *testing.T) {
	src := testutil.Corpus(t, "eml")
	formatstest.Run(t, openFn(src, Config{}, nil), formatstest.Want{
		Mailboxes: []string{"dovecot-malformed", "mimekit", "mimekit/partial", "notmuch-broken", "notmuch-broken/loop", "thunderbird"},
		Messages:  66,
		Skipped:   1,
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []formatstest.Collected) {
			got := byName(msgs)
			if m := got["COPYING"]; m.Skip != SkipNotEML {
				t.Errorf("COPYING: skip %q, want %q", m.Skip, SkipNotEML)
			}
			perFolder := map[string]int{}
			for _, m := range msgs {
				perFolder[m.Mailbox.Path.String()]++
				if m.Skip == "" && m.DateSource == formats.DateUnknown {
					t.Errorf("%s: no date", m.Pos.File)
				}
			}
			want := map[string]int{"dovecot-malformed": 24, "mimekit": 12, "mimekit/partial": 3, "notmuch-broken": 3, "notmuch-broken/loop": 2, "thunderbird": 22}
			for f, n := range want {
				if perFolder[f] != n {
					t.Errorf("%s: %d files, want %d", f, perFolder[f], n)
				}
			}
			// Files starting with a From_ line lose it and nothing else.
			for _, name := range []string{"mailformed_subject.eml", "bug1774805_android_mms.eml", "badly-folded-headers.eml", "multipart-digest.eml"} {
				m := got[name]
				if m.Message == nil || bytes.HasPrefix(m.Bytes, []byte("From ")) {
					t.Errorf("%s: From_ line not stripped", name)
					continue
				}
				raw := readCorpus(t, m.Pos.File)
				if nl := bytes.IndexByte(raw, '\n'); !bytes.Equal(crlf(raw[nl+1:]), m.Bytes) {
					t.Errorf("%s: bytes differ from the file without its first line (CRLF)", name)
				}
			}
			// The Date: of stack-overflow.eml follows a 135 KB To: header.
			if m := got["stack-overflow.eml"]; m.DateSource != formats.DateHeader || m.Date.Year() != 2017 {
				t.Errorf("stack-overflow.eml: date %v (%s), want 2017 from Date:", m.Date, m.DateSource)
			}
			// The 135 KB To: header and the 1.8 MB torture test arrive whole.
			for _, name := range []string{"stack-overflow.eml", "mime-torture.eml"} {
				if m := got[name]; !bytes.Equal(m.Bytes, crlf(readCorpus(t, m.Pos.File))) {
					t.Errorf("%s: bytes differ from the file (after CRLF)", name)
				}
			}
		},
	})
}

func readCorpus(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Clean(p))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crlf is an independent, simple LF/CR → CRLF conversion for comparisons.
func crlf(b []byte) []byte {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
	if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n")) {
		b = append(b, '\r', '\n')
	}
	return b
}
