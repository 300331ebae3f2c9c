package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/term"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/internal/autoconfig"
	"mailferry/internal/oauth"
)

const startManual = `mailferry start [SOURCE] [--email ADDRESS] [--server SERVER] [--yes] [options]

The guided way to move your mail to your provider's IMAP server, for people
who would rather answer a few questions than learn the commands. Starting
mailferry with nothing after it (in a terminal window) does the same.

  1. It looks for your mail on this computer (Thunderbird profiles, and Apple
     Mail on macOS) and shows what it found: accounts, folders, messages.
  2. It asks for your e-mail address and proposes the IMAP server: from your
     provider's published settings (the autoconfig document Thunderbird uses),
     else the server of your Thunderbird POP3 account. You confirm it or type
     another one.
  3. It asks for your password (nothing is shown while you type) and tries it
     at once.
  4. It asks the server how your folders will be named there and shows the
     plan, folder by folder, with what the server's folders already hold; it
     asks before uploading anything.
  5. It uploads, with a line that shows how far it is and how long is left,
     checks every message on the server, and says what to do next. A report
     is saved in your Documents folder (or your home folder).

Your mail is read in full once, by the upload: step 1 only counts it (a
quick pass that reads no message whole), and the plan needs only the
folders.

Your mail on this computer is only read, never changed. Running mailferry
again is safe: it recognises what is already on the server and only uploads
what is missing, so an interrupted run just continues.
Answering anything but yes to the plan stops with exit code 0: nothing was
uploaded, which is not a failure.

Every question has a flag, so that a support desk can give one command line:
--source, --email, --server and --yes; the password comes from
--password-file or the MAILFERRY_PASSWORD environment variable, or is asked.
SERVER is a host name (imap.example.com, port 993 with TLS), host:port (port
143 means STARTTLS, any other port TLS), or a URL imaps://USER@HOST[:PORT] or
imap://USER@HOST[:PORT] when the login name is not the e-mail address.

Answers are read line by line, so a script can also type them into stdin
(then the password is read as a plain line). Flags are safer for scripts:
which questions come depends on what is found.

Examples:
  mailferry
  mailferry start --email me@example.com
  mailferry start --email me@example.com --server imap.example.com --yes
  mailferry start ~/.thunderbird/abcd.default --email me@example.com
`

// guidedFlags are the answers given on the command line.
type guidedFlags struct {
	source, email, server, passwordFile, tlsCA, report string
	yes                                                bool
	oauth                                              oauth.Flags
}

// guidedDeps are the parts of the outside world the guided run uses that
// tests replace: where to look for mail, and how to look up a provider's
// settings.
type guidedDeps struct {
	paths  detect.Paths
	lookup func(ctx context.Context, email string) (*autoconfig.Server, error)
	// open opens a source; nil means detect.Open (tests count the reads).
	open func(path string, kind detect.Kind, opts formats.Options) (*detect.Source, error)
}

// openSource opens a source through deps.open.
func (g *guide) openSource(path string, opts formats.Options) (*detect.Source, error) {
	if g.deps.open != nil {
		return g.deps.open(path, detect.Auto, opts)
	}
	return detect.Open(path, detect.Auto, opts)
}

// defaultGuidedDeps looks in the user's home directory and asks the
// provider's autoconfig hosts over HTTPS.
func (e *env) defaultGuidedDeps() guidedDeps {
	paths := detect.SystemPaths()
	paths.Getenv = e.getenv
	if h := e.getenv("HOME"); h != "" && runtime.GOOS != "windows" {
		paths.Home = h
	}
	client := &http.Client{Timeout: 15 * time.Second}
	return guidedDeps{
		paths: paths,
		lookup: func(ctx context.Context, email string) (*autoconfig.Server, error) {
			return autoconfig.Lookup(ctx, client, email, autoconfig.Options{})
		},
	}
}

