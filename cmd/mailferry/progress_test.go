package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/internal/testutil"
	"mailferry/upload"
)

// fakeClock is the meter's clock in tests: it moves only when told.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.Local)}
}

// testMeter is a meter writing to a buffer on a fake clock, without a
// ticker goroutine.
func testMeter(j job, live bool) (*meter, *bytes.Buffer, *fakeClock) {
	var buf bytes.Buffer
	c := newFakeClock()
	return newMeter(&buf, meterOptions{job: j, live: live, width: 200, now: c.now}), &buf, c
}

// The line says the stage in words, how far by bytes and messages, the
// rate, the time left (or why it is not known yet) and the folder,
// escaped.
func TestMeterLine(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name  string
		job   job
		total *tally
		steps []upload.Progress // one a second
		after time.Duration     // from the last step to the line
		want  string
	}{
		{name: "preparing", job: jobUpload, steps: []upload.Progress{{Phase: upload.PhasePrepare}}, after: 12 * time.Second,
			want: "preparing: connecting, reading what the server holds, 12 s so far"},
		{name: "no totals yet", job: jobUpload, steps: []upload.Progress{{Phase: upload.PhaseUpload, Done: 3, DoneBytes: 3 * MiB, Folder: "INBOX"}},
			want: "uploading, 3 messages, 3.0 MiB, counting the source for the time left, folder INBOX"},
		{name: "totals, too early for the time left", job: jobUpload, total: &tally{100, 100 * MiB},
			steps: []upload.Progress{{Phase: upload.PhaseUpload, Done: 42, DoneBytes: 42 * MiB, Folder: "Archives/2019"}},
			want:  "uploading 42%, 42 of 100 messages, 42.0 MiB of 100.0 MiB, estimating the time left, folder Archives/2019"},
		{name: "rate and time left", job: jobUpload, total: &tally{12345, 1200 * MiB},
			steps: ramp(upload.PhaseUpload, 61, 10, MiB, 1e9),
			want:  "uploading 50%, 600 of 12,345 messages, 600.0 MiB of 1.2 GiB, 10.0 MiB/s, about 1 min left, folder INBOX"},
		{name: "control characters in the folder", job: jobUpload, total: &tally{10, 10},
			steps: []upload.Progress{{Phase: upload.PhaseUpload, Done: 1, DoneBytes: 1, Folder: "Evil\x1b[2J\rX\nY"}},
			want:  `uploading 10%, 1 of 10 messages, 1 B of 10 B, estimating the time left, folder Evil\x1b[2J\rX\nY`},
		{name: "checking after the upload", job: jobUpload, total: &tally{10, 10},
			steps: []upload.Progress{{Phase: upload.PhaseUpload, Done: 10, DoneBytes: 10}, {Phase: upload.PhaseVerify, Done: 10, DoneBytes: 10}},
			after: 2 * time.Minute,
			want:  "checking every message on the server, 2 min 0 s so far"},
		{name: "verify counts what it read", job: jobVerify, total: &tally{10, 1000},
			steps: []upload.Progress{{Phase: upload.PhaseVerify, Found: 5, FoundBytes: 250, Done: 0}},
			want:  "comparing with the server 25%, 5 of 10 messages, 250 B of 1000 B, estimating the time left"},
		{name: "dry run", job: jobDryRun, total: &tally{2, 2000},
			steps: []upload.Progress{{Phase: upload.PhaseUpload, Found: 1, FoundBytes: 1000}},
			want:  "reading (dry run: nothing is sent) 50%, 1 of 2 messages, 1000 B of 2.0 KiB, estimating the time left"},
		{name: "all read, the end is near", job: jobVerify, total: &tally{10, 1000},
			steps: ramp(upload.PhaseVerify, 12, 1, 100, 10),
			want:  "comparing with the server 100%, 10 of 10 messages, 1000 B of 1000 B, 90 B/s, finishing, folder INBOX"},
	}
	for _, tt := range tests {
		m, _, c := testMeter(tt.job, false)
		m.start("test")
		if tt.total != nil {
			m.setTotal(*tt.total)
		}
		for i, p := range tt.steps {
			if i > 0 {
				c.advance(time.Second)
			}
			m.update(p)
		}
		c.advance(tt.after)
		m.mu.Lock()
		got := m.lineLocked(c.now())
		m.mu.Unlock()
		if got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// ramp is n snapshots of a stage, one a second, each perSecond messages
// of size bytes further, up to most messages.
func ramp(phase upload.Phase, n, perSecond int, size int64, most int) []upload.Progress {
	var out []upload.Progress
	for i := range n {
		k := min(i*perSecond, most)
		out = append(out, upload.Progress{Phase: phase, Done: k, DoneBytes: int64(k) * size, Found: k, FoundBytes: int64(k) * size, Folder: "INBOX"})
	}
	return out
}

// Not on a terminal: a line at the start, one every 30 seconds whether or
// not the run reports anything, and one at the end with the real time
// taken and the time of each stage.
func TestMeterPlainCadence(t *testing.T) {
	m, buf, c := testMeter(jobUpload, false)
	m.start("upload of SOURCE to imaps://me@example.com")
	m.setTotal(tally{1000, 1000 << 20})
	m.update(upload.Progress{Phase: upload.PhasePrepare})
	c.advance(5 * time.Second)
	for i := 1; i <= 95; i++ { // a snapshot every second for 95 s
		m.update(upload.Progress{Phase: upload.PhaseUpload, Done: i, DoneBytes: int64(i) << 20})
		c.advance(time.Second)
	}
	for range 40 { // then 40 s in which nothing is reported: the clock ticks
		m.tick()
		c.advance(time.Second)
	}
	m.finish(false)
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"10:00:00 upload of SOURCE to imaps://me@example.com started",
		`10:00:30 uploading 2%, 26 of 1,000 messages, 26.0 MiB of 1000.0 MiB, 1.0 MiB/s, about 17 min left`,
		`10:01:00 uploading 5%, 56 of 1,000 messages, 56.0 MiB of 1000.0 MiB, 1.0 MiB/s, about 16 min left`,
		`10:01:30 uploading 8%, 86 of 1,000 messages, 86.0 MiB of 1000.0 MiB, 1.0 MiB/s, about 16 min left`,
		// Nothing moved for 20 s: the rate since the upload began (the
		// window is not full yet) dropped, the time left grew.
		`10:02:00 uploading 9%, 95 of 1,000 messages, 95.0 MiB of 1000.0 MiB, 837.0 KiB/s, about 19 min left`,
		`10:02:20 Finished in 2 min 20 s (preparing 5.0 s, uploading 2 min 15 s): 95 messages done (95.0 MiB).`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("plain progress:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
	if strings.ContainsRune(buf.String(), '\r') {
		t.Errorf("the plain output holds a carriage return: %q", buf.String())
	}
}

// On a terminal the line is redrawn in place (a carriage return, padded
// over a longer old line), at most every drawEvery; a log line takes it
// away and it comes back after; the end line replaces it.
func TestMeterLive(t *testing.T) {
	m, buf, c := testMeter(jobUpload, true)
	m.start("upload")
	if buf.Len() != 0 {
		t.Errorf("a start line on a terminal: %q", buf.String())
	}
	m.update(upload.Progress{Phase: upload.PhaseUpload, Done: 1, DoneBytes: 10, Folder: "A long folder name"})
	first := buf.String()
	if !strings.HasPrefix(first, "\ruploading, 1 message, 10 B,") {
		t.Fatalf("first draw: %q", first)
	}
	c.advance(50 * time.Millisecond)
	m.update(upload.Progress{Phase: upload.PhaseUpload, Done: 2, DoneBytes: 20, Folder: "B"})
	if buf.String() != first {
		t.Errorf("redrawn within %v: %q", drawEvery, buf.String())
	}
	c.advance(drawEvery)
	m.update(upload.Progress{Phase: upload.PhaseUpload, Done: 2, DoneBytes: 20, Folder: "B"})
	second := strings.TrimPrefix(buf.String(), first)
	line := "uploading, 2 messages, 20 B, counting the source for the time left, folder B"
	pad := len("uploading, 1 message, 10 B, counting the source for the time left, folder A long folder name") - len(line)
	if second != "\r"+line+strings.Repeat(" ", pad) {
		t.Errorf("second draw %q, want the line padded by %d spaces", second, pad)
	}
	buf.Reset()
	fmt.Fprintf(m, "warning: something\n")
	// The padding is blank already: only the line is cleared.
	blank := "\r" + strings.Repeat(" ", len(line)) + "\r"
	if got := buf.String(); got != blank+"warning: something\n\r"+line {
		t.Errorf("log line through the meter: %q", got)
	}
	buf.Reset()
	c.advance(3 * time.Second)
	m.finish(true)
	if got := buf.String(); got != "\r"+strings.Repeat(" ", len(line))+"\rStopped after 3.2 s: 2 messages done (20 B).\n" {
		t.Errorf("end line: %q", got)
	}
}

// A line longer than the terminal is cut, so that it never wraps (a
// wrapped line cannot be redrawn in place).
func TestMeterFitsTerminal(t *testing.T) {
	var buf bytes.Buffer
	c := newFakeClock()
	m := newMeter(&buf, meterOptions{job: jobUpload, live: true, width: 40, now: c.now})
	m.start("upload")
	m.update(upload.Progress{Phase: upload.PhaseUpload, Done: 1, DoneBytes: 10, Folder: strings.Repeat("ä", 100)})
	got := strings.TrimPrefix(buf.String(), "\r")
	if n := len([]rune(got)); n != 39 || !strings.HasSuffix(got, "…") {
		t.Errorf("line of %d runes on a 40-column terminal: %q", n, got)
	}
}

// Quiet shows nothing of the progress; log lines still pass.
func TestMeterQuiet(t *testing.T) {
	var buf bytes.Buffer
	c := newFakeClock()
	m := newMeter(&buf, meterOptions{job: jobUpload, quiet: true, now: c.now})
	m.start("upload")
	for range 100 {
		m.update(upload.Progress{Phase: upload.PhaseUpload, Done: 1, DoneBytes: 1})
		c.advance(time.Second)
	}
	fmt.Fprint(m, "warning: kept\n")
	m.finish(false)
	if buf.String() != "warning: kept\n" {
		t.Errorf("quiet meter wrote %q", buf.String())
	}
}

// The --log file gets a progress record every 30 s, and the start and
// the end, also when stderr is a terminal.
func TestMeterRecords(t *testing.T) {
	m, _, c := testMeter(jobUpload, true)
	var logBuf bytes.Buffer
	m.setRecord(slog.New(slog.NewTextHandler(&logBuf, nil)))
	m.start("upload")
	m.setTotal(tally{100, 1000})
	for i := range 65 {
		m.update(upload.Progress{Phase: upload.PhaseUpload, Done: i, DoneBytes: int64(i) * 10, Folder: "INBOX"})
		c.advance(time.Second)
	}
	m.finish(false)
	got := logBuf.String()
	if n := strings.Count(got, "msg=progress"); n != 2 {
		t.Errorf("%d progress records in 65 s, want 2:\n%s", n, got)
	}
	for _, want := range []string{"msg=started what=upload", "total_messages=100", "folder=INBOX", "msg=finished stopped=false took=1m5s messages=64 bytes=640"} {
		if !strings.Contains(got, want) {
			t.Errorf("the log lacks %q:\n%s", want, got)
		}
	}
}

func TestRateWindow(t *testing.T) {
	c := newFakeClock()
	var r rateWindow
	counter := int64(0)
	// 10 minutes at 1000 B/s, then 5 minutes at 3000 B/s.
	for s := range 900 {
		if s < 600 {
			counter += 1000
		} else {
			counter += 3000
		}
		c.advance(time.Second)
		r.add(c.now(), counter)
		if s == 599 {
			if rate, span := r.rate(c.now(), counter); rate < 999 || rate > 1001 || span < rateSpan {
				t.Errorf("after 10 min at 1000 B/s: rate %.1f over %v", rate, span)
			}
		}
	}
	rate, span := r.rate(c.now(), counter)
	if rate < 2900 || rate > 3001 {
		t.Errorf("after 5 min at 3000 B/s: rate %.1f over %v, want the new rate", rate, span)
	}
	if n := len(r.samples); n > int(rateSpan/sampleEvery)+2 {
		t.Errorf("the window keeps %d samples", n)
	}
}

func TestTimeLeft(t *testing.T) {
	tests := []struct {
		remaining int64
		rate      float64
		span      time.Duration
		want      time.Duration
		ok        bool
	}{
		{1000, 100, time.Minute, 10 * time.Second, true},
		{3600 << 20, 1 << 20, time.Minute, time.Hour, true},
		{1000, 100, 5 * time.Second, 0, false}, // too early
		{1000, 0, time.Minute, 0, false},       // nothing moved
		{0, 100, time.Minute, 0, true},         // done
		{-5, 100, time.Minute, 0, true},        // the source grew
		{1 << 62, 1e-9, time.Minute, 0, false}, // beyond any duration
	}
	for _, tt := range tests {
		got, ok := timeLeft(tt.remaining, tt.rate, tt.span)
		if got != tt.want || ok != tt.ok {
			t.Errorf("timeLeft(%d, %v, %v) = %v, %v; want %v, %v", tt.remaining, tt.rate, tt.span, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWordsOfTime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Second:                 "less than a minute left",
		61 * time.Second:                 "about 2 min left",
		59 * time.Minute:                 "about 59 min left",
		time.Hour + 2*time.Minute:        "about 1 h left",
		2*time.Hour + 13*time.Minute:     "about 2 h 15 min left",
		11*time.Hour + 58*time.Minute:    "about 12 h left",
		100*time.Hour + 1*time.Minute:    "about 100 h left",
		3*time.Hour + 27*time.Minute + 1: "about 3 h 25 min left",
	} {
		if got := timeLeftWords(d); got != want {
			t.Errorf("timeLeftWords(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		4200 * time.Millisecond:        "4.2 s",
		42 * time.Second:               "42 s",
		12*time.Minute + 5*time.Second: "12 min 5 s",
		3*time.Hour + 12*time.Minute:   "3 h 12 min",
	} {
		if got := durationWords(d); got != want {
			t.Errorf("durationWords(%v) = %q, want %q", d, got, want)
		}
	}
	for _, tt := range []struct {
		done, total int64
		want        int
	}{{0, 100, 0}, {1, 100, 1}, {995, 1000, 99}, {999, 1000, 99}, {1000, 1000, 100}, {1200, 1000, 100}, {5, 0, 100}} {
		if got := percent(tt.done, tt.total); got != tt.want {
			t.Errorf("percent(%d, %d) = %d, want %d", tt.done, tt.total, got, tt.want)
		}
	}
}

// The sizes-only pass counts what the upload finishes: every message of
// the selected folders, skipped ones too, with the same bytes.
func TestCountSourceMatchesUpload(t *testing.T) {
	src := testutil.Testdata(t, "sample-profile")
	for _, include := range [][]string{nil, {"Local Folders/*"}} {
		sel, err := formats.NewSelector(include, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := countSource(context.Background(), src, detect.Auto, sel)
		if err != nil {
			t.Fatal(err)
		}
		s, err := detect.Open(src, detect.Auto, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var last upload.Progress
		opts := upload.Options{OnProgress: func(p upload.Progress) { last = p }}
		opts.Plan.Include = include
		rep, err := upload.Upload(context.Background(), s.Reader, opts) // a rehearsal
		s.Reader.Close()
		if err != nil {
			t.Fatalf("rehearsal with --include %q: %v", include, err)
		}
		if got.messages != rep.Totals.Found || got.messages != last.Done || got.bytes != last.DoneBytes {
			t.Errorf("--include %q: counted %+v; the upload found %d and finished %d messages, %d bytes",
				include, got, rep.Totals.Found, last.Done, last.DoneBytes)
		}
		if include != nil && got.messages >= 9 {
			t.Errorf("--include %q counted all %d messages", include, got.messages)
		}
	}
}

// The commands decide by isTerminal: a live line on a terminal, plain
// lines with times elsewhere; the end line says how long it took.
func TestProgressTerminalOrNot(t *testing.T) {
	src := testutil.Testdata(t, "sample-profile")
	for _, terminal := range []bool{false, true} {
		var out, errOut bytes.Buffer
		e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
			getenv: func(string) string { return "" }, isTerminal: func(io.Writer) bool { return terminal }}
		if code := e.run([]string{"upload", src}); code != exitOK {
			t.Fatalf("upload: exit %d\n%s", code, errOut.String())
		}
		got := errOut.String()
		plainStart := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d rehearsal of .* started$`)
		end := regexp.MustCompile(`(?m)(^|\r)(\d\d:\d\d:\d\d )?Finished in [0-9.]+ s( \(.*\))?: 9 messages done \(3\.2 KiB\)\.$`)
		if !end.MatchString(got) {
			t.Errorf("terminal %v: no end line:\n%q", terminal, got)
		}
		if terminal == plainStart.MatchString(got) {
			t.Errorf("terminal %v: start line shown %v:\n%q", terminal, !terminal, got)
		}
		if terminal != strings.Contains(got, "\r") {
			t.Errorf("terminal %v: carriage returns %v:\n%q", terminal, !terminal, got)
		}
		if strings.Contains(out.String(), "Finished in") || strings.Contains(got, "Verification:") {
			t.Errorf("terminal %v: progress and results mixed up:\nstdout:\n%s\nstderr:\n%s", terminal, out.String(), got)
		}
	}
}
