package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/formats/thunderbird"
	"mailferry/internal/autoconfig"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
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
  4. It shows the plan, folder by folder, and asks before uploading anything.
  5. It uploads, checks every message on the server, and says what to do next.
     A report is saved in your Documents folder (or your home folder).

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
}

// guidedDeps are the parts of the outside world the guided run uses that
// tests replace: where to look for mail, and how to look up a provider's
// settings.
type guidedDeps struct {
	paths  detect.Paths
	lookup func(ctx context.Context, email string) (*autoconfig.Server, error)
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
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	switch {
	case len(pos) == 1 && f.source == "":
		f.source = pos[0]
	case len(pos) > 0:
		fmt.Fprintln(e.stderr, "mailferry start: one SOURCE at most (or --source), see mailferry help start")
		return exitUsage
	}
	g := &guide{e: e, ctx: e.ctx, f: f, deps: deps, w: e.stderr, in: newAnswers(e)}
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
}

// stopped ends a guided run early with an exit code, after the reason was
// told.
type stopped struct{ code int }

func (s stopped) Error() string { return "stopped with exit code " + strconv.Itoa(s.code) }

// errNoAnswer means the input ended while a question was waiting.
var errNoAnswer = errors.New("no answer: the input ended before the question was answered")

// say prints one paragraph of the dialogue.
func (g *guide) say(format string, args ...any) {
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
	target, password, err := g.logIn(target)
	if err != nil {
		return err
	}

	g.say("\n== Step 3 of 4: the plan")
	if err := g.showPlan(m, target, password); err != nil {
		return err
	}

	g.say("\n== Step 4 of 4: uploading")
	return g.uploadAll(m, target, password)
}

// --- answers ---------------------------------------------------------------

// answers reads the user's answers line by line from stdin: typed on a
// terminal or by a script through a pipe. A pending question ends when ctx
// does (Ctrl-C), which a blocking read alone would not allow.
type answers struct {
	r        *bufio.Reader
	terminal *os.File // stdin when it is a terminal, else nil
	echo     io.Writer
	// pending is a read abandoned when ctx ended; the next question takes
	// its answer instead of reading concurrently.
	pending chan answer
}

type answer struct {
	s   string
	err error
}

func newAnswers(e *env) *answers {
	a := &answers{r: bufio.NewReader(e.stdin), echo: e.stderr}
	if e.stdinTerminal() {
		a.terminal = e.stdin.(*os.File)
	}
	return a
}

// line prints prompt and returns the next line, trimmed. When the answer
// comes from a pipe it is echoed, so that the transcript reads like the
// dialogue.
func (a *answers) line(ctx context.Context, prompt string) (string, error) {
	s, err := a.read(ctx, prompt, false)
	return strings.TrimSpace(s), err
}

// secret prints prompt and reads a password: without echo on a terminal,
// else the next line (not echoed). Only the line ending is removed.
func (a *answers) secret(ctx context.Context, prompt string) (string, error) {
	return a.read(ctx, prompt, true)
}

func (a *answers) read(ctx context.Context, prompt string, secret bool) (string, error) {
	fmt.Fprint(a.echo, prompt)
	ch := make(chan answer, 1)
	var restore func()
	switch {
	case a.pending != nil:
		ch = a.pending
	case secret && a.terminal != nil:
		fd := int(a.terminal.Fd())
		if st, err := term.GetState(fd); err == nil {
			restore = func() { _ = term.Restore(fd, st) }
		}
		go func() {
			b, err := term.ReadPassword(fd)
			ch <- answer{string(b), err}
		}()
	default:
		go func() {
			s, err := a.r.ReadString('\n')
			if err == io.EOF && s != "" {
				err = nil
			}
			ch <- answer{strings.TrimRight(s, "\r\n"), err}
		}()
	}
	a.pending = ch
	select {
	case <-ctx.Done():
		if restore != nil {
			restore()
		}
		fmt.Fprintln(a.echo)
		return "", ctx.Err()
	case ans := <-ch:
		a.pending = nil
		switch {
		case ans.err != nil:
			fmt.Fprintln(a.echo)
			if ans.err == io.EOF {
				return "", errNoAnswer
			}
			return "", fmt.Errorf("read answer: %w", ans.err)
		case secret && a.terminal != nil:
			fmt.Fprintln(a.echo) // ReadPassword swallows the newline
		case a.terminal == nil && !secret:
			fmt.Fprintln(a.echo, ans.s)
		case a.terminal == nil:
			fmt.Fprintln(a.echo)
		}
		return ans.s, nil
	}
}

