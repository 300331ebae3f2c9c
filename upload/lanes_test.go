package upload

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/internal/dovecottest"
	"mailferry/upload/rehearsal"
)

// TestLanesMemserver: a server without LITERAL+ gets every folder's
// messages over all connections, byte-identical copies included, and the
// upload verifies; a re-run finds everything there.
func TestLanesMemserver(t *testing.T) {
	t.Parallel()
	ms, err := startMemServerCaps(testLogger(t), nil, imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.close()
	fsrc := newFaultSource(120)
	opts := ms.options(t)
	opts.Connections = 4
	var sub submits
	opts.onSubmit = sub.hook()
	rep, err := Upload(context.Background(), fsrc.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != len(fsrc.msgs) || rep.Connections != 4 {
		t.Errorf("uploaded %d of %d over %d connections, want all over 4", rep.Totals.Uploaded, len(fsrc.msgs), rep.Connections)
	}
	for _, name := range fsrc.want {
		if n := sub.workersOf(name); n < 2 {
			t.Errorf("folder %q: %d workers appended into it, want it spread (%v)", name, n, sub.workers)
		}
	}
	rep, err = Upload(context.Background(), fsrc.reader(), opts)
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	if rep.Totals.Uploaded != 0 || rep.Totals.Already != len(fsrc.msgs) {
		t.Errorf("second run: %+v, want all %d already there", rep.Totals, len(fsrc.msgs))
	}
}

// TestReconcileLanes: after a reconnect a worker judges only its own lane.
// Another lane's message that landed while in flight on another connection
// is neither taken as this worker's nor made available to the source (a
// byte-identical copy later in the source must still be uploaded).
func TestReconcileLanes(t *testing.T) {
	rn := newRun(Options{}, ModeUpload)
	rn.lanes = 2
	fp := func(name string, size int64) Fingerprint {
		return Fingerprint{Header: sha256.Sum256([]byte(name)), Size: size}
	}
	a0, b0 := fp("a", 100), fp("b", 102) // lane 0
	c1, d1 := fp("c", 101), fp("d", 103) // lane 1
	fs := &folderState{consumed: map[Fingerprint]int{}, available: newServerSet()}
	// Before: lane 0 has one a0 on the server to match; lane 1 one d1.
	fs.available.add(Identity{Fingerprint: a0})
	fs.available.add(Identity{Fingerprint: d1})
	fs.consumed[b0] = 1 // lane 0: b0 appended and confirmed
	// The server now: a0 and b0 (lane 0) plus b0 landed from the
	// reconnecting worker's batch; lane 1 holds d1 and c1, c1 landed from
	// the other worker's batch still in flight.
	set := newServerSet()
	for _, k := range []Fingerprint{a0, b0, b0, c1, d1} {
		set.add(Identity{Fingerprint: k})
	}
	lost := []*job{{e: &sourceEntry{id: Identity{Fingerprint: b0}}}, {e: &sourceEntry{id: Identity{Fingerprint: c1}}}}
	// A lane-0 worker would never have c1 in flight; it is here to show
	// that lane 1 keys are not its to take.
	landed, rest := rn.led.reconcile(fs, set, lost, rn.laneFilter(0))
	if len(landed) != 1 || landed[0] != lost[0] || len(rest) != 1 || rest[0] != lost[1] {
		t.Fatalf("landed %d, rest %d: want b0 landed and c1 not judged as landed", len(landed), len(rest))
	}
	want := map[Fingerprint]int{a0: 1, d1: 1}
	for k, n := range fs.available.count {
		if n != want[k] {
			t.Errorf("available[%v] = %d, want %d", k, n, want[k])
		}
	}
	for k, n := range want {
		if fs.available.count[k] != n {
			t.Errorf("available[%v] = %d, want %d", k, fs.available.count[k], n)
		}
	}
}

// TestConnectionLimit: a Dovecot that allows a user two connections, an
// upload asking for four. The workers beyond the limit retire before the
// upload (pre-scan, connect pass) instead of retrying until the run gives
// up, and every folder goes over the connections allowed. Dovecot counts
// concurrent logins loosely (its count is updated after a login, not
// during it): logins that arrive together may all get through, and the
// connections beyond the first open together (spares), so up to all four
// may be allowed; the refusals are met when they are not (and always in
// TestSpareConnections, whose server counts exactly).
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		folders int
		caps    string
		// repeat: the two-folder case failed about one run in three
		// before the passes preferred workers holding a connection.
		repeat int
	}{
		{"two folders", 2, "", 3},
		{"five folders", 5, "", 2},
		{"no LITERAL+", 3, dovecotCaps, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := benchSource(60*tc.folders, 6000, tc.folders)
			for i := 0; i < tc.repeat; i++ {
				srv := dovecottest.Start(t, dovecottest.Config{MaxUserIPConnections: 2, Capability: tc.caps})
				_, opts := dovecotTarget(t, srv, true)
				opts.Connections = 4
				opts.RetryTimeout = 20 * time.Second
				var sub submits
				opts.onSubmit = sub.hook()
				rep, err := Upload(context.Background(), s.reader(), opts)
				if err != nil {
					t.Fatalf("run %d: Upload: %v", i+1, err)
				}
				mustCheck(t, rep)
				if rep.Totals.Uploaded != len(s.msgs) || rep.Connections < 2 || rep.ConnectionsAsked != 4 {
					t.Errorf("run %d: uploaded %d over %d of %d connections, want %d over at least 2 of 4", i+1, rep.Totals.Uploaded, rep.Connections, rep.ConnectionsAsked, len(s.msgs))
				}
				for k := 0; k < tc.folders; k++ {
					name := fmt.Sprintf("Folder%d", k)
					if n := sub.workersOf(name); n != rep.Connections {
						t.Errorf("run %d: %d workers appended into %q, want all %d", i+1, n, name, rep.Connections)
					}
				}
				_ = srv.Stop()
			}
		})
	}
}

