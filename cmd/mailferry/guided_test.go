package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
	"mailferry/internal/autoconfig"
	"mailferry/internal/dovecottest"
	"mailferry/internal/testutil"
	"mailferry/upload"
)

// sampleHome makes a home directory holding the sample profile as
// Thunderbird on Linux keeps it: ~/.thunderbird/profiles.ini and the
// profile directory. The sample has a POP3 account anna@example.net
// (pop.example.net) and Local Folders: 8 messages to upload, 1 deleted.
func sampleHome(t *testing.T) (home, profile string) {
	t.Helper()
	home = t.TempDir()
	root := filepath.Join(home, ".thunderbird")
	profile = filepath.Join(root, "abcd1234.default-release")
	copyTree(t, testutil.Testdata(t, "sample-profile"), profile)
	ini := "[Profile0]\nName=default-release\nIsRelative=1\nPath=abcd1234.default-release\nDefault=1\n\n[General]\nStartWithLastProfile=1\nVersion=2\n"
	if err := os.WriteFile(filepath.Join(root, "profiles.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	return home, profile
}

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testDeps looks for mail in home and asks lookup for the server (nil:
// every lookup finds nothing).
func testDeps(home string, lookup func(ctx context.Context, email string) (*autoconfig.Server, error)) guidedDeps {
	if lookup == nil {
		lookup = func(context.Context, string) (*autoconfig.Server, error) {
			return nil, fmt.Errorf("%w: test: no documents", autoconfig.ErrNotFound)
		}
	}
	return guidedDeps{paths: detect.Paths{Home: home, Getenv: func(string) string { return "" }, GOOS: runtime.GOOS}, lookup: lookup}
}

// runGuided runs "mailferry start ARGS" in-process with stdin typed by a
// script.
func runGuided(t *testing.T, deps guidedDeps, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] }}
	code := e.guidedWith(args, deps)
	return result{code, out.String(), errOut.String()}
}

// autoconfigFor serves, over HTTPS, a provider document pointing at the
// test Dovecot's TLS port with the local part as user name, and returns a
// lookup that asks only this server.
func autoconfigFor(t *testing.T, srv *dovecottest.Server) func(ctx context.Context, email string) (*autoconfig.Server, error) {
	t.Helper()
	host, port, err := net.SplitHostPort(srv.TLSAddr)
	if err != nil {
		t.Fatal(err)
	}
	doc := `<?xml version="1.0"?>
<clientConfig version="1.1"><emailProvider id="example.test"><domain>example.test</domain>
<incomingServer type="pop3"><hostname>pop.example.test</hostname><port>995</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username></incomingServer>
<incomingServer type="imap"><hostname>` + host + `</hostname><port>` + port + `</port><socketType>SSL</socketType>
<username>%EMAILLOCALPART%</username><authentication>password-cleartext</authentication></incomingServer>
</emailProvider></clientConfig>`
	hs := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/mail/config-v1.1.xml" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(doc))
	}))
	t.Cleanup(hs.Close)
	opts := autoconfig.Options{URLs: func(email, domain string) []string {
		return []string{hs.URL + "/.well-known/autoconfig/mail/config-v1.1.xml", hs.URL + "/mail/config-v1.1.xml"}
	}}
	return func(ctx context.Context, email string) (*autoconfig.Server, error) {
		return autoconfig.Lookup(ctx, hs.Client(), email, opts)
	}
}

// reads counts the messages a guided run reads from its source, read for
// sizes only or in full.
type reads struct{ sizesOnly, full int }

// countReads makes deps count the messages read from every source opened.
func countReads(deps *guidedDeps) *reads {
	r := &reads{}
	deps.open = func(path string, kind detect.Kind, opts formats.Options) (*detect.Source, error) {
		src, err := detect.Open(path, kind, opts)
		if err != nil {
			return nil, err
		}
		n := &r.full
		if opts.SizesOnly {
			n = &r.sizesOnly
		}
		src.Reader = &countingReader{Reader: src.Reader, n: n}
		return src, nil
	}
	return r
}

type countingReader struct {
	formats.Reader
	n *int
}

