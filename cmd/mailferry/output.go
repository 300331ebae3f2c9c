package main

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/term"

	"mailferry/internal/private"
	mfterm "mailferry/internal/term"
)

// What goes where: stdout carries the sentences for people and the
// summary; stderr the progress line and diagnostics as short readable
// lines ("warning: ..."), warnings and errors only unless --verbose; --log
// FILE receives the whole structured log, with times, for a support desk.

// outputHelp ends the manual of every command with outputFlags.
const outputHelp = `Progress and messages:
  On a terminal, one line shows how far the run is: the share done by size,
  the messages done of all, the speed, the time left (once it can be
  estimated), and the folder. Elsewhere (a file, a script, a support desk's
  session) a plain line with the time of day comes every 30 seconds, plus one
  at the start and one at the end, which says how long the run took.
  Results and the summary go to stdout; progress, warnings and errors to
  stderr, as lines such as "warning: ...". --verbose adds what happens step
  by step; --log FILE appends the whole log, with times, to FILE (created
  readable only by you; send it to your support desk).
`

// outputFlags are the flags that say how much a command tells, and where.
// --quiet is registered by the commands themselves (upload and verify keep
// it with their server flags).
type outputFlags struct {
	quiet     bool
	verbose   bool
	logFile   string
	logFormat string
}

// register adds --verbose, --log and --log-format to fs.
func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.verbose, "verbose", false, "also show what happens step by step (info and debug lines) on stderr")
	fs.StringVar(&o.logFile, "log", "", "append the whole log, with times, to this file (created readable only by you; for a support desk)")
	fs.StringVar(&o.logFormat, "log-format", "text", "the format of --log: text or json")
}

// registerQuiet adds --quiet to fs.
func (o *outputFlags) registerQuiet(fs *flag.FlagSet) {
	fs.BoolVar(&o.quiet, "quiet", false, "print only warnings and the summary (no progress)")
}

// logs are a command's loggers: log is what the code logs to (stderr in
// words, and the file); file is the --log file alone (nil without), for
// progress snapshots that stderr shows in its own way.
type logs struct {
	log   *slog.Logger
	file  *slog.Logger
	close func()
}

// open makes the loggers of a command whose stderr lines go through w. The
// caller calls close when the command ends.
func (o *outputFlags) open(w io.Writer) (*logs, error) {
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	human := newHumanHandler(w, level)
	l := &logs{log: slog.New(human), close: func() {}}
	if o.logFile == "" {
		return l, nil
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, usageErrorf("--log-format must be text or json, not %q", o.logFormat)
	}
	f, err := openLogFile(o.logFile)
	if err != nil {
		return nil, err
	}
	// One lock for the file: progress snapshots and log records come from
	// several goroutines.
	lw := &lockedWriter{w: f}
	hopts := &slog.HandlerOptions{Level: slog.LevelDebug}
	var fh slog.Handler = slog.NewTextHandler(lw, hopts)
	if o.logFormat == "json" {
		fh = slog.NewJSONHandler(lw, hopts)
	}
	l.file = slog.New(fh)
	l.log = slog.New(slog.NewMultiHandler(human, fh))
	l.close = func() { _ = f.Close() }
	return l, nil
}

// openLogFile opens path for appending, readable and writable by the
// user alone (private.Append): a symbolic link is refused (a link planted
// where the log goes would make mailferry write into another file), and
// so is anything but a regular file. An existing file is appended to, so
// that the logs of several runs (an upload and its re-runs) stay together.
func openLogFile(path string) (*os.File, error) {
	f, err := private.Append(path)
	if err != nil {
		return nil, usageErrorf("--log: %v", err)
	}
	return f, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// humanHandler writes log records as short lines for a person:
//
//	warning: folder not created; its messages are not uploaded (folder: Archives, answer: NO [CANNOT] ...)
//
// Every text is escaped: messages and values carry folder names from the
// source and answers from the server.
type humanHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
	group string
}

func newHumanHandler(w io.Writer, level slog.Level) *humanHandler {
	return &humanHandler{w: w, level: level}
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(levelWord(r.Level))
	b.WriteString(": ")
	b.WriteString(escapeLines(r.Message))
	var parts []string
	add := func(prefix string, a slog.Attr) { parts = appendAttr(parts, prefix, a) }
	for _, a := range h.attrs {
		add("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(h.group, a)
		return true
	})
	if len(parts) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(parts, ", "))
		b.WriteString(")")
	}
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String()) // one write: one line, never torn
	return err
}

func (h *humanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *h
	n.attrs = slices.Clone(h.attrs)
	for _, a := range attrs {
		if h.group != "" {
			a.Key = h.group + "." + a.Key
		}
		n.attrs = append(n.attrs, a)
	}
	return &n
}

func (h *humanHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	if n.group != "" {
		name = n.group + "." + name
	}
	n.group = name
	return &n
}

// appendAttr renders "key: value" (groups as key.sub: value), escaped.
func appendAttr(parts []string, prefix string, a slog.Attr) []string {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return parts
	}
	key := a.Key
	if prefix != "" {
		key = prefix + "." + key
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, g := range a.Value.Group() {
			parts = appendAttr(parts, key, g)
		}
		return parts
	}
	return append(parts, mfterm.Escape(key)+": "+mfterm.Escape(a.Value.String()))
}

func levelWord(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "error"
	case l >= slog.LevelWarn:
		return "warning"
	case l >= slog.LevelInfo:
		return "info"
	default:
		return "debug"
	}
}

// escapeLines escapes each line of s for the terminal and keeps the line
// breaks: error texts of several lines ("none of the places with mail
// could be read:\n  ...") stay readable, and nothing from a server or a
// source file can act on the terminal.
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = mfterm.Escape(l)
	}
	return strings.Join(lines, "\n")
}

// errorText is err in words, escaped line by line.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	return escapeLines(err.Error())
}

// isTerminalWriter reports whether w is a terminal (the default of
// env.isTerminal).
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of the terminal w, 80 when unknown.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			return cols
		}
	}
	return 80
}
