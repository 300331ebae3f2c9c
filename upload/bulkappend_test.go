package upload

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// submits records the sizes of the APPEND commands the bulk path sent.
type submits struct {
	mu      sync.Mutex
	n       int                     // commands
	max     int                     // most messages in one command
	multi   int                     // commands with several messages
	workers map[string]map[int]bool // folder -> workers that appended into it
}

func (s *submits) hook() func(worker int, folder string, items int) {
	return func(worker int, folder string, items int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.n++
		s.max = max(s.max, items)
		if items > 1 {
			s.multi++
		}
		if s.workers == nil {
			s.workers = map[string]map[int]bool{}
		}
		if s.workers[folder] == nil {
			s.workers[folder] = map[int]bool{}
		}
		s.workers[folder][worker] = true
	}
}

// workersOf is how many workers appended into folder.
func (s *submits) workersOf(folder string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.workers[folder])
}

func (s *submits) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("%d commands, %d with several messages, at most %d in one", s.n, s.multi, s.max)
}

// TestBulkBatchWithRefusedMessage: one message too large for the server
// inside MULTIAPPEND batches. The server refuses its batch as a whole (RFC
// 3502); the batch's messages go again one by one, so the others land and
// only the large one is quarantined, with the server's [LIMIT] answer.
func TestBulkBatchWithRefusedMessage(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "20k"})
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	for i := range 80 {
		if i == 37 {
			s.add(in, mail("big", "<big@x>", strings.Repeat("0123456789\n", 3000)), time.Now())
		}
		s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), strings.Repeat("small\n", i)), time.Now())
	}
	_, opts := dovecotTarget(t, srv, true)
	opts.Connections = 1
	var sub submits
	opts.onSubmit = sub.hook()
	rep, err := Upload(context.Background(), s.reader(), opts)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Upload: %v, want ErrIncomplete", err)
	}
	mustCheck(t, rep)
	if sub.multi == 0 {
		t.Fatalf("no MULTIAPPEND batch was sent (%v); the test tests nothing", &sub)
	}
	f := folderRep(t, rep, "INBOX")
	if f.Uploaded != 80 || len(f.Quarantined) != 1 || len(f.Failed) != 0 {
		t.Fatalf("INBOX: uploaded %d, quarantined %+v, failed %+v; want 80 and the big one", f.Uploaded, f.Quarantined, f.Failed)
	}
	if q := f.Quarantined[0]; q.MessageID != "<big@x>" || !strings.Contains(q.Reason, "LIMIT") || q.File == "" {
		t.Errorf("quarantined = %+v, want <big@x> with [LIMIT] and a file", q)
	}
	if f.Verify.Status != StatusMatch {
		t.Errorf("verify = %+v", f.Verify)
	}
	ids := map[string]int{}
	for _, m := range srv.Fetch(t, "INBOX") {
		for _, line := range strings.Split(string(m.Text), "\n") {
			if strings.HasPrefix(line, "Message-ID: ") {
				ids[strings.TrimPrefix(line, "Message-ID: ")]++
			}
		}
	}
	for i := range 80 {
		if id := fmt.Sprintf("<%d@x>", i); ids[id] != 1 {
			t.Errorf("%s: %d copies on the server, want 1", id, ids[id])
		}
	}
	if ids["<big@x>"] != 0 || len(ids) != 80 {
		t.Errorf("server holds %d distinct messages (big: %d), want the 80 small ones", len(ids), ids["<big@x>"])
	}
	t.Log(&sub)
}

