package upload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/upload/rehearsal"
)

// awkwardSource is a Thunderbird-like source with the folder names that
// real servers treat differently: '.', '/', '&', non-ASCII, a long name,
// leading and trailing spaces, children of the Inbox, special folders; a
// message with raw 8-bit header bytes and one with a keyword longer than
// servers keep.
func awkwardSource() (*source, map[string]int) {
	var s source
	d := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	boxes := []*formats.Mailbox{
		s.box("Local Folders", formats.SpecialInbox, "Inbox"),
		s.box("Local Folders", formats.SpecialNone, "Inbox", "Family"),
		s.box("Local Folders", formats.SpecialSent, "Sent"),
		s.box("Local Folders", formats.SpecialDrafts, "Drafts"),
		s.box("Local Folders", formats.SpecialTrash, "Trash"),
		s.box("Local Folders", formats.SpecialJunk, "Junk"),
		s.box("Local Folders", formats.SpecialArchive, "Archives"),
		s.box("Local Folders", formats.SpecialNone, "Archives", "2019"),
		s.box("Local Folders", formats.SpecialNone, "Importiert (.eml)"),
		s.box("Local Folders", formats.SpecialNone, "A/B"),
		s.box("Local Folders", formats.SpecialNone, "Tom & Jerry"),
		s.box("Local Folders", formats.SpecialNone, "Verträge"),
		s.box("Local Folders", formats.SpecialNone, strings.Repeat("Lang", 50)),
		s.box("Local Folders", formats.SpecialNone, " spaced "),
	}
	count := map[string]int{}
	for i, b := range boxes {
		for k := range 2 {
			s.add(b, mail(fmt.Sprintf("%s %d", b.Path, k), fmt.Sprintf("<%d.%d@awkward>", i, k), "text"), d, `\Seen`)
			count[b.DisplayPath()]++
		}
	}
	in := boxes[0]
	s.add(in, "Message-ID: <8bit@awkward>\nFrom: J\xc3\xbcrgen <j@x>\nSubject: Gr\xc3\xbc\xc3\x9fe\n\nbody\n", d)
	s.add(in, mail("tagged", "<kw@awkward>", "body"), d, `\Seen`, "$label1", "Ein_sehr_langes_Schlagwort_das_laenger_ist_als_fuenfzig_Zeichen")
	count[in.DisplayPath()] += 2
	return &s, count
}

// The uploader against the rehearsal server's profiles of the servers
// people have: every message ends in a folder, the second run uploads
// nothing, every folder is subscribed, and nothing stops the run.
func TestServerProfiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts rehearsal.Options
		// inbox is how the server lists INBOX's children's parent.
		prefix string
	}{
		{"Dovecot, hosting panel layout", rehearsal.DovecotPrefix(), "INBOX."},
		{"Dovecot, Maildir++", rehearsal.DovecotMaildir(), ""},
		{"Courier", rehearsal.Courier(), "INBOX."},
		{"Cyrus", rehearsal.Cyrus(), "INBOX."},
		{"mox", rehearsal.Mox(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.opts
			o.Logger, o.TempDir = testLogger(t), t.TempDir()
			srv, err := rehearsal.Start(o)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			src, _ := awkwardSource()
			opts := rehearsalOptions(t, srv)
			opts.Connections = 2
			rep, err := Upload(context.Background(), src.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v\n%s", err, dumpReport(rep))
			}
			mustCheck(t, rep)
			if rep.Totals.Uploaded != len(src.msgs) || rep.Totals.Quarantined != 0 || rep.Totals.Mismatched != 0 {
				t.Errorf("totals %+v, want all %d uploaded", rep.Totals, len(src.msgs))
			}
			onServer := 0
			for _, name := range srv.Folders() {
				if !srv.Subscribed(name) {
					t.Errorf("folder %q is not subscribed", name)
				}
				msgs, err := srv.Messages(name)
				if err != nil {
					t.Fatal(err)
				}
				onServer += len(msgs)
				if tc.prefix != "" && !strings.EqualFold(name, "INBOX") && !strings.HasPrefix(name, tc.prefix) {
					t.Errorf("folder %q is outside the namespace %q", name, tc.prefix)
				}
			}
			if onServer != len(src.msgs) {
				t.Errorf("%d messages on the server, want %d", onServer, len(src.msgs))
			}
			inbox, _ := srv.Messages("INBOX")
			if len(inbox) != 4 {
				t.Errorf("INBOX holds %d messages, want the 4 of the source's Inbox", len(inbox))
			}
			rep2, err := Upload(context.Background(), src.reader(), opts)
			if err != nil {
				t.Fatalf("second Upload: %v\n%s", err, dumpReport(rep2))
			}
			if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != len(src.msgs) || rep2.Totals.Extra != 0 {
				t.Errorf("second run totals %+v, want everything already there", rep2.Totals)
			}
			again := 0
			for _, name := range srv.Folders() {
				msgs, _ := srv.Messages(name)
				again += len(msgs)
			}
			if again != onServer {
				t.Errorf("after the second run %d messages on the server, %d before: duplicates", again, onServer)
			}
		})
	}
}