// TestRetireNeverTheLast: a pass lets workers retire while one stays.
func TestRetireNeverTheLast(t *testing.T) {
	rn := newRun(Options{}, ModeUpload)
	p := &pass{active: 2}
	limitAnswer := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable,
		Text: "Maximum number of connections from user+IP exceeded (mail_max_userip_connections=2)"}
	busyAnswer := &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Server busy, try again later"}
	limit, busy := newThrottleError(limitAnswer, limitAnswer), newThrottleError(busyAnswer, busyAnswer)
	w1, w2, w3 := &worker{rn: rn, id: 1, pass: p}, &worker{rn: rn, id: 2, pass: p}, &worker{rn: rn, id: 3}
	if w3.mayRetire(fmt.Errorf("dial: %w", limit)) {
		t.Error("a worker outside a pass retired")
	}
	if w1.mayRetire(busy) {
		t.Error("a worker retired on a busy server (not a connection limit)")
	}
	if !w1.mayRetire(fmt.Errorf("dial: %w", limit)) || !w1.retired {
		t.Error("the first refused worker of two did not retire")
	}
	if w2.mayRetire(fmt.Errorf("dial: %w", limit)) || w2.retired {
		t.Error("the last worker of the pass retired")
	}
}

// The connections beyond the first are opened while the first creates
// the folders (spares): each worker gets one, no login is wasted, and a
// server that allows fewer connections (refused at login, or reset at
// connect) still gets every message once over the connections it allows.
func TestSpareConnections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		limit rehearsal.ConnectionLimit
		want  int
	}{
		{"no limit", 0, rehearsal.LimitAtLogin, 4},
		{"two at login", 2, rehearsal.LimitAtLogin, 2},
		{"two by reset", 2, rehearsal.LimitReset, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := rehearsal.Options{Logger: testLogger(t), TempDir: t.TempDir(), MaxConnections: tc.max, ConnectionLimit: tc.limit}
			srv, err := rehearsal.Start(o)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			src := providerSource(40)
			opts := rehearsalOptions(t, srv)
			opts.Connections = 4
			opts.RetryTimeout = 5 * time.Second
			spares := -1
			opts.onSpares = func(n int) { spares = n }
			rep, err := Upload(context.Background(), src.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			if rep.Connections != tc.want || rep.Totals.Uploaded != len(src.msgs) || serverTotal(t, srv) != len(src.msgs) {
				t.Errorf("%d connections, totals %+v, %d on the server; want %d connections and each of %d messages once",
					rep.Connections, rep.Totals, serverTotal(t, srv), tc.want, len(src.msgs))
			}
			if spares != tc.want-1 {
				t.Errorf("%d spare connections went to workers, want %d (all the server allows)", spares, tc.want-1)
			}
			if tc.max == 0 && srv.Logins() != 4 {
				t.Errorf("%d logins for 4 connections: a spare was wasted or a worker logged in again", srv.Logins())
			}
		})
	}
}
