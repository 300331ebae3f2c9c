package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long job is: a bar on stderr when stderr is a
// terminal, else (or with --quiet off and no terminal) a plain line now and
// then. Log lines go through it so that they never tear the bar.
type progress struct {
	mu        sync.Mutex
	bar       *progressbar.ProgressBar
	w         io.Writer
	plain     bool
	quiet     bool
	lastPlain time.Time
	total     int64
	done      int64
	messages  int
}

// newProgress decides how to show progress on w. quiet shows nothing but
// warnings.
func newProgress(w io.Writer, quiet bool, description string) *progress {
	p := &progress{w: w, quiet: quiet}
	if quiet {
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(description),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetPredictTime(true),
		)
		return p
	}
	p.plain = true
	return p
}

// SetTotal sets the number of bytes the job will handle, once known.
func (p *progress) SetTotal(bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total = bytes
	if p.bar != nil {
		p.bar.ChangeMax64(bytes)
	}
}

// Add records one more message of n bytes.
func (p *progress) Add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.messages++
	switch {
	case p.bar != nil:
		_ = p.bar.Add64(n)
	case p.plain && time.Since(p.lastPlain) > 5*time.Second:
		p.lastPlain = time.Now()
		if p.total > 0 {
			fmt.Fprintf(p.w, "progress: %d message(s), %s of %s (%d%%)\n", p.messages, humanBytes(p.done),
				humanBytes(p.total), p.done*100/max(p.total, 1))
		} else {
			fmt.Fprintf(p.w, "progress: %d message(s), %s\n", p.messages, humanBytes(p.done))
		}
	}
}

// Finish removes the bar.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		_ = p.bar.Clear()
	}
}

// Write lets log lines pass: the bar is cleared first and drawn again after.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear() // cosmetic; the log line matters more
	}
	n, err := p.w.Write(b)
	if p.bar != nil {
		_ = p.bar.RenderBlank()
	}
	return n, err
}

// logger returns a logger writing through p: warnings and errors always,
// info unless quiet.
func (p *progress) logger() *slog.Logger {
	level := slog.LevelInfo
	if p.quiet {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(p, &slog.HandlerOptions{Level: level, ReplaceAttr: dropTime}))
}

// dropTime keeps log lines short: the user watches them live.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 {
		return slog.Attr{}
	}
	return a
}