// TestBulkCutInsideBatch cuts the connection again and again while
// MULTIAPPEND batches are on their way (most bytes sent are inside one):
// a batch is stored wholly or not at all, so the check after the
// reconnect and the re-sending of what is missing end with exactly the
// source on the server, no duplicate, nothing lost.
func TestBulkCutInsideBatch(t *testing.T) {
	t.Parallel()
	fsrc := newFaultSource(240, 900_000)
	srv := dovecottest.Start(t, dovecottest.Config{})
	p := faultproxy.Start(t, srv.TLSAddr)
	opts := faultOptions(t, srv, p)
	var sub submits
	opts.onSubmit = sub.hook()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cuts := []int64{40_000, 150_000, 7_000, 300_000, 60_000, 500_000}
	armed := make(chan int, 1)
	go func() {
		done := 0
		defer func() { armed <- done }()
		for i, n := range cuts {
			p.CutAfter(faultproxy.Up, n)
			if p.Wait(ctx, func(s faultproxy.Stats) bool { return s.Cuts > i }) != nil {
				return
			}
			done++
		}
	}()
	rep, err := Upload(context.Background(), fsrc.reader(), opts)
	cancel()
	happened := <-armed
	if err != nil {
		t.Fatalf("Upload: %v (proxy %+v)", err, p.Stats())
	}
	mustCheck(t, rep)
	if happened == 0 || sub.multi == 0 {
		t.Fatalf("%d cuts, %v: the test tests nothing", happened, &sub)
	}
	if rep.Totals.Uploaded != len(fsrc.msgs) || rep.Totals.Quarantined != 0 || rep.Totals.Mismatched != 0 {
		t.Errorf("totals = %+v, want all %d uploaded", rep.Totals, len(fsrc.msgs))
	}
	checkExact(t, srv, fsrc)
	t.Logf("%d of %d cuts; %v; proxy %+v", happened, len(cuts), &sub, p.Stats())
}

// dovecotCaps is what Dovecot 2.3 announces after login, less MULTIAPPEND
// and LITERAL+ (and the extensions upload never uses).
const dovecotCaps = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 LIST-STATUS MOVE SPECIAL-USE"

// TestBulkServerCapabilities uploads into servers offering less than
// Dovecot's default: no MULTIAPPEND (one message per command, pipelined),
// LITERAL- (literals over 4 KiB wait for the server's "+", also inside
// batches), neither MULTIAPPEND nor LITERAL+ (like Gmail). Every time the
// server ends with exactly the source, and the bulk path (not a fallback)
// sent it.
func TestBulkServerCapabilities(t *testing.T) {
	t.Parallel()
	fsrc := newFaultSource(60, 300_000)
	for _, tc := range []struct {
		name  string
		cfg   dovecottest.Config
		batch bool
	}{
		{"no MULTIAPPEND", dovecottest.Config{Capability: dovecotCaps + " LITERAL+"}, false},
		{"LITERAL- only", dovecottest.Config{LiteralMinus: true}, true},
		{"neither MULTIAPPEND nor LITERAL+", dovecottest.Config{Capability: dovecotCaps}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, tc.cfg)
			_, opts := dovecotTarget(t, srv, true)
			var sub submits
			opts.onSubmit = sub.hook()
			rep, err := Upload(context.Background(), fsrc.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			if sub.n == 0 || (sub.multi > 0) != tc.batch {
				t.Errorf("bulk path: %v; want batches %v", &sub, tc.batch)
			}
			// Every folder goes over all connections (lanes.go).
			for _, folder := range fsrc.want {
				if n := sub.workersOf(folder); n != 4 {
					t.Errorf("folder %q went over %d connections, want all 4", folder, n)
				}
			}
			checkExact(t, srv, fsrc)
			t.Log(&sub)
		})
	}
}

// TestGoIMAPAppendPath keeps the go-imap APPEND path (the fallback for
// servers the bulk client cannot follow) working through cuts.
func TestGoIMAPAppendPath(t *testing.T) {
	t.Parallel()
	fsrc := newFaultSource(60, 300_000)
	srv := dovecottest.Start(t, dovecottest.Config{})
	p := faultproxy.Start(t, srv.TLSAddr)
	opts := faultOptions(t, srv, p)
	opts.goIMAPAppend = true
	var sub submits
	opts.onSubmit = sub.hook()
	p.CutAfter(faultproxy.Up, 120_000)
	rep, err := Upload(context.Background(), fsrc.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if sub.n != 0 || p.Stats().Cuts == 0 {
		t.Errorf("bulk commands %v, proxy %+v: want go-imap only, one cut", &sub, p.Stats())
	}
	checkExact(t, srv, fsrc)
}
