package upload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
	"mailferry/upload/rehearsal"
)

// newRehearsal starts a rehearsal server for one test.
func newRehearsal(t testing.TB) *rehearsal.Server {
	t.Helper()
	srv, err := rehearsal.Start(rehearsal.Options{Logger: testLogger(t), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// rehearsalOptions are upload Options aimed at a rehearsal server.
func rehearsalOptions(t testing.TB, srv *rehearsal.Server) Options {
	tg := rehearsalTarget(srv)
	return Options{Target: &tg, Password: srv.Password(), QuarantineDir: t.TempDir(), TempDir: t.TempDir(),
		Logger: testLogger(t), RetryTimeout: 5 * time.Second}
}

// TestRehearsalServerRerun: Upload into the rehearsal server, then again:
// the pre-scan finds every message (also the oddly formed ones), nothing
// is sent twice, and verify matches.
func TestRehearsalServerRerun(t *testing.T) {
	srv := newRehearsal(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	sent := s.box("", formats.SpecialSent, "Sent")
	arch := s.box("", formats.SpecialNone, "Archive", "2019")
	d := time.Date(2011, 6, 7, 8, 9, 10, 0, time.UTC)
	s.add(in, mail("1", "<1@x>", "x"), d, `\Seen`, "$label1")
	s.add(in, mail("1", "<1@x>", "x"), d) // the same bytes twice: two copies
	s.add(sent, "not a header at all\n\nbody\n", d)
	s.add(sent, "From: a\nbroken header line\nSubject: x\n\nbody\n", d, `\Answered`)
	s.add(arch, "From: a\nX-Long: "+strings.Repeat("z", fingerprint.MaxHeaderLine+10)+"\n\nbody\n", d)
	s.add(arch, mail("big", "<big@x>", strings.Repeat("line of a large body\n", 100000)), d)
	ctx := context.Background()
	rep, err := Upload(ctx, s.reader(), rehearsalOptions(t, srv))
	if err != nil {
		t.Fatalf("first Upload: %v", err)
	}
	mustCheck(t, rep)
	if rep.Totals.Uploaded != 6 || !rep.Verified {
		t.Errorf("first run totals = %+v, verified %v; want 6 uploaded and verified", rep.Totals, rep.Verified)
	}
	rep2, err := Upload(ctx, s.reader(), rehearsalOptions(t, srv))
	if err != nil {
		t.Fatalf("second Upload: %v", err)
	}
	mustCheck(t, rep2)
	if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != 6 {
		t.Errorf("second run totals = %+v, want 0 uploaded, 6 already there", rep2.Totals)
	}
	for _, f := range rep2.Folders {
		if f.Verify == nil || f.Verify.Status != StatusMatch {
			t.Errorf("folder %q verify = %+v, want =", f.Server, f.Verify)
		}
	}
	msgs, err := srv.Messages("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || !equalStrings(msgs[0].Flags, []string{"$label1", `\Seen`}) || !msgs[0].Date.Equal(d) {
		t.Errorf("INBOX = %d messages, first %+v", len(msgs), msgs)
	}
}

// genReader is a formats.Reader of generated messages of about size bytes
// each, made while they are read: it never holds a message.
type genReader struct {
	boxes []*formats.Mailbox
	n     int
	size  int
	i     int
}

func (r *genReader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) { return r.boxes, nil }
func (r *genReader) Close() error                                              { return nil }

func (r *genReader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.i >= r.n {
		return nil, io.EOF
	}
	i := r.i
	r.i++
	header := fmt.Sprintf("From: gen@example.com\r\nTo: you@example.com\r\nSubject: generated %d\r\nMessage-ID: <%d@gen.example>\r\n\r\n", i, i)
	const line = 78 // 76 characters and CRLF
	lines := (r.size - len(header)) / line
	date := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
	var flags []string
	if i%2 == 0 {
		flags = []string{`\Seen`, "$label1"}
	}
	return &formats.Message{
		Mailbox: r.boxes[i%len(r.boxes)],
		Flags:   flags,
		Date:    date,
		Size:    int64(len(header) + lines*line),
		Pos:     formats.Pos{File: "generated", Index: i + 1},
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(io.MultiReader(strings.NewReader(header), &lineGen{left: lines, c: byte('a' + i%26)})), nil
		},
	}, nil
}

// lineGen yields lines of 76 equal characters and CRLF.
type lineGen struct {
	left int
	c    byte
	buf  []byte
}

func (g *lineGen) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(g.buf) == 0 {
			if g.left == 0 {
				break
			}
			g.left--
			g.buf = append(bytes.Repeat([]byte{g.c}, 76), '\r', '\n')
		}
		k := copy(p[n:], g.buf)
		g.buf = g.buf[k:]
		n += k
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// TestRehearsalMemory rehearses 200 MiB of generated mail and checks that
// the heap in use (after a collection, sampled during the run) stays far
// below it: the rehearsal server keeps headers, not messages.
func TestRehearsalMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("rehearses 200 MiB")
	}
	const count, size = 200, 1 << 20
	const limit = 64 << 20
	r := &genReader{n: count, size: size, boxes: []*formats.Mailbox{
		{Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox, Store: "generated"},
		{Path: formats.Folder{"Archive"}, Store: "generated"},
	}}
	var peak uint64
	sample := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	sample()
	before := peak
	last := 0
	opts := Options{Logger: testLogger(t), TempDir: t.TempDir(), QuarantineDir: t.TempDir(),
		OnProgress: func(p Progress) {
			// Called with the run's lock held: one sample per 10 messages.
			if p.Uploaded >= last+10 {
				last = p.Uploaded
				sample()
			}
		}}
	rep, err := Upload(context.Background(), r, opts)
	if err != nil {
		t.Fatalf("rehearsal: %v", err)
	}
	mustCheck(t, rep)
	if !rep.Rehearsal || !rep.Verified || rep.Totals.Uploaded != count || rep.Totals.Mismatched != 0 {
		t.Errorf("rehearsal totals = %+v, verified %v; want %d uploaded and verified", rep.Totals, rep.Verified, count)
	}
	if last < count-10 {
		t.Errorf("sampled up to %d uploaded messages, want about %d", last, count)
	}
	t.Logf("heap in use: %d MiB before, peak %d MiB during the rehearsal of %d MiB", before>>20, peak>>20, count*size>>20)
	if peak > limit {
		t.Errorf("heap in use peaked at %d MiB rehearsing %d MiB of mail, want under %d MiB", peak>>20, count*size>>20, limit>>20)
	}
}

// BenchmarkAppendRehearsal measures the upload path against the rehearsal
// server (compare BenchmarkAppendMemserver).
func BenchmarkAppendRehearsal(b *testing.B) {
	for _, tc := range []struct {
		name                 string
		size, folders, conns int
	}{
		{"2KB/1conn", 2000, 1, 1},
		{"2KB/4conn", 2000, 4, 4},
		{"200KB/4conn", 200000, 4, 4},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500
			s, total := benchSource(n, tc.size, tc.folders)
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				srv, err := rehearsal.Start(rehearsal.Options{Logger: testLogger(b), TempDir: b.TempDir()})
				if err != nil {
					b.Fatal(err)
				}
				opts := rehearsalOptions(b, srv)
				opts.Connections = tc.conns
				rep, err := Upload(context.Background(), s.reader(), opts)
				srv.Close()
				if err != nil || rep.Totals.Uploaded != n {
					b.Fatalf("Upload: %v, %+v", err, rep.Totals)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
