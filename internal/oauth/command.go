package oauth

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CommandSource runs a user's command that prints an access token (the
// way mbsync's PassCmd and aerc's token commands plug in tools such as
// oama, mutt_oauth2.py or a password manager): --oauth2-token-command.
//
// The command line is split into words like a shell splits them (spaces,
// 'single' and "double" quotes, backslash escapes) but no shell runs it:
// no variables, globs, pipes or redirections, so nothing in it is
// interpreted twice. Unquoted shell operators (| & ; < > ` $( ) are
// refused with an explanation, since without a shell they would silently
// become arguments. The token is the first non-empty line of standard
// output; standard error goes to the user (the tool may ask something or
// explain a failure there); standard input is the user's too, so a tool
// that signs in interactively can. A command that runs longer than
// Timeout is killed.
//
// The command runs at the first Token, again when a server refused its
// token, and at most once per MinInterval otherwise (several connections
// starting together share one run). Tools like these cache and refresh
// tokens themselves, so running them again is cheap.
type CommandSource struct {
	argv []string
	// Stdin, Stderr are the command's standard input and error; nil means
	// none (os.DevNull) and discarding.
	Stdin  io.Reader
	Stderr io.Writer
	// Timeout bounds one run; default 2 minutes.
	Timeout time.Duration
	// MinInterval is how long a token is handed out again without running
	// the command; default 1 minute.
	MinInterval time.Duration

	state chan cmdState // holds the state; receiving it is the lock
	now   func() time.Time
}

type cmdState struct {
	tok     Secret
	at      time.Time
	refused Secret
}

// ErrTokenCommand marks a failed token command (not started, failed, timed
// out, or printed no token).
var ErrTokenCommand = errors.New("the token command did not give a token")

// NewCommandSource parses command into words (see CommandSource). Errors
// are usage errors: empty, unbalanced quotes, shell operators.
func NewCommandSource(command string) (*CommandSource, error) {
	argv, err := SplitCommand(command)
	if err != nil {
		return nil, fmt.Errorf("--oauth2-token-command: %w", err)
	}
	s := &CommandSource{argv: argv, state: make(chan cmdState, 1)}
	s.state <- cmdState{}
	return s, nil
}

// Argv returns the parsed command (for --help and tests).
func (s *CommandSource) Argv() []string { return append([]string(nil), s.argv...) }

func (s *CommandSource) timeNow() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Token returns the token the command printed, running it when needed.
func (s *CommandSource) Token(ctx context.Context) (Secret, error) {
	var st cmdState
	select {
	case st = <-s.state:
	case <-ctx.Done():
		return Secret{}, ctx.Err()
	}
	defer func() { s.state <- st }()
	minInterval := s.MinInterval
	if minInterval <= 0 {
		minInterval = time.Minute
	}
	fresh := !st.tok.IsZero() && s.timeNow().Sub(st.at) < minInterval && !st.tok.Equal(st.refused)
	if fresh {
		return st.tok, nil
	}
	tok, err := s.run(ctx)
	if err != nil {
		return Secret{}, err
	}
	st.tok, st.at = tok, s.timeNow()
	return tok, nil
}

// Rejected makes the next Token run the command again. It reports true:
// the command may well print a different token (it refreshes its own).
// If it prints the refused one again, Login does not try a third time.
func (s *CommandSource) Rejected(tok Secret) bool {
	st := <-s.state
	st.refused = tok
	s.state <- st
	return true
}

func (s *CommandSource) run(ctx context.Context) (Secret, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.argv[0], s.argv[1:]...)
	cmd.Stdin = s.Stdin
	cmd.Stderr = s.Stderr
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, n: maxResponse}
	// A child of the command still holding stdout open (the command was
	// killed, its helper was not) does not hang the run. No process group
	// of its own: a tool that asks on the terminal must stay in the
	// terminal's foreground group.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	name := s.argv[0]
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return Secret{}, fmt.Errorf("%w: %s did not finish within %v", ErrTokenCommand, name, timeout)
	case ctx.Err() != nil:
		return Secret{}, ctx.Err()
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return Secret{}, fmt.Errorf("%w: %s: not found (give its full path, or check PATH)", ErrTokenCommand, name)
	case err != nil:
		// The output may hold a token or part of one: never quote it.
		return Secret{}, fmt.Errorf("%w: %s: %v (its messages, if any, are above)", ErrTokenCommand, name, err)
	}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 64*1024), maxResponse)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			if strings.ContainsAny(line, " \t") {
				return Secret{}, fmt.Errorf("%w: %s printed a line with spaces; it must print the access token alone on its first line", ErrTokenCommand, name)
			}
			return NewSecret(line), nil
		}
	}
	return Secret{}, fmt.Errorf("%w: %s printed nothing", ErrTokenCommand, name)
}

// limitedWriter keeps the first n bytes and drops the rest.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	k := min(len(p), l.n)
	l.n -= k
	if _, err := l.w.Write(p[:k]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// SplitCommand splits a command line into words the way a POSIX shell
// splits a simple command, without expanding anything: blanks separate
// words; '...' is literal; "..." is literal except \" \\ \$ \`; a
// backslash outside quotes escapes the next character. Unquoted | & ; < >
// ( ) ` and $ are refused: they mean shell syntax, which is not run.
func SplitCommand(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\'':
			inWord = true
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j == len(rs) {
				return nil, errors.New("unbalanced ' quote")
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
		case r == '"':
			inWord = true
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[j+1]) {
					j++
				}
				cur.WriteRune(rs[j])
			}
			if j == len(rs) {
				return nil, errors.New(`unbalanced " quote`)
			}
			i = j
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("a backslash at the end escapes nothing")
			}
			inWord = true
			i++
			cur.WriteRune(rs[i])
		case strings.ContainsRune("|&;<>()`$", r):
			return nil, fmt.Errorf("%q is shell syntax, but the command runs without a shell; put pipes, redirections and variables into a script and give its path, or quote the character", r)
		default:
			inWord = true
			cur.WriteRune(r)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}