// stdinTerminal reports whether stdin is a terminal (a person typing).
func (e *env) stdinTerminal() bool {
	f, ok := e.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// guided runs "mailferry start" (and "mailferry" alone on a terminal).
func (e *env) guided(args []string) int {
	return e.guidedWith(args, e.defaultGuidedDeps())
}

func (e *env) guidedWith(args []string, deps guidedDeps) int {
	fs := newFlagSet("start", startManual, e.stderr)
	var f guidedFlags
	fs.StringVar(&f.source, "source", "", "the mail to upload (a Thunderbird profile or any SOURCE upload takes); default: look in the usual places")
	fs.StringVar(&f.email, "email", "", "your e-mail address")
	fs.StringVar(&f.server, "server", "", "the IMAP server: HOST, HOST:PORT, or imaps://USER@HOST[:PORT]; default: look it up from the e-mail address")
	fs.BoolVar(&f.yes, "yes", false, "accept the proposed server and the plan without asking")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the password from this file (first line)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "also trust the CA certificates in this PEM file")
	fs.StringVar(&f.report, "report", "", "write the JSON report to this file (default: mailferry-report-DATE.json in Documents or the home folder)")
	f.oauth.Register(fs)
	var of outputFlags
	of.register(fs)
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	if err := f.oauth.Validate(); err != nil {
		return e.fail("start", usageErrorf("%v", err))
	}
	if err := checkReportPath(f.report); err != nil {
		return e.fail("start", err)
	}
	if e.hooks.autoconfig == nil {
		// The provider's settings as the guided run looks them up (tests
		// replace the look-up).
		ee := *e
		ee.hooks.autoconfig = deps.lookup
		e = &ee
	}
	switch {
	case len(pos) == 1 && f.source == "":
		f.source = pos[0]
	case len(pos) > 0:
		fmt.Fprintln(e.stderr, "mailferry start: one SOURCE at most (or --source), see mailferry help start")
		return exitUsage
	}
	g := &guide{e: e, ctx: e.ctx, f: f, deps: deps, w: e.stderr, in: newAnswers(e), relay: &relay{w: e.stderr}}
	logs, err := of.open(g.relay)
	if err != nil {
		return e.fail("start", err)
	}
	defer logs.close()
	g.logs = logs
	code := g.finish(g.run())
	if len(args) == 0 && runtime.GOOS == "windows" && g.in.terminal != nil && e.ctx.Err() == nil {
		// Started by a double click: keep the window open to be read.
		_, _ = g.ask("\nPress Enter to close this window. ")
	}
	return code
}

// guide is one guided run.
type guide struct {
	e    *env
	ctx  context.Context
	f    guidedFlags
	deps guidedDeps
	w    io.Writer // prompts and explanations (stderr)
	in   *answers
	// logs take the upload's diagnostics; their lines for people go
	// through relay: to stderr, or through the progress line while it
	// shows.
	logs  *logs
	relay *relay
}

// relay is a writer whose destination can change.
type relay struct {
	mu sync.Mutex
	w  io.Writer
}

func (r *relay) Write(p []byte) (int, error) {
	r.mu.Lock()
	w := r.w
	r.mu.Unlock()
	return w.Write(p)
}

// to sends what follows to w.
func (r *relay) to(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.w = w
}

// stopped ends a guided run early with an exit code, after the reason was
// told.
type stopped struct{ code int }

func (s stopped) Error() string { return "stopped with exit code " + strconv.Itoa(s.code) }

// errNoAnswer means the input ended while a question was waiting.
var errNoAnswer = errors.New("no answer: the input ended before the question was answered")

// say prints one paragraph of the dialogue. Texts and errors among args
// are escaped line by line (see escapeLines): they may hold names from the
// source, the provider's settings or the server's answers. Names that must
// stay on one line (folders, hosts) are escaped by the caller with
// mfterm.Escape, which escapes line breaks too.
func (g *guide) say(format string, args ...any) {
	for i, a := range args {
		switch v := a.(type) {
		case string:
			args[i] = escapeLines(v)
		case error:
			args[i] = errorText(v)
		}
	}
	fmt.Fprintf(g.w, format+"\n", args...)
}

func (g *guide) ask(prompt string) (string, error) { return g.in.line(g.ctx, prompt) }

// finish turns the run's error into the exit code.
func (g *guide) finish(err error) int {
	var s stopped
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &s):
		return s.code
	case errors.Is(err, context.Canceled):
		g.say("\nStopped. Your mail on this computer is unchanged; run mailferry again to continue.")
		return exitInterrupted
	case errors.Is(err, errNoAnswer):
		g.say("\nmailferry start: %v; nothing more was done", err)
		return exitUsage
	default:
		return g.e.fail("start", err)
	}
}

func (g *guide) run() error {
	g.say("mailferry copies the mail on this computer to your mail provider's server (IMAP),")
	g.say("then checks that every message arrived. It only reads your mail here: nothing on")
	g.say("this computer is changed or deleted. Press Ctrl-C at any time to stop.")

	g.say("\n== Step 1 of 4: your mail on this computer")
	m, err := g.findMail()
	if err != nil {
		return err
	}
	if err := g.waitForThunderbird(m); err != nil {
		return err
	}

	g.say("\n== Step 2 of 4: your mail server")
	email, err := g.askEmail(m)
	if err != nil {
		return err
	}
	target, err := g.findServer(m, email)
	if err != nil {
		return err
	}
	acct, err := g.authenticate(target, email)
	if err != nil {
		return err
	}

	g.say("\n== Step 3 of 4: the plan")
	if err := g.showPlan(m, acct); err != nil {
		return err
	}

	g.say("\n== Step 4 of 4: uploading")
	return g.uploadAll(m, acct)
}