// --- step 1: the mail ---------------------------------------------------------

// mail is the source the user chose and what it holds.
type mail struct {
	path     string
	label    string // "Thunderbird profile default-release (default)"
	sum      *formats.Summary
	accounts []*thunderbird.Account
	profiles []thunderbird.Profile
	warnings []string
}

// inspect opens path, counts its messages and closes it again.
func (g *guide) inspect(path string) (*mail, error) {
	m := &mail{path: path}
	opts := formats.Options{Warn: func(w formats.Warning) { m.warnings = append(m.warnings, w.String()) }, SizesOnly: true}
	src, err := detect.Open(path, detect.Auto, opts)
	if err != nil {
		return nil, err
	}
	defer src.Reader.Close()
	for _, n := range src.Notes {
		if !strings.Contains(n, "may be running") { // waitForThunderbird asks about that
			m.warnings = append(m.warnings, n)
		}
	}
	m.accounts, m.profiles = src.Accounts, src.Profiles
	if len(src.Found) > 0 {
		m.label = string(src.Found[0].Kind) + " mail"
	}
	m.sum, err = formats.Summarize(g.ctx, src.Reader, nil)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// findMail looks for the mail (or takes --source), lets the user pick when
// there are several stores, and shows what the chosen one holds.
func (g *guide) findMail() (*mail, error) {
	var candidates []detect.Found
	if g.f.source != "" {
		candidates = []detect.Found{{Path: expandHome(g.f.source, g.deps.paths.Home)}}
	} else {
		g.say("Looking for Thunderbird mail on this computer…")
		candidates = detect.DefaultSources(g.deps.paths)
	}
	for {
		if len(candidates) == 0 {
			g.say("I found no Thunderbird mail in the usual places on this computer.")
			ans, err := g.ask("Type the folder where your mail is (for example a Thunderbird profile folder), or press Enter to stop: ")
			if err != nil {
				return nil, err
			}
			if ans == "" {
				g.say("Nothing was done. If you know where your mail is: mailferry start --source FOLDER")
				return nil, stopped{exitUsage}
			}
			candidates = []detect.Found{{Path: expandHome(ans, g.deps.paths.Home)}}
		}
		m, err := g.choose(candidates)
		if err == nil {
			g.showMail(m)
			return m, nil
		}
		if g.ctx.Err() != nil || errors.Is(err, errNoAnswer) {
			return nil, err
		}
		g.say("I could not read the mail there:\n  %v", err)
		if g.f.source != "" {
			return nil, stopped{exitUsage}
		}
		candidates = nil
	}
}

// choose inspects the candidates and returns the one the user picks.
func (g *guide) choose(candidates []detect.Found) (*mail, error) {
	if len(candidates) == 1 {
		c := candidates[0]
		g.say("Reading %s…", c.Path)
		m, err := g.inspect(c.Path)
		if err != nil {
			return nil, err
		}
		if c.Note != "" {
			m.label = noteLabel(c.Note)
		}
		return m, nil
	}
	var ms []*mail
	var skipped []string
	for _, c := range candidates {
		m, err := g.inspect(c.Path)
		switch {
		case g.ctx.Err() != nil:
			return nil, g.ctx.Err()
		case errors.Is(err, detect.ErrNoMail):
			skipped = append(skipped, c.Path+": no mail there")
			continue
		case err != nil:
			skipped = append(skipped, fmt.Sprintf("%s: not readable: %v", c.Path, err))
			continue
		}
		m.label = noteLabel(c.Note)
		ms = append(ms, m)
	}
	switch len(ms) {
	case 0:
		return nil, fmt.Errorf("none of the places with mail could be read:\n  %s", strings.Join(skipped, "\n  "))
	case 1:
		return ms[0], nil
	}
	g.say("I found %d places with mail:", len(ms))
	def := 0
	for i, m := range ms {
		t := m.sum.Totals
		g.say("  %d) %s: %s in %d folders, %s\n     %s", i+1, m.label, messages(t.Messages), len(m.sum.Folders),
			humanBytes(t.Bytes), m.path)
		if def == 0 && t.Messages > 0 {
			def = i + 1
		}
	}
	for _, s := range skipped {
		g.say("  (also looked at %s)", s)
	}
	if def == 0 {
		def = 1
	}
	for {
		ans, err := g.ask(fmt.Sprintf("Which one holds the mail to move? Type its number [%d]: ", def))
		if err != nil {
			return nil, err
		}
		if ans == "" {
			return ms[def-1], nil
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(ms) {
			return ms[n-1], nil
		}
		g.say("Please type a number from 1 to %d.", len(ms))
	}
}

// noteLabel shortens detect's note to the part that names the store.
func noteLabel(note string) string {
	label, _, _ := strings.Cut(note, ";")
	return label
}

// showMail tells what the chosen source holds.
func (g *guide) showMail(m *mail) {
	g.say("\nFound: %s\n  in %s", m.label, m.path)
	var accts []string
	for _, a := range m.accounts {
		if a.Skip != "" {
			continue
		}
		s := a.Name
		switch {
		case a.Type == "pop3" && a.Hostname != "":
			s += " (POP3, " + a.Hostname + ")"
		case a.Type == "imap":
			s += " (IMAP copy on this computer)"
		}
		accts = append(accts, s)
	}
	if len(accts) > 0 {
		g.say("  Accounts: %s", strings.Join(accts, "; "))
	}
	g.say("  Folders:")
	for _, f := range m.sum.Folders {
		word := "messages"
		if f.Messages == 1 {
			word = "message"
		}
		line := fmt.Sprintf("    %7s %-8s  %10s  %s", count(f.Messages), word, humanBytes(f.Bytes), f.Mailbox.DisplayPath())
		if n := f.SkippedTotal(); n > 0 {
			line += fmt.Sprintf("  (%d deleted or not mail: left out)", n)
		}
		g.say("%s", line)
	}
	t := m.sum.Totals
	g.say("  In total: %s in %d folders, %s.", messages(t.Messages), len(m.sum.Folders), humanBytes(t.Bytes))
	if n := t.SkippedTotal(); n > 0 {
		g.say("  %s will be left out: %s.", messages(n), plainCounts(t.Skipped))
	}
	if len(m.warnings) > 0 {
		g.say("  Notes:")
		for i, w := range m.warnings {
			if i == 5 {
				g.say("    … and %d more (mailferry scan %q lists them all)", len(m.warnings)-5, m.path)
				break
			}
			g.say("    %s", w)
		}
	}
	if pops := popAccounts(m.accounts); len(pops) > 1 {
		var names []string
		for _, a := range pops {
			names = append(names, a.Name)
		}
		g.say("  This profile has %d POP3 accounts (%s). All their mail goes into the one\n  account you log in to next; to split them, see mailferry help upload (--include).",
			len(pops), strings.Join(names, ", "))
	}
}

// lockStatus says whether Thunderbird may be running on the source.
func lockStatus(m *mail) bool {
	dirs := []string{m.path}
	for _, p := range m.profiles {
		dirs = append(dirs, p.Dir)
	}
	for _, d := range dirs {
		if thunderbird.LockStatus(d) != "" {
			return true
		}
	}
	return false
}

// waitForThunderbird warns when Thunderbird may be running on the profile
// (it rewrites its files while it runs) and waits until it is closed or the
// user goes on anyway.
func (g *guide) waitForThunderbird(m *mail) error {
	for lockStatus(m) {
		g.say("\nThunderbird seems to be open on this profile. While it runs it may change its")
		g.say("mail files, so please close Thunderbird first.")
		if g.f.yes {
			g.say("Going on anyway (--yes).")
			return nil
		}
		g.say("If Thunderbird is really closed (a crash can leave this mark behind), type continue.")
		ans, err := g.ask("Close Thunderbird, then press Enter (or type continue, or stop): ")
		if err != nil {
			return err
		}
		switch strings.ToLower(ans) {
		case "continue", "yes", "y":
			return nil
		case "stop", "no", "n", "q", "quit":
			g.say("Nothing was uploaded.")
			return stopped{exitOK}
		}
	}
	return nil
}

// --- step 2: the server -------------------------------------------------------

// popAccounts are the POP3 accounts of the profile.
func popAccounts(accts []*thunderbird.Account) []*thunderbird.Account {
	var out []*thunderbird.Account
	for _, a := range accts {
		if a.Type == "pop3" && a.Skip == "" {
			out = append(out, a)
		}
	}
	return out
}

// proposeEmail guesses the user's address from the POP3 accounts: a user
// name or account name that is an e-mail address.
func proposeEmail(accts []*thunderbird.Account) string {
	for _, a := range popAccounts(accts) {
		for _, s := range []string{a.UserName, a.Name} {
			if _, err := autoconfig.Domain(s); err == nil {
				return s
			}
		}
	}
	return ""
}

// popAccountFor returns the POP3 account of email (by user or account
// name), else the first POP3 account with a host name, else nil; same says
// whether it is the address's own account.
func popAccountFor(accts []*thunderbird.Account, email string) (a *thunderbird.Account, same bool) {
	var first *thunderbird.Account
	for _, p := range popAccounts(accts) {
		if p.Hostname == "" {
			continue
		}
		if strings.EqualFold(p.UserName, email) || strings.EqualFold(p.Name, email) {
			return p, true
		}
		if first == nil {
			first = p
		}
	}
	return first, false
}

func (g *guide) askEmail(m *mail) (string, error) {
	if g.f.email != "" {
		if _, err := autoconfig.Domain(g.f.email); err != nil {
			g.say("--email: %v", err)
			return "", stopped{exitUsage}
		}
		g.say("E-mail address: %s", g.f.email)
		return g.f.email, nil
	}
	proposal := proposeEmail(m.accounts)
	for {
		prompt := "Your e-mail address: "
		if proposal != "" {
			prompt = fmt.Sprintf("Your e-mail address (press Enter for %s): ", proposal)
		}
		ans, err := g.ask(prompt)
		if err != nil {
			return "", err
		}
		if ans == "" {
			ans = proposal
		}
		if ans == "" {
			continue
		}
		if _, err := autoconfig.Domain(ans); err != nil {
			g.say("That does not look like an e-mail address; it should look like name@example.com.")
			continue
		}
		return ans, nil
	}
}

// serverProposal is the server mailferry suggests and why.
type serverProposal struct {
	target upload.Target
	why    string
}

// findServer takes --server, or proposes a server (the provider's
// autoconfig document, else the POP3 host on port 993) for the user to
// confirm or correct.
func (g *guide) findServer(m *mail, email string) (upload.Target, error) {
	if g.f.server != "" {
		t, err := parseServer(g.f.server, email)
		if err != nil {
			g.say("--server: %v", err)
			return t, stopped{exitUsage}
		}
		g.say("Server: %s", describeTarget(t))
		return t, nil
	}
	domain, _ := autoconfig.Domain(email)
	g.say("Looking up the mail server of %s…", domain)
	var prop *serverProposal
	srv, err := g.deps.lookup(g.ctx, email)
	switch {
	case err == nil:
		t := upload.Target{User: srv.Username, Host: srv.Host, Port: srv.Port, Security: upload.ImplicitTLS}
		if srv.STARTTLS {
			t.Security = upload.StartTLS
		}
		if t.User == "" {
			t.User = email
		}
		prop = &serverProposal{t, fmt.Sprintf("This is what %s publishes for mail programs.", domain)}
		if !srv.PasswordLogin() {
			prop.why += "\nNote: " + domain + " mentions only sign-in through its web page (OAuth2); you may need\nan \"app password\" from your account settings there instead of your normal password."
		}
	case g.ctx.Err() != nil:
		return upload.Target{}, g.ctx.Err()
	default:
		if pop, same := popAccountFor(m.accounts, email); pop != nil {
			user := email
			if same && pop.UserName != "" {
				user = pop.UserName
			}
			prop = &serverProposal{
				upload.Target{User: user, Host: pop.Hostname, Port: 993, Security: upload.ImplicitTLS},
				fmt.Sprintf("%s publishes no settings, so this is the server of your POP3 account in Thunderbird\n"+
					"(%s), on the IMAP port. Many providers use the same name for both; if yours\n"+
					"does not, type the IMAP server name from your provider's help pages (often imap.%s).", domain, pop.Hostname, domain),
			}
		}
	}
	for {
		if prop == nil {
			g.say("I could not find the IMAP server of %s on my own.", domain)
			ans, err := g.ask(fmt.Sprintf("Type the name of your provider's IMAP server (for example imap.%s): ", domain))
			if err != nil {
				return upload.Target{}, err
			}
			if ans == "" {
				continue
			}
			t, err := parseServer(ans, email)
			if err != nil {
				g.say("%v", err)
				continue
			}
			return t, nil
		}
		g.say("Your mail will go to:\n  %s\n%s", describeTarget(prop.target), prop.why)
		if g.f.yes {
			return prop.target, nil
		}
		ans, err := g.ask("Press Enter if this is right, or type the right server name: ")
		if err != nil {
			return upload.Target{}, err
		}
		if ans == "" {
			return prop.target, nil
		}
		t, err := parseServer(ans, prop.target.User)
		if err != nil {
			g.say("%v", err)
			continue
		}
		return t, nil
	}
}

// describeTarget says in words where the mail goes.
func describeTarget(t upload.Target) string {
	how := "encrypted (TLS)"
	if t.Security == upload.StartTLS {
		how = "encrypted (STARTTLS)"
	}
	return fmt.Sprintf("server %s, port %d, %s, user name %s", t.Host, t.Port, how, t.User)
}

// parseServer reads a server as the user or --server gives it: HOST,
// HOST:PORT (143 means STARTTLS, any other port TLS), or a URL
// imaps://[USER@]HOST[:PORT] / imap://[USER@]HOST[:PORT]. user is the
// login name when the answer names none.
func parseServer(s, user string) (upload.Target, error) {
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if !strings.Contains(rest, "@") {
			s = scheme + "://" + user + "@" + rest
		}
		t, err := upload.ParseURL(s)
		if err != nil {
			return t, fmt.Errorf("that is not a server I understand: %w", err)
		}
		return t, nil
	}
	t := upload.Target{User: user, Host: s, Port: 993, Security: upload.ImplicitTLS}
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port <= 0 || port > 65535 {
			return t, fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
		}
		t.Host, t.Port = h, port
		if port == 143 {
			t.Security = upload.StartTLS
		}
	}
	if t.Host == "" || net.ParseIP(t.Host) == nil && strings.ContainsAny(t.Host, " /@:\\?#\t") {
		return t, fmt.Errorf("%q is not a server name; it looks like imap.example.com (or imap.example.com:993)", s)
	}
	return t, nil
}

