package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailferry/formats"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name string
		typ  imap.StatusResponseType
		code imap.ResponseCode
		text string
		want answer
	}{
		{"Dovecot storage quota", imap.StatusResponseTypeNo, imap.ResponseCodeOverQuota, "Quota exceeded (mailbox for user is full)", answerOverQuota},
		{"Gmail bandwidth limit with OVERQUOTA", imap.StatusResponseTypeNo, imap.ResponseCodeOverQuota, "Account exceeded command or bandwidth limits. (Failure)", answerThrottle},
		{"quota text without a code", imap.StatusResponseTypeNo, "", "Mailbox is full", answerOverQuota},
		{"mailbox in use", imap.StatusResponseTypeNo, imap.ResponseCodeInUse, "Mailbox is locked, will abort in 30 seconds", answerThrottle},
		{"temporary failure", imap.StatusResponseTypeNo, imap.ResponseCodeUnavailable, "Internal error occurred", answerThrottle},
		{"Gmail THROTTLED", imap.StatusResponseTypeNo, "THROTTLED", "Too many requests", answerThrottle},
		{"Office 365 throttled, no code", imap.StatusResponseTypeNo, "", "Request is throttled. Suggested Backoff Time: 299609 milliseconds", answerThrottle},
		{"rate limit text", imap.StatusResponseTypeNo, "", "Rate limit hit, try again later", answerThrottle},
		{"too many text", imap.StatusResponseTypeNo, "", "Too many commands", answerThrottle},
		{"message too large", imap.StatusResponseTypeNo, imap.ResponseCodeLimit, "Mail size is larger than the maximum size allowed by server configuration", answerRefused},
		{"TOOBIG", imap.StatusResponseTypeNo, imap.ResponseCodeTooBig, "Message too big", answerRefused},
		{"a word containing rate is no rate limit", imap.StatusResponseTypeNo, "", "Cannot generate a separate copy", answerRefused},
		{"plain refusal", imap.StatusResponseTypeNo, "", "Invalid message", answerRefused},
		{"BAD", imap.StatusResponseTypeBad, "", "Error in IMAP command", answerRefused},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ie := &imap.Error{Type: tc.typ, Code: tc.code, Text: tc.text}
			if got := classify(ie); got != tc.want {
				t.Errorf("classify(%s [%s] %q) = %d, want %d", tc.typ, tc.code, tc.text, got, tc.want)
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	cases := []struct {
		name string
		code imap.ResponseCode
		text string
		want bool
	}{
		{"wrong password", imap.ResponseCodeAuthenticationFailed, "Authentication failed.", false},
		{"too many failed logins", "", "Too many failed login attempts", false},
		{"Gmail web login", imap.ResponseCodeAlert, "Please log in via your web browser", false},
		{"too many connections", imap.ResponseCodeAlert, "Too many simultaneous connections. (Failure)", true},
		{"unavailable", imap.ResponseCodeUnavailable, "Temporary authentication failure", true},
		{"in use", imap.ResponseCodeInUse, "Account is being migrated", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ie := &imap.Error{Type: imap.StatusResponseTypeNo, Code: tc.code, Text: tc.text}
			if got := loginThrottled(ie); got != tc.want {
				t.Errorf("loginThrottled([%s] %q) = %v, want %v", tc.code, tc.text, got, tc.want)
			}
		})
	}
}

func TestSuggestedWait(t *testing.T) {
	for text, want := range map[string]time.Duration{
		"Request is throttled. Suggested Backoff Time: 299609 milliseconds": 299609 * time.Millisecond,
		"Suggested backoff time: 3 seconds":                                 3 * time.Second,
		"Too many requests":                                                 0,
	} {
		ie := &imap.Error{Type: imap.StatusResponseTypeNo, Text: text}
		if got := newThrottleError(ie, ie).wait; got != want {
			t.Errorf("suggested wait of %q = %v, want %v", text, got, want)
		}
	}
}

// failingSession answers the first n APPENDs (and LOGINs) with an error,
// then behaves; it counts what it refused.
type failingSession struct {
	imapserver.Session
	f *failures
}

