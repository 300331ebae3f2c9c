package roundtrip

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/convert"
	"mailferry/formats/convert/internal/memsource"
	"mailferry/formats/eml"
	"mailferry/formats/emlx"
	"mailferry/formats/formatstest"
	"mailferry/formats/maildir"
	"mailferry/formats/mbox"
	"mailferry/formats/thunderbird"
	"mailferry/internal/mutf7"
	"mailferry/internal/testutil"
)

// srcMsg is a source message read into memory.
type srcMsg struct {
	*formats.Message
	Bytes []byte
}

// collect reads a source without asserting its contract (the in-memory
// fixture breaks it on purpose: a message without a final line break).
func collect(t *testing.T, r formats.Reader) ([]*formats.Mailbox, []srcMsg) {
	t.Helper()
	ctx := context.Background()
	boxes, err := r.Mailboxes(ctx)
	if err != nil {
		t.Fatalf("source Mailboxes: %v", err)
	}
	var msgs []srcMsg
	for {
		m, err := r.Next(ctx)
		if err == io.EOF {
			return boxes, msgs
		}
		if err != nil {
			t.Fatalf("source Next: %v", err)
		}
		s := srcMsg{Message: m}
		if m.Skip == "" && m.Open != nil {
			rc, err := m.Open()
			if err != nil {
				t.Fatalf("%v: open: %v", m.Pos, err)
			}
			s.Bytes, err = io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatalf("%v: read: %v", m.Pos, err)
			}
		}
		msgs = append(msgs, s)
	}
}

// A source is a way to open one store kind for a round trip.
type source struct {
	name string
	open func(t *testing.T) formats.Reader
}

func noWarn() formats.Options { return formats.Options{} }

func mboxFiles(paths ...string) func(t *testing.T) formats.Reader {
	return func(t *testing.T) formats.Reader {
		var rs []formats.Reader
		for _, p := range paths {
			r, err := mbox.Open(p, nil, mbox.ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, r)
		}
		return formats.Concat(rs...)
	}
}

