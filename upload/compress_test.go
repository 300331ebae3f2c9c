package upload

import (
	"context"
	"sync"
	"testing"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// TestDovecotCompress: against a Dovecot that offers COMPRESS=DEFLATE, the
// upload compresses what it sends (text mail shrinks to a fraction on the
// wire), and --no-compress sends it as it is; the server holds exactly the
// source's messages either way.
func TestDovecotCompress(t *testing.T) {
	t.Parallel()
	fsrc := newFaultSource(60)
	for _, tc := range []struct {
		name       string
		noCompress bool
	}{{"compressed", false}, {"--no-compress", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{Compress: true})
			p := faultproxy.Start(t, srv.TLSAddr)
			opts := faultOptions(t, srv, p)
			opts.NoCompress = tc.noCompress
			rep, err := Upload(context.Background(), fsrc.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			checkExact(t, srv, fsrc)
			st := p.Stats()
			ratio := float64(st.Up) / float64(fsrc.bytes)
			t.Logf("%d bytes of mail, %d on the wire up (%.2f)", fsrc.bytes, st.Up, ratio)
			if tc.noCompress && ratio < 1 {
				t.Errorf("without compression %.2f of the mail's bytes went up: less than the mail itself", ratio)
			}
			if !tc.noCompress && ratio > 0.5 {
				t.Errorf("with COMPRESS %.2f of this (very repetitive) mail's bytes went up, want well under half", ratio)
			}
		})
	}
}

// TestDovecotFaultsCompressed: connections cut inside the compressed
// streams, both ways, at several points. The deflate stream cannot resume:
// each cut ends the connection, the check after the reconnect finds what
// landed, and the server ends with exactly the source's messages.
func TestDovecotFaultsCompressed(t *testing.T) {
	t.Parallel()
	fsrc := newFaultSource(90, 1_500_000)
	for _, tc := range []struct {
		name string
		dir  faultproxy.Direction
		cuts []int64
	}{
		// The compressed upload is some tens of kB in all.
		{"cut client to server", faultproxy.Up, []int64{1_500, 6_000, 12_000, 3_000}},
		{"cut server to client", faultproxy.Down, []int64{1_200, 4_000, 2_500}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{Compress: true})
			p := faultproxy.Start(t, srv.TLSAddr)
			opts := faultOptions(t, srv, p)
			ctx, cancel := context.WithCancel(context.Background())
			var mu sync.Mutex
			cuts := 0
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				for i, n := range tc.cuts {
					p.CutAfter(tc.dir, n)
					if p.Wait(ctx, func(s faultproxy.Stats) bool { return s.Cuts > i }) != nil {
						return
					}
					mu.Lock()
					cuts++
					mu.Unlock()
				}
			}()
			rep, err := Upload(context.Background(), fsrc.reader(), opts)
			cancel()
			<-finished
			st := p.Stats()
			if err != nil {
				t.Fatalf("Upload: %v (proxy %+v)", err, st)
			}
			mustCheck(t, rep)
			if cuts != len(tc.cuts) {
				t.Fatalf("%d of %d cuts happened before the upload ended (proxy %+v): the test tests less than it says", cuts, len(tc.cuts), st)
			}
			if float64(st.Up) > 0.5*float64(fsrc.bytes) {
				t.Errorf("%d bytes went up for %d bytes of mail: the connections were not compressed", st.Up, fsrc.bytes)
			}
			if rep.Totals.Uploaded != len(fsrc.msgs) || rep.Totals.Mismatched != 0 {
				t.Errorf("totals = %+v, want all %d uploaded", rep.Totals, len(fsrc.msgs))
			}
			checkExact(t, srv, fsrc)
		})
	}
}