// --- step 2b: the password -----------------------------------------------------

// logIn asks for the password and tries it at once, explaining failures in
// plain words. It returns the target (the user may correct the server on
// the way) and the password that worked.
func (g *guide) logIn(t upload.Target) (upload.Target, string, error) {
	var fixed string // from --password-file or MAILFERRY_PASSWORD
	if g.f.passwordFile != "" || g.e.getenv("MAILFERRY_PASSWORD") != "" {
		pw, err := g.e.password(g.f.passwordFile, t)
		if err != nil {
			return t, "", err
		}
		fixed = pw
	}
	wrong := 0
	for {
		pw := fixed
		if pw == "" {
			ans, err := g.in.secret(g.ctx, fmt.Sprintf("Password for %s (nothing is shown while you type): ", t.User))
			if err != nil {
				return t, "", err
			}
			if ans == "" {
				g.say("The password is empty; please type it.")
				continue
			}
			pw = ans
		}
		g.say("Checking the password with %s…", t.Host)
		err := upload.CheckLogin(g.ctx, upload.Options{Target: &t, Password: pw, CAFile: g.f.tlsCA})
		switch {
		case err == nil:
			g.say("The password is right.")
			return t, pw, nil
		case g.ctx.Err() != nil:
			return t, "", g.ctx.Err()
		case errors.Is(err, upload.ErrAuth):
			wrong++
			g.say("The server did not accept this password for the user name %s.", t.User)
			if fixed != "" || wrong >= 3 {
				if fixed != "" {
					g.say("(The password came from --password-file or MAILFERRY_PASSWORD.)")
				}
				g.say("Check the password by logging in to your provider's webmail. Some providers need an\n" +
					"\"app password\" for mail programs (their help pages say how to make one). Also check\n" +
					"that the user name is right: give another one with --server imaps://USER@" + t.Host + ".\n" +
					"Nothing was uploaded.")
				return t, "", stopped{exitUsage}
			}
			g.say("Please type it again (upper and lower case matter); try %d of 3.", wrong+1)
		case upload.IsCertificateError(err):
			g.say("The server %s could not prove that it is really %s: its security certificate\n"+
				"is not trusted by this computer.\n  (%v)\n"+
				"This happens when the server name is not quite right (the certificate was made for\n"+
				"another name), or when the provider uses a certificate of its own. mailferry stops\n"+
				"here rather than send your password to a server it cannot trust.\n"+
				"What to do: ask your provider for the exact IMAP server name. If they give you a\n"+
				"certificate file, run mailferry again with --tls-ca FILE.", t.Host, t.Host, err)
			ans, err := g.ask("Type another server name to try, or press Enter to stop: ")
			if err != nil || ans == "" {
				if err != nil && !errors.Is(err, errNoAnswer) {
					return t, "", err
				}
				g.say("Nothing was uploaded.")
				return t, "", stopped{exitUsage}
			}
			if t, err = g.retarget(t, ans); err != nil {
				return t, "", err
			}
		case errors.Is(err, upload.ErrConfig):
			g.say("The server %s does not offer a safe way to log in:\n  %v\n"+
				"Ask your provider for the right IMAP server name and port. Nothing was uploaded.", t.Host, err)
			return t, "", stopped{exitUsage}
		default:
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				g.say("There is no server called %s. Please check the spelling.", t.Host)
			} else {
				g.say("I could not reach %s on port %d.\n  (%v)\n"+
					"Check that the server name is right and that this computer is connected to the internet.", t.Host, t.Port, err)
			}
			ans, err := g.ask("Press Enter to try again, type another server name, or type stop: ")
			if err != nil || strings.EqualFold(ans, "stop") {
				if err != nil && !errors.Is(err, errNoAnswer) {
					return t, "", err
				}
				g.say("Nothing was uploaded.")
				return t, "", stopped{exitFailure}
			}
			if ans != "" {
				if t, err = g.retarget(t, ans); err != nil {
					return t, "", err
				}
			}
		}
	}
}

