package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"mailferry/formats"
	"mailferry/formats/detect"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
)

// A run that moves 10 GB from home takes hours, and people watch its
// progress line: it says how far the run is by bytes and messages, how
// fast it goes, how long is left (once that can be estimated) and which
// folder it is in. On a terminal the line is redrawn in place; elsewhere
// (a log, a support desk's script) a plain line is printed every 30
// seconds, plus one at the start and one at the end.

// job is what a meter measures: it decides the words and which counters
// count.
type job int

const (
	jobUpload  job = iota // upload and its rehearsal: messages finished
	jobDryRun             // upload --dry-run: messages read, nothing sent
	jobVerify             // verify: messages read from the source and compared
	jobConvert            // convert: messages written
)

// stage is the phase of a run the meter shows.
type stage string

const (
	stagePrepare stage = stage(upload.PhasePrepare)
	stageUpload  stage = stage(upload.PhaseUpload)
	stageVerify  stage = stage(upload.PhaseVerify)
	stageConvert stage = "convert"
)

// tally is a number of messages and their bytes.
type tally struct {
	messages int
	bytes    int64
}

// Timings of the display.
const (
	// plainEvery is the cadence of the plain progress line (and of the
	// progress records in the --log file).
	plainEvery = 30 * time.Second
	// drawEvery bounds how often the terminal line is redrawn.
	drawEvery = 200 * time.Millisecond
	// tickEvery is how often the clock is looked at without news from the
	// run, so that a long message or a long check still moves the line.
	tickEvery = time.Second
)

// meterOptions configure a meter.
type meterOptions struct {
	job   job
	live  bool // stderr is a terminal: one line redrawn in place
	quiet bool // nothing but what is written through the meter
	width int  // the terminal's columns (live only)
	now   func() time.Time
	// tick starts a goroutine that looks at the clock this often; 0 starts
	// none (tests call tick themselves).
	tick time.Duration
}

// meter shows the progress of one run on w (stderr). Log lines for people
// pass through its Write, which takes the live line away first and draws
// it again after, so that the two never tear each other. It is safe for
// concurrent use: the run publishes progress on its own goroutine, the
// sizes-only pass sets the totals on another, log lines come from any.
type meter struct {
	mu     sync.Mutex
	w      io.Writer
	o      meterOptions
	record *slog.Logger // the --log file, nil without

	started    time.Time
	stage      stage
	stageStart time.Time
	stages     []stageTime // the stages that ended, for the final line
	done       tally
	total      tally
	haveTotal  bool
	folder     string
	rate       rateWindow

	shown     int // columns of the live line on the screen, 0 when none
	lastDraw  time.Time
	lastPlain time.Time
	lastLog   time.Time
	running   bool // between start and finish
	stopTick  chan struct{}
	tickDone  chan struct{}
}

type stageTime struct {
	stage stage
	took  time.Duration
}

func newMeter(w io.Writer, o meterOptions) *meter {
	if o.now == nil {
		o.now = time.Now
	}
	if o.width <= 0 {
		o.width = 80
	}
	return &meter{w: w, o: o}
}

// left is what the source holds beyond what the run finished; ok is false
// when the source's total is not known (still counting).
func (m *meter) left() (t tally, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.haveTotal {
		return tally{}, false
	}
	return tally{messages: max(m.total.messages-m.done.messages, 0), bytes: max(m.total.bytes-m.done.bytes, 0)}, true
}

// newMeterFor makes the meter of a command on e's stderr.
func (e *env) newMeterFor(j job, quiet bool) *meter {
	live := e.isTerminalOut(e.stderr)
	return newMeter(e.stderr, meterOptions{job: j, live: live, quiet: quiet, width: terminalWidth(e.stderr), tick: tickEvery})
}

// setRecord sends progress snapshots to the --log file too (nil: none).
func (m *meter) setRecord(l *slog.Logger) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record = l
}

