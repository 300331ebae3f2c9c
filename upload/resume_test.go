package upload

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/maildir"
	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
	"mailferry/internal/testutil"
)

// faultSource is a generated source for the fault tests: three folders
// (INBOX, Lists, Archive/2019), n messages of 300 B to 40 kB, large ones of
// the given sizes, byte-identical copies of every 20th message in the same
// folder, messages without a Message-ID and distinct messages that share
// one.
type faultSource struct {
	source
	want  map[*formats.Mailbox]string // server folder of each source folder
	bytes int64                       // total size
}

func newFaultSource(n int, large ...int) *faultSource {
	fs := &faultSource{want: map[*formats.Mailbox]string{}}
	in := fs.box("", formats.SpecialInbox, "Inbox")
	lists := fs.box("", "", "Lists")
	arch := fs.box("", "", "Archive", "2019")
	fs.want[in], fs.want[lists], fs.want[arch] = "INBOX", "Lists", "Archive/2019"
	boxes := []*formats.Mailbox{in, lists, arch}
	date := time.Date(2019, 3, 4, 5, 6, 7, 0, time.UTC)
	add := func(mb *formats.Mailbox, raw string) {
		m := fs.add(mb, raw, date.Add(time.Duration(len(fs.msgs))*time.Hour), `\Seen`)
		fs.bytes += m.Size
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("<%d@gen.example>", i)
		received := ""
		switch {
		case i%9 == 0:
			id = "" // no Message-ID
		case i%11 == 0:
			// The same post received twice through different lists: one
			// Message-ID, different Received lines.
			id = "<shared@gen.example>"
			received = fmt.Sprintf("Received: from list%d.example by mx.example; Mon, 4 Mar 2019 05:06:07 +0000\n", i)
		}
		lines := 5 + (i*37)%600
		body := strings.Repeat(fmt.Sprintf("Line of message %d, with some text to make it longer.\n", i), lines)
		raw := received + mail(fmt.Sprintf("message %d", i), id, body)
		add(boxes[i%3], raw)
		if i%20 == 0 {
			add(boxes[i%3], raw) // a byte-identical copy
		}
	}
	for k, size := range large {
		line := fmt.Sprintf("Large message %d: %s\n", k, strings.Repeat("0123456789", 7))
		body := strings.Repeat(line, size/len(line)+1)
		add(boxes[k%3], mail(fmt.Sprintf("large %d", k), fmt.Sprintf("<large%d@gen.example>", k), body))
	}
	return fs
}

// checkExact compares the server with the source message by message: every
// source message is there once per copy in the source, in its folder,
// byte for byte, and nothing else is.
func checkExact(t *testing.T, srv *dovecottest.Server, fs *faultSource) {
	t.Helper()
	type key struct {
		folder string
		sum    [32]byte
	}
	want := map[key]int{}
	pos := map[key]string{}
	for _, m := range fs.msgs {
		k := key{fs.want[m.Mailbox], sha256.Sum256(readAll(t, m))}
		want[k]++
		pos[k] = m.Pos.String()
	}
	have := map[key]int{}
	stored := srv.FetchAll(t)
	for _, s := range stored {
		have[key{s.Mailbox, sha256.Sum256(s.CRLF())}]++
	}
	bad := 0
	for k, n := range want {
		if have[k] != n {
			bad++
			if bad <= 10 {
				t.Errorf("%s in %q: %d copies on the server, want %d", pos[k], k.folder, have[k], n)
			}
		}
	}
	for k, n := range have {
		if want[k] == 0 {
			bad++
			if bad <= 10 {
				t.Errorf("the server holds %d message(s) in %q that are not from the source", n, k.folder)
			}
		}
	}
	if len(stored) != len(fs.msgs) {
		t.Errorf("the server holds %d messages, the source %d (%d differences)", len(stored), len(fs.msgs), bad)
	}
}

// when runs f once the proxy's counters satisfy cond, in the background;
// it gives up when the test ends. The returned function reports whether f
// ran.
func when(t *testing.T, p *faultproxy.Proxy, cond func(faultproxy.Stats) bool, f func()) (ran func() bool) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	done := false
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		if p.Wait(ctx, cond) == nil {
			f()
			mu.Lock()
			done = true
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); <-finished })
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		return done
	}
}

