package thunderbird_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
)

// warnings collects reader warnings for assertions.
type warnings struct {
	mu   sync.Mutex
	list []string
}

func (w *warnings) add(x formats.Warning) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, x.String())
}

func (w *warnings) has(t *testing.T, substr string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.list {
		if strings.Contains(s, substr) {
			return
		}
	}
	t.Errorf("no warning containing %q; warnings:\n  %s", substr, strings.Join(w.list, "\n  "))
}

func (w *warnings) hasNot(t *testing.T, substr string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.list {
		if strings.Contains(s, substr) {
			t.Errorf("unexpected warning: %s", s)
		}
	}
}

func open(t *testing.T, source string, opts thunderbird.Options) (*thunderbird.Reader, *warnings) {
	t.Helper()
	w := &warnings{}
	opts.Warn = w.add
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	r, err := thunderbird.Open(source, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", source, err)
	}
	return r, w
}

// msgKey finds a collected message by subject.
func bySubject(t *testing.T, msgs []formatstest.Collected) map[string]formatstest.Collected {
	t.Helper()
	out := map[string]formatstest.Collected{}
	for _, m := range msgs {
		subj := ""
		if m.Bytes != nil {
			h := formats.ParseHeader(m.Bytes)
			subj, _ = h.Get("Subject")
		}
		if subj == "" {
			subj = fmt.Sprintf("%v", m.Pos)
		}
		out[subj] = m
	}
	return out
}

