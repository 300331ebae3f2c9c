package upload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
	"mailferry/internal/fakeimap"
	"mailferry/internal/imapguard"
)

// Hostile and broken servers (internal/fakeimap, one misbehaviour each):
// every run ends in bounded time and memory, without a panic, with the
// exit the situation deserves and every good message on the server once.

// hostileSource is a small source: three folders, one message holding
// poison (for the servers that choke on it).
func hostileSource(poison string) *source {
	var s source
	d := time.Date(2020, 5, 6, 7, 8, 9, 0, time.UTC)
	in := s.box("", formats.SpecialInbox, "Inbox")
	arch := s.box("", formats.SpecialNone, "Archive")
	for i := range 6 {
		body := strings.Repeat(fmt.Sprintf("line %d\n", i), 20)
		if i == 3 && poison != "" {
			body += poison + "\n"
		}
		s.add([]*formats.Mailbox{in, arch}[i%2], mail(fmt.Sprintf("m%d", i), fmt.Sprintf("<%d@hostile>", i), body), d)
	}
	return &s
}

// hostileOptions aim an upload at a fake server (TLS with its CA, or plain
// imap:// allowed) with short timeouts.
func hostileOptions(t *testing.T, srv *fakeimap.Server, tls bool) Options {
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	tg := Target{User: srv.User, Host: host, Port: p, Security: ImplicitTLS}
	opts := Options{Target: &tg, Password: srv.Password, CAFile: srv.CAFile, QuarantineDir: t.TempDir(), TempDir: t.TempDir(),
		Logger: testLogger(t), IOTimeout: time.Second, RetryTimeout: 3 * time.Second, Connections: 2}
	if !tls {
		tg.Security, opts.AllowPlaintext, opts.CAFile = StartTLS, true, ""
	}
	return opts
}

// backendCount counts the messages the honest server behind a fake one
// holds, per folder.
func backendCount(t *testing.T, srv *fakeimap.Server) map[string]int {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.BackendAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, b := range boxes {
		d, err := c.Select(b.Mailbox, nil).Wait()
		if err != nil {
			continue
		}
		out[b.Mailbox] = int(d.NumMessages)
	}
	return out
}

// bounded runs f, failing the test when it takes longer than limit or
// the heap grows by more than maxHeap bytes while it runs.
func bounded(t *testing.T, limit time.Duration, maxHeap uint64, f func()) {
	t.Helper()
	var peak atomic.Uint64
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(limit):
		close(stop)
		wg.Wait()
		t.Fatalf("still running after %v", limit)
	}
	close(stop)
	wg.Wait()
	if grew := peak.Load() - min(peak.Load(), base.HeapInuse); grew > maxHeap {
		t.Errorf("the heap grew by %d MB while it ran (limit %d MB)", grew>>20, maxHeap>>20)
	}
	t.Logf("took %v", time.Since(start).Round(time.Millisecond))
}

// A message that kills the connection every time it is sent (the server
// crashes on it, or says BYE after its literal without storing it) is
// tried a bounded number of times, then quarantined; the others arrive.
func TestPoisonMessage(t *testing.T) {
	t.Parallel()
	for _, b := range []fakeimap.Behaviour{fakeimap.PoisonCrash("POISON", false), fakeimap.PoisonBye("POISON", false)} {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			srv := fakeimap.StartTLS(t, b)
			src := hostileSource("POISON")
			opts := hostileOptions(t, srv, true)
			opts.RetryTimeout = 30 * time.Second
			var rep *Report
			var err error
			bounded(t, 60*time.Second, 64<<20, func() { rep, err = Upload(context.Background(), src.reader(), opts) })
			if !errors.Is(err, ErrIncomplete) {
				t.Fatalf("Upload: %v, want ErrIncomplete (the poison quarantined)", err)
			}
			mustCheck(t, rep)
			if rep.Totals.Quarantined != 1 || rep.Totals.Uploaded != len(src.msgs)-1 {
				t.Errorf("totals %+v: want the poison quarantined and the rest uploaded", rep.Totals)
			}
			for _, f := range rep.Folders {
				for _, q := range f.Quarantined {
					if q.Code != ProblemConnection || q.MessageID != "<3@hostile>" {
						t.Errorf("quarantined %+v, want the poison for its broken connections", q)
					}
				}
			}
			if hits := srv.Hits(); hits > maxTries {
				t.Errorf("the poison was sent %d times, want at most %d", hits, maxTries)
			}
			total := 0
			for _, n := range backendCount(t, srv) {
				total += n
			}
			if total != len(src.msgs)-1 {
				t.Errorf("the server holds %d messages, want %d (no duplicates)", total, len(src.msgs)-1)
			}
		})
	}
}