// faultOptions are the options of an upload through the proxy.
func faultOptions(t testing.TB, srv *dovecottest.Server, p *faultproxy.Proxy) Options {
	tg, opts := dovecotTarget(t, srv, true)
	_, port, _ := net.SplitHostPort(p.Addr()) // 127.0.0.1, as Dovecot's
	tg.Port, _ = strconv.Atoi(port)
	opts.Target = &tg
	opts.Connections = 2
	opts.IOTimeout = time.Second
	opts.RetryTimeout = 20 * time.Second
	return opts
}

// TestDovecotFaults puts a fault-injecting proxy between the uploader and
// a real Dovecot: connections cut after N bytes (several N, both
// directions, also inside large literals), stalled in either direction
// (the IOTimeout must fire), refused for a while, cut by a provider limit.
// Each time the upload finishes by itself, and the server holds exactly
// the source's messages.
func TestDovecotFaults(t *testing.T) {
	fsrc := newFaultSource(90, 1_500_000, 2_500_000)
	total := fsrc.bytes
	// cutSeries arms one cut after another: each n counts from the
	// previous cut.
	cutSeries := func(dir faultproxy.Direction, ns ...int64) func(t *testing.T, p *faultproxy.Proxy) func() bool {
		return func(t *testing.T, p *faultproxy.Proxy) func() bool {
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			cuts := 0
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				for i, n := range ns {
					p.CutAfter(dir, n)
					if p.Wait(ctx, func(s faultproxy.Stats) bool { return s.Cuts > i }) != nil {
						return
					}
					mu.Lock()
					cuts++
					mu.Unlock()
				}
			}()
			t.Cleanup(func() { cancel(); <-finished })
			return func() bool {
				mu.Lock()
				defer mu.Unlock()
				if cuts < len(ns) {
					t.Logf("only %d of %d cuts happened", cuts, len(ns))
				}
				return cuts == len(ns)
			}
		}
	}
	upAt := func(frac float64) func(s faultproxy.Stats) bool {
		return func(s faultproxy.Stats) bool { return s.Up >= int64(frac*float64(total)) }
	}
	cases := []struct {
		name  string
		fault func(t *testing.T, p *faultproxy.Proxy) (happened func() bool)
		// lanesFault replaces fault when the folders go over several
		// connections, each carrying a share of the bytes.
		lanesFault func(t *testing.T, p *faultproxy.Proxy) (happened func() bool)
	}{
		{"cut client to server at several points", cutSeries(faultproxy.Up, 2_000, 100_000, 1_000_000, 700_000, 30_000), nil},
		// The server sends ~45 kB in all.
		{"cut server to client at several points", cutSeries(faultproxy.Down, 1_500, 20_000, 5_000, 30_000), nil},
		{"stall server to client", func(t *testing.T, p *faultproxy.Proxy) func() bool {
			return when(t, p, upAt(0.3), func() { p.StallFor(faultproxy.Down, 2500*time.Millisecond) })
		}, nil},
		{"stall client to server", func(t *testing.T, p *faultproxy.Proxy) func() bool {
			return when(t, p, upAt(0.5), func() { p.StallFor(faultproxy.Up, 2500*time.Millisecond) })
		}, nil},
		{"refuse reconnects for a while", func(t *testing.T, p *faultproxy.Proxy) func() bool {
			return when(t, p, upAt(0.4), func() {
				p.RefuseFor(2 * time.Second)
				p.CutAll()
			})
		}, nil},
		{"provider cuts every connection after 3 MB", func(t *testing.T, p *faultproxy.Proxy) func() bool {
			p.CutEachAfter(faultproxy.Up, 3_000_000)
			return func() bool { return p.Stats().Cuts > 0 }
		}, func(t *testing.T, p *faultproxy.Proxy) func() bool {
			// Room for the 2.5 MB message on a fresh connection.
			p.CutEachAfter(faultproxy.Up, 2_700_000)
			return func() bool { return p.Stats().Cuts > 0 }
		}},
	}
	// Every folder goes over both connections (lanes.go): a worker's check
	// after a cut must not take the other connection's messages in flight
	// for its own. Each fault also on one connection, and on a server
	// without LITERAL+ over four connections, waiting for "+" before every
	// literal over 4 KiB.
	for _, tc := range cases {
		for _, variant := range []string{"", "one connection", "no LITERAL+"} {
			name := tc.name
			if variant != "" {
				name += " (" + variant + ")"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				cfg := dovecottest.Config{}
				if variant == "no LITERAL+" {
					cfg.Capability = dovecotCaps
				}
				srv := dovecottest.Start(t, cfg)
				p := faultproxy.Start(t, srv.TLSAddr)
				opts := faultOptions(t, srv, p)
				switch variant {
				case "one connection":
					opts.Connections = 1
				case "no LITERAL+":
					opts.Connections = 4
				}
				var sub submits
				opts.onSubmit = sub.hook()
				fault := tc.fault
				if opts.Connections > 1 && tc.lanesFault != nil {
					fault = tc.lanesFault
				}
				happened := fault(t, p)
				rep, err := Upload(context.Background(), fsrc.reader(), opts)
				st := p.Stats()
				if err != nil {
					t.Fatalf("Upload: %v (proxy %+v)", err, st)
				}
				mustCheck(t, rep)
				if !happened() {
					t.Fatalf("the fault did not happen before the upload ended (proxy %+v); the test tests nothing", st)
				}
				if st.Accepted <= opts.Connections {
					t.Errorf("proxy accepted %d connections: the fault caused no reconnect", st.Accepted)
				}
				if rep.Totals.Uploaded != len(fsrc.msgs) || rep.Totals.Quarantined != 0 || rep.Totals.Mismatched != 0 {
					t.Errorf("totals = %+v, want all %d uploaded", rep.Totals, len(fsrc.msgs))
				}
				checkExact(t, srv, fsrc)
				if opts.Connections > 1 {
					for _, folder := range fsrc.want {
						if n := sub.workersOf(folder); n < 2 {
							t.Errorf("folder %q went over %d connections, want it spread", folder, n)
						}
					}
				}
				t.Logf("proxy: %+v", st)
			})
		}
	}
}

