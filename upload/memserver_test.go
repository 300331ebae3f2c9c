package upload

import (
	"bytes"
	"context"
	"testing"
	"time"

	"mailferry/formats"
)

func TestUploadMemserverRoundTrip(t *testing.T) {
	ms := newMem(t)
	var s source
	inbox := s.box("acct1", formats.SpecialInbox, "Inbox")
	inbox2 := s.box("acct2", formats.SpecialInbox, "INBOX")
	arch := s.box("acct1", formats.SpecialNone, "Archive", "2019")
	s.box("acct1", formats.SpecialNone, "Empty")
	d1 := time.Date(2014, 3, 5, 10, 11, 12, 0, time.FixedZone("", 3600))
	d2 := time.Date(2009, 12, 31, 23, 59, 59, 0, time.UTC)
	s.add(inbox, mail("one", "<1@x>", "hello"), d1, `\Seen`, `$Forwarded`, "$label1")
	s.add(inbox2, mail("two", "<2@x>", "world"), d2, `\Answered`, `\Flagged`)
	s.add(arch, mail("three", "", "no id"), d1)
	ctx := context.Background()
	rep, err := Upload(ctx, s.reader(), ms.options(t))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != 3 || rep.Totals.Found != 3 {
		t.Errorf("totals = %+v, want 3 found and uploaded", rep.Totals)
	}
	got := readBack(t, ms.client(t))
	if n := len(got["INBOX"]); n != 2 {
		t.Fatalf("INBOX holds %d messages, want 2", n)
	}
	if _, ok := got["Empty"]; !ok {
		t.Errorf("empty folder not created; server has %v", keys(got))
	}
	for _, m := range s.msgs {
		folder := map[*formats.Mailbox]string{inbox: "INBOX", inbox2: "INBOX", arch: "Archive/2019"}[m.Mailbox]
		want := readAll(t, m)
		found := false
		for _, sm := range got[folder] {
			if bytes.Equal(sm.Bytes, want) {
				found = true
				if !sm.Date.Equal(m.Date) {
					t.Errorf("%v: internal date %v, want %v", m.Pos, sm.Date, m.Date)
				}
				if g, w := sm.Flags, lower(m.Flags); !equalStrings(g, w) {
					t.Errorf("%v: flags %q, want %q", m.Pos, g, w)
				}
			}
		}
		if !found {
			t.Errorf("%v: not found in %q", m.Pos, folder)
		}
	}
	for _, f := range rep.Folders {
		if f.Verify == nil || f.Verify.Status != StatusMatch {
			t.Errorf("folder %q verify = %+v, want =", f.Server, f.Verify)
		}
	}
	// A re-run uploads nothing.
	rep2, err := Upload(ctx, s.reader(), ms.options(t))
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	mustCheck(t, rep2)
	if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != 3 {
		t.Errorf("re-run totals = %+v, want 0 uploaded, 3 already", rep2.Totals)
	}
}
