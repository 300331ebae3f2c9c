package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"mailferry/internal/dovecottest"
	"mailferry/internal/testutil"
)

// The whole command line against a real Dovecot: upload, re-run, verify,
// and the exit codes scripts rely on.
func TestUploadToDovecot(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{})
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	src := testutil.Testdata(t, "sample-profile")

	res := runCLI(t, vars, "upload", src, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
	if res.code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
	}
	if !strings.Contains(res.stdout, "uploaded 8 + already on the server 0 + skipped 1") ||
		!strings.Contains(res.stdout, "Verification: all 6 folders match") {
		t.Errorf("upload summary:\n%s", res.stdout)
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages after the upload, want 8", n)
	}
	subscribed := strings.Join(srv.Subscribed(t), "\n")
	for _, f := range []string{"Archives/2013", "Archives/Rechnungen & Verträge", "Sent", "Trash"} {
		if !strings.Contains(subscribed, f) {
			t.Errorf("folder %q is not subscribed; subscribed: %q", f, subscribed)
		}
	}

	res = runCLI(t, vars, "upload", src, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
	if res.code != exitOK || !strings.Contains(res.stdout, "uploaded 0 + already on the server 8 + skipped 1") {
		t.Errorf("second upload: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages after the second upload, want still 8", n)
	}

	res = runCLI(t, vars, "verify", src, "--to", to, "--tls-ca", srv.CAFile)
	if res.code != exitOK || !strings.Contains(res.stdout, "= INBOX") {
		t.Errorf("verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}

	// A message deleted on the server makes verify fail with exit 1.
	srv.Doveadm(t, "expunge", "-u", srv.User, "mailbox", "Sent", "all")
	res = runCLI(t, vars, "verify", src, "--to", to, "--tls-ca", srv.CAFile)
	if res.code != exitFailure || !strings.Contains(res.stdout, "- Sent") {
		t.Errorf("verify after deleting Sent on the server: exit %d, want %d\n%s", res.code, exitFailure, res.stdout)
	}
}

func TestUploadConfigErrorsAgainstDovecot(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{})
	src := testutil.Testdata(t, "sample-profile")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)

	res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": "wrong"}, "upload", src, "--to", to, "--tls-ca", srv.CAFile)
	if res.code != exitUsage || !strings.Contains(res.stderr, "login failed") {
		t.Errorf("wrong password: exit %d, want %d; stderr %q", res.code, exitUsage, res.stderr)
	}
	if strings.Contains(res.stderr+res.stdout, "wrong") && !strings.Contains(res.stderr, "login failed") {
		t.Errorf("the password leaked into the output")
	}

	// Without the CA the certificate is not trusted: a configuration error.
	res = runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", src, "--to", to)
	if res.code != exitUsage || !strings.Contains(res.stderr, "certificate") {
		t.Errorf("untrusted certificate: exit %d, want %d; stderr %q", res.code, exitUsage, res.stderr)
	}

	// The password file takes precedence; --insecure-skip-verify works and warns.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(srv.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, nil, "upload", src, "--to", to, "--password-file", pwFile, "--insecure-skip-verify", "--dry-run")
	if res.code != exitOK || !strings.Contains(res.stderr, "TLS certificate checking is OFF") {
		t.Errorf("dry run with --insecure-skip-verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := len(srv.FetchAll(t)); n != 0 {
		t.Errorf("a dry run stored %d messages", n)
	}
}

// A message the server refuses ends in the quarantine with its reason, the
// rest arrives, and the exit code is 3.
func TestUploadQuarantineExit3(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "2k"})
	dir := t.TempDir()
	big := strings.Repeat("This line makes the message larger than the server allows.\n", 100)
	mbox := "From sender@example.org Mon Jun  7 10:00:00 2010\nFrom: a@example.org\nSubject: small\nMessage-ID: <s@x>\n\nsmall\n\n" +
		"From sender@example.org Mon Jun  7 11:00:00 2010\nFrom: a@example.org\nSubject: big\nMessage-ID: <b@x>\n\n" + big
	src := filepath.Join(dir, "Archive.mbox")
	if err := os.WriteFile(src, []byte(mbox), 0o644); err != nil {
		t.Fatal(err)
	}
	quarantine := filepath.Join(dir, "quarantine")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", src, "--to", to, "--tls-ca", srv.CAFile,
		"--quarantine", quarantine, "--quiet")
	if res.code != exitIncomplete {
		t.Fatalf("upload with a refused message: exit %d, want %d\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "quarantined: ") || !strings.Contains(res.stdout, "LIMIT") && !strings.Contains(res.stdout, "larger") {
		t.Errorf("the summary does not name the quarantined message and the server's reason:\n%s", res.stdout)
	}
	var files []string
	filepath.Walk(quarantine, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("quarantine holds %v, want one file", files)
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), "Subject: big") {
		t.Errorf("the quarantined file is not the refused message")
	}
	if n := len(srv.FetchAll(t)); n != 1 {
		t.Errorf("Dovecot holds %d messages, want the 1 small one", n)
	}
}