// dumpReport renders a report's folders for a failing test.
func dumpReport(rep *Report) string {
	if rep == nil {
		return "(no report)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stopped: %s\n", rep.Stopped)
	folders := append([]*FolderReport(nil), rep.Folders...)
	sort.Slice(folders, func(i, j int) bool { return folders[i].Server < folders[j].Server })
	for _, f := range folders {
		fmt.Fprintf(&b, "  %q <- %v found %d uploaded %d already %d quarantined %v failed %v error %q\n",
			f.Server, f.Sources, f.Found, f.Uploaded, f.Already, f.Quarantined, f.Failed, f.Error)
	}
	for _, r := range rep.Renames {
		fmt.Fprintf(&b, "  rename %q -> %q: %s\n", r.Source, r.Server, r.Reason)
	}
	return b.String()
}

func TestServerProfilesDetails(t *testing.T) {
	o := rehearsal.Cyrus()
	o.Logger, o.TempDir = testLogger(t), t.TempDir()
	o.MaxKeywordLength = 50
	o.KeywordRefusal = rehearsal.Refusal{Code: "CANNOT", Text: "Keyword length too long"}
	srv, err := rehearsal.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src, _ := awkwardSource()
	opts := rehearsalOptions(t, srv)
	rep, err := Upload(context.Background(), src.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	t.Log(dumpReport(rep))
	var dropped []string
	for _, kw := range rep.KeywordWarnings {
		dropped = append(dropped, kw.Keywords...)
		if !strings.Contains(kw.Reason, "Keyword length too long") {
			t.Errorf("keyword warning %+v does not give the server's answer", kw)
		}
	}
	if len(dropped) != 1 || !strings.HasPrefix(dropped[0], "Ein_sehr_langes") {
		t.Errorf("keywords not kept: %v, want the long one", dropped)
	}
	// Cyrus munges every message with raw 8-bit bytes in its header: the
	// one with an 8-bit From and Subject, and those whose subject names
	// the folder "Verträge".
	want8bit := map[string]bool{}
	for _, m := range src.msgs {
		raw := string(readAll(t, m))
		head, _, _ := strings.Cut(raw, "\r\n\r\n")
		if strings.IndexFunc(head, func(r rune) bool { return r >= 0x80 }) >= 0 {
			_, id, _ := strings.Cut(head, "Message-ID: ")
			id, _, _ = strings.Cut(id, "\r\n")
			want8bit[id] = true
		}
	}
	changed := 0
	for _, f := range rep.Folders {
		if f.Verify != nil {
			for _, c := range f.Verify.Changed {
				changed++
				if !want8bit[c.MessageID] || !strings.Contains(c.Reason, "8-bit") {
					t.Errorf("changed %+v, want only messages with 8-bit header bytes", c)
				}
			}
		}
	}
	if changed != len(want8bit) || rep.Totals.Changed != len(want8bit) || len(want8bit) != 3 {
		t.Errorf("%d messages reported changed by the server (totals %d), want %d (3)", changed, rep.Totals.Changed, len(want8bit))
	}
	rep2, err := Upload(context.Background(), src.reader(), opts)
	if err != nil || rep2.Totals.Uploaded != 0 {
		t.Errorf("second run: %v, totals %+v: a changed message must not be uploaded again", err, rep2.Totals)
	}
	msgs, _ := srv.Messages("INBOX")
	for _, m := range msgs {
		if strings.Contains(string(m.Header), "<kw@awkward>") && !equalStrings(m.Flags, []string{"$label1", `\Seen`}) {
			t.Errorf("the message whose keyword was refused has flags %v, want the rest of them", m.Flags)
		}
	}
}

// A server that fails to store a message for a reason of its own (Cyrus's
// "NO System I/O error" while its first APPENDs race to create its staging
// directory) gets the message again, a bounded number of times: a passing
// failure loses nothing, a lasting one quarantines each message with the
// server's words after 1+maxServerFailures tries, and the run goes on.
func TestServerFailureRetried(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fail        int
		quarantined bool
	}{
		// As many failures as one message may meet: even if all of them
		// fall on the same message (the first APPEND can go out alone),
		// it is stored at its last try.
		{"passing", maxServerFailures, false},
		{"lasting", 1 << 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := rehearsal.Cyrus()
			o.Logger, o.TempDir, o.FailAppends = testLogger(t), t.TempDir(), tc.fail
			o.NoMultiAppend = true // one APPEND per message: the refusals count exactly
			srv, err := rehearsal.Start(o)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			var s source
			in := s.box("", formats.SpecialInbox, "Inbox")
			for i := range 6 {
				s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@failure>", i), "text"), time.Now())
			}
			opts := rehearsalOptions(t, srv)
			opts.Connections = 1
			rep, err := Upload(context.Background(), s.reader(), opts)
			inbox, _ := srv.Messages("INBOX")
			if !tc.quarantined {
				if err != nil || rep.Totals.Uploaded != 6 || len(inbox) != 6 {
					t.Fatalf("Upload: %v, totals %+v, %d on the server; want all 6 uploaded once\n%s", err, rep.Totals, len(inbox), dumpReport(rep))
				}
				return
			}
			if !errors.Is(err, ErrIncomplete) || rep.Totals.Quarantined != 6 || len(inbox) != 0 {
				t.Fatalf("Upload: %v, totals %+v, %d on the server; want all 6 quarantined\n%s", err, rep.Totals, len(inbox), dumpReport(rep))
			}
			for _, q := range rep.Folders[0].Quarantined {
				if !strings.Contains(q.Reason, "System I/O error") {
					t.Errorf("quarantined with %q, want the server's words", q.Reason)
				}
			}
			if got, want := srv.AppendsRefused(), 6*(1+maxServerFailures); got != want {
				t.Errorf("the server refused %d APPENDs, want %d (each message 1+%d times)", got, want, maxServerFailures)
			}
		})
	}
}
