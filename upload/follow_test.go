package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailferry/formats"
	"mailferry/internal/dovecottest"
)

// pausingReader stops after pauseAt messages until the follower has
// collected something, so that tests see the follower work during the
// upload without depending on timing.
type pausingReader struct {
	*fakeReader
	pauseAt   int
	collected chan struct{}
}

func (r *pausingReader) Next(ctx context.Context) (*formats.Message, error) {
	if r.i == r.pauseAt {
		select {
		case <-r.collected:
		case <-time.After(30 * time.Second):
			return nil, errors.New("the follower collected nothing within 30 s")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.fakeReader.Next(ctx)
}

// followSetup makes opts follow every few milliseconds and returns a
// reader of s that pauses at pauseAt, and the folders whose verify used
// the follower's collection.
func followSetup(s *source, opts *Options, pauseAt int) (*pausingReader, func() map[string]bool) {
	r := &pausingReader{fakeReader: s.reader(), pauseAt: pauseAt, collected: make(chan struct{})}
	var once sync.Once
	var mu sync.Mutex
	used := map[string]bool{}
	opts.followInterval = 5 * time.Millisecond
	opts.onFollow = func(n int) {
		if n > 0 {
			once.Do(func() { close(r.collected) })
		}
	}
	opts.onVerifyFolder = func(server string, followed bool) {
		mu.Lock()
		used[server] = followed
		mu.Unlock()
	}
	return r, func() map[string]bool {
		mu.Lock()
		defer mu.Unlock()
		return used
	}
}

func followSource(n int) (*source, *formats.Mailbox) {
	var s source
	box := s.box("", "", "Followed")
	d := time.Date(2021, 4, 5, 6, 7, 8, 0, time.UTC)
	for i := range n {
		s.add(box, mail(fmt.Sprintf("message %d", i), fmt.Sprintf("<%d@follow>", i), fmt.Sprintf("body %d\n", i)), d, `\Seen`)
	}
	return &s, box
}

// testFollowUsed: the verify pass uses what the follower collected during
// the upload, and the result is the same as a full FETCH gives.
func testFollowUsed(t *testing.T, opts Options, client *imapclient.Client) {
	appendRaw(t, client, "INBOX", mail("already there", "<old@x>", "not from the source"))
	s, _ := followSource(150)
	other := s.box("", "", "Other")
	for i := range 40 {
		s.add(other, mail(fmt.Sprintf("other %d", i), "", "x"), time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	r, used := followSetup(s, &opts, 100)
	rep, err := Upload(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if !used()["Followed"] {
		t.Errorf("verify of Followed fetched the folder in full; want the follower's collection (verify used: %v)", used())
	}
	for _, f := range rep.Folders {
		if f.Verify == nil || f.Verify.Status != StatusMatch || f.Verify.OnServer != f.Found {
			t.Errorf("folder %q: verify %+v, found %d", f.Server, f.Verify, f.Found)
		}
	}
	if rep.Totals.Uploaded != 190 || !rep.Verified {
		t.Errorf("totals %+v, verified %v; want 190 uploaded and verified", rep.Totals, rep.Verified)
	}
	// The same check without the follower agrees (and uploads nothing).
	opts.noFollow = true
	opts.onVerifyFolder = nil
	rep2, err := Verify(context.Background(), s.reader(), opts)
	if err != nil || rep2.Totals.Already != 190 {
		t.Fatalf("Verify after the upload: %v, totals %+v", err, rep2.Totals)
	}
}

// testFollowFallsBack: a message expunged and another added by someone
// else after the follower collected them leave the count equal to
// nothing; the catch-up sees a different count, and the verify pass
// fetches the folder in full and reports both.
func testFollowFallsBack(t *testing.T, opts Options, client *imapclient.Client) {
	s, _ := followSource(60)
	r, used := followSetup(s, &opts, 30)
	opts.beforeVerify = func() {
		if _, err := client.Select("Followed", nil).Wait(); err != nil {
			t.Errorf("select: %v", err)
			return
		}
		// UID 1 is the first message uploaded; the follower had it
		// before the reader went on past message 30.
		uids := imap.UIDSetNum(1)
		if err := client.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
			t.Errorf("store: %v", err)
		}
		if err := client.UIDExpunge(uids).Close(); err != nil {
			t.Errorf("expunge: %v", err)
		}
		appendRaw(t, client, "Followed", mail("someone else's", "<foreign@x>", "added during the run"))
	}
	rep, err := Upload(context.Background(), r, opts)
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("Upload: %v, want ErrVerify (one message was expunged)", err)
	}
	if u, ok := used()["Followed"]; !ok || u {
		t.Errorf("verify used the follower's collection (%v, %v); want the full FETCH after the count differed", u, ok)
	}
	f := folderRep(t, rep, "Followed")
	if f.Verify == nil || len(f.Verify.Missing) != 1 || f.Verify.Extra != 1 || f.Verify.OnServer != 60 {
		t.Fatalf("verify = %+v; want 1 missing, 1 extra, 60 on the server", f.Verify)
	}
	if f.Verify.Missing[0].MessageID != "<0@follow>" || f.Verify.ExtraIDs[0] != "<foreign@x>" {
		t.Errorf("missing %+v, extra %q; want <0@follow> and <foreign@x>", f.Verify.Missing, f.Verify.ExtraIDs)
	}
}

func TestFollowMemserver(t *testing.T) {
	t.Run("used", func(t *testing.T) {
		ms := newMem(t)
		testFollowUsed(t, ms.options(t), ms.client(t))
	})
	t.Run("falls back", func(t *testing.T) {
		ms := newMem(t)
		testFollowFallsBack(t, ms.options(t), ms.client(t))
	})
	t.Run("off with no connection to spare", func(t *testing.T) {
		ms := newMem(t)
		opts := ms.options(t)
		opts.Connections = 1
		s, _ := followSource(20)
		var started atomic.Bool
		opts.onFollow = func(int) { started.Store(true) }
		rep, err := Upload(context.Background(), s.reader(), opts)
		if err != nil || !rep.Verified {
			t.Fatalf("Upload: %v, verified %v", err, rep.Verified)
		}
		if started.Load() {
			t.Errorf("a follower ran with --connections 1")
		}
	})
}

func TestFollowDovecot(t *testing.T) {
	t.Run("used", func(t *testing.T) {
		t.Parallel()
		srv := dovecottest.Start(t, dovecottest.Config{})
		_, opts := dovecotTarget(t, srv, true)
		testFollowUsed(t, opts, srv.Dial(t))
	})
	t.Run("falls back", func(t *testing.T) {
		t.Parallel()
		srv := dovecottest.Start(t, dovecottest.Config{})
		_, opts := dovecotTarget(t, srv, true)
		testFollowFallsBack(t, opts, srv.Dial(t))
	})
}

// TestFollowYields: when the server asks to slow down (or a worker cannot
// connect), the follower stops after its current look and frees its
// connection: it must never hold one the upload needs. The upload still
// completes and verifies.
func TestFollowYields(t *testing.T) {
	var mu sync.Mutex
	throttled, looksAfter := false, 0
	ms := newMemWith(t, func(s imapserver.Session) imapserver.Session {
		return &testSession{Session: s, reject: func(b []byte) error {
			mu.Lock()
			defer mu.Unlock()
			if !throttled && bytes.Contains(b, []byte("<40@follow>")) {
				throttled = true
				return imapErr("NO", "UNAVAILABLE", "Too busy, try again later")
			}
			return nil
		}}
	})
	opts := ms.options(t)
	s, _ := followSource(80)
	r, _ := followSetup(s, &opts, 20)
	onFollow := opts.onFollow
	opts.onFollow = func(n int) {
		mu.Lock()
		if throttled {
			looksAfter++
		}
		mu.Unlock()
		onFollow(n)
	}
	rep, err := Upload(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != 80 || !rep.Verified {
		t.Fatalf("totals %+v, verified %v; want 80 uploaded and verified", rep.Totals, rep.Verified)
	}
	mu.Lock()
	defer mu.Unlock()
	if !throttled {
		t.Fatal("the server never asked to slow down: the test tested nothing")
	}
	// The refusal reaches the worker a moment after the server sent it;
	// a few looks fit in between (every 5 ms here). Without yielding, the
	// follower would go on looking through the pause that follows (at
	// least 250 ms) and the rest of the upload.
	if looksAfter > 5 {
		t.Errorf("the follower looked %d more times after the server asked to slow down; want it gone after its current look", looksAfter)
	}
}
