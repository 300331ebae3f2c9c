package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

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

func TestUploadMultisetAndExtra(t *testing.T) {
	ms := newMem(t)
	c := ms.client(t)
	if err := c.Create("Lists", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	dup := mail("dup", "<same@x>", "identical bytes")
	// The server already holds one copy of dup and a message of its own.
	appendRaw(t, c, "Lists", dup)
	appendRaw(t, c, "Lists", mail("server only", "<srv@x>", "not from the source"))

	var s source
	lists := s.box("", "", "Lists")
	d := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	s.add(lists, dup, d)
	s.add(lists, dup, d)                                                               // byte-identical second copy
	s.add(lists, "Received: by other\n"+mail("dup", "<same@x>", "identical bytes"), d) // same Message-ID, other message
	s.add(lists, mail("x", "", "no message id"), d)

	rep, err := Upload(context.Background(), s.reader(), ms.options(t))
	if err != nil {
		t.Fatalf("Upload: %v (extra messages on the server are no error)", err)
	}
	mustCheck(t, rep)
	f := folderRep(t, rep, "Lists")
	if f.Found != 4 || f.Already != 1 || f.Uploaded != 3 || f.ServerBefore != 2 {
		t.Errorf("Lists: found %d already %d uploaded %d before %d; want 4, 1, 3, 2", f.Found, f.Already, f.Uploaded, f.ServerBefore)
	}
	if f.Verify.Status != StatusExtra || f.Verify.Extra != 1 || f.ServerAfter != 5 {
		t.Errorf("Lists verify = %+v, after %d; want + with 1 extra and 5 on the server", f.Verify, f.ServerAfter)
	}
	if len(f.Verify.ExtraIDs) != 1 || f.Verify.ExtraIDs[0] != "<srv@x>" {
		t.Errorf("extra Message-IDs = %q", f.Verify.ExtraIDs)
	}
	got := readBack(t, c)["Lists"]
	n := 0
	for _, m := range got {
		if string(m.Bytes) == strings.ReplaceAll(dup, "\n", "\r\n") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the server holds %d copies of the duplicated message, want 2", n)
	}
	rep2, err := Upload(context.Background(), s.reader(), ms.options(t))
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != 4 {
		t.Errorf("re-run: %+v, want 0 uploaded and 4 already there", rep2.Totals)
	}
	if len(readBack(t, c)["Lists"]) != 5 {
		t.Errorf("re-run changed the folder")
	}
}

func TestUploadDryRun(t *testing.T) {
	ms := newMem(t)
	var s source
	a := s.box("", "", "A", "B")
	s.add(a, mail("1", "<1@x>", "x"), time.Now())
	s.add(a, mail("2", "<2@x>", "bad\x00byte"), time.Now())
	opts := ms.options(t)
	opts.DryRun = true
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil && !errors.Is(err, ErrIncomplete) {
		t.Fatalf("dry run: %v", err)
	}
	mustCheck(t, rep)
	if !rep.DryRun || rep.Verified || rep.Totals.Uploaded != 1 || rep.Totals.Quarantined != 1 {
		t.Errorf("dry-run report: dry %v verified %v totals %+v", rep.DryRun, rep.Verified, rep.Totals)
	}
	got := readBack(t, ms.client(t))
	if len(got) != 1 || len(got["INBOX"]) != 0 {
		t.Errorf("dry run changed the server: %v", keys(got))
	}
	if entries, _ := os.ReadDir(opts.QuarantineDir); len(entries) != 0 {
		t.Errorf("dry run wrote %d quarantine entries", len(entries))
	}
}

func TestUploadProblems(t *testing.T) {
	ms := newMemWith(t, func(s imapserver.Session) imapserver.Session {
		return &testSession{Session: s, limit: 8000, noKWs: true, reject: func(b []byte) error {
			if bytes.Contains(b, []byte("X-Reject: yes")) {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeLimit, Text: "Message refused"}
			}
			return nil
		}}
	})
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	d := time.Date(2015, 6, 7, 8, 9, 10, 0, time.UTC)
	s.add(in, mail("ok1", "<ok1@x>", "fine"), d, `\Seen`, "$label1", "bad keyword", "Über", `\Recent`)
	s.add(in, "X-Reject: yes\n"+mail("refused", "<no@x>", "small, refused after the literal"), d)
	s.add(in, mail("big", "<big@x>", strings.Repeat("0123456789abcdef\n", 600)), d) // > limit: refused before the literal
	s.add(in, mail("nul", "<nul@x>", "a\x00b"), d)
	s.add(in, mail("ok2", "<ok2@x>", "after the refusals"), time.Time{})
	skipped := s.add(in, mail("deleted", "<del@x>", "gone"), d)
	skipped.Skip = formats.SkipDeleted
	part := s.add(in, mail("partial", "<part@x>", "half"), d)
	part.Incomplete = "attachment missing"
	s.add(in, mail("ok3", "<ok3@x>", "x"), d)

	opts := ms.options(t)
	rep, err := Upload(context.Background(), s.reader(), opts)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Upload error = %v, want ErrIncomplete (exit 3)", err)
	}
	mustCheck(t, rep)
	f := folderRep(t, rep, "INBOX")
	if f.Found != 8 || f.Uploaded != 4 || len(f.Quarantined) != 3 || f.Skipped[formats.SkipDeleted] != 1 || len(f.Incomplete) != 1 || f.NoDate != 1 {
		t.Fatalf("INBOX report = %+v", f)
	}
	reasons := map[string]string{}
	for _, q := range f.Quarantined {
		reasons[q.MessageID] = q.Reason
		if q.File == "" || q.Pos == "" {
			t.Errorf("quarantined %s: file %q pos %q", q.MessageID, q.File, q.Pos)
		}
		if b, err := os.ReadFile(q.File); err != nil || len(b) == 0 {
			t.Errorf("quarantined copy %s: %v", q.File, err)
		}
	}
	if !strings.Contains(reasons["<no@x>"], "LIMIT") || !strings.Contains(reasons["<big@x>"], "TOOBIG") || reasons["<nul@x>"] != ReasonNUL {
		t.Errorf("quarantine reasons = %q", reasons)
	}
	if f.Verify.Status != StatusMatch {
		t.Errorf("verify = %+v, want = (quarantined messages are not missing)", f.Verify)
	}
	var kw []string
	for _, w := range rep.KeywordWarnings {
		kw = append(kw, w.Keywords...)
	}
	sort.Strings(kw)
	if want := []string{"$label1", `\Recent`, "bad keyword", "Über"}; !equalStrings(kw, want) {
		t.Errorf("keyword warnings = %q, want %q", kw, want)
	}
	got := readBack(t, ms.client(t))["INBOX"]
	if len(got) != 4 {
		t.Fatalf("INBOX holds %d messages, want 4", len(got))
	}
	// Over several connections the order on the server is not the
	// source's: find ok1 by its subject.
	found := false
	for _, m := range got {
		if strings.Contains(string(m.Bytes), "Subject: ok1\r\n") {
			found = true
			if !equalStrings(m.Flags, []string{`\seen`}) {
				t.Errorf("flags of ok1 = %q, want only \\seen", m.Flags)
			}
		}
	}
	if !found {
		t.Error("ok1 is not on the server")
	}
}