// start begins the run: the start line (not on a terminal, where the live
// line follows at once) and the clock.
func (m *meter) start(what string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.o.now()
	m.started, m.running = now, true
	first := stagePrepare
	if m.o.job == jobConvert {
		first = stageConvert
	}
	m.enterLocked(first, now)
	m.lastPlain, m.lastLog = now, now
	if m.record != nil {
		m.record.Info("started", "what", what)
	}
	if !m.o.quiet && !m.o.live {
		fmt.Fprintf(m.w, "%s %s started\n", clock(now), what)
	}
	if m.o.tick > 0 {
		m.stopTick, m.tickDone = make(chan struct{}), make(chan struct{})
		go m.ticker(m.o.tick, m.stopTick, m.tickDone)
	}
}

func (m *meter) ticker(every time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			m.tick()
		}
	}
}

// update takes a snapshot of an upload or a verification.
func (m *meter) update(p upload.Progress) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return
	}
	now := m.o.now()
	if s := stage(p.Phase); s != "" && s != m.stage {
		m.enterLocked(s, now)
	}
	switch m.o.job {
	case jobUpload:
		m.done = tally{p.Done, p.DoneBytes}
	default: // read and compared, or read for a dry run: nothing finishes
		m.done = tally{p.Found, p.FoundBytes}
	}
	m.folder = p.Folder
	m.showLocked(now, false)
}

// add counts one more message of size bytes (convert).
func (m *meter) add(size int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return
	}
	m.done.messages++
	m.done.bytes += size
	m.showLocked(m.o.now(), false)
}

// setFolder names the folder being worked on (convert).
func (m *meter) setFolder(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.folder = name
}

// setTotal gives what the whole run will go through, once the sizes-only
// pass has counted it.
func (m *meter) setTotal(t tally) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total, m.haveTotal = t, true
}

// tick looks at the clock: the live line shows the time passing, and the
// plain line comes every plainEvery even when the run is waiting.
func (m *meter) tick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		m.showLocked(m.o.now(), true)
	}
}

// enterLocked starts a stage; the rate is measured anew for each.
func (m *meter) enterLocked(s stage, now time.Time) {
	if m.stage != "" {
		m.stages = append(m.stages, stageTime{m.stage, now.Sub(m.stageStart)})
	}
	m.stage, m.stageStart = s, now
	m.rate = rateWindow{}
}

// showLocked shows the progress as the options say: the live line at most
// every drawEvery (a tick redraws it at once), the plain line and the
// record every plainEvery.
func (m *meter) showLocked(now time.Time, ticked bool) {
	if m.counting() {
		m.rate.add(now, m.done.bytes)
	}
	if m.record != nil && now.Sub(m.lastLog) >= plainEvery {
		m.lastLog = now
		m.recordLocked(now)
	}
	if m.o.quiet {
		return
	}
	if !m.o.live {
		if now.Sub(m.lastPlain) >= plainEvery {
			m.lastPlain = now
			fmt.Fprintf(m.w, "%s %s\n", clock(now), m.lineLocked(now))
		}
		return
	}
	if !ticked && now.Sub(m.lastDraw) < drawEvery {
		return
	}
	m.drawLocked(now)
}

// drawLocked puts the live line on the screen, in place of the last one.
func (m *meter) drawLocked(now time.Time) {
	m.lastDraw = now
	line := fit(m.lineLocked(now), m.o.width-1)
	n := utf8.RuneCountInString(line)
	// Spaces over the rest of a longer old line, instead of an escape
	// sequence that not every Windows console understands.
	pad := strings.Repeat(" ", max(0, m.shown-n))
	fmt.Fprintf(m.w, "\r%s%s", line, pad)
	m.shown = n
}

// clearLocked takes the live line off the screen.
func (m *meter) clearLocked() {
	if m.shown > 0 {
		fmt.Fprintf(m.w, "\r%s\r", strings.Repeat(" ", m.shown))
		m.shown = 0
	}
}