func (c *countingReader) Next(ctx context.Context) (*formats.Message, error) {
	m, err := c.Reader.Next(ctx)
	if err == nil {
		*c.n++
	}
	return m, err
}

// typed joins the lines a script types.
func typed(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// The whole guided run against a real Dovecot, every answer typed: the
// profile is found in ~/.thunderbird, the address typed, the server found
// in the provider's autoconfig document and accepted, the password typed,
// the plan accepted. Then the support desk's one command line resumes
// with nothing left to do.
func TestGuidedHappyPath(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	home, _ := sampleHome(t)
	deps := testDeps(home, autoconfigFor(t, srv))
	reads := countReads(&deps)

	res := runGuided(t, deps, nil, typed(srv.User+"@example.test", "", srv.Password, "yes"), "--tls-ca", srv.CAFile)
	if res.code != exitOK {
		t.Fatalf("guided run: exit %d\nstdout:\n%s\nstderr:\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
	}
	for _, want := range []string{
		"Thunderbird profile default-release",
		"anna@example.net (POP3, pop.example.net)",
		"In total: 8 messages in 7 folders",
		"Your e-mail address (press Enter for anna@example.net)",
		"server 127.0.0.1, port " + strings.Split(srv.TLSAddr, ":")[1] + ", encrypted (TLS), user name " + srv.User,
		"The password is right.",
		"Asking the server how your folders will be named there",
		"In total: 8 messages to upload",
		"Left out: 1 deleted in the source",
		"Finished in ",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the dialogue lacks %q:\n%s", want, res.stderr)
		}
	}
	if strings.Contains(res.stderr+res.stdout, srv.Password) {
		t.Errorf("the password appears in the output")
	}
	// The overview reads for sizes only; the plan reads no message; the
	// upload reads each message once.
	if reads.sizesOnly != 9 || reads.full != 9 {
		t.Errorf("the guided run read %d messages for sizes and %d in full; want the 9 of the source once each", reads.sizesOnly, reads.full)
	}
	if !regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d upload of .* started$`).MatchString(res.stderr) {
		t.Errorf("the upload's progress lacks its start line:\n%s", res.stderr)
	}
	for _, want := range []string{"Verification: all 6 folders match", "Done: all 8 messages are on the server",
		"Only then remove the old POP3 account", "Running mailferry again is safe"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("the result lacks %q:\n%s", want, res.stdout)
		}
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages after the guided run, want 8", n)
	}
	reports, _ := filepath.Glob(filepath.Join(home, "mailferry-report-*.json"))
	if len(reports) != 1 {
		t.Fatalf("reports in the home folder: %v, want one", reports)
	}
	var rep upload.Report
	if b, err := os.ReadFile(reports[0]); err != nil || json.Unmarshal(b, &rep) != nil || rep.Totals.Uploaded != 8 || !rep.Verified {
		t.Errorf("report %s: %v, %+v; want 8 uploaded and verified", reports[0], err, rep.Totals)
	}
	if !strings.Contains(res.stdout, reports[0]) {
		t.Errorf("the result does not say where the report is (%s):\n%s", reports[0], res.stdout)
	}

	// The support desk's one command line: no questions, nothing new.
	report := filepath.Join(t.TempDir(), "again.json")
	res = runGuided(t, deps, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "",
		"--email", "someone@example.test", "--server", "imaps://"+srv.User+"@"+srv.TLSAddr, "--yes",
		"--tls-ca", srv.CAFile, "--report", report)
	if res.code != exitOK || !strings.Contains(res.stdout, "uploaded 0 + already on the server 8 + skipped 1") {
		t.Errorf("second run with flags: exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"the server's folder holds 4 already", "The server already holds 8 messages in these folders"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("second run: the plan lacks %q:\n%s", want, res.stderr)
		}
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("--report: %v", err)
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages after the second run, want still 8", n)
	}
}

// A wrong password is explained and asked again; three wrong ones stop;
// an untrusted certificate is explained and nothing is sent.
func TestGuidedLoginProblems(t *testing.T) {
	t.Parallel()
	// Without these, Dovecot delays every failed login by 2 s and, after
	// a few, everything from the same address by up to 15 s (auth penalty;
	// mode 0 on its socket turns it off, as the Dovecot documentation says).
	srv := dovecottest.Start(t, dovecottest.Config{ExtraConfig: "auth_failure_delay = 0\nservice anvil {\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"})
	home, _ := sampleHome(t)
	deps := testDeps(home, nil)
	server := "imaps://" + srv.User + "@" + srv.TLSAddr
	flags := []string{"--email", "tester@example.test", "--server", server, "--tls-ca", srv.CAFile}

	tests := []struct {
		name    string
		stdin   string
		flags   []string
		code    int
		stderr  []string
		stdout  []string
		stored  int
		tlsFlag bool
	}{
		{name: "certificate not trusted", stdin: typed(srv.Password, ""), flags: []string{"--email", "tester@example.test", "--server", server},
			code: exitUsage, stderr: []string{"could not prove that it is really 127.0.0.1", "--tls-ca FILE", "Nothing was uploaded."}},
		{name: "three wrong passwords", stdin: typed("wrong1", "wrong2", "wrong3", srv.Password), flags: flags, code: exitUsage,
			stderr: []string{"did not accept this password", "try 2 of 3", "try 3 of 3", "app password", "Nothing was uploaded."}},
		{name: "wrong then right", stdin: typed("wrong", srv.Password, "yes"), flags: flags, code: exitOK,
			stderr: []string{"did not accept this password for the user name tester", "try 2 of 3", "The password is right."},
			stdout: []string{"Done: all 8 messages are on the server"}, stored: 8},
	}
	for _, tt := range tests {
		res := runGuided(t, deps, nil, tt.stdin, tt.flags...)
		if res.code != tt.code {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.name, res.code, tt.code, res.stdout, res.stderr)
		}
		for _, want := range tt.stderr {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("%s: the dialogue lacks %q:\n%s", tt.name, want, res.stderr)
			}
		}
		for _, want := range tt.stdout {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("%s: the result lacks %q:\n%s", tt.name, want, res.stdout)
			}
		}
		if strings.Contains(res.stderr+res.stdout, srv.Password) {
			t.Errorf("%s: the password appears in the output", tt.name)
		}
		if n := len(srv.FetchAll(t)); n != tt.stored {
			t.Errorf("%s: Dovecot holds %d messages, want %d", tt.name, n, tt.stored)
		}
	}
}

// A server that does not answer (a closed port) is explained in plain
// words; "stop" ends the run with exit 1 and nothing is read further.
func TestGuidedServerUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	home, _ := sampleHome(t)
	port := strings.Split(addr, ":")[1]
	for _, stdin := range []string{typed("secret", "stop"), typed("secret", "", "secret")} { // stop, or retry until the input ends
		res := runGuided(t, testDeps(home, nil), nil, stdin, "--email", "me@example.test", "--server", addr)
		if res.code != exitFailure {
			t.Errorf("unreachable server: exit %d, want %d\n%s", res.code, exitFailure, res.stderr)
		}
		for _, want := range []string{"I could not reach 127.0.0.1 on port " + port, "connected to the internet", "Nothing was uploaded."} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("the dialogue lacks %q:\n%s", want, res.stderr)
			}
		}
	}
}

// The provider publishes nothing: the POP3 host is proposed on port 993;
// the user types the right server instead, then declines the plan: exit 0
// and nothing on the server.
func TestGuidedDeclinePlan(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	home, _ := sampleHome(t)
	res := runGuided(t, testDeps(home, nil), nil,
		typed("", "imaps://"+srv.User+"@"+srv.TLSAddr, srv.Password, "no"), "--tls-ca", srv.CAFile)
	if res.code != exitOK {
		t.Fatalf("declined plan: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{
		"server pop.example.net, port 993, encrypted (TLS), user name anna@example.net",
		"the server of your POP3 account in Thunderbird",
		"Here is the plan", "INBOX", "from anna@example.net/Inbox, Local Folders/Inbox",
		"Start the upload?",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the dialogue lacks %q:\n%s", want, res.stderr)
		}
	}
	if !strings.Contains(res.stdout, "Nothing was uploaded") {
		t.Errorf("stdout does not say that nothing was uploaded:\n%s", res.stdout)
	}
	if n := len(srv.FetchAll(t)); n != 0 {
		t.Errorf("Dovecot holds %d messages after a declined plan, want 0", n)
	}
	if mbs := srv.Mailboxes(t); len(mbs) > 1 {
		t.Errorf("a declined plan created folders: %v", mbs)
	}
}

// Thunderbird's lock: the run waits, checks again after Enter, and stops
// (exit 0) when the user says so.
func TestGuidedWaitsForThunderbird(t *testing.T) {
	home, profile := sampleHome(t)
	if err := os.Symlink("127.0.0.1:+4242", filepath.Join(profile, "lock")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if thunderbird.LockStatus(profile) == "" {
		t.Fatal("LockStatus does not see the lock symlink")
	}
	res := runGuided(t, testDeps(home, nil), nil, typed("", "stop"))
	if res.code != exitOK {
		t.Errorf("stop while Thunderbird runs: exit %d, want 0\n%s", res.code, res.stderr)
	}
	if n := strings.Count(res.stderr, "Thunderbird seems to be open"); n != 2 {
		t.Errorf("the warning appears %d times, want 2 (before and after Enter):\n%s", n, res.stderr)
	}
	if strings.Contains(res.stderr, "e-mail address") {
		t.Errorf("the run went on after stop:\n%s", res.stderr)
	}
	// "continue" goes on to the next question.
	res = runGuided(t, testDeps(home, nil), nil, typed("continue"))
	if res.code != exitUsage || !strings.Contains(res.stderr, "Your e-mail address") || !strings.Contains(res.stderr, "input ended") {
		t.Errorf("continue: exit %d, want %d after the address question\n%s", res.code, exitUsage, res.stderr)
	}
}

// Several profiles: they are listed with their counts and the user picks
// one by number; the address is proposed from the POP3 account.
func TestGuidedPicksProfile(t *testing.T) {
	home := t.TempDir()
	built := tbtest.BuildProfile(t, filepath.Join(home, ".thunderbird"), tbtest.Standard())
	copyTree(t, testutil.Testdata(t, "sample-profile"), filepath.Join(built.Root, "Profiles", "old.default"))
	res := runGuided(t, testDeps(home, nil), nil, typed("7", "1"))
	for _, want := range []string{"I found 2 places with mail", "1) Thunderbird profile default-release (default): 18 messages",
		"2) Thunderbird profile old.default: 8 messages", "Please type a number from 1 to 2.",
		"Your e-mail address (press Enter for alice@example.com)", "This profile has 2 POP3 accounts"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the dialogue lacks %q:\n%s", want, res.stderr)
		}
	}
	if res.code != exitUsage {
		t.Errorf("input ended at the address: exit %d, want %d", res.code, exitUsage)
	}
}

func TestGuidedNoMail(t *testing.T) {
	home := t.TempDir()
	res := runGuided(t, testDeps(home, nil), nil, typed(filepath.Join(home, "nothing"), ""))
	if res.code != exitUsage {
		t.Errorf("no mail: exit %d, want %d", res.code, exitUsage)
	}
	for _, want := range []string{"I found no mail in the usual places", "I could not read the mail there", "mailferry start --source FOLDER"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("the dialogue lacks %q:\n%s", want, res.stderr)
		}
	}
}

func TestGuidedUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad email", []string{"--email", "me", "--source", testutil.Testdata(t, "sample-profile")}, "not an e-mail address"},
		{"bad server", []string{"--email", "me@example.com", "--server", "imap example com", "--source", testutil.Testdata(t, "sample-profile")}, "is not a server name"},
		{"two sources", []string{"a", "b"}, "one SOURCE at most"},
		{"password flag", []string{"--password", "x"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		res := runGuided(t, testDeps(t.TempDir(), nil), nil, "", tt.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, res.code, res.stderr, exitUsage, tt.want)
		}
	}
	res := runCLI(t, nil, "help", "start")
	if res.code != exitOK || !strings.Contains(res.stdout, "mailferry start") || !strings.Contains(res.stdout, "--email") ||
		!strings.Contains(res.stdout, "Exit codes") {
		t.Errorf("help start: exit %d\n%s", res.code, res.stdout)
	}
	// Without a terminal, mailferry alone still prints the usage.
	if res := runCLI(t, nil); res.code != exitUsage || !strings.Contains(res.stderr, "mailferry start") {
		t.Errorf("mailferry without a terminal: exit %d, %q", res.code, res.stderr)
	}
}

func TestParseServer(t *testing.T) {
	tests := []struct {
		in   string
		want string // Target.String(), "" for an error
	}{
		{"imap.example.com", "imaps://me@example.com@imap.example.com:993"},
		{" imap.example.com ", "imaps://me@example.com@imap.example.com:993"},
		{"imap.example.com:993", "imaps://me@example.com@imap.example.com:993"},
		{"imap.example.com:143", "imap://me@example.com@imap.example.com:143"},
		{"imap.example.com:1993", "imaps://me@example.com@imap.example.com:1993"},
		{"imaps://imap.example.com", "imaps://me@example.com@imap.example.com:993"},
		{"imap://imap.example.com", "imap://me@example.com@imap.example.com:143"},
		{"imaps://other@imap.example.com:994", "imaps://other@imap.example.com:994"},
		{"[::1]:993", "imaps://me@example.com@[::1]:993"},
		{"imap.example.com:x", ""},
		{"imap.example.com:0", ""},
		{"imap example.com", ""},
		{"me@imap.example.com", ""},
		{"http://imap.example.com", ""},
		{"imaps://u:pw@imap.example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := parseServer(tt.in, "me@example.com")
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseServer(%q) = %s, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("parseServer(%q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestProposals(t *testing.T) {
	pop := func(name, user, host string) *thunderbird.Account {
		return &thunderbird.Account{Type: "pop3", Name: name, UserName: user, Hostname: host}
	}
	local := &thunderbird.Account{Type: "none", Name: "Local Folders", UserName: "nobody", Hostname: "Local Folders"}
	tests := []struct {
		name      string
		accts     []*thunderbird.Account
		email     string
		wantEmail string // proposed address
		wantHost  string // POP3 host for email
		wantSame  bool
	}{
		{"user name is the address", []*thunderbird.Account{local, pop("Anna", "anna@example.net", "pop.example.net")},
			"anna@example.net", "anna@example.net", "pop.example.net", true},
		{"account name is the address", []*thunderbird.Account{pop("alice@example.com", "alice", "pop.example.com")},
			"alice@example.com", "alice@example.com", "pop.example.com", true},
		{"other address typed", []*thunderbird.Account{pop("a@x.example", "a@x.example", "pop.x.example")},
			"b@y.example", "a@x.example", "pop.x.example", false},
		{"second account matches", []*thunderbird.Account{pop("a@x.example", "a@x.example", "pop.x.example"),
			pop("b@y.example", "b", "pop.y.example")}, "B@y.example", "a@x.example", "pop.y.example", true},
		{"no address anywhere", []*thunderbird.Account{pop("Work", "anna", "pop.example.net")}, "anna@example.net", "", "pop.example.net", false},
		{"no POP3 account", []*thunderbird.Account{local}, "anna@example.net", "", "", false},
	}
	for _, tt := range tests {
		if got := proposeEmail(tt.accts); got != tt.wantEmail {
			t.Errorf("%s: proposeEmail = %q, want %q", tt.name, got, tt.wantEmail)
		}
		a, same := popAccountFor(tt.accts, tt.email)
		host := ""
		if a != nil {
			host = a.Hostname
		}
		if host != tt.wantHost || same != tt.wantSame {
			t.Errorf("%s: popAccountFor(%q) = %q, %v; want %q, %v", tt.name, tt.email, host, same, tt.wantHost, tt.wantSame)
		}
	}
}

func TestWords(t *testing.T) {
	for n, want := range map[int]string{0: "0 messages", 1: "1 message", 999: "999 messages", 1000: "1,000 messages",
		12345: "12,345 messages", 1234567: "1,234,567 messages"} {
		if got := messages(n); got != want {
			t.Errorf("messages(%d) = %q, want %q", n, got, want)
		}
	}
	if got := plainCounts(map[string]int{"b": 1, "a": 1, "c": 2000}); got != "2,000 c, 1 a, 1 b" {
		t.Errorf("plainCounts = %q", got)
	}
	if got := expandHome("~/mail", "/home/u"); got != filepath.Join("/home/u", "mail") {
		t.Errorf("expandHome = %q", got)
	}
}

// upload.CheckLogin classifies what the guided run explains.
func TestCheckLoginErrors(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	host, p, _ := net.SplitHostPort(srv.TLSAddr)
	port, _ := strconv.Atoi(p)
	target := &upload.Target{User: srv.User, Host: host, Port: port, Security: upload.ImplicitTLS}
	ctx := context.Background()
	if err := upload.CheckLogin(ctx, upload.Options{Target: target, Password: srv.Password, CAFile: srv.CAFile}); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := upload.CheckLogin(ctx, upload.Options{Target: target, Password: "wrong", CAFile: srv.CAFile}); !errors.Is(err, upload.ErrAuth) {
		t.Errorf("wrong password: %v, want ErrAuth", err)
	}
	err := upload.CheckLogin(ctx, upload.Options{Target: target, Password: srv.Password})
	if !upload.IsCertificateError(err) {
		t.Errorf("untrusted certificate: %v, want a certificate error", err)
	}
	if upload.IsCertificateError(fmt.Errorf("%w: other", upload.ErrConfig)) {
		t.Errorf("IsCertificateError is true for another configuration error")
	}
}

// upload and verify take --email and --server instead of --to: the one
// command line a support desk can send for a non-guided run.
func TestUploadWithEmailFlags(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	src := testutil.Testdata(t, "sample-profile")
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	server := "imaps://" + srv.User + "@" + srv.TLSAddr
	res := runCLI(t, vars, "upload", src, "--email", "tester@example.test", "--server", server, "--tls-ca", srv.CAFile, "--quiet")
	if res.code != exitOK || !strings.Contains(res.stdout, "Server: "+server) {
		t.Fatalf("upload --email --server: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages, want 8", n)
	}
	res = runCLI(t, vars, "verify", src, "--email", "tester@example.test", "--server", server, "--tls-ca", srv.CAFile)
	if res.code != exitOK {
		t.Errorf("verify --email --server: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	for _, args := range [][]string{
		{"upload", src, "--server", "imap.example.com"},
		{"upload", src, "--email", "not-an-address"},
		{"verify", src, "--email", "me@example.com", "--server", "bad host"},
	} {
		if res := runCLI(t, vars, args...); res.code != exitUsage {
			t.Errorf("%q: exit %d, want %d; %s", args, res.code, exitUsage, res.stderr)
		}
	}
}

// cancelOnRead is a stdin that stands for a user pressing Ctrl-C at the
// first question: reading cancels the run's context and then blocks, as a
// terminal with nobody typing would.
type cancelOnRead struct {
	cancel  context.CancelFunc
	release chan struct{}
}

func (c *cancelOnRead) Read([]byte) (int, error) {
	c.cancel()
	<-c.release
	return 0, errors.New("released")
}

// Ctrl-C at a question ends the run at once with exit 130, although the
// read itself never returns.
func TestGuidedInterruptedAtQuestion(t *testing.T) {
	home, _ := sampleHome(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &cancelOnRead{cancel: cancel, release: make(chan struct{})}
	defer close(in.release)
	var out, errOut bytes.Buffer
	e := &env{ctx: ctx, stdin: in, stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
	code := e.guidedWith(nil, testDeps(home, nil))
	if code != exitInterrupted || !strings.Contains(errOut.String(), "Stopped. Your mail on this computer is unchanged") {
		t.Errorf("Ctrl-C at the address question: exit %d, want %d\n%s", code, exitInterrupted, errOut.String())
	}
}