func TestUploadOverQuotaStops(t *testing.T) {
	var n atomic.Int32 // the sessions of every connection count
	ms := newMemWith(t, func(s imapserver.Session) imapserver.Session {
		return &testSession{Session: s, reject: func(b []byte) error {
			if n.Add(1) > 3 {
				return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota, Text: "Quota exceeded"}
			}
			return nil
		}}
	})
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	for i := 0; i < 40; i++ {
		s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), "x"), time.Now())
	}
	opts := ms.options(t)
	opts.Pipeline = 1
	rep, err := Upload(context.Background(), s.reader(), opts)
	if !errors.Is(err, ErrOverQuota) || !isFailure(err) {
		t.Fatalf("Upload error = %v, want ErrOverQuota", err)
	}
	mustCheck(t, rep)
	if rep.Stopped == "" || rep.Verified || rep.Totals.Uploaded != 3 || rep.Totals.Quarantined != 0 {
		t.Errorf("report: stopped %q verified %v totals %+v", rep.Stopped, rep.Verified, rep.Totals)
	}
}

func TestVerifyAlone(t *testing.T) {
	ms := newMem(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	other := s.box("", "", "Other")
	d := time.Now()
	s.add(in, mail("1", "<1@x>", "x"), d)
	gone := s.add(in, mail("2", "<2@x>", "y"), d)
	s.add(other, mail("3", "<3@x>", "z"), d)
	if _, err := Upload(context.Background(), s.reader(), ms.options(t)); err != nil {
		t.Fatal(err)
	}
	c := ms.client(t)
	appendRaw(t, c, "Other", mail("extra", "<extra@x>", "e"))
	// Remove message 2 from INBOX.
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}

	rep, err := Verify(context.Background(), s.reader(), ms.options(t))
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("Verify error = %v, want ErrVerify", err)
	}
	mustCheck(t, rep)
	inbox := folderRep(t, rep, "INBOX")
	if inbox.Verify.Status != StatusMissing || len(inbox.Verify.Missing) != 1 || inbox.Already != 1 {
		t.Fatalf("INBOX verify = %+v", inbox.Verify)
	}
	if m := inbox.Verify.Missing[0]; m.MessageID != "<2@x>" || m.Pos != gone.Pos.String() {
		t.Errorf("missing = %+v, want <2@x> at %v", m, gone.Pos)
	}
	if o := folderRep(t, rep, "Other"); o.Verify.Status != StatusExtra || o.Verify.Extra != 1 {
		t.Errorf("Other verify = %+v, want + with 1 extra", o.Verify)
	}
	if rep.Totals.Uploaded != 0 {
		t.Errorf("verify uploaded %d messages", rep.Totals.Uploaded)
	}
	if _, err := Verify(context.Background(), s.reader(), Options{}); !errors.Is(err, ErrConfig) {
		t.Errorf("Verify without a target: %v, want ErrConfig", err)
	}
}