// retarget parses a server name typed after a failure, keeping the user
// name; an answer that does not parse is explained and the old target kept.
func (g *guide) retarget(t upload.Target, ans string) (upload.Target, error) {
	nt, err := parseServer(ans, t.User)
	if err != nil {
		g.say("%v", err)
		return t, nil
	}
	g.say("Trying %s.", describeTarget(nt))
	return nt, nil
}

// --- steps 3 and 4: plan and upload ---------------------------------------------

// serverOptions are the upload options of the guided run.
func (g *guide) serverOptions(t upload.Target, password string, log *slog.Logger) upload.Options {
	return upload.Options{Target: &t, Password: password, CAFile: g.f.tlsCA, Logger: log}
}

// pass reads the whole source once through upload.Upload (a dry run or the
// real upload), with a progress bar.
func (g *guide) pass(m *mail, opts upload.Options, label string) (*upload.Report, time.Duration, error) {
	src, err := detect.Open(m.path, detect.Auto, formats.Options{}) // warnings were shown in step 1
	if err != nil {
		return nil, 0, err
	}
	defer src.Reader.Close()
	prog := newProgress(g.w, false, label)
	prog.SetTotal(m.sum.Totals.Bytes)
	opts.Logger = slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime}))
	var last int64
	opts.OnProgress = func(p upload.Progress) {
		if p.DoneBytes > last {
			prog.Add(p.DoneBytes - last)
			last = p.DoneBytes
		}
	}
	start := time.Now()
	rep, err := upload.Upload(g.ctx, src.Reader, opts)
	prog.Finish()
	return rep, time.Since(start), err
}