// Write lets a log line pass: the live line is taken away first and drawn
// again after.
func (m *meter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	redraw := m.shown > 0
	m.clearLocked()
	n, err := m.w.Write(p)
	if redraw && m.running {
		m.drawLocked(m.o.now())
	}
	return n, err
}

// finish ends the display with the real time taken; stopped says the run
// did not get to its end (interrupted, or stopped by an error).
func (m *meter) finish(stopped bool) {
	m.mu.Lock()
	if m.stopTick != nil {
		close(m.stopTick)
		stop := m.tickDone
		m.stopTick = nil
		m.mu.Unlock()
		<-stop // the ticker takes the lock: wait outside it
		m.mu.Lock()
	}
	defer m.mu.Unlock()
	if !m.running {
		return
	}
	now := m.o.now()
	m.running = false
	m.enterLocked("", now)
	line := m.endLineLocked(now, stopped)
	if m.record != nil {
		m.record.Info("finished", "stopped", stopped, "took", now.Sub(m.started).Round(time.Millisecond).String(),
			"messages", m.done.messages, "bytes", m.done.bytes)
	}
	if m.o.quiet {
		return
	}
	m.clearLocked()
	if m.o.live {
		fmt.Fprintln(m.w, line)
		return
	}
	fmt.Fprintf(m.w, "%s %s\n", clock(now), line)
}

// counting says whether the current stage has messages to count: the
// preparation and the check after an upload have none to show.
func (m *meter) counting() bool {
	switch m.stage {
	case stageUpload, stageConvert:
		return true
	case stageVerify:
		return m.o.job == jobVerify
	}
	return false
}

// stageWord is the stage in words.
func (m *meter) stageWord(s stage) string {
	switch s {
	case stagePrepare:
		if m.o.job == jobVerify {
			return "preparing: connecting, planning the folders"
		}
		return "preparing: connecting, reading what the server holds"
	case stageUpload:
		if m.o.job == jobDryRun {
			return "reading (dry run: nothing is sent)"
		}
		return "uploading"
	case stageVerify:
		if m.o.job == jobVerify {
			return "comparing with the server"
		}
		return "checking every message on the server"
	case stageConvert:
		return "converting"
	}
	return string(s)
}

// shortStage names a stage in the final line's list of times.
func shortStage(s stage) string {
	switch s {
	case stagePrepare:
		return "preparing"
	case stageUpload:
		return "uploading"
	case stageVerify:
		return "checking"
	case stageConvert:
		return "converting"
	}
	return string(s)
}

// lineLocked is the progress in one line, for the terminal and the log:
//
//	uploading 42%, 5,230 of 12,345 messages, 1.2 GiB of 2.9 GiB, 3.4 MiB/s, about 12 min left, folder INBOX
func (m *meter) lineLocked(now time.Time) string {
	word := m.stageWord(m.stage)
	if !m.counting() {
		return fmt.Sprintf("%s, %s so far", word, durationWords(now.Sub(m.stageStart)))
	}
	d, t := m.done, m.total
	var parts []string
	if m.haveTotal && t.bytes > 0 {
		parts = append(parts, fmt.Sprintf("%s %d%%", word, percent(d.bytes, t.bytes)))
		parts = append(parts, fmt.Sprintf("%s of %s", count(d.messages), messages(max(t.messages, d.messages))))
		parts = append(parts, fmt.Sprintf("%s of %s", humanBytes(d.bytes), humanBytes(max(t.bytes, d.bytes))))
	} else {
		parts = append(parts, word, messages(d.messages), humanBytes(d.bytes))
	}
	if r, span := m.rate.rate(now, d.bytes); span >= sampleEvery {
		parts = append(parts, humanBytes(int64(r))+"/s")
	}
	switch left, ok := m.timeLeftLocked(now); {
	case !m.haveTotal:
		parts = append(parts, "counting the source for the time left")
	case ok && left == 0:
		parts = append(parts, "finishing")
	case ok:
		parts = append(parts, timeLeftWords(left))
	default:
		parts = append(parts, "estimating the time left")
	}
	if m.folder != "" {
		parts = append(parts, "folder "+mfterm.Escape(m.folder))
	}
	return strings.Join(parts, ", ")
}