func TestUploadCancel(t *testing.T) {
	ms := newMem(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	// More than the workers' queues hold, so that the cancel comes before
	// the reader is through.
	const n = 2000
	for i := 0; i < n; i++ {
		s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), strings.Repeat("x", 5000)), time.Now())
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := ms.options(t)
	opts.OnProgress = func(p Progress) {
		if p.Uploaded >= 10 {
			cancel()
		}
	}
	rep, err := Upload(ctx, s.reader(), opts)
	if err != context.Canceled {
		t.Fatalf("Upload error = %v, want context.Canceled unwrapped", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Found >= n || rep.Totals.Uploaded < 10 {
		t.Errorf("totals after cancel = %+v", rep.Totals)
	}
	// A re-run completes the folder without duplicates.
	rep2, err := Upload(context.Background(), s.reader(), ms.options(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(readBack(t, ms.client(t))["INBOX"]); got != n || rep2.Totals.Already+rep2.Totals.Uploaded != n {
		t.Errorf("after re-run the server holds %d, report %+v", got, rep2.Totals)
	}
}

func TestRehearsal(t *testing.T) {
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	sent := s.box("", formats.SpecialSent, "Sent")
	s.add(in, mail("1", "<1@x>", "x"), time.Now(), "$label1")
	s.add(sent, mail("2", "<2@x>", "y\x00"), time.Now())
	s.add(sent, "not a header at all\n\nbody\n", time.Now())
	s.add(sent, "From: a\nbroken header line\nSubject: x\n\nbody\n", time.Now())
	dir := t.TempDir()
	rep, err := Upload(context.Background(), s.reader(), Options{QuarantineDir: dir, Logger: testLogger(t)})
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("rehearsal error = %v, want ErrIncomplete (one NUL message)", err)
	}
	mustCheck(t, rep)
	if !rep.Rehearsal || !rep.Verified || rep.Totals.Uploaded != 3 || rep.Totals.Quarantined != 1 || rep.Totals.Mismatched != 0 {
		t.Errorf("rehearsal report: %+v", rep.Totals)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("rehearsal wrote quarantine files")
	}
}

// TestPlaintextRefused: on imap:// a server without STARTTLS never gets
// the password, unless AllowPlaintext says so.
func TestPlaintextRefused(t *testing.T) {
	ms := newMem(t) // offers no STARTTLS
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	s.add(in, mail("1", "<1@x>", "x"), time.Now())
	opts := ms.options(t)
	tg := ms.target
	tg.Security = StartTLS
	opts.Target = &tg
	_, err := Upload(context.Background(), s.reader(), opts)
	if !errors.Is(err, ErrConfig) || !errors.Is(err, ErrNoEncryption) {
		t.Fatalf("Upload over imap:// without STARTTLS: %v, want a refusal (exit 2)", err)
	}
	if n := len(readBack(t, ms.client(t))["INBOX"]); n != 0 {
		t.Fatalf("the refused run uploaded %d messages", n)
	}
	opts.AllowPlaintext = true
	if _, err := Upload(context.Background(), s.reader(), opts); err != nil {
		t.Fatalf("Upload with AllowPlaintext: %v", err)
	}
}

func TestWrongPasswordMemserver(t *testing.T) {
	ms := newMem(t)
	opts := ms.options(t)
	opts.Password = "not-" + ms.password
	_, err := Upload(context.Background(), (&source{}).reader(), opts)
	if !errors.Is(err, ErrAuth) || strings.Contains(err.Error(), opts.Password) {
		t.Fatalf("Upload with a wrong password: %v, want ErrAuth without the password", err)
	}
}