// showPlan compares the source with the server without changing anything,
// shows the plan folder by folder and asks for the go-ahead.
func (g *guide) showPlan(m *mail, t upload.Target, password string) error {
	g.say("Comparing your mail with what the server already holds (nothing is uploaded yet)…")
	opts := g.serverOptions(t, password, nil)
	opts.DryRun = true
	rep, _, err := g.pass(m, opts, "checking")
	if err != nil && !errors.Is(err, upload.ErrIncomplete) {
		if g.ctx.Err() != nil {
			return g.ctx.Err()
		}
		g.say("The check stopped: %v\nNothing was uploaded.", err)
		return stopped{exitCode(err)}
	}
	g.printPlan(rep)
	if g.f.yes {
		g.say("Starting the upload (--yes).")
		return nil
	}
	ans, err := g.ask("Start the upload? Type yes to start, anything else stops: ")
	if err != nil {
		return err
	}
	if a := strings.ToLower(ans); a != "yes" && a != "y" {
		fmt.Fprintln(g.e.stdout, "Nothing was uploaded. Run mailferry again whenever you are ready.")
		return stopped{exitOK}
	}
	return nil
}

func (g *guide) printPlan(rep *upload.Report) {
	t := rep.Totals
	g.say("\nHere is the plan (nothing has been uploaded yet):\n")
	width := 10
	for _, f := range rep.Folders {
		width = max(width, len([]rune(f.Server)))
	}
	for _, f := range rep.Folders {
		var parts []string
		parts = append(parts, messages(f.Uploaded)+" to upload")
		if f.Already > 0 {
			parts = append(parts, fmt.Sprintf("%s already there", count(f.Already)))
		}
		if n := f.SkippedTotal(); n > 0 {
			parts = append(parts, fmt.Sprintf("%s left out", count(n)))
		}
		g.say("  %s%s  %s\n  %s  from %s", f.Server, strings.Repeat(" ", width-len([]rune(f.Server))), strings.Join(parts, ", "),
			strings.Repeat(" ", width), strings.Join(f.Sources, ", "))
	}
	g.say("\nIn total: %s to upload (%s), %s already on the server.", messages(t.Uploaded), humanBytes(t.Bytes), count(t.Already))
	skipped := map[string]int{}
	for _, f := range rep.Folders {
		for k, v := range f.Skipped {
			skipped[k] += v
		}
	}
	if t.Skipped > 0 {
		g.say("Left out: %s.", plainCounts(skipped))
		if skipped[formats.SkipDeleted] > 0 {
			g.say("(Messages you deleted in Thunderbird stay in its files until the folder is\n\"compacted\"; they are not uploaded, just as Thunderbird no longer shows them.)")
		}
	}
	if t.Incomplete > 0 {
		g.say("%s on this computer are incomplete (for example, only the start was downloaded);\nthey are uploaded as they are and listed in the report.", messages(t.Incomplete))
	}
	if len(rep.Renames) > 0 {
		g.say("Some folder names must change for this server:")
		for _, rn := range rep.Renames {
			g.say("  %s → %s (%s)", rn.Source, rn.Server, rn.Reason)
		}
	}
	if t.Uploaded == 0 && t.Found > 0 {
		g.say("Everything is already on the server; going on only checks it once more.")
	}
}