func TestStandardProfile(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	want := tbtest.StandardWant()

	r, w := open(t, built.Root, thunderbird.Options{})
	boxes, msgs := formatstest.Collect(t, r)
	r.Close()

	got := make([]tbtest.WantFolder, len(boxes))
	counts := map[*formats.Mailbox]*tbtest.WantFolder{}
	for i, b := range boxes {
		got[i] = tbtest.WantFolder{Path: b.DisplayPath(), Special: string(b.Special)}
		counts[b] = &got[i]
	}
	for _, m := range msgs {
		c := counts[m.Mailbox]
		if m.Skip != "" {
			c.Skipped++
		} else {
			c.Messages++
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("mailboxes:\n got  %v\n want %v", got, want)
	}

	type wantMsg struct {
		flags      []string
		date       string
		source     formats.DateSource
		skip       string
		incomplete string
	}
	wantMsgs := map[string]wantMsg{
		"read and replied":             {flags: []string{`\Seen`, `\Answered`}, date: "2024-01-02T10:00:00+01:00", source: formats.DateReceived},
		"flagged with tags":            {flags: []string{`\Flagged`, "$label1", "projekt-x", "later-tag"}, date: "2024-01-03T11:00:00Z", source: formats.DateReceived},
		"only a Date header":           {flags: []string{`\Seen`, "$Junk"}, date: "2024-01-05T08:00:00Z", source: formats.DateHeader},
		"sent mail":                    {flags: []string{`\Seen`}, date: "2024-01-06T09:00:00Z", source: formats.DateHeader},
		"archived":                     {flags: []string{`\Seen`}, date: "2024-01-07T09:00:00Z", source: formats.DateHeader},
		"only a From line":             {flags: []string{`\Seen`}, date: "2015-01-03T01:05:34Z", source: formats.DateFromLine},
		"no date at all":               {flags: nil, date: "2020-02-02T12:00:00Z", source: formats.DateFileMtime},
		"partial download":             {flags: []string{`\Seen`}, date: "2024-01-08T09:00:00Z", source: formats.DateHeader, incomplete: thunderbird.IncompletePartial},
		"forwarded with label 2":       {flags: []string{`\Seen`, "$Forwarded", "$label2"}, date: "2024-01-09T09:00:00Z", source: formats.DateHeader},
		"a draft":                      {flags: []string{`\Draft`}, date: "2024-01-10T09:00:00Z", source: formats.DateHeader},
		"Umlaute":                      {flags: []string{`\Seen`}, date: "2024-01-11T09:00:00Z", source: formats.DateHeader},
		"noch mehr Ärger":              {flags: nil, date: "2024-01-12T09:00:00Z", source: formats.DateHeader},
		"hashed name from folderCache": {flags: []string{`\Seen`}, date: "2024-01-13T09:00:00Z", source: formats.DateHeader},
		"hashed name from msf":         {flags: []string{`\Seen`}, date: "2024-01-14T09:00:00Z", source: formats.DateHeader},
		"kept in trash":                {flags: []string{`\Seen`}, date: "2024-01-16T09:00:00Z", source: formats.DateHeader},
		"maildir read":                 {flags: []string{`\Seen`}, date: "2024-01-17T09:00:00Z", source: formats.DateHeader},
		"maildir flagged":              {flags: []string{`\Flagged`, "todo"}, date: "2024-01-18T09:00:00Z", source: formats.DateHeader},
		"cached":                       {flags: []string{`\Seen`}, date: "2024-01-19T09:00:00Z", source: formats.DateHeader},
		// skipped ones
		"deleted not compacted": {flags: []string{`\Seen`}, date: "2024-01-04T09:00:00Z", source: formats.DateHeader, skip: formats.SkipDeleted},
		"deleted in trash":      {flags: []string{`\Seen`}, date: "2024-01-15T09:00:00Z", source: formats.DateHeader, skip: formats.SkipDeleted},
		"deleted on the server": {flags: []string{`\Seen`}, date: "2024-01-20T09:00:00Z", source: formats.DateHeader, skip: thunderbird.SkipIMAPDeleted},
	}
	got2 := bySubject(t, msgs)
	if len(got2) != len(wantMsgs) || len(msgs) != len(wantMsgs) {
		t.Errorf("read %d messages (%d subjects), want %d", len(msgs), len(got2), len(wantMsgs))
	}
	for subj, wm := range wantMsgs {
		m, ok := got2[subj]
		if !ok {
			t.Errorf("message %q not read", subj)
			continue
		}
		if !slices.Equal(m.Flags, wm.flags) {
			t.Errorf("%q: flags %q, want %q", subj, m.Flags, wm.flags)
		}
		if d := m.Date.Format(time.RFC3339); d != wm.date || m.DateSource != wm.source {
			t.Errorf("%q: date %s (%s), want %s (%s)", subj, d, m.DateSource, wm.date, wm.source)
		}
		if m.Skip != wm.skip {
			t.Errorf("%q: skip %q, want %q", subj, m.Skip, wm.skip)
		}
		if m.Incomplete != wm.incomplete {
			t.Errorf("%q: incomplete %q, want %q", subj, m.Incomplete, wm.incomplete)
		}
		for _, h := range []string{"X-Mozilla-Status:", "X-Mozilla-Status2:", "X-Mozilla-Keys:"} {
			if bytes.Contains(m.Bytes, []byte(h)) {
				t.Errorf("%q: %s not removed from the bytes", subj, h)
			}
		}
	}

	// Accounts: for scan and a guided run.
	var accts []string
	for _, a := range r.Accounts() {
		accts = append(accts, fmt.Sprintf("%s|%s|%s|%s|%s|%v|%s", a.Name, a.Type, a.Hostname, a.UserName, a.DirFrom, a.IMAPCache, a.Skip))
	}
	wantAccts := []string{
		"alice@example.com|pop3|pop.example.com|alice|directory-rel|false|",
		"Local Folders|none|Local Folders|nobody|directory-rel|false|",
		"Maildir Account|pop3|maildir.example.com|bob|directory-rel|false|",
		"News & Blogs|rss|Feeds||||" + thunderbird.SkipRSS,
		"imap.example.com|imap|imap.example.com||disk|true|",
	}
	wantAccts[3] = "News & Blogs|rss|Feeds|||false|" + thunderbird.SkipRSS
	if !slices.Equal(accts, wantAccts) {
		t.Errorf("accounts:\n got  %q\n want %q", accts, wantAccts)
	}
	if a := r.Accounts()[2]; !a.Maildir {
		t.Errorf("maildir account not marked Maildir: %+v", a)
	}
	if a := r.Accounts()[4]; !strings.Contains(a.Note, thunderbird.NoteIMAPCache) {
		t.Errorf("ImapMail account note = %q, want it to contain %q", a.Note, thunderbird.NoteIMAPCache)
	}

	w.has(t, `has 2 profiles; reading the default one, "default-release"`)
	w.has(t, "nstmp: leftover of an interrupted compaction")
	w.has(t, "1 file(s) in tmp/")
	w.has(t, `account "News & Blogs" skipped`)
	w.hasNot(t, "the summary (.msf) lists")
	w.hasNot(t, "looks like a hashed name")
}