type failures struct {
	mu          sync.Mutex
	appendErr   error
	appends     int // APPENDs still to refuse; <0: all
	loginErr    error
	logins      int
	refused     int
	loginsSeen  int
	appendsSeen int
}

func (f *failures) next(err error, left *int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil || *left == 0 {
		return nil
	}
	if *left > 0 {
		*left--
	}
	f.refused++
	return err
}

func (s *failingSession) Login(user, pass string) error {
	s.f.mu.Lock()
	s.f.loginsSeen++
	s.f.mu.Unlock()
	if err := s.f.next(s.f.loginErr, &s.f.logins); err != nil {
		return err
	}
	return s.Session.Login(user, pass)
}

func (s *failingSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	s.f.mu.Lock()
	s.f.appendsSeen++
	s.f.mu.Unlock()
	if err := s.f.next(s.f.appendErr, &s.f.appends); err != nil {
		_, _ = io.ReadAll(r)
		return nil, err
	}
	return s.Session.Append(mailbox, r, options)
}

// TestUploadThrottled: a server that answers "not now" ([INUSE],
// [UNAVAILABLE], [THROTTLED], Gmail's bandwidth [OVERQUOTA], Office 365's
// "Request is throttled", a refused login for too many connections) gets
// the same messages again after a pause, and nothing is quarantined. A
// server that keeps throttling longer than RetryTimeout ends the run with
// a clear error (exit 1), nothing quarantined, and a re-run completes.
//
// go-imap's memory server stands in for the server: it sends these
// answers on the wire as a real server does (tagged NO with the code), and
// no real server can be made to throttle on demand.
func TestUploadThrottled(t *testing.T) {
	no := func(code imap.ResponseCode, text string) error {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: code, Text: text}
	}
	cases := []struct {
		name      string
		appendErr error
		appends   int
		loginErr  error
		logins    int
	}{
		{"mailbox in use", no(imap.ResponseCodeInUse, "Mailbox is locked"), 6, nil, 0},
		{"temporarily unavailable", no(imap.ResponseCodeUnavailable, "Try again"), 3, nil, 0},
		{"Gmail THROTTLED", no("THROTTLED", "Slow down"), 10, nil, 0},
		{"Gmail bandwidth OVERQUOTA", no(imap.ResponseCodeOverQuota, "Account exceeded command or bandwidth limits. (Failure)"), 4, nil, 0},
		{"Office 365 suggested backoff", no("", "Request is throttled. Suggested Backoff Time: 400 milliseconds"), 2, nil, 0},
		{"login: too many connections", nil, 0, no(imap.ResponseCodeAlert, "Too many simultaneous connections. (Failure)"), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &failures{appendErr: tc.appendErr, appends: tc.appends, loginErr: tc.loginErr, logins: tc.logins}
			ms := newMemWith(t, func(s imapserver.Session) imapserver.Session { return &failingSession{Session: s, f: f} })
			s := throttleSource(30)
			opts := ms.options(t)
			opts.RetryTimeout = 20 * time.Second
			rep, err := Upload(context.Background(), s.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			if rep.Totals.Uploaded != 30 || rep.Totals.Quarantined != 0 || rep.Totals.Failed != 0 {
				t.Errorf("totals = %+v, want 30 uploaded, none quarantined", rep.Totals)
			}
			f.mu.Lock()
			refused := f.refused
			f.mu.Unlock()
			if refused != tc.appends+tc.logins {
				t.Errorf("the server refused %d times, want %d: the test tests nothing", refused, tc.appends+tc.logins)
			}
			if n := len(readBack(t, ms.client(t))["INBOX"]); n != 30 {
				t.Errorf("INBOX holds %d messages, want 30", n)
			}
		})
	}

	t.Run("throttled for longer than RetryTimeout", func(t *testing.T) {
		f := &failures{appendErr: no("THROTTLED", "Slow down"), appends: -1}
		ms := newMemWith(t, func(s imapserver.Session) imapserver.Session { return &failingSession{Session: s, f: f} })
		s := throttleSource(30)
		opts := ms.options(t)
		opts.RetryTimeout = 1500 * time.Millisecond
		rep, err := Upload(context.Background(), s.reader(), opts)
		if !isFailure(err) || !strings.Contains(err.Error(), "slow down") || !strings.Contains(err.Error(), "THROTTLED") {
			t.Fatalf("Upload against a server that always throttles: %v, want a clear error with exit 1", err)
		}
		mustCheck(t, rep)
		if rep.Totals.Quarantined != 0 || rep.Totals.Uploaded != 0 || rep.Stopped == "" {
			t.Errorf("report: stopped %q, totals %+v; want nothing quarantined", rep.Stopped, rep.Totals)
		}
		f.mu.Lock()
		f.appends = 0
		f.mu.Unlock()
		rep, err = Upload(context.Background(), s.reader(), opts)
		if err != nil || rep.Totals.Uploaded != 30 {
			t.Fatalf("re-run: %v, totals %+v", err, rep.Totals)
		}
	})
}