// TestDovecotRestart stops Dovecot in the middle of an upload. Back within
// RetryTimeout, the run recovers by itself; gone for longer, the run gives
// up with a clear error (exit 1) and a re-run completes. Either way the
// server ends with exactly the source's messages.
func TestDovecotRestart(t *testing.T) {
	fsrc := newFaultSource(90, 1_500_000)
	for _, tc := range []struct {
		name  string
		retry time.Duration
		down  time.Duration
	}{
		{"back within the retry window", 20 * time.Second, 1500 * time.Millisecond},
		{"gone beyond the retry window", 2 * time.Second, 0}, // 0: back only after the run gave up
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{})
			p := faultproxy.Start(t, srv.TLSAddr) // only to watch the progress
			opts := faultOptions(t, srv, p)
			opts.RetryTimeout = tc.retry
			stopped := make(chan struct{})
			stop := func() {
				if err := srv.Stop(); err != nil {
					t.Errorf("stop dovecot: %v", err)
				}
				close(stopped)
				if tc.down > 0 {
					time.Sleep(tc.down)
					if err := srv.Run(); err != nil {
						t.Errorf("start dovecot again: %v", err)
					}
				}
			}
			var ran func() bool
			if tc.down > 0 {
				ran = when(t, p, func(s faultproxy.Stats) bool { return s.Up >= fsrc.bytes/3 }, stop)
			} else {
				// The re-run must find something: stop once the server has
				// confirmed a first batch (a byte count alone may come before
				// any commit, as a MULTIAPPEND batch is stored whole or not at
				// all), from inside the progress callback, which holds the
				// run still until the server is gone.
				var once sync.Once
				var fired atomic.Bool
				opts.OnProgress = func(pr Progress) {
					if pr.Uploaded > 0 {
						once.Do(func() { fired.Store(true); stop() })
					}
				}
				ran = fired.Load
			}
			rep, err := Upload(context.Background(), fsrc.reader(), opts)
			if !ran() {
				t.Fatalf("the upload ended before Dovecot was stopped (err %v)", err)
			}
			mustCheck(t, rep)
			if tc.down > 0 {
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				checkExact(t, srv, fsrc)
				return
			}
			<-stopped
			if !isFailure(err) || !strings.Contains(err.Error(), "gave up") {
				t.Fatalf("Upload with the server gone: %v, want a clear error (gave up) with exit 1", err)
			}
			t.Logf("gave up as expected: %v", err)
			if rep.Stopped == "" || rep.Verified {
				t.Errorf("report: stopped %q, verified %v", rep.Stopped, rep.Verified)
			}
			if err := srv.Run(); err != nil {
				t.Fatal(err)
			}
			rep2, err := Upload(context.Background(), fsrc.reader(), opts)
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			mustCheck(t, rep2)
			if rep2.Totals.Already == 0 || rep2.Totals.Already+rep2.Totals.Uploaded != len(fsrc.msgs) {
				t.Errorf("re-run totals = %+v", rep2.Totals)
			}
			checkExact(t, srv, fsrc)
		})
	}
}

