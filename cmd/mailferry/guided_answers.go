package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

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