func throttleSource(n int) *source {
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	for i := 0; i < n; i++ {
		s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), strings.Repeat("body\n", 10+i*30)), time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	return &s
}

// TestVerifyNULPolicy: verify knows that Upload never sends a message with
// a NUL byte, and reports it as not uploadable (exit 3, as the upload),
// not as missing (exit 1).
func TestVerifyNULPolicy(t *testing.T) {
	ms := newMem(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	s.add(in, mail("ok", "<ok@x>", "fine"), time.Now())
	s.add(in, mail("nul", "<nul@x>", strings.Repeat("x", 20000)+"a\x00b"), time.Now()) // the NUL far behind the header
	up, err := Upload(context.Background(), s.reader(), ms.options(t))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Upload: %v, want ErrIncomplete", err)
	}
	rep, err := Verify(context.Background(), s.reader(), ms.options(t))
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Verify: %v, want ErrIncomplete (exit 3) like the upload", err)
	}
	mustCheck(t, rep)
	f := folderRep(t, rep, "INBOX")
	if f.Verify.Status != StatusMatch || len(f.Verify.Missing) != 0 || f.Already != 1 {
		t.Errorf("verify = %+v, already %d; want = with nothing missing", f.Verify, f.Already)
	}
	if len(f.Quarantined) != 1 || f.Quarantined[0].MessageID != "<nul@x>" || !strings.HasPrefix(f.Quarantined[0].Reason, ReasonNotUploadable) {
		t.Errorf("quarantined = %+v, want <nul@x> as not uploadable", f.Quarantined)
	}
	if uq := folderRep(t, up, "INBOX").Quarantined; len(uq) != 1 || uq[0].Pos != f.Quarantined[0].Pos {
		t.Errorf("upload quarantined %+v, verify %+v: not the same message", uq, f.Quarantined)
	}
}

// A run that gives up because the server keeps refusing one more
// connection says what to do about it.
func TestGiveUpOnConnectionLimitSaysWhatToDo(t *testing.T) {
	rn := newRun(Options{RetryTimeout: 300 * time.Millisecond}, ModeUpload)
	for _, tc := range []struct {
		text string
		hint bool
	}{
		{"Maximum number of connections from user+IP exceeded (mail_max_userip_connections=10)", true},
		{"Too many simultaneous connections", true},
		{"Server busy, try again later", false},
	} {
		ie := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: tc.text}
		err := rn.retry(context.Background(), "test", func() error {
			return fmt.Errorf("login: %w", newThrottleError(ie, ie))
		}, func() bool { return false }, func() {})
		if err == nil || !strings.Contains(err.Error(), "gave up") {
			t.Fatalf("%q: retry = %v, want it to give up", tc.text, err)
		}
		if got := strings.Contains(err.Error(), "--connections"); got != tc.hint {
			t.Errorf("%q: %v; hint about --connections: %v, want %v", tc.text, err, got, tc.hint)
		}
	}
}