// reportPath is where the JSON report goes: --report, else a dated file in
// Documents (when it exists) or the home folder.
func (g *guide) reportPath(now time.Time) string {
	if g.f.report != "" {
		return g.f.report
	}
	dir := "."
	if home := g.deps.paths.Home; home != "" {
		dir = home
		if st, err := os.Stat(filepath.Join(home, "Documents")); err == nil && st.IsDir() {
			dir = filepath.Join(home, "Documents")
		}
	}
	return filepath.Join(dir, "mailferry-report-"+now.Format("2006-01-02-150405")+".json")
}

// uploadAll runs the upload and the verification and says what the result
// means.
func (g *guide) uploadAll(m *mail, t upload.Target, password string) error {
	g.say("This can take a while; you can keep using the computer. If it is interrupted,\nrun mailferry again: it continues where it stopped.")
	report := g.reportPath(time.Now())
	opts := g.serverOptions(t, password, nil)
	opts.QuarantineDir = filepath.Join(filepath.Dir(report), upload.DefaultQuarantineDir)
	rep, took, err := g.pass(m, opts, "uploading")
	out := g.e.stdout
	if rep != nil {
		printReport(out, rep, took)
		if werr := writeJSON(report, rep); werr != nil {
			g.say("Could not write the report: %v", werr)
			report = ""
		}
	}
	fmt.Fprintln(out)
	tt := upload.Totals{}
	if rep != nil {
		tt = rep.Totals
	}
	onServer := tt.Uploaded + tt.Already
	reportLine := func() {
		if report != "" {
			fmt.Fprintf(out, "The report (for you or your support desk) is in %s\n", report)
		}
	}
	switch {
	case err == nil:
		fmt.Fprintf(out, "Done: all %s are on the server, each one checked.\n", messages(onServer))
		if tt.Skipped > 0 {
			fmt.Fprintf(out, "(%s left out as shown in the plan: deleted or not mail.)\n", messages(tt.Skipped))
		}
		fmt.Fprintln(out, "\nWhat to do next:")
		fmt.Fprintln(out, "  1. Look at your mail on the server: open your provider's webmail (or set up the")
		fmt.Fprintln(out, "     account in your mail program as IMAP) and check a few folders.")
		fmt.Fprintln(out, "  2. Only then remove the old POP3 account from Thunderbird. mailferry changed")
		fmt.Fprintln(out, "     nothing on this computer, so your mail here stays as it was until you do.")
		if report != "" {
			fmt.Fprintf(out, "  3. The report (for you or your support desk) is in %s\n", report)
		}
		fmt.Fprintln(out, "Running mailferry again is safe: it only uploads what is not on the server yet.")
		return nil
	case g.ctx.Err() != nil:
		fmt.Fprintf(out, "Stopped before the end: %s are on the server so far. Nothing is lost:\n", messages(onServer))
		fmt.Fprintln(out, "run mailferry again and it continues where it stopped.")
		reportLine()
		return stopped{exitInterrupted}
	case errors.Is(err, upload.ErrIncomplete):
		fmt.Fprintf(out, "Almost done: %s are on the server, each one checked. But %s did not\n", messages(onServer),
			messages(tt.Quarantined+tt.Failed+tt.Incomplete))
		fmt.Fprintln(out, "arrive as complete copies of your mail here: the list above says which and why.")
		if tt.Quarantined > 0 {
			fmt.Fprintf(out, "Copies of the messages the server refused are in %s\n", opts.QuarantineDir)
		}
		fmt.Fprintln(out, "Keep the old POP3 account until you have looked at them.")
		reportLine()
	case errors.Is(err, upload.ErrVerify):
		fmt.Fprintf(out, "%s are missing on the server after the upload (listed above).\n", messages(tt.Missing))
		fmt.Fprintln(out, "Run mailferry again: it uploads only what is missing. If this keeps happening,")
		fmt.Fprintln(out, "send the report to your support desk. Do not remove the old POP3 account yet.")
		reportLine()
	case errors.Is(err, upload.ErrOverQuota):
		fmt.Fprintf(out, "The mailbox on the server is full: %s fit. Make room on the server (or ask your\n", messages(onServer))
		fmt.Fprintln(out, "provider for more space), then run mailferry again: it continues where it stopped.")
		reportLine()
	default:
		reason := upload.StopServer
		if rep != nil && rep.StopReason != "" {
			reason = rep.StopReason
		}
		fmt.Fprintf(out, "The upload stopped: %s\n", mfterm.Escape(err.Error()))
		fmt.Fprintf(out, "%s are on the server so far; nothing is lost.\n", messages(onServer))
		fmt.Fprintln(out, whatNow(reason))
		reportLine()
	}
	return stopped{exitCode(err)}
}

