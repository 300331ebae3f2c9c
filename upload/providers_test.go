package upload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/internal/oauth"
	"mailferry/upload/rehearsal"
)

// Providers we cannot run (Gmail, Microsoft 365), as the rehearsal
// server's profiles simulate them: their capabilities, folders, limits and
// the texts they answer with.

// providerSource is n messages of about 2 kB in an Inbox and a Sent folder.
func providerSource(n int) *source {
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	sent := s.box("", formats.SpecialSent, "Sent")
	for i := range n {
		s.add([]*formats.Mailbox{in, sent}[i%2], mail(fmt.Sprint(i), fmt.Sprintf("<%d@provider>", i), strings.Repeat(fmt.Sprintf("line %d of the body\n", i), 100)),
			time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	return &s
}

// serverTotal counts the messages of every folder of a rehearsal server.
func serverTotal(t *testing.T, srv *rehearsal.Server) int {
	t.Helper()
	n := 0
	for _, f := range srv.Folders() {
		msgs, err := srv.Messages(f)
		if err != nil {
			t.Fatal(err)
		}
		n += len(msgs)
	}
	return n
}

// Gmail's daily upload limit: the run stops cleanly (ErrDailyLimit, a
// stop reason that says so), keeps what arrived, and the next day's run
// uploads the rest without a duplicate. Sent mail goes to "[Gmail]/Sent
// Mail".
func TestGmailDailyLimit(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64
	o := rehearsal.Gmail()
	o.Logger, o.TempDir = testLogger(t), t.TempDir()
	o.DailyUploadBytes = 40 << 10
	o.Throttle = nil
	o.Clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	srv, err := rehearsal.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src := providerSource(60) // about 120 kB
	opts := rehearsalOptions(t, srv)
	opts.RetryTimeout = 3 * time.Second
	rep, err := Upload(context.Background(), src.reader(), opts)
	if !errors.Is(err, ErrDailyLimit) {
		t.Fatalf("Upload: %v, want ErrDailyLimit", err)
	}
	mustCheck(t, rep)
	if rep.StopReason != StopDailyLimit || !rep.StopReason.RunAgainHelps() {
		t.Errorf("stop reason %q", rep.StopReason)
	}
	first := serverTotal(t, srv)
	if first == 0 || first >= len(src.msgs) || rep.Totals.Uploaded != first {
		t.Errorf("%d on the server, report says %d uploaded; want some but not all of %d", first, rep.Totals.Uploaded, len(src.msgs))
	}
	if sent, _ := srv.Messages("[Gmail]/Sent Mail"); len(sent) == 0 {
		t.Errorf("nothing in [Gmail]/Sent Mail; folders %v", srv.Folders())
	}

	offset.Store(int64(25 * time.Hour)) // the next day
	o.DailyUploadBytes = 1 << 30
	rep, err = Upload(context.Background(), src.reader(), opts)
	for err != nil && errors.Is(err, ErrDailyLimit) {
		// Each day its share.
		offset.Add(int64(25 * time.Hour))
		rep, err = Upload(context.Background(), src.reader(), opts)
	}
	if err != nil {
		t.Fatalf("the next days' runs: %v", err)
	}
	if n := serverTotal(t, srv); n != len(src.msgs) || rep.Totals.Uploaded+rep.Totals.Already != len(src.msgs) {
		t.Errorf("after the next days %d on the server (want each of the %d once); report %+v", n, len(src.msgs), rep.Totals)
	}
}

// staticToken is a token source that always has the same token.
type staticToken string

func (s staticToken) Token(context.Context) (oauth.Secret, error) {
	return oauth.NewSecret(string(s)), nil
}
func (s staticToken) Rejected(oauth.Secret) bool { return false }

// Microsoft 365: XOAUTH2 only, no MULTIAPPEND, and a throttle that answers
// "Request is throttled. Suggested Backoff Time: N milliseconds" and then
// closes the connection: the run waits as told, reconnects, and every
// message arrives once.
func TestMicrosoft365Throttle(t *testing.T) {
	t.Parallel()
	o := rehearsal.Microsoft365()
	o.Logger, o.TempDir = testLogger(t), t.TempDir()
	o.Throttle.Appends, o.Throttle.Window = 15, time.Second
	srv, err := rehearsal.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	src := providerSource(40)
	opts := rehearsalOptions(t, srv)
	opts.Password = ""
	opts.Tokens = staticToken(srv.Password())
	opts.RetryTimeout = 20 * time.Second
	start := time.Now()
	rep, err := Upload(context.Background(), src.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if n := serverTotal(t, srv); n != len(src.msgs) || rep.Totals.Uploaded != len(src.msgs) {
		t.Errorf("%d on the server, %d uploaded; want each of the %d once", n, rep.Totals.Uploaded, len(src.msgs))
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("took %v: the throttle (15 a second) cannot have been met; the test tests nothing", took)
	}
	// A password does not get in.
	opts.Tokens, opts.Password = nil, srv.Password()
	if _, err := Upload(context.Background(), src.reader(), opts); !errors.Is(err, ErrAuth) {
		t.Errorf("password login to the Microsoft-like server: %v, want ErrAuth", err)
	}
}

// microsoft365 starts the Microsoft-like rehearsal server without its
// throttle, with options that sign in by token; it stops with the test.
func microsoft365(t *testing.T) (*rehearsal.Server, Options) {
	t.Helper()
	o := rehearsal.Microsoft365()
	o.Logger, o.TempDir = testLogger(t), t.TempDir()
	o.Throttle = nil
	srv, err := rehearsal.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	opts := rehearsalOptions(t, srv)
	opts.Password = ""
	opts.Tokens = staticToken(srv.Password())
	return srv, opts
}

// Microsoft 365 keeps the folder name "Files" for itself and refuses to
// create it with a text that names no reason ("NO Command Error. 12"): the
// run learns the rule, puts that folder and its child under another name
// (shown as a rename), and every message arrives once; a second run
// uploads nothing.
func TestMicrosoft365ReservedFiles(t *testing.T) {
	t.Parallel()
	srv, opts := microsoft365(t)
	var s source
	boxes := []*formats.Mailbox{s.box("", formats.SpecialInbox, "Inbox"), s.box("", formats.SpecialNone, "Files"), s.box("", formats.SpecialNone, "Files", "2020")}
	for i := range 9 {
		s.add(boxes[i%3], mail(fmt.Sprint(i), fmt.Sprintf("<files-%d@provider>", i), "body\n"), time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC))
	}
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	for _, f := range srv.Folders() {
		if strings.EqualFold(f, "Files") || strings.HasPrefix(strings.ToLower(f), "files/") {
			t.Errorf("folder %q exists on a server that refuses it", f)
		}
	}
	renamed := map[string]string{}
	for _, r := range rep.Renames {
		renamed[r.Source] = r.Server
	}
	files, child := renamed["Files"], renamed["Files/2020"]
	if files == "" || child == "" || !strings.HasPrefix(child, files+"/") {
		t.Fatalf("renames %+v: want Files and Files/2020 renamed, the child below its parent", rep.Renames)
	}
	for _, name := range []string{files, child, "INBOX"} {
		if msgs, err := srv.Messages(name); err != nil || len(msgs) != 3 {
			t.Errorf("%s holds %d messages (%v), want 3", name, len(msgs), err)
		}
	}
	rep, err = Upload(context.Background(), s.reader(), opts)
	if err != nil || rep.Totals.Uploaded != 0 || rep.Totals.Already != 9 {
		t.Errorf("second run: %v, totals %+v; want all 9 already there", err, rep.Totals)
	}
}

// Microsoft 365 refuses a message with a line over 10,239 characters
// ("BAD Command Argument Error. 11"): that message is quarantined with the
// server's answer (mailferry never rewrites a message), the others
// arrive, and the run says it is incomplete.
func TestMicrosoft365LongLine(t *testing.T) {
	t.Parallel()
	srv, opts := microsoft365(t)
	src := providerSource(6)
	in := src.box("", formats.SpecialInbox, "Inbox")
	src.add(in, mail("long", "<long@provider>", strings.Repeat("x", 10239)+"\n"), time.Now())
	src.add(in, mail("longer", "<longer@provider>", strings.Repeat("y", 10240)+"\n"), time.Now())
	rep, err := Upload(context.Background(), src.reader(), opts)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Upload: %v, want ErrIncomplete (one message refused)", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Quarantined != 1 || rep.Totals.Uploaded != len(src.msgs)-1 || serverTotal(t, srv) != len(src.msgs)-1 {
		t.Fatalf("totals %+v, %d on the server; want all but the 10,240-character line uploaded", rep.Totals, serverTotal(t, srv))
	}
	var q Problem
	for _, f := range rep.Folders {
		for _, p := range f.Quarantined {
			q = p
		}
	}
	if q.MessageID != "<longer@provider>" || q.Code != ProblemRefused || !strings.Contains(q.Reason, "Command Argument Error. 11") {
		t.Errorf("quarantined %+v, want <longer@provider> refused with the server's words", q)
	}
}
