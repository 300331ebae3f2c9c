package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/internal/fakeimap"
	"mailferry/upload"
)

// rawControls are bytes a server's text must never bring to the terminal
// as they are (a line feed is fine: every printed line ends with one).
const rawControls = "\x1b\x00\x07\r"

// smallMbox writes an mbox of two messages and returns its path.
func smallMbox(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "Archive.mbox")
	mbox := "From a@example.org Mon Jun  7 10:00:00 2010\nFrom: a@example.org\nSubject: one\nMessage-ID: <1@x>\n\none\n\n" +
		"From a@example.org Mon Jun  7 11:00:00 2010\nFrom: a@example.org\nSubject: two\nMessage-ID: <2@x>\n\ntwo\n"
	if err := os.WriteFile(src, []byte(mbox), 0o600); err != nil {
		t.Fatal(err)
	}
	return src
}

// Refusal texts from the server (login and APPEND answered NO, STARTTLS
// refused before any encryption) carry escape sequences, CR, NUL and a
// bell: the command line shows them escaped, never raw, and still shows
// them.
func TestServerTextsEscaped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		start  func(t *testing.T) *fakeimap.Server
		scheme string
		exit   int
	}{
		{"login refused", func(t *testing.T) *fakeimap.Server {
			return fakeimap.StartTLS(t, fakeimap.ControlText("AUTHENTICATE", ""))
		}, "imaps", exitUsage},
		// Without the bare LF: a line after it breaks the connection,
		// and whether the second message was then in flight (exit 1,
		// stopped) or not (exit 3) is a matter of timing.
		{"APPEND refused", func(t *testing.T) *fakeimap.Server {
			return fakeimap.StartTLS(t, fakeimap.ControlText("APPEND", strings.ReplaceAll(fakeimap.NastyText, "\nafter the line end", "")))
		}, "imaps", exitIncomplete},
		{"STARTTLS refused", func(t *testing.T) *fakeimap.Server { return fakeimap.Start(t, fakeimap.StartTLSRefused("")) }, "imap", exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := tc.start(t)
			args := []string{"upload", smallMbox(t), "--to", fmt.Sprintf("%s://%s@%s", tc.scheme, srv.User, srv.Addr),
				"--quiet", "--quarantine", t.TempDir()}
			if srv.CAFile != "" {
				args = append(args, "--tls-ca", srv.CAFile)
			}
			res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, args...)
			if res.code != tc.exit {
				t.Errorf("exit %d, want %d\n%s\n%s", res.code, tc.exit, res.stdout, res.stderr)
			}
			all := res.stdout + res.stderr
			if strings.ContainsAny(all, rawControls) {
				t.Errorf("raw control characters reached the output:\n%q", all)
			}
			if !strings.Contains(all, `\x1b[31mred`) {
				t.Errorf("the server's text is not shown (escaped):\n%s", all)
			}
		})
	}
}

// imaps:// pointed at a plain IMAP port fails at once as a configuration
// problem (exit 2, words about TLS), not retried as a network failure
// until --retry-timeout.
func TestImapsToPlainPort(t *testing.T) {
	t.Parallel()
	srv := fakeimap.Start(t, fakeimap.Honest())
	res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", smallMbox(t),
		"--to", "imaps://"+srv.User+"@"+srv.Addr, "--quiet", "--retry-timeout", "10m")
	if res.code != exitUsage || !strings.Contains(res.stderr, "TLS") {
		t.Errorf("exit %d, want %d and words about TLS\n%s", res.code, exitUsage, res.stderr)
	}
}

// A server without encryption: the command line names the two ways on
// (imaps://, or --allow-plaintext knowingly); the guided run, which has no
// such flag, tells the user what to ask the provider and never suggests
// sending the password in clear.
func TestNoEncryptionAdvice(t *testing.T) {
	t.Parallel()
	srv := fakeimap.Start(t, fakeimap.StartTLSRefused(""))
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	res := runCLI(t, vars, "upload", smallMbox(t), "--to", "imap://"+srv.User+"@"+srv.Addr, "--quiet")
	if res.code != exitUsage || !strings.Contains(res.stderr, "--allow-plaintext") || !strings.Contains(res.stderr, "imaps://") {
		t.Errorf("upload: exit %d\n%s", res.code, res.stderr)
	}

	home, _ := sampleHome(t)
	res = runGuided(t, testDeps(home, nil), vars, "", "--email", "me@example.test", "--server", "imap://"+srv.User+"@"+srv.Addr, "--yes")
	if res.code != exitUsage {
		t.Errorf("guided: exit %d, want %d\n%s", res.code, exitUsage, res.stderr)
	}
	all := res.stdout + res.stderr
	if strings.Contains(all, "allow-plaintext") {
		t.Errorf("the guided run suggests a flag it does not take:\n%s", all)
	}
	for _, want := range []string{"does not offer an encrypted connection", "port 993", "Nothing was uploaded."} {
		if !strings.Contains(all, want) {
			t.Errorf("the guided run lacks %q:\n%s", want, all)
		}
	}
	if strings.ContainsAny(all, rawControls) {
		t.Errorf("raw control characters reached the output:\n%q", all)
	}
}

// Every text of a report that comes from a source file or a server (a
// Message-ID in a "missing:" line, a folder name, a reason, a quarantine
// file name) prints escaped.
func TestReportTextsEscaped(t *testing.T) {
	nasty := "x\x1b[2J\r\x00\x07y"
	rep := &upload.Report{Mode: upload.ModeUpload, Target: "imaps://u@h", Verified: true}
	rep.Folders = []*upload.FolderReport{{
		Sources: []string{"Src" + nasty}, Server: "Srv" + nasty,
		Verify: &upload.FolderVerify{Status: "!", Expected: 2,
			Missing:     []upload.Problem{{Pos: "a.mbox:1 (#1)", MessageID: "<id" + nasty + "@x>"}},
			BodyDiffers: []upload.Problem{{Pos: "a.mbox:9 (#2)", MessageID: "<b" + nasty + ">", Reason: "r" + nasty}}},
		Quarantined: []upload.Problem{{Pos: "a.mbox:20 (#3)", Reason: "NO " + nasty, File: "/q/" + nasty}},
	}}
	var out strings.Builder
	printReport(&out, rep, 0)
	if strings.ContainsAny(out.String(), rawControls) {
		t.Errorf("raw control characters in the summary:\n%q", out.String())
	}
	for _, want := range []string{`missing: a.mbox:1 (#1) <idx\x1b[2J\r\x00\x07y@x>`, `Srvx\x1b[2J`, `NO x\x1b[2J`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, out.String())
		}
	}
}
