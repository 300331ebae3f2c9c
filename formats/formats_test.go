package formats

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	tests := []struct {
		name string
		in   string
		want time.Time
		ok   bool
	}{
		{"rfc5322", "Tue, 1 Jul 2003 10:52:37 +0200", utc(2003, 7, 1, 8, 52, 37), true},
		{"no weekday", "1 Jul 2003 10:52:37 +0200", utc(2003, 7, 1, 8, 52, 37), true},
		{"minus zero", "Tue, 1 Jul 2003 10:52:37 -0000", utc(2003, 7, 1, 10, 52, 37), true},
		{"obsolete EST", "Fri, 21 Nov 1997 09:55:06 EST", utc(1997, 11, 21, 14, 55, 6), true},
		{"two-digit year 97", "21 Nov 97 09:55:06 GMT", utc(1997, 11, 21, 9, 55, 6), true},
		{"two-digit year 03", "21 Nov 03 09:55:06 GMT", utc(2003, 11, 21, 9, 55, 6), true},
		{"comment", "Thu, 13 Feb 1969 23:32:54 -0330 (Newfoundland Time)", time.Time{}, false},
		{"comment 2", "Thu, 13 Feb 2020 23:32:54 -0330 (Newfoundland Time)", utc(2020, 2, 14, 3, 2, 54), true},
		{"zone then comment", "Mon, 7 Jun 2010 10:00:00 +0000 (UTC)", utc(2010, 6, 7, 10, 0, 0), true},
		{"no seconds", "Mon, 7 Jun 2010 10:00 +0000", utc(2010, 6, 7, 10, 0, 0), true},
		{"ctime", "Sat Jan  3 01:05:34 1996", utc(1996, 1, 3, 1, 5, 34), true},
		{"ctime zero padded", "Fri Aug 24 11:55:47 2018", utc(2018, 8, 24, 11, 55, 47), true},
		{"ctime with zone", "Fri Jul  8 12:08:34 PDT 2011", utc(2011, 7, 8, 19, 8, 34), true},
		{"imap style", " 5-Jan-2024 14:03:22 +0100", utc(2024, 1, 5, 13, 3, 22), true},
		{"military zone", "Mon, 7 Jun 2010 10:00:00 Z", utc(2010, 6, 7, 10, 0, 0), true},
		{"full month", "7 June 2010 10:00:00 +0000", utc(2010, 6, 7, 10, 0, 0), true},
		{"impossible day", "Tue, 35 Aug 2007 10:56:21 +0900", time.Time{}, false},
		{"garbage", "yesterday", time.Time{}, false},
		{"empty", "", time.Time{}, false},
		{"no time", "Tue, 1 Jul 2003", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in, time.UTC)
		if ok != tt.ok || (ok && !got.Equal(tt.want)) {
			t.Errorf("%s: ParseDate(%q) = %v, %v; want %v, %v", tt.name, tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCRLFWriter(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"lf", "a\nb\n", "a\r\nb\r\n"},
		{"crlf kept", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"bare cr", "a\rb\r", "a\r\nb\r\n"},
		{"no final newline", "a\nb", "a\r\nb\r\n"},
		{"mixed", "a\r\n\nb\r\rc", "a\r\n\r\nb\r\n\r\nc\r\n"},
	}
	for _, tt := range tests {
		// Write byte by byte and all at once: both must agree.
		for _, chunk := range []int{1, 1 << 20} {
			var out bytes.Buffer
			w := NewCRLFWriter(&out)
			for in := []byte(tt.in); len(in) > 0; {
				n := min(chunk, len(in))
				if _, err := w.Write(in[:n]); err != nil {
					t.Fatal(err)
				}
				in = in[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want || w.N() != int64(len(tt.want)) {
				t.Errorf("%s (chunk %d): CRLF(%q) = %q (n=%d), want %q", tt.name, chunk, tt.in, out.String(), w.N(), tt.want)
			}
		}
	}
}

func TestSpoolSpillsToDisk(t *testing.T) {
	s := NewSpool(t.TempDir(), 8)
	defer s.Close()
	for _, msg := range []string{"short", "much longer than eight bytes", "x"} {
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
		for _, part := range strings.SplitAfter(msg, " ") {
			if _, err := s.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 { // Open may be called more than once
			r, err := s.Open()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			r.Close()
			if string(got) != msg || s.Size() != int64(len(msg)) {
				t.Errorf("spool of %q gave %q (size %d)", msg, got, s.Size())
			}
		}
	}
}

// TestSpoolExpect: an announced size that fits gets an exact buffer; a
// larger one goes to the file from the first byte (no memory buffer); a
// wrong announcement still keeps every byte.
func TestSpoolExpect(t *testing.T) {
	s := NewSpool(t.TempDir(), 8)
	defer s.Close()
	for _, tc := range []struct {
		msg      string
		expect   int64
		inMemory bool
	}{
		{"short", 5, true},
		{"much longer than eight bytes", 28, false},
		{"told 3, is 7", 3, false}, // grows past the limit: spills
		{"told 99", 99, false},     // fits, but announced as large
		{"x", 1, true},
	} {
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
		s.Expect(tc.expect)
		// A fresh spool gets exactly the size; a used one keeps a
		// buffer that is large enough.
		if tc.inMemory && (cap(s.buf) < int(tc.expect) || tc.msg == "short" && cap(s.buf) != 5) {
			t.Errorf("%q: buffer capacity %d for %d bytes", tc.msg, cap(s.buf), tc.expect)
		}
		for _, part := range strings.SplitAfter(tc.msg, " ") {
			if _, err := s.Write([]byte(part)); err != nil {
				t.Fatal(err)
			}
			if tc.expect > 8 && s.Bytes() != nil {
				t.Errorf("%q: held in memory after writing %q", tc.msg, part)
			}
		}
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != tc.msg || (s.Bytes() != nil) != tc.inMemory {
			t.Errorf("spool of %q gave %q (in memory %v)", tc.msg, got, s.Bytes() != nil)
		}
	}
}

func TestParseHeader(t *testing.T) {
	raw := "Received: from a by b;\r\n\tTue, 1 Jul 2003 10:52:37 +0200\r\nReceived: from c; Mon, 30 Jun 2003 10:00:00 +0000\r\n" +
		"Date: Mon, 30 Jun 2003 09:00:00 +0000\r\nSubject: folded\r\n  twice\r\n\r\nFrom body: not a header\r\n"
	h := ParseHeader([]byte(raw))
	if len(h) != 4 {
		t.Fatalf("ParseHeader found %d fields, want 4: %q", len(h), h)
	}
	if v, _ := h.Get("subject"); v != "folded twice" {
		t.Errorf("Subject = %q, want %q", v, "folded twice")
	}
	if d, ok := h.ReceivedDate(); !ok || !d.Equal(time.Date(2003, 7, 1, 8, 52, 37, 0, time.UTC)) {
		t.Errorf("ReceivedDate = %v, %v; want the top-most Received", d, ok)
	}
	if got, want := HeaderEnd([]byte(raw)), strings.Index(raw, "\r\n\r\n")+4; got != want {
		t.Errorf("HeaderEnd = %d, want %d", got, want)
	}
	if HeaderEnd([]byte("Subject: x\r\n")) != -1 {
		t.Errorf("HeaderEnd without blank line should be -1")
	}
}

func TestIsHeaderLine(t *testing.T) {
	for line, want := range map[string]bool{
		"Subject: hi\n": true, "X-Foo:\r\n": true, "\tcontinued\n": true, "From me to you\n": false,
		"\n": false, ":empty name\n": false, "Bad Name: x\n": false, "Name : obsolete space\n": true,
	} {
		if got := IsHeaderLine([]byte(line)); got != want {
			t.Errorf("IsHeaderLine(%q) = %v, want %v", line, got, want)
		}
	}
}

// memReader yields fixed messages; it stands in for a real reader in the
// tests of Summarize and Concat.
type memReader struct {
	boxes []*Mailbox
	msgs  []*Message
	i     int
}

func (r *memReader) Mailboxes(context.Context) ([]*Mailbox, error) { return r.boxes, nil }
func (r *memReader) Next(ctx context.Context) (*Message, error) {
	if r.i >= len(r.msgs) {
		return nil, io.EOF
	}
	r.i++
	return r.msgs[r.i-1], nil
}
func (r *memReader) Close() error { return nil }

func TestSummarizeAndConcat(t *testing.T) {
	inbox := &Mailbox{Account: "Local Folders", Path: Folder{"Inbox"}, Special: SpecialInbox}
	empty := &Mailbox{Path: Folder{"Archive", "2019"}}
	d := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &memReader{boxes: []*Mailbox{inbox}, msgs: []*Message{
		{Mailbox: inbox, Flags: []string{`\Seen`, "$label1"}, Size: 10, Date: d, DateSource: DateReceived},
		{Mailbox: inbox, Flags: []string{`\Flagged`}, Size: 5, Incomplete: "partial"},
		{Mailbox: inbox, Skip: SkipDeleted, Size: 7},
		{Mailbox: inbox, Quarantine: "text before the first From_ line", Size: 3},
	}}
	inbox.FlagSource, inbox.FlagNote = FlagsFromSummary, "the .msf is current"
	b := &memReader{boxes: []*Mailbox{empty}}
	s, err := Summarize(context.Background(), Concat(a, b), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Folders) != 2 || s.Folders[1].Mailbox != empty || s.Folders[1].Messages != 0 {
		t.Fatalf("folders = %+v, want Inbox and the empty Archive/2019", s.Folders)
	}
	in := s.Folders[0]
	if in.Messages != 2 || in.Bytes != 15 || in.Read != 1 || in.Flagged != 1 || in.Incomplete != 1 ||
		in.SkippedTotal() != 1 || in.Skipped[SkipDeleted] != 1 || in.Keywords["$label1"] != 1 ||
		in.Dates[DateReceived] != 1 || in.Dates["none"] != 1 {
		t.Errorf("inbox summary = %+v", in)
	}
	if s.Totals.Messages != 2 || s.Totals.SkippedTotal() != 1 || s.Totals.QuarantinedTotal() != 1 ||
		in.Quarantined["text before the first From_ line"] != 1 {
		t.Errorf("totals = %+v, want 2 messages, 1 skipped, 1 quarantined", s.Totals)
	}
	if in.FlagSource != FlagsFromSummary || in.FlagNote == "" || s.Folders[1].FlagSource != FlagsUnknown {
		t.Errorf("flag sources = %q %q, %q; want the mailboxes'", in.FlagSource, in.FlagNote, s.Folders[1].FlagSource)
	}
	if got := inbox.DisplayPath(); got != "Local Folders/Inbox" {
		t.Errorf("DisplayPath = %q", got)
	}
}

func TestSelector(t *testing.T) {
	box := func(account string, p ...string) *Mailbox { return &Mailbox{Account: account, Path: Folder(p)} }
	inbox := box("Local Folders", "Inbox")
	arch := box("Local Folders", "Archives", "2019")
	pop := box("pop.example.com", "Sent")
	tests := []struct {
		name             string
		include, exclude []string
		want             map[*Mailbox]bool
	}{
		{"everything", nil, nil, map[*Mailbox]bool{inbox: true, arch: true, pop: true}},
		{"subtree by parent", []string{"Archives"}, nil, map[*Mailbox]bool{inbox: false, arch: true, pop: false}},
		{"with account", []string{"Local Folders/*"}, nil, map[*Mailbox]bool{inbox: true, arch: true, pop: false}},
		{"exclude wins", []string{"*"}, []string{"Archives/2019"}, map[*Mailbox]bool{inbox: true, arch: false, pop: true}},
		{"glob", []string{"pop.*"}, nil, map[*Mailbox]bool{inbox: false, arch: false, pop: true}},
		{"folder without its account", []string{"Archives/2019"}, nil, map[*Mailbox]bool{inbox: false, arch: true, pop: false}},
		{"folder with its account", []string{"Local Folders/Archives/2019"}, nil, map[*Mailbox]bool{inbox: false, arch: true, pop: false}},
		{"account alone", []string{"Local Folders"}, nil, map[*Mailbox]bool{inbox: true, arch: true, pop: false}},
		{"exclude an account", nil, []string{"pop.example.com"}, map[*Mailbox]bool{inbox: true, arch: true, pop: false}},
		{"a name in any account", []string{"Sent"}, nil, map[*Mailbox]bool{inbox: false, arch: false, pop: true}},
	}
	for _, tt := range tests {
		s, err := NewSelector(tt.include, tt.exclude)
		if err != nil {
			t.Fatal(err)
		}
		for b, want := range tt.want {
			if got := s.Selected(b); got != want {
				t.Errorf("%s: Selected(%q) = %v, want %v", tt.name, b.DisplayPath(), got, want)
			}
		}
	}
	if _, err := NewSelector([]string{"[bad"}, nil); err == nil {
		t.Errorf("NewSelector accepted a malformed pattern")
	}
}

// parseHeaderReference is the first, simple ParseHeader (one string per
// field, values concatenated per continuation line), kept to check that
// the faster one gives the same fields.
func parseHeaderReference(b []byte) Header {
	var h Header
	for len(b) > 0 {
		j := bytes.IndexByte(b, '\n')
		var line []byte
		if j < 0 {
			line, b = b, nil
		} else {
			line, b = b[:j], b[j+1:]
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(h) == 0 {
				continue
			}
			h[len(h)-1].Value += " " + strings.TrimSpace(string(line))
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || !isFieldName(line[:colon]) {
			break
		}
		h = append(h, HeaderField{
			Name:  string(bytes.TrimRight(line[:colon], " \t")),
			Value: strings.TrimSpace(string(line[colon+1:])),
		})
	}
	return h
}

func TestParseHeaderMatchesReference(t *testing.T) {
	inputs := []string{
		"",
		"\r\n",
		"Subject: x",
		"Subject: x\r",
		" leading continuation\nSubject: x\n\tfolded\n \n\nbody",
		"A: 1\nB : 2\nC:3\r\n  c2\r\n\tc3  \nnot a header\nD: 4\n",
		"X-Mozilla-Keys: $label1\n  \n\t\nSubject: s\n",
		"Name with space: no\nA: b\n",
		": empty name\n",
		"A: \xc2\xa0nbsp\xc2\xa0\n \xc2\xa0cont\n",
		"A: b\n\n",
		"To: " + strings.Repeat("a@b,\n ", 2000) + "c@d\nSubject: many continuations\n\nbody\n",
	}
	for _, in := range inputs {
		got, want := ParseHeader([]byte(in)), parseHeaderReference([]byte(in))
		if !slices.Equal(got, want) {
			t.Errorf("ParseHeader(%.60q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte("A: 1\nB : 2\r\n  c2\r\n\tc3  \nnot a header\nD: 4\n"))
	f.Add([]byte(" x\nSubject: y\n\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := ParseHeader(b), parseHeaderReference(b); !slices.Equal(got, want) {
			t.Errorf("ParseHeader(%q) = %q, want %q", b, got, want)
		}
	})
}

// TestParseHeaderAllocs: a header with folded fields costs three
// allocations (the fields, one string of the block, one of the unfolded
// values), whatever its number of fields and continuation lines.
func TestParseHeaderAllocs(t *testing.T) {
	raw := []byte("Received: from a\r\n\tby b;\r\n\tMon, 1 Jan 2001 00:00:00 +0000\r\n" +
		"DKIM-Signature: v=1;\r\n\th=from:to;\r\n\tb=xyz\r\nSubject: s\r\nFrom: a@b\r\n\r\nbody\r\n")
	var h Header
	n := testing.AllocsPerRun(100, func() { h = ParseHeader(raw) })
	if n > 3 {
		t.Errorf("ParseHeader: %v allocations, want at most 3", n)
	}
	if v, _ := h.Get("DKIM-Signature"); v != "v=1; h=from:to; b=xyz" {
		t.Errorf("DKIM-Signature = %q", v)
	}
}
