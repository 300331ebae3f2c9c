package oauth

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string // nil: an error
	}{
		{`oama access me@example.com`, []string{"oama", "access", "me@example.com"}},
		{`  mutt_oauth2.py   ~/.tokens/me  `, []string{"mutt_oauth2.py", "~/.tokens/me"}},
		{`pass show "mail/my account"`, []string{"pass", "show", "mail/my account"}},
		{`cmd 'it''s' "a \"b\" \$c \x"`, []string{"cmd", "its", `a "b" $c \x`}},
		{`cmd a\ b '$(touch x)' "\$HOME"`, []string{"cmd", "a b", "$(touch x)", "$HOME"}},
		{`cmd ''`, []string{"cmd", ""}},
		{`pass show mail | head -1`, nil},
		{`get-token; rm -rf ~`, nil},
		{`get-token $(whoami)`, nil},
		{"get-token `id`", nil},
		{`get-token > /tmp/x`, nil},
		{`get-token "unbalanced`, nil},
		{`get-token 'unbalanced`, nil},
		{`trailing\`, nil},
		{`   `, nil},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if tt.want == nil {
			if err == nil {
				t.Errorf("SplitCommand(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test's token commands are shell scripts")
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandSource(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "runs")
	tokenCmd := script(t, dir, "token", `echo run >> "`+counter+`"
echo "asking the keyring for $1" >&2
printf '\n  tok-%s-%s  \nsecond line\n' "$1" "$(wc -l < "`+counter+`" | tr -d ' ')"
`)
	src, err := NewCommandSource(tokenCmd + ` 'me@example.com'`)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	src.Stderr = &stderr
	now := time.Unix(1000, 0)
	src.now = func() time.Time { return now }
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil || tok.Reveal() != "tok-me@example.com-1" {
		t.Fatalf("Token = %q, %v; want the first line, trimmed", tok.Reveal(), err)
	}
	if !strings.Contains(stderr.String(), "asking the keyring for me@example.com") {
		t.Errorf("the command's stderr was not passed on: %q", stderr.String())
	}
	// Within MinInterval the token is reused; a refusal runs it again,
	// and so does the end of MinInterval.
	if tok2, _ := src.Token(ctx); !tok2.Equal(tok) {
		t.Error("the command ran again within MinInterval")
	}
	if !src.Rejected(tok) {
		t.Error("Rejected = false")
	}
	if tok3, _ := src.Token(ctx); tok3.Reveal() != "tok-me@example.com-2" {
		t.Errorf("after a refusal Token = %q, want a new run", tok3.Reveal())
	}
	now = now.Add(2 * time.Minute)
	if tok4, _ := src.Token(ctx); tok4.Reveal() != "tok-me@example.com-3" {
		t.Errorf("after MinInterval Token = %q, want a new run", tok4.Reveal())
	}
}

// Arguments reach the command literally: nothing a shell would expand is
// expanded, so a crafted argument cannot run anything.
func TestCommandSourceNoShell(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	echo := script(t, dir, "echo-args", `for a in "$@"; do printf '%s|' "$a" >&2; done; echo token`)
	src, err := NewCommandSource(echo + ` '$(touch ` + marker + `)' "*" '; touch ` + marker + `'`)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	src.Stderr = &stderr
	if _, err := src.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := "$(touch " + marker + ")|*|; touch " + marker + "|"; stderr.String() != want {
		t.Errorf("arguments = %q, want %q", stderr.String(), want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("an argument was run by a shell")
	}
}

func TestCommandSourceFailures(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, body string
		timeout    time.Duration
		want       string
	}{
		{"fails", `echo "token expired, run oama authorize" >&2; exit 3`, 0, "exit status 3"},
		{"prints nothing", `exit 0`, 0, "printed nothing"},
		{"prints prose", `echo "Your token is abc"`, 0, "alone on its first line"},
		{"hangs", `exec sleep 30`, 200 * time.Millisecond, "did not finish within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewCommandSource(script(t, dir, strings.ReplaceAll(tt.name, " ", "-"), tt.body))
			if err != nil {
				t.Fatal(err)
			}
			src.Timeout = tt.timeout
			start := time.Now()
			_, err = src.Token(context.Background())
			if !errors.Is(err, ErrTokenCommand) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Token: %v, want ErrTokenCommand saying %q", err, tt.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	src, _ := NewCommandSource(filepath.Join(dir, "no-such-command"))
	if _, err := src.Token(context.Background()); !errors.Is(err, ErrTokenCommand) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing command: %v", err)
	}
	if _, err := NewCommandSource("a | b"); err == nil {
		t.Error("NewCommandSource accepted a pipe")
	}
}

func TestOpenBrowser(t *testing.T) {
	dir := t.TempDir()
	got := filepath.Join(dir, "opened")
	script(t, dir, "xdg-open", `printf '%s' "$1" > "`+got+`"`)
	script(t, dir, "open", `exit 3`)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env := map[string]string{"DISPLAY": ":0"}
	const u = "https://login.example.com/authorize?client_id=x&state=y"
	if err := openBrowser("linux", func(k string) string { return env[k] }, u); err != nil {
		t.Fatalf("openBrowser: %v", err)
	}
	if b, _ := os.ReadFile(got); string(b) != u {
		t.Errorf("xdg-open got %q, want %q", b, u)
	}
	if err := openBrowser("linux", func(string) string { return "" }, u); !errors.Is(err, ErrNoBrowser) {
		t.Errorf("without a display: %v, want ErrNoBrowser", err)
	}
	if err := openBrowser("darwin", nil, u); err == nil {
		t.Error("a failing opener is no error")
	}
}