// whatNow says, in plain words, what to do after a run stopped for this
// reason; "run again" only where running again can help.
func whatNow(r upload.StopReason) string {
	switch r {
	case upload.StopConnection:
		return "The connection to the server kept failing. Check that this computer is online, then run\nmailferry again: it continues where it stopped."
	case upload.StopThrottled:
		return "The server asked mailferry to slow down for longer than it waits. Run mailferry again\nin an hour or so: it continues where it stopped."
	case upload.StopInterrupted:
		return "Run mailferry again: it continues where it stopped."
	case upload.StopLogin:
		return "The server refused the login. Check your e-mail address and password (some providers\nwant an app password or a sign-in in the browser), then run mailferry again."
	case upload.StopConfig:
		return "Something in the settings must change first (the message above says what).\nIf you are unsure, send the report to your support desk."
	case upload.StopOverQuota:
		return "The mailbox on the server is full. Make room on the server (or ask your provider for\nmore space), then run mailferry again: it continues where it stopped."
	case upload.StopSource:
		return "Your mail on this computer could not be read to the end. Running again will stop at the\nsame place: send the report to your support desk."
	}
	return "The server answered in a way mailferry cannot go on with. Running again will most likely\nstop the same way: send the report to your support desk."
}

// --- words -------------------------------------------------------------------------