// endLineLocked is the final line: what was done, and the real time taken
// with the time of each stage.
func (m *meter) endLineLocked(now time.Time, stopped bool) string {
	took := now.Sub(m.started)
	var b strings.Builder
	if stopped {
		fmt.Fprintf(&b, "Stopped after %s", durationWords(took))
	} else {
		fmt.Fprintf(&b, "Finished in %s", durationWords(took))
	}
	var parts []string
	for _, s := range m.stages {
		if s.took >= 50*time.Millisecond { // "preparing 0.0 s" says nothing
			parts = append(parts, shortStage(s.stage)+" "+durationWords(s.took))
		}
	}
	if len(parts) > 1 {
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	what := "done"
	switch m.o.job {
	case jobDryRun:
		what = "read"
	case jobVerify:
		what = "compared"
	case jobConvert:
		what = "written"
	}
	if m.haveTotal && stopped {
		fmt.Fprintf(&b, ": %s of %s %s (%s of %s).", count(m.done.messages), messages(m.total.messages), what,
			humanBytes(m.done.bytes), humanBytes(m.total.bytes))
	} else {
		fmt.Fprintf(&b, ": %s %s (%s).", messages(m.done.messages), what, humanBytes(m.done.bytes))
	}
	return b.String()
}

// recordLocked writes the progress to the --log file.
func (m *meter) recordLocked(now time.Time) {
	attrs := []any{"stage", string(m.stage), "messages", m.done.messages, "bytes", m.done.bytes}
	if m.haveTotal {
		attrs = append(attrs, "total_messages", m.total.messages, "total_bytes", m.total.bytes)
	}
	if r, span := m.rate.rate(now, m.done.bytes); span >= sampleEvery {
		attrs = append(attrs, "bytes_per_second", int64(r))
	}
	if left, ok := m.timeLeftLocked(now); ok {
		attrs = append(attrs, "left", left.Round(time.Second).String())
	}
	if m.folder != "" {
		attrs = append(attrs, "folder", m.folder)
	}
	m.record.Info("progress", attrs...)
}

// timeLeftLocked estimates the time left of the counting stage from the
// rate of the last minutes. ok is false while that means nothing yet: the
// totals are not known, the stage has run for less than estimateAfter, or
// nothing moved.
func (m *meter) timeLeftLocked(now time.Time) (left time.Duration, ok bool) {
	if !m.haveTotal || !m.counting() {
		return 0, false
	}
	r, span := m.rate.rate(now, m.done.bytes)
	return timeLeft(m.total.bytes-m.done.bytes, r, span)
}

// timeLeft is the ETA of remaining bytes at rate bytes per second measured
// over span.
func timeLeft(remaining int64, rate float64, span time.Duration) (time.Duration, bool) {
	if span < estimateAfter || rate <= 0 {
		return 0, false
	}
	if remaining <= 0 {
		return 0, true
	}
	secs := float64(remaining) / rate
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// The rate is the average over the last rateSpan: long enough to smooth
// out a large message or a server's pause, short enough to follow a
// connection that got slower. It is sampled every sampleEvery, so that the
// window holds at most rateSpan/sampleEvery samples.
const (
	rateSpan      = 5 * time.Minute
	sampleEvery   = 5 * time.Second
	estimateAfter = 10 * time.Second
)

// rateWindow measures bytes per second over the last rateSpan.
type rateWindow struct {
	samples []rateSample // oldest first, at least sampleEvery apart
}

type rateSample struct {
	at    time.Time
	bytes int64
}

// add records the counter at a moment; samples closer than sampleEvery to
// the last one are not kept.
func (r *rateWindow) add(at time.Time, bytes int64) {
	if n := len(r.samples); n > 0 && at.Sub(r.samples[n-1].at) < sampleEvery {
		return
	}
	r.samples = append(r.samples, rateSample{at, bytes})
	// The oldest sample kept is the last one at or before the window's
	// start, so that the window always spans rateSpan once it can.
	for len(r.samples) > 2 && at.Sub(r.samples[1].at) >= rateSpan {
		r.samples = r.samples[1:]
	}
}

// rate is the bytes per second from the window's oldest sample to now
// (bytes being the counter now), and the time that spans.
func (r *rateWindow) rate(now time.Time, bytes int64) (float64, time.Duration) {
	if len(r.samples) == 0 {
		return 0, 0
	}
	base := r.samples[0]
	span := now.Sub(base.at)
	if span <= 0 {
		return 0, 0
	}
	return float64(bytes-base.bytes) / span.Seconds(), span
}

// percent is done of total in whole percent, never above 100 (a source
// that grew after it was counted) and 100 only when done.
func percent(done, total int64) int {
	switch {
	case total <= 0 || done >= total:
		return 100
	case done <= 0:
		return 0
	}
	return min(99, int(done*100/total))
}

// fit shortens a line to width columns (runes), ending it with "…".
func fit(s string, width int) string {
	if width < 10 || utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// clock is the time of day in the plain lines.
func clock(t time.Time) string { return t.Format("15:04:05") }

// durationWords says how long something took: "4.2 s", "42 s", "12 min 5 s",
// "3 h 12 min".
func durationWords(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second).Seconds()))
	case d < time.Hour:
		d = d.Round(time.Second)
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// timeLeftWords says an estimate as roughly as it is known: minutes
// rounded up under an hour, 5 minutes above.
func timeLeftWords(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute left"
	case d < time.Hour:
		return fmt.Sprintf("about %d min left", int(math.Ceil(d.Minutes())))
	}
	mins := int(math.Round(d.Minutes()/5)) * 5
	if mins%60 == 0 {
		return fmt.Sprintf("about %d h left", mins/60)
	}
	return fmt.Sprintf("about %d h %d min left", mins/60, mins%60)
}

