// Command mailferry moves mail that lives only in local files (Thunderbird
// profiles, Apple Mail, EML folders, Maildir, mbox) onto an IMAP server and
// proves that nothing was lost on the way.
//
// This package only parses flags, prompts, draws progress and prints; the
// work happens in mailferry/formats and mailferry/upload.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is stamped at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	limitMemory(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// stopSignals end a run cleanly: the messages in flight are finished or
// accounted for, the summary and report say what reached the server, the
// marker of a run in progress is removed, and the exit code is 130. SIGHUP
// is the terminal window being closed on a run that takes hours: without
// it the run would die at once, without a report, and leave its marker
// behind (the next run then waits for the server to settle). On Windows,
// Go delivers Ctrl-C as os.Interrupt and a closed console window as
// SIGTERM; SIGHUP never comes there, and listing it is harmless.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// memoryLimit is the heap size the Go runtime keeps under (a soft limit:
// the collector runs sooner as the heap nears it). An upload's live data is
// bounded (upload.Options.InFlightBytes, 32 MiB of messages in flight over
// all connections, plus buffers), but by default the collector lets the
// heap grow to twice the live data. The limit keeps it near the live data
// for a little more client CPU (README, Performance).
const memoryLimit = 48 << 20

// limitMemory sets memoryLimit unless the user set GOMEMLIMIT.
func limitMemory(getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	debug.SetMemoryLimit(memoryLimit)
	return memoryLimit
}

// env is what a command needs from the outside world; tests fill it with
// buffers.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// hooks replace what an OAuth sign-in talks to, for tests.
	hooks signInHooks
	// isTerminal says whether a writer is a terminal (stderr: a live
	// progress line, else a plain line every 30 s); nil means
	// isTerminalWriter.
	isTerminal func(io.Writer) bool
}

// isTerminalOut reports whether w is a terminal.
func (e *env) isTerminalOut(w io.Writer) bool {
	if e.isTerminal != nil {
		return e.isTerminal(w)
	}
	return isTerminalWriter(w)
}

// run executes one mailferry command line and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return e.run(args)
}

// run executes one command line in e.
func (e *env) run(args []string) int {
	stdout, stderr := e.stdout, e.stderr
	if len(args) == 0 {
		if e.stdinTerminal() { // a person, not a script: guide them
			return e.guided(nil)
		}
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "start":
		return e.guided(rest)
	case "scan":
		return e.scan(rest)
	case "upload":
		return e.upload(rest)
	case "verify":
		return e.verify(rest)
	case "convert":
		return e.convert(rest)
	case "logout":
		return e.logout(rest)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "mailferry %s\n", version)
		return exitOK
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return e.run([]string{rest[0], "--help"})
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "mailferry: unknown command %q\n\n%s", cmd, mainUsage)
		return exitUsage
	}
}

// errUsage marks errors that are the user's to fix (exit 2): test with
// errors.Is; usageErrorf makes them.
var errUsage = errors.New("usage or configuration error")

// usageError carries its message alone (no "usage:" prefix: an unreadable
// source is not a typo) and says it is an errUsage.
type usageError struct{ err error }

func (u usageError) Error() string        { return u.err.Error() }
func (u usageError) Unwrap() error        { return u.err }
func (u usageError) Is(target error) bool { return target == errUsage }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

var mainUsage = `mailferry moves mail that lives only on this computer onto an IMAP server,
and proves that nothing was lost on the way.

Usage:
  mailferry                                        the guided way: answer a few questions
  mailferry start   [--email ADDRESS] [--yes]      the same, with answers as flags
  mailferry scan    [SOURCE] [--json]              show what mail is there
  mailferry upload  SOURCE [--to imaps://USER@HOST] upload it (without --to: a rehearsal)
  mailferry verify  SOURCE --to imaps://USER@HOST   check the server against the source
  mailferry convert SOURCE --format mbox|maildir|eml --out DIR
  mailferry logout  --email ADDRESS                forget a kept OAuth sign-in
  mailferry help COMMAND                            the manual of one command
  mailferry --version

SOURCE is a Thunderbird profile (or its root folder, an account folder, Local
Folders, a single mbox file), an Apple Mail folder (~/Library/Mail/V10, a
.mbox folder or an exported mailbox), a folder of .eml files, a Maildir or an
mbox file. Without SOURCE, scan looks in the usual places.

Sources are only ever read. Uploading again is safe: messages already on the
server are recognised and not uploaded twice.

` + exitCodesHelp