// A poison message the server stores before it says BYE: the check after
// the reconnect finds it, and nothing is sent twice.
func TestPoisonStoredThenBye(t *testing.T) {
	t.Parallel()
	srv := fakeimap.StartTLS(t, fakeimap.PoisonBye("POISON", true))
	src := hostileSource("POISON")
	rep, err := Upload(context.Background(), src.reader(), hostileOptions(t, srv, true))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	total := 0
	for _, n := range backendCount(t, srv) {
		total += n
	}
	if total != len(src.msgs) || rep.Totals.Uploaded != len(src.msgs) {
		t.Errorf("server holds %d, report %+v: want every message once", total, rep.Totals)
	}
}

// Answers too large or too deep for any honest server stop the run at
// once with ErrServer, in bounded memory, without a stack overflow; an
// answer that never completes is cut off and retried, then given up.
func TestHostileAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		b     fakeimap.Behaviour
		want  error
		limit imapguard.Limit
	}{
		{fakeimap.HugeLine("LIST", 1<<30, 0), ErrServer, imapguard.LineLimit},
		{fakeimap.HugeFolderName(2<<30, 0, false), ErrServer, imapguard.LineLimit},
		{fakeimap.HugeFolderName(2<<30, 0, true), ErrServer, imapguard.ResponseLimit},
		{fakeimap.HugeLiteral(1 << 40), ErrServer, imapguard.LiteralLimit},
		{fakeimap.DeepNesting(10_000_000), ErrServer, imapguard.DepthLimit},
		{fakeimap.SlowHeader(2<<30, 1<<20), ErrServer, imapguard.LiteralLimit},
		{fakeimap.Keepalive("FETCH", 50*time.Millisecond), ErrGaveUp, imapguard.AnswerRate},
		{fakeimap.Keepalive("LIST", 50*time.Millisecond), ErrGaveUp, 0},
		{fakeimap.NoGreeting(), ErrGaveUp, 0},
	}
	for _, tt := range tests {
		t.Run(tt.b.Name, func(t *testing.T) {
			t.Parallel()
			srv := fakeimap.StartTLS(t, tt.b)
			src := hostileSource("")
			// Put something in the folders first, so that the pre-scan
			// has headers to fetch.
			if strings.Contains(tt.b.Name, "FETCH") || strings.Contains(tt.b.Name, "header") || strings.Contains(tt.b.Name, "nested") {
				appendBackend(t, srv, "INBOX", mail("there", "<there@hostile>", "x"))
			}
			opts := hostileOptions(t, srv, true)
			var err error
			bounded(t, 45*time.Second, 200<<20, func() { _, err = Upload(context.Background(), src.reader(), opts) })
			if !errors.Is(err, tt.want) {
				t.Fatalf("Upload: %v, want %v", err, tt.want)
			}
			var le *imapguard.LimitError
			if tt.limit != 0 && (!errors.As(err, &le) || le.Limit != tt.limit) {
				t.Errorf("Upload: %v, want the guard's %s", err, tt.limit)
			}
		})
	}
}