// count renders n with thousands separators: 12,345.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// messages is "1 message" or "12,345 messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return count(n) + " messages"
}

// plainCounts renders skip reasons in words, largest first: "1 deleted
// in the source (…), 2 not a mail message".
func plainCounts(m map[string]int) string {
	reasons := make([]string, 0, len(m))
	for k := range m {
		reasons = append(reasons, k)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if m[reasons[i]] != m[reasons[j]] {
			return m[reasons[i]] > m[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = count(m[r]) + " " + r
	}
	return strings.Join(parts, ", ")
}

// expandHome expands a leading ~/ (users copy paths from help pages).
func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return p
}

// targetFromEmail is --email (and --server) of upload and verify: the
// server of the address as its provider publishes it, or --server, without
// asking anything. The login name is the address unless the provider's
// settings or a --server URL say otherwise.
func (e *env) targetFromEmail(email, server string, lookup func(ctx context.Context, email string) (*autoconfig.Server, error)) (upload.Target, error) {
	if _, err := autoconfig.Domain(email); err != nil {
		return upload.Target{}, usageErrorf("--email: %v", err)
	}
	if server != "" {
		t, err := parseServer(server, email)
		if err != nil {
			return t, usageErrorf("--server: %v", err)
		}
		return t, nil
	}
	srv, err := lookup(e.ctx, email)
	if err != nil {
		if e.ctx.Err() != nil {
			return upload.Target{}, e.ctx.Err()
		}
		return upload.Target{}, usageErrorf("%v; name the server with --server HOST (or use --to)", err)
	}
	t := upload.Target{User: srv.Username, Host: srv.Host, Port: srv.Port, Security: upload.ImplicitTLS}
	if srv.STARTTLS {
		t.Security = upload.StartTLS
	}
	if t.User == "" {
		t.User = email
	}
	return t, nil
}