// countSource reads a source for sizes only (no message bytes are kept,
// see formats.Options.SizesOnly) and counts what a run over it goes
// through: every message of the folders sel selects, and of the folders
// that hold no mail (they are counted as skipped), as the upload counts
// them finished.
func countSource(ctx context.Context, path string, kind detect.Kind, sel *formats.Selector) (tally, error) {
	src, err := detect.Open(path, kind, formats.Options{SizesOnly: true})
	if err != nil {
		return tally{}, err
	}
	defer src.Reader.Close()
	if _, err := src.Reader.Mailboxes(ctx); err != nil {
		return tally{}, err
	}
	var t tally
	for {
		m, err := src.Reader.Next(ctx)
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return t, err
		}
		t.add(m, sel)
	}
}

// add counts m unless --include/--exclude leave its folder out.
func (t *tally) add(m *formats.Message, sel *formats.Selector) {
	if b := m.Mailbox; b != nil && b.Skip == "" && !sel.Selected(b) {
		return
	}
	t.messages++
	t.bytes += m.Size
}

// countInBackground runs countSource on its own goroutine and gives the
// meter its result; the returned function stops it and waits. The run
// never waits for the count: until it is there, the line shows what it
// has.
func countInBackground(ctx context.Context, m *meter, log *slog.Logger, path string, kind detect.Kind, sel *formats.Selector) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t, err := countSource(ctx, path, kind, sel)
		switch {
		case err == nil:
			m.setTotal(t)
		case ctx.Err() == nil:
			log.Debug("could not count the source for the progress line", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