// appendBackend puts a message into a fake server's honest backend.
func appendBackend(t *testing.T, srv *fakeimap.Server, folder, raw string) {
	t.Helper()
	c, err := imapclient.DialInsecure(srv.BackendAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(srv.User, srv.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	_ = c.Create(folder, nil).Wait() // it may exist
	appendRaw(t, c, folder, raw)
}

// A folder name on the server that is not valid modified UTF-7 is left
// alone and named; the run goes on (before, LIST failed and the run was
// retried as a network error, then given up).
func TestUndecodableServerFolders(t *testing.T) {
	t.Parallel()
	srv := fakeimap.StartTLS(t, fakeimap.BadUTF7())
	src := hostileSource("")
	rep, err := Upload(context.Background(), src.reader(), hostileOptions(t, srv, true))
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if len(rep.UndecodableFolders) != len(fakeimap.InvalidUTF7Names) {
		t.Errorf("undecodable folders reported: %q, want %d", rep.UndecodableFolders, len(fakeimap.InvalidUTF7Names))
	}
}

// A pre-scan that hides messages the server holds (SELECT counts them,
// FETCH leaves them out) is not believed: nothing is uploaded twice.
func TestLyingPrescan(t *testing.T) {
	t.Parallel()
	srv := fakeimap.StartTLS(t, fakeimap.LyingPrescan(2))
	src := hostileSource("")
	// A first, honest upload straight into the backend's folders.
	for _, m := range src.msgs {
		folder := "INBOX"
		if m.Mailbox.Path[0] != "Inbox" {
			folder = m.Mailbox.Path[0]
		}
		appendBackend(t, srv, folder, string(readAll(t, m)))
	}
	before := backendCount(t, srv)
	opts := hostileOptions(t, srv, true)
	rep, err := Upload(context.Background(), src.reader(), opts)
	if err == nil {
		t.Fatalf("Upload believed a pre-scan that hid messages: %+v", rep.Totals)
	}
	after := backendCount(t, srv)
	for f, n := range after {
		if n != before[f] {
			t.Errorf("folder %q: %d messages before, %d after: duplicates", f, before[f], n)
		}
	}
}

// Copies of source messages beyond the source's count are duplicates,
// never "other mail", and make verification fail.
func TestCompareDuplicates(t *testing.T) {
	a, _ := fpOf(t, "From: a\r\n\r\nx\r\n")
	b, _ := fpOf(t, "From: b\r\n\r\nx\r\n")
	set := newServerSet()
	for _, k := range []Fingerprint{a, a, a, b} {
		set.add(Identity{Fingerprint: k})
	}
	v := compare([]*sourceEntry{{id: Identity{Fingerprint: a}}}, set)
	if v.Duplicates != 2 || v.Extra != 1 || v.Status != StatusDuplicates {
		t.Errorf("compare = %+v, want 2 duplicates of a, 1 other (b)", v)
	}
	r := &Report{Folders: []*FolderReport{{Server: "X", Found: 1, Already: 1, Verify: v}}}
	r.sum()
	if err := r.Err(); !errors.Is(err, ErrVerify) {
		t.Errorf("Err() with duplicates = %v, want ErrVerify", err)
	}
}

// A server that changes one byte of each body at the same size passes the
// header-and-size check; the sample an upload compares byte for byte
// catches it, and so does a full verification.
func TestBodyChangedAtSameSize(t *testing.T) {
	t.Parallel()
	srv := fakeimap.StartTLS(t, fakeimap.FlipBodyByte())
	src := hostileSource("")
	opts := hostileOptions(t, srv, true)
	rep, err := Upload(context.Background(), src.reader(), opts)
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("Upload: %v, want ErrVerify: the sample must catch the changed bodies", err)
	}
	if rep.FullyChecked != len(src.msgs) || rep.Totals.Missing != len(src.msgs) {
		t.Errorf("fully checked %d, missing %d; want all %d compared and found different", rep.FullyChecked, rep.Totals.Missing, len(src.msgs))
	}
	opts.FullVerify = true
	rep, err = Verify(context.Background(), src.reader(), opts)
	if !errors.Is(err, ErrVerify) || rep.FullyChecked != len(src.msgs) {
		t.Fatalf("Verify --full: %v, %d checked; want ErrVerify with all %d compared", err, rep.FullyChecked, len(src.msgs))
	}
	for _, f := range rep.Folders {
		for _, p := range f.Verify.BodyDiffers {
			if p.Code != ProblemBodyDiffers {
				t.Errorf("problem %+v, want a body-differs code", p)
			}
		}
	}
}

// On an honest server every message is compared byte for byte and
// matches; the sample of a larger upload is the sample's size.
func TestFullVerifyHonest(t *testing.T) {
	t.Parallel()
	srv := fakeimap.StartTLS(t, fakeimap.Honest())
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	for i := range 3 * sampleSize {
		s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@full>", i), strings.Repeat("body\n", i)), time.Now())
	}
	opts := hostileOptions(t, srv, true)
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if rep.FullyChecked != sampleSize || rep.FullCheck != "sample" {
		t.Errorf("upload compared %d (%s) in full, want a sample of %d", rep.FullyChecked, rep.FullCheck, sampleSize)
	}
	opts.FullVerify = true
	rep, err = Verify(context.Background(), s.reader(), opts)
	if err != nil || rep.FullyChecked != len(s.msgs) {
		t.Errorf("Verify --full: %v, %d compared, want all %d and no error", err, rep.FullyChecked, len(s.msgs))
	}
}