func sources(t *testing.T) []source {
	mboxTestdata, _ := filepath.Glob(filepath.Join(testutil.ProjectRoot(t), "testdata", "mbox", "*.mbox"))
	srcs := []source{
		{"memory", func(*testing.T) formats.Reader { return memsource.Sample() }},
		{"mbox-testdata", mboxFiles(mboxTestdata...)},
		{"maildir-testdata", func(t *testing.T) formats.Reader {
			r, err := maildir.Open(testutil.Testdata(t, "maildir/plusplus"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"eml-testdata", func(t *testing.T) formats.Reader {
			r, err := eml.Open(testutil.Testdata(t, "eml/tree"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"emlx-testdata", func(t *testing.T) formats.Reader {
			r, err := emlx.Open(testutil.Testdata(t, "emlx/V10tree"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"thunderbird-testdata", func(t *testing.T) formats.Reader {
			r, err := thunderbird.Open(testutil.Testdata(t, "sample-profile"), thunderbird.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
	return srcs
}

// corpusSources are real files of ../shared/corpus (skipped when absent).
func corpusSources() []source {
	return []source{
		{"corpus-mbox", func(t *testing.T) formats.Reader {
			var paths []string
			for _, f := range []string{"mox/imaptest.mbox", "mox/importtest.mbox", "mimekit/simple.mbox.txt",
				"mimekit/unmunged.mbox.txt", "mimekit/issue1189.mbox.txt", "neomutt-test-files/banana.mbox",
				"neomutt-test-files/cherry.mbox", "neomutt-test-files/endive.mbox"} {
				paths = append(paths, testutil.Corpus(t, "mbox/"+f))
			}
			return mboxFiles(paths...)(t)
		}},
		{"corpus-thunderbird-mbox", func(t *testing.T) formats.Reader {
			var rs []formats.Reader
			for _, f := range []string{"comm-central-mailnews-test-data/mbox_modern", "comm-central-mailnews-test-data/mbox_mboxrd",
				"comm-central-mailnews-test-data/mbox_unquoted", "comm-central-mailnews-test-data/bugmail-1",
				"comm-central-mailnews-test-data/SenderHeader", "comm-central-mailnews-test-data/mail-without-from",
				"local-test-data/movemailspool", "panorama-migration/migration"} {
				r, err := thunderbird.Open(testutil.Corpus(t, "thunderbird/"+f), thunderbird.Options{})
				if err != nil {
					t.Fatal(err)
				}
				rs = append(rs, r)
			}
			return formats.Concat(rs...)
		}},
		{"corpus-maildir", func(t *testing.T) formats.Reader {
			r, err := maildir.Open(testutil.Corpus(t, "maildir"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"corpus-emlx", func(t *testing.T) formats.Reader {
			r, err := emlx.Open(testutil.Corpus(t, "applemail/partial-emlx-converter/input"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
		{"corpus-eml", func(t *testing.T) formats.Reader {
			r, err := eml.Open(testutil.Corpus(t, "eml/thunderbird"), noWarn())
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	}
}

// readBack opens an output directory with the reader that matches its
// format ("mbox" output through the Thunderbird reader, as Local Folders).
func readBack(t *testing.T, format, out string) ([]*formats.Mailbox, []formatstest.Collected) {
	t.Helper()
	var r formats.Reader
	var err error
	switch format {
	case convert.FormatMbox:
		r, err = thunderbird.Open(out, thunderbird.Options{})
	case convert.FormatMaildir:
		r, err = maildir.Open(out, noWarn())
	case convert.FormatEML:
		r, err = eml.Open(out, noWarn())
	}
	if err != nil {
		t.Fatalf("read back %s output: %v", format, err)
	}
	defer r.Close()
	return formatstest.Collect(t, r)
}

// normalize is the documented normalization before comparing bytes:
// X-Mozilla-Status, -Status2 and -Keys are removed from the header (the
// mbox writer drops the source's and writes its own, which the Thunderbird
// reader removes again), and the message ends with CRLF.
func normalize(b []byte) []byte {
	var out []byte
	inHeader := true
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if inHeader {
			if len(bytes.TrimRight(l, "\r\n")) == 0 {
				inHeader = false
			} else if strings.HasPrefix(strings.ToLower(string(l)), "x-mozilla-") {
				continue
			}
		}
		out = append(out, l...)
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\r', '\n')
	}
	return out
}

// writtenDate is the date the writers use (see the convert package doc).
func writtenDate(m srcMsg) time.Time {
	if !m.Date.IsZero() {
		return m.Date
	}
	h := formats.ParseHeader(m.Bytes)
	if d, ok := h.Date(); ok {
		return d
	}
	if d, ok := h.ReceivedDate(); ok {
		return d
	}
	return time.Unix(0, 0)
}

// expectDate is the date the reader of an output must find, given each
// reader's documented order of date sources: the Thunderbird reader
// prefers Received: and Date: over the From_ line we write; the eml reader
// prefers Date: and Received: over the file time; the maildir reader takes
// the file time. The maildir and eml readers take times before 1990 for
// unknown.
func expectDate(format string, m srcMsg) (time.Time, bool) {
	raw := writtenDate(m)
	w := raw
	h := formats.ParseHeader(m.Bytes)
	if w.Before(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) {
		w = time.Time{} // the readers take such times for unknown
	}
	switch format {
	case convert.FormatMbox:
		if d, ok := h.ReceivedDate(); ok {
			return d, true
		}
		if d, ok := h.Date(); ok {
			return d, true
		}
		return raw.Truncate(time.Second), true // the From_ line has seconds, and 1970 for undated
	case convert.FormatEML:
		if d, ok := h.Date(); ok {
			return d, true
		}
		if d, ok := h.ReceivedDate(); ok {
			return d, true
		}
		return w, true
	default:
		return w, true
	}
}

// expectFlags are the flags the output can keep: none in EML (the eml
// reader marks everything \Seen), no \Draft in mbox, at most 26 keywords
// per folder in Maildir (assigned in the order the messages come).
func expectFlags(format string, m srcMsg, folderKeywords map[string]bool) []string {
	var out []string
	for _, f := range m.Flags {
		switch {
		case format == convert.FormatEML:
		case format == convert.FormatMbox && strings.EqualFold(f, `\Draft`):
		case format == convert.FormatMaildir && !strings.HasPrefix(f, `\`) && !strings.EqualFold(f, "$Forwarded"):
			k := strings.ToLower(f)
			if !folderKeywords[k] {
				if len(folderKeywords) >= 26 {
					continue
				}
				folderKeywords[k] = true
			}
			out = append(out, f)
		default:
			out = append(out, f)
		}
	}
	if format == convert.FormatEML {
		out = []string{`\Seen`}
	}
	return flagSet(out)
}

func flagSet(flags []string) []string {
	var out []string
	for _, f := range flags {
		f = strings.ToLower(f)
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// roundTrip converts a source into format, reads the output back and
// compares folders, bytes, flags and dates.
func roundTrip(t *testing.T, src source, format string) {
	boxes, msgs := collect(t, src.open(t))
	out := filepath.Join(t.TempDir(), "out")
	rep, err := convert.Convert(context.Background(), src.open(t), convert.Options{Format: format, Out: out})
	if err != nil {
		t.Fatalf("Convert: %v", err)
	}
	if len(rep.Folders) != len(boxes) {
		t.Fatalf("report has %d folders, source %d", len(rep.Folders), len(boxes))
	}
	tot := rep.Totals
	if tot.Written == 0 {
		t.Errorf("nothing written: the round trip compares nothing")
	}
	t.Logf("%d folders, %d messages written, %d skipped", tot.Folders, tot.Written, tot.Skipped)
	if tot.Found != len(msgs) || tot.Found != tot.Written+tot.Skipped+tot.Quarantined+tot.Failed || tot.Failed != 0 {
		t.Errorf("totals %+v for %d source messages", tot, len(msgs))
	}

	// The output names of each source mailbox, and what it should hold.
	type want struct {
		m     srcMsg
		flags []string
		date  time.Time
	}
	byPath := map[string][]want{}
	outNames := map[*formats.Mailbox]string{}
	for i, b := range boxes {
		fr := rep.Folders[i]
		if fr.Source != b.DisplayPath() {
			t.Fatalf("report folder %d is %q, source mailbox %q", i, fr.Source, b.DisplayPath())
		}
		outNames[b] = strings.Join(fr.Names, "/")
		if _, ok := byPath[outNames[b]]; !ok {
			byPath[outNames[b]] = nil
		}
	}
	keywords := map[string]map[string]bool{}
	skipped, quarantined := 0, 0
	for _, m := range msgs {
		if m.Quarantine != "" {
			// Kept as it is in not-converted/, named in the report.
			nc := rep.NotConverted[quarantined]
			quarantined++
			b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(nc.Output)))
			if err != nil || !bytes.Equal(b, m.Bytes) || nc.Source != m.Pos.String() || nc.Bytes != int64(len(b)) {
				t.Errorf("%v: quarantined bytes kept as %+v: %v (equal: %v)", m.Pos, nc, err, bytes.Equal(b, m.Bytes))
			}
			continue
		}
		if m.Skip != "" {
			skipped++
			continue
		}
		p := outNames[m.Mailbox]
		if keywords[p] == nil {
			keywords[p] = map[string]bool{}
		}
		d, _ := expectDate(format, m)
		byPath[p] = append(byPath[p], want{m: m, flags: expectFlags(format, m, keywords[p]), date: d})
	}
	if skipped != tot.Skipped || quarantined != tot.Quarantined || quarantined != len(rep.NotConverted) {
		t.Errorf("report skipped %d, quarantined %d (%d listed); source has %d skipped, %d quarantined",
			tot.Skipped, tot.Quarantined, len(rep.NotConverted), skipped, quarantined)
	}

	backBoxes, back := readBack(t, format, out)
	seen := map[string]bool{}
	for _, b := range backBoxes {
		seen[b.Path.String()] = true
	}
	for p := range byPath {
		if !seen[p] {
			t.Errorf("folder %q is missing from the %s output (found %q)", p, format, keys(seen))
		}
	}
	got := map[string][]formatstest.Collected{}
	for _, c := range back {
		p := c.Mailbox.Path.String()
		if p == convert.NotConvertedDir && c.Skip != "" {
			continue // the EML reader lists the kept files, as not .eml files
		}
		if _, ok := byPath[p]; !ok {
			t.Errorf("%v: message in folder %q, which the source does not have", c.Pos, p)
			continue
		}
		got[p] = append(got[p], c)
	}
	for p, ws := range byPath {
		gs := got[p]
		if len(gs) != len(ws) {
			t.Errorf("folder %q: read back %d messages, want %d", p, len(gs), len(ws))
		}
		used := make([]bool, len(gs))
	next:
		for _, w := range ws {
			wb := normalize(w.m.Bytes)
			for i, g := range gs {
				if used[i] || !bytes.Equal(normalize(g.Bytes), wb) {
					continue
				}
				used[i] = true
				if gf := flagSet(g.Flags); !slices.Equal(gf, w.flags) {
					t.Errorf("%v → %v: flags %q, want %q", w.m.Pos, g.Pos, gf, w.flags)
				}
				if !g.Date.Equal(w.date) {
					t.Errorf("%v → %v: date %v (%s), want %v", w.m.Pos, g.Pos, g.Date, g.DateSource, w.date)
				}
				continue next
			}
			t.Errorf("%v (folder %q): no message with these bytes in the output:\n%q", w.m.Pos, p, wb)
		}
	}
	for _, b := range backBoxes {
		if _, ok := byPath[b.Path.String()]; ok {
			continue
		}
		// Allowed: empty parents the format needs (an mbox parent file, an
		// eml parent directory) and Maildir's INBOX.
		if len(got[b.Path.String()]) > 0 {
			t.Errorf("extra folder %q with messages", b.Path)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestRoundTrip converts every source kind into every output format and
// reads the result back.
func TestRoundTrip(t *testing.T) {
	for _, src := range sources(t) {
		for _, format := range convert.Formats {
			t.Run(src.name+"/"+format, func(t *testing.T) { roundTrip(t, src, format) })
		}
	}
}

// TestRoundTripCorpus does the same with real files from the shared
// corpus.
func TestRoundTripCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("corpus round trips in -short mode")
	}
	for _, src := range corpusSources() {
		for _, format := range convert.Formats {
			t.Run(src.name+"/"+format, func(t *testing.T) { roundTrip(t, src, format) })
		}
	}
}

// TestMboxReaderDates reads the mbox output file by file with the generic
// mbox reader, which takes the From_ line first: every date written is
// there to the second, in UTC, and the bytes match.
func TestMboxReaderDates(t *testing.T) {
	src := memsource.Sample()
	srcBoxes, msgs := collect(t, memsource.Sample())
	out := filepath.Join(t.TempDir(), "out")
	rep, err := convert.Convert(context.Background(), src, convert.Options{Format: convert.FormatMbox, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	for i, fr := range rep.Folders {
		r, err := mbox.Open(filepath.Join(out, filepath.FromSlash(fr.Output)), nil, mbox.ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, back := formatstest.Collect(t, r)
		r.Close()
		var want []srcMsg
		for _, m := range msgs {
			if m.Mailbox == srcBoxes[i] && m.Skip == "" {
				want = append(want, m)
			}
		}
		if len(back) != len(want) {
			t.Errorf("%s: %d messages, want %d", fr.Output, len(back), len(want))
			continue
		}
		for j, g := range back {
			w := want[j]
			if !bytes.Equal(normalize(g.Bytes), normalize(w.Bytes)) {
				t.Errorf("%s #%d: bytes\n%q\nwant\n%q", fr.Output, j+1, normalize(g.Bytes), normalize(w.Bytes))
			}
			wd := writtenDate(w).Truncate(time.Second)
			if !g.Date.Equal(wd) || g.DateSource != formats.DateFromLine {
				t.Errorf("%s #%d: date %v from %s, want %v from the From_ line", fr.Output, j+1, g.Date, g.DateSource, wd)
			}
		}
	}
}

// TestNamesMatchThunderbird checks that every mbox file name the writer
// makes is one Thunderbird keeps as it is (NS_MsgHashIfNecessary, on the
// strictest platform), and that every Maildir name decodes back to the
// safe name with our maildir reader's modified UTF-7 decoder.
func TestNamesMatchThunderbird(t *testing.T) {
	for _, in := range []string{"a;b", "x#y", "notes.", "back~", ".hidden", strings.Repeat("ü", 70),
		strings.Repeat("😀", 40), `a*b?c"d<e>f|g:h`, "CON", "Entwürfe & Co", "", "..", "a\x01b", "日本語"} {
		safe := convert.SafeName(convert.FormatMbox, in)
		for _, goos := range []string{"windows", "linux", "darwin"} {
			if h := thunderbird.HashIfNecessary(safe, goos); h != safe {
				t.Errorf("SafeName(mbox, %q) = %q, which Thunderbird on %s would store as %q", in, safe, goos, h)
			}
		}
		msafe := convert.SafeName(convert.FormatMaildir, in)
		enc := mutf7.Encode(msafe)
		if dec, ok := mutf7.Decode(enc); !ok || dec != msafe {
			t.Errorf("mutf7.Encode(%q) = %q decodes to %q, %v", msafe, enc, dec, ok)
		}
	}
}

// TestCancelledOutputReadsBack stops conversions midway and reads what
// is there with the matching reader: only complete messages, exactly as
// many as the report says were written, each one equal to a source
// message.
func TestCancelledOutputReadsBack(t *testing.T) {
	_, msgs := collect(t, memsource.Sample())
	for _, format := range convert.Formats {
		for _, after := range []int{2, 7} {
			t.Run(fmt.Sprintf("%s/after-%d", format, after), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				out := filepath.Join(t.TempDir(), "out")
				n := 0
				rep, err := convert.Convert(ctx, memsource.Sample(), convert.Options{Format: format, Out: out,
					OnMessage: func(*formats.Message) {
						if n++; n == after {
							cancel()
						}
					}})
				if err != context.Canceled {
					t.Fatalf("Convert = %v, want context.Canceled", err)
				}
				_, back := readBack(t, format, out)
				if len(back) != rep.Totals.Written {
					t.Errorf("read back %d messages, report says %d written", len(back), rep.Totals.Written)
				}
				for _, g := range back {
					found := false
					for _, m := range msgs {
						if m.Skip == "" && bytes.Equal(normalize(m.Bytes), normalize(g.Bytes)) {
							found = true
							break
						}
					}
					if !found {
						t.Errorf("%v: read back a message that is in no source: %q", g.Pos, g.Bytes)
					}
				}
			})
		}
	}
}