// Where reports and quarantined messages go, and that they are private:
// an existing 0644 report file becomes 0600; without --quarantine the
// refused message goes beside the report, else into the data folder, in
// a 0700 folder as a 0600 file; a link where the report or the quarantine
// goes is refused (the report before any work starts; the quarantine
// copy with the reason in the summary, the run going on).
func TestReportAndQuarantinePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "2k"})
	big := strings.Repeat("This line makes the message larger than the server allows.\n", 100)
	mbox := "From sender@example.org Mon Jun  7 10:00:00 2010\nFrom: a@example.org\nSubject: small\nMessage-ID: <s@x>\n\nsmall\n\n" +
		"From sender@example.org Mon Jun  7 11:00:00 2010\nFrom: a@example.org\nSubject: big\nMessage-ID: <b@x>\n\n" + big
	src := filepath.Join(t.TempDir(), "Archive.mbox")
	if err := os.WriteFile(src, []byte(mbox), 0o644); err != nil {
		t.Fatal(err)
	}
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	modeOf := func(p string) os.FileMode {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	// quarantined returns the one file below dir, checking the modes of
	// dir, of the folders below it and of the file.
	quarantined := func(t *testing.T, dir string) string {
		t.Helper()
		var files []string
		filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
			switch {
			case err != nil:
				t.Error(err)
			case info.IsDir() && info.Mode().Perm() != 0o700:
				t.Errorf("quarantine folder %s has mode %o, want 700", p, info.Mode().Perm())
			case !info.IsDir():
				files = append(files, p)
				if info.Mode().Perm() != 0o600 {
					t.Errorf("quarantined file %s has mode %o, want 600", p, info.Mode().Perm())
				}
			}
			return nil
		})
		if len(files) != 1 {
			t.Fatalf("quarantine %s holds %v, want one file", dir, files)
		}
		return files[0]
	}

	t.Run("beside the report", func(t *testing.T) {
		cwd := t.TempDir()
		t.Chdir(cwd)
		dir := t.TempDir()
		report := filepath.Join(dir, "report.json")
		if err := os.WriteFile(report, []byte("an old report"), 0o644); err != nil {
			t.Fatal(err)
		}
		data := t.TempDir()
		res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password, "XDG_DATA_HOME": data}, "upload", src,
			"--to", to, "--tls-ca", srv.CAFile, "--report", report, "--quiet")
		if res.code != exitIncomplete {
			t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if m := modeOf(report); m != 0o600 {
			t.Errorf("the report over a 0644 file has mode %o, want 600", m)
		}
		if b, _ := os.ReadFile(report); !strings.Contains(string(b), `"quarantined"`) {
			t.Errorf("the report was not written: %.200s", b)
		}
		f := quarantined(t, filepath.Join(dir, "mailferry-quarantine"))
		if !strings.Contains(res.stdout, "→ "+f) {
			t.Errorf("the summary does not name %s:\n%s", f, res.stdout)
		}
		for _, d := range []string{cwd, data} {
			if entries, _ := os.ReadDir(d); len(entries) != 0 {
				t.Errorf("%s got %d entries; everything belongs beside the report", d, len(entries))
			}
		}
	})

	t.Run("in the data folder", func(t *testing.T) {
		cwd := t.TempDir()
		t.Chdir(cwd)
		data := t.TempDir()
		res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password, "XDG_DATA_HOME": data}, "upload", src,
			"--to", to, "--tls-ca", srv.CAFile, "--quiet")
		if res.code != exitIncomplete {
			t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		quarantined(t, filepath.Join(data, "mailferry", "quarantine"))
		if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
			t.Errorf("the current folder got %d entries", len(entries))
		}
	})

	t.Run("links refused", func(t *testing.T) {
		dir := t.TempDir()
		elsewhere := t.TempDir()
		link := filepath.Join(dir, "q")
		if err := os.Symlink(elsewhere, link); err != nil {
			t.Fatal(err)
		}
		res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", src,
			"--to", to, "--tls-ca", srv.CAFile, "--quarantine", link, "--quiet")
		if res.code != exitIncomplete || !strings.Contains(res.stdout, "copy not written") || !strings.Contains(res.stdout, "symbolic link") {
			t.Errorf("quarantine through a link: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
		}
		if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
			t.Errorf("the link's target got %d entries", len(entries))
		}

		target := filepath.Join(elsewhere, "target.json")
		os.WriteFile(target, []byte("keep"), 0o644)
		reportLink := filepath.Join(dir, "report.json")
		if err := os.Symlink(target, reportLink); err != nil {
			t.Fatal(err)
		}
		before := len(srv.FetchAll(t))
		res = runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", src,
			"--to", to, "--tls-ca", srv.CAFile, "--report", reportLink, "--quiet")
		if res.code != exitUsage || !strings.Contains(res.stderr, "--report") || !strings.Contains(res.stderr, "symbolic link") {
			t.Errorf("report through a link: exit %d\n%s", res.code, res.stderr)
		}
		if b, _ := os.ReadFile(target); string(b) != "keep" {
			t.Errorf("the link's target was written: %q", b)
		}
		if n := len(srv.FetchAll(t)); n != before {
			t.Errorf("the refused run uploaded: %d messages, then %d", before, n)
		}
	})
}

// TestUploadServerLimitsConnections: a server that allows two connections
// per user, an upload asking for four. The upload completes on the
// connections allowed and the summary says how to avoid the refusals.
func TestUploadServerLimitsConnections(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{MaxUserIPConnections: 2})
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	src := testutil.Testdata(t, "sample-profile")
	res := runCLI(t, vars, "upload", src, "--to", to, "--tls-ca", srv.CAFile, "--quiet", "--connections", "4")
	if res.code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
	}
	// Dovecot counts concurrent logins loosely: three may pass at first.
	if !regexp.MustCompile(`Connections: [23] of the 4 asked: the server refused more \(--connections [23] `).MatchString(res.stdout) ||
		!strings.Contains(res.stdout, "Verification: all 6 folders match") {
		t.Errorf("upload summary:\n%s", res.stdout)
	}
}