// TestDovecotOverQuota: a full mailbox stops the run with a clear message
// and exit 1; nothing is quarantined for it, and what arrived is intact.
func TestDovecotOverQuota(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{QuotaStorage: "300k"})
	fsrc := newFaultSource(60) // ~1 MB
	_, opts := dovecotTarget(t, srv, true)
	rep, err := Upload(context.Background(), fsrc.reader(), opts)
	if !errors.Is(err, ErrOverQuota) || !isFailure(err) || !strings.Contains(err.Error(), "nothing more will fit") {
		t.Fatalf("Upload into a full mailbox: %v, want ErrOverQuota (exit 1) saying nothing more will fit", err)
	}
	mustCheck(t, rep)
	if rep.Stopped == "" || rep.Totals.Quarantined != 0 || rep.Totals.Uploaded == 0 {
		t.Errorf("report: stopped %q, totals %+v", rep.Stopped, rep.Totals)
	}
	// Messages in flight when the run stopped are "not confirmed": some
	// of them may have arrived.
	unconfirmed := 0
	for _, f := range rep.Folders {
		for _, p := range f.Failed {
			if strings.HasPrefix(p.Reason, "not confirmed") {
				unconfirmed++
			}
		}
	}
	stored := srv.FetchAll(t)
	if len(stored) < rep.Totals.Uploaded || len(stored) > rep.Totals.Uploaded+unconfirmed {
		t.Errorf("the server holds %d messages, the report says %d uploaded and %d not confirmed", len(stored), rep.Totals.Uploaded, unconfirmed)
	}
	src := map[string]bool{}
	for _, m := range fsrc.msgs {
		src[string(readAll(t, m))] = true
	}
	for _, s := range stored {
		if !src[string(s.CRLF())] {
			t.Errorf("the server holds a message (uid %d in %q) that is not a source message", s.UID, s.Mailbox)
		}
	}
}

// TestDovecotNotmuchDuplicates uploads the notmuch lkml Maildir (210
// files, 176 unique Message-IDs, 34 byte-identical copies) twice: the
// server ends with 210 messages, not 176 and not 420.
func TestDovecotNotmuchDuplicates(t *testing.T) {
	t.Parallel()
	dir := testutil.Corpus(t, "maildir/notmuch/lkml")
	srv := dovecottest.Start(t, dovecottest.Config{})
	_, opts := dovecotTarget(t, srv, true)
	open := func() formats.Reader {
		r, err := maildir.Open(dir, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	count := func() int {
		n := 0
		for _, st := range srv.Status(t) {
			n += st.Messages
		}
		return n
	}
	rep, err := Upload(context.Background(), open(), opts)
	if err != nil {
		t.Fatalf("first Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Found != 210 || rep.Totals.Uploaded != 210 || count() != 210 {
		t.Fatalf("first run: totals %+v, server holds %d; want 210", rep.Totals, count())
	}
	rep, err = Upload(context.Background(), open(), opts)
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != 0 || rep.Totals.Already != 210 || count() != 210 {
		t.Fatalf("second run: totals %+v, server holds %d; want 0 uploaded, 210 already there", rep.Totals, count())
	}
	for _, f := range rep.Folders {
		if f.Verify == nil || f.Verify.Status != StatusMatch {
			t.Errorf("verify %q: %+v", f.Server, f.Verify)
		}
	}
	ids := map[string]int{}
	for _, m := range srv.FetchAll(t) {
		id, _, _ := strings.Cut(string(m.Text[strings.Index(strings.ToLower(string(m.Text)), "\nmessage-id:")+1:]), "\n")
		ids[strings.ToLower(id)]++
	}
	if len(ids) != 176 {
		t.Errorf("the server holds %d distinct Message-IDs, want 176", len(ids))
	}
}
