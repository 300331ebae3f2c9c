package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"mailferry/internal/testutil"
)

// Diagnostics on stderr are short lines for people: the level in a word,
// the message, the details in parentheses, every text escaped.
func TestHumanHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(newHumanHandler(&buf, slog.LevelWarn))
	log.Info("created folder", "folder", "Archives") // below the level
	log.Warn("folder not created; its messages are not uploaded", "folder", "Evil\x1b[2J", "answer", "NO [CANNOT] bad\r\nname")
	log.Error("could not write quarantined message", "err", errors.New("disk full"))
	log.With("worker", 2).WithGroup("conn").Warn("connection lost", "messages", 3)
	log.Warn("a\nsecond line\x07")
	want := "warning: folder not created; its messages are not uploaded (folder: Evil\\x1b[2J, answer: NO [CANNOT] bad\\r\\nname)\n" +
		"error: could not write quarantined message (err: disk full)\n" +
		"warning: connection lost (worker: 2, conn.messages: 3)\n" +
		"warning: a\nsecond line\\x07\n"
	if buf.String() != want {
		t.Errorf("human log lines:\n%s\nwant:\n%s", buf.String(), want)
	}
	buf.Reset()
	verbose := slog.New(newHumanHandler(&buf, slog.LevelDebug))
	verbose.Debug("connected", "server", "imaps://me@example.com:993")
	verbose.Info("the previous upload did not finish")
	if want := "debug: connected (server: imaps://me@example.com:993)\ninfo: the previous upload did not finish\n"; buf.String() != want {
		t.Errorf("verbose lines:\n%q\nwant\n%q", buf.String(), want)
	}
}

// --log creates the file readable by the user alone, appends to an
// existing one, and refuses a symbolic link and anything not a file.
func TestOpenLogFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailferry.log")
	for i, line := range []string{"first run\n", "second run\n"} {
		f, err := openLogFile(path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if b, _ := os.ReadFile(path); string(b) != "first run\nsecond run\n" {
		t.Errorf("the log after two runs: %q, want both appended", b)
	}
	if st, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("log file mode: %v, %v; want 0600", st.Mode(), err)
	}
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.log")
	if err := os.Symlink(target, link); err == nil {
		if f, err := openLogFile(link); err == nil || !errors.Is(err, errUsage) {
			f.Close()
			t.Errorf("--log through a symbolic link: %v, want a usage error", err)
		}
		if b, _ := os.ReadFile(target); string(b) != "keep\n" {
			t.Errorf("the link's target was written: %q", b)
		}
	}
	if _, err := openLogFile(dir); err == nil {
		t.Errorf("--log naming a directory: no error")
	}
}

// The commands' stderr carries readable lines only, warnings by default,
// step by step with --verbose; --log gets the structured log with times,
// as text or JSON.
func TestLogFlags(t *testing.T) {
	src := testutil.Testdata(t, "sample-profile")
	res := runCLI(t, nil, "upload", src)
	if res.code != exitOK {
		t.Fatalf("upload: exit %d\n%s", res.code, res.stderr)
	}
	if strings.Contains(res.stderr, "level=") || strings.Contains(res.stderr, "msg=") {
		t.Errorf("key=value log lines on stderr:\n%s", res.stderr)
	}
	if !strings.Contains(res.stderr, "warning: Mail/pop.example.net/Inbox:71 (#4): line starting") {
		t.Errorf("the source's warning is not on stderr:\n%s", res.stderr)
	}
	if strings.Contains(res.stderr, "created folder") {
		t.Errorf("info lines without --verbose:\n%s", res.stderr)
	}

	dir := t.TempDir()
	textLog, jsonLog := filepath.Join(dir, "run.log"), filepath.Join(dir, "run.json")
	res = runCLI(t, nil, "upload", src, "--verbose", "--log", textLog)
	if res.code != exitOK || !strings.Contains(res.stderr, "debug: created folder (folder: Archives)") {
		t.Errorf("--verbose: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	b, err := os.ReadFile(textLog)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=INFO msg=started", `level=DEBUG msg="created folder" folder=Archives`, "level=WARN", "level=INFO msg=finished stopped=false"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the text log lacks %q:\n%s", want, b)
		}
	}
	if !strings.HasPrefix(string(b), "time=") {
		t.Errorf("the text log has no times:\n%s", b)
	}

	res = runCLI(t, nil, "convert", src, "--format", "eml", "--out", filepath.Join(dir, "out"), "--log", jsonLog, "--log-format", "json")
	if res.code != exitOK {
		t.Fatalf("convert --log: exit %d\n%s", res.code, res.stderr)
	}
	f, err := os.Open(jsonLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	msgs := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec struct {
			Time  string `json:"time"`
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Time == "" || rec.Level == "" {
			t.Errorf("JSON log line %q: %v", sc.Text(), err)
		}
		msgs[rec.Msg] = true
	}
	if !msgs["started"] || !msgs["finished"] {
		t.Errorf("the JSON log lacks the start or the end: %v", msgs)
	}

	if res := runCLI(t, nil, "upload", src, "--log", textLog, "--log-format", "xml"); res.code != exitUsage {
		t.Errorf("--log-format xml: exit %d, want %d", res.code, exitUsage)
	}
}

// What the upload prints, on stdout and stderr, never holds a raw control
// character from a folder name: the source's name appears escaped, the
// server's has them replaced (plan's rule).
func TestUploadOutputEscaped(t *testing.T) {
	root := t.TempDir()
	evil := "Evil\x1b[2J\x07X"
	if err := os.MkdirAll(filepath.Join(root, evil), 0o755); err != nil {
		t.Skipf("file system refuses the name: %v", err)
	}
	writeTree(t, root, map[string]string{evil + "/a.eml": fileMsgA, "b.eml": fileMsgB})
	res := runCLI(t, nil, "upload", root, "--verbose")
	if res.code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for name, out := range map[string]string{"stdout": res.stdout, "stderr": res.stderr} {
		if strings.ContainsAny(out, "\x1b\x07") {
			t.Errorf("%s holds a raw control character:\n%q", name, out)
		}
	}
	if !strings.Contains(res.stdout, `← Evil\x1b[2J\x07X`) {
		t.Errorf("stdout lacks the escaped source name:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "created folder (folder: Evil_[2J_X)") {
		t.Errorf("stderr lacks the server's name:\n%s", res.stderr)
	}
}

// The guided run's overview shows folder names from the source escaped.
func TestGuidedOutputEscaped(t *testing.T) {
	root := t.TempDir()
	evil := "Evil\x1b[2J\x07X"
	if err := os.MkdirAll(filepath.Join(root, evil), 0o755); err != nil {
		t.Skipf("file system refuses the name: %v", err)
	}
	writeTree(t, root, map[string]string{evil + "/a.eml": fileMsgA, "b.eml": fileMsgB})
	res := runGuided(t, testDeps(t.TempDir(), nil), nil, "", "--source", root)
	if res.code != exitUsage || !strings.Contains(res.stderr, "Your e-mail address") {
		t.Fatalf("guided run up to the address: exit %d\n%s", res.code, res.stderr)
	}
	if strings.ContainsAny(res.stderr+res.stdout, "\x1b\x07") {
		t.Errorf("the dialogue holds a raw control character:\n%q", res.stderr)
	}
	if !strings.Contains(res.stderr, `Evil\x1b[2J\x07X`) {
		t.Errorf("the overview lacks the escaped folder name:\n%s", res.stderr)
	}
}
