package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats/thunderbird/tbtest"
	"mailferry/internal/testutil"
	"mailferry/upload"
)

// result is what one in-process run of mailferry produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs mailferry in-process with the given environment variables
// (nothing from the real environment leaks in).
func runCLI(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] }}
	code := e.run(args)
	return result{code, out.String(), errOut.String()}
}

// scan --json over the standard test profile (tbtest.Standard): two accounts,
// Local Folders, nested and non-ASCII folders, hashed names, deleted
// messages, tags, a maildir-store account and an IMAP cache.
func TestScanJSONStandardProfile(t *testing.T) {
	built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())
	res := runCLI(t, nil, "scan", built.Root, "--json")
	if res.code != exitOK {
		t.Fatalf("scan exit %d, stderr:\n%s", res.code, res.stderr)
	}
	var got struct {
		Stores   []struct{ Kind string }
		Accounts []struct{ Name, Type, Hostname, User string }
		Folders  []struct {
			Path     string
			Special  string
			Target   string
			Messages int
			Skipped  map[string]int
			Read     int
			Flagged  int
		}
		Warnings []string
		Totals   struct {
			Folders    int
			Messages   int
			Incomplete int
			Skipped    map[string]int
		}
	}
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("scan --json printed invalid JSON: %v\n%s", err, res.stdout)
	}
	want := tbtest.StandardWant()
	if len(got.Folders) != len(want) {
		t.Fatalf("scan found %d folders, want %d:\n%s", len(got.Folders), len(want), res.stdout)
	}
	wantMessages, wantSkipped := 0, 0
	for i, w := range want {
		g := got.Folders[i]
		skipped := 0
		for _, n := range g.Skipped {
			skipped += n
		}
		if g.Path != w.Path || g.Special != w.Special || g.Messages != w.Messages || skipped != w.Skipped {
			t.Errorf("folder %d = {%q %q %d msgs %d skipped}, want {%q %q %d %d}", i, g.Path, g.Special, g.Messages, skipped,
				w.Path, w.Special, w.Messages, w.Skipped)
		}
		if w.Special == "inbox" && g.Target != "INBOX" {
			t.Errorf("%s: target %q, want INBOX", g.Path, g.Target)
		}
		wantMessages += w.Messages
		wantSkipped += w.Skipped
	}
	targets := map[string]string{}
	for _, f := range got.Folders {
		targets[f.Path] = f.Target
	}
	for path, target := range map[string]string{
		"Local Folders/Entwürfe/Ärger":       "Entwürfe/Ärger",
		"alice@example.com/Archives/2023/Q1": "Archives/2023/Q1",
		"Local Folders/Drafts":               "Drafts",
	} {
		if targets[path] != target {
			t.Errorf("target of %s = %q, want %q", path, targets[path], target)
		}
	}
	// A '/' inside a folder name must not create a phantom level.
	if tg := targets["Local Folders/Fragen/Antworten"]; strings.Count(tg, "/") != 0 || tg == "" {
		t.Errorf("target of the folder named \"Fragen/Antworten\" = %q, want one level", tg)
	}
	if got.Totals.Folders != len(want) || got.Totals.Messages != wantMessages {
		t.Errorf("totals = %+v, want %d folders and %d messages", got.Totals, len(want), wantMessages)
	}
	n := 0
	for _, c := range got.Totals.Skipped {
		n += c
	}
	if n != wantSkipped {
		t.Errorf("totals skipped = %d, want %d", n, wantSkipped)
	}
	if got.Totals.Incomplete != 1 {
		t.Errorf("totals incomplete = %d, want 1 (the partial POP3 download)", got.Totals.Incomplete)
	}
	if len(got.Stores) != 1 || got.Stores[0].Kind != "thunderbird" {
		t.Errorf("stores = %+v, want one thunderbird store", got.Stores)
	}
	accounts := map[string]string{}
	for _, a := range got.Accounts {
		accounts[a.Name] = a.Type + " " + a.Hostname + " " + a.User
	}
	for name, want := range map[string]string{
		"alice@example.com": "pop3 pop.example.com alice", "Local Folders": "none Local Folders nobody",
		"Maildir Account": "pop3 maildir.example.com bob", "News & Blogs": "rss Feeds ",
	} {
		if accounts[name] != want {
			t.Errorf("account %q = %q, want %q (all: %v)", name, accounts[name], want, accounts)
		}
	}
}

func TestScanTextShowsTotals(t *testing.T) {
	res := runCLI(t, nil, "scan", testutil.Testdata(t, "sample-profile"))
	if res.code != exitOK {
		t.Fatalf("scan exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"anna@example.net/Inbox → INBOX", "Local Folders/Archives/2013 → Archives/2013",
		"Total: 7 folders, 8 messages", "Skipped: 1 (deleted in the source"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("scan output lacks %q:\n%s", want, res.stdout)
		}
	}
}

// The README's main command: a rehearsal on the bundled sample profile.
func TestUploadRehearsalOnSample(t *testing.T) {
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, nil, "upload", testutil.Testdata(t, "sample-profile"), "--report", report, "--quiet")
	if res.code != exitOK {
		t.Fatalf("upload exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	for _, want := range []string{"Rehearsal", "= INBOX", "= Archives/Rechnungen & Verträge",
		"Messages found: 9 = uploaded 8 + already on the server 0 + skipped 1 + quarantined 0",
		"Verification: all 6 folders match"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("upload output lacks %q:\n%s", want, res.stdout)
		}
	}
	var rep struct {
		Rehearsal bool
		Totals    struct{ Found, Uploaded, Skipped int }
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Rehearsal || rep.Totals.Found != 9 || rep.Totals.Uploaded != 8 || rep.Totals.Skipped != 1 {
		t.Errorf("report = %+v, want a rehearsal with 9 found, 8 uploaded, 1 skipped", rep)
	}
}

func TestUsageErrors(t *testing.T) {
	src := testutil.Testdata(t, "sample-profile")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no arguments", nil, "Usage:"},
		{"unknown command", []string{"fly"}, "unknown command"},
		{"upload without source", []string{"upload"}, "exactly one SOURCE"},
		{"verify without --to", []string{"verify", src}, "needs --to"},
		{"bad scheme", []string{"upload", src, "--to", "http://me@example.com"}, "unknown scheme"},
		{"password in URL", []string{"upload", src, "--to", "imaps://me:pa55-w0rd-x@example.com"}, "contains a password"},
		{"no password available", []string{"upload", src, "--to", "imaps://me@127.0.0.1:1"}, "no password"},
		{"no password flag exists", []string{"upload", src, "--password", "x"}, "flag provided but not defined"},
		{"missing source", []string{"scan", filepath.Join(t.TempDir(), "nothing")}, "no such file"},
		{"bad pattern", []string{"upload", src, "--include", "[x"}, "bad folder pattern"},
		{"bad format", []string{"scan", src, "--format", "olm"}, "unknown store kind"},
		{"convert without --out", []string{"convert", src, "--format", "mbox"}, "required"},
	}
	for _, tt := range tests {
		res := runCLI(t, nil, tt.args...)
		if res.code != exitUsage {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tt.name, res.code, exitUsage, res.stderr)
		}
		if !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%s: stderr %q lacks %q", tt.name, res.stderr, tt.want)
		}
		if strings.Contains(res.stderr+res.stdout, "pa55-w0rd-x") {
			t.Errorf("%s: the password appears in the output", tt.name)
		}
	}
}

func TestHelpGoesToStdout(t *testing.T) {
	for _, cmd := range []string{"scan", "upload", "verify", "convert"} {
		res := runCLI(t, nil, "help", cmd)
		if res.code != exitOK || !strings.Contains(res.stdout, "mailferry "+cmd) || !strings.Contains(res.stdout, "Exit codes") {
			t.Errorf("help %s: exit %d, stdout %q", cmd, res.code, res.stdout)
		}
	}
	if res := runCLI(t, nil, "--version"); res.code != exitOK || !strings.HasPrefix(res.stdout, "mailferry ") {
		t.Errorf("--version: exit %d, %q", res.code, res.stdout)
	}
}

func TestConvertRefusesNonEmptyOut(t *testing.T) {
	out := t.TempDir()
	keep := filepath.Join(out, "precious.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, nil, "convert", testutil.Testdata(t, "sample-profile"), "--format", "eml", "--out", out)
	if res.code != exitUsage {
		t.Errorf("convert into a non-empty directory: exit %d, want %d; stderr %q", res.code, exitUsage, res.stderr)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Errorf("convert touched the user's file: %q, %v", b, err)
	}
}

func TestConvertSampleToEachFormat(t *testing.T) {
	for _, format := range []string{"mbox", "maildir", "eml"} {
		out := filepath.Join(t.TempDir(), "out")
		res := runCLI(t, nil, "convert", testutil.Testdata(t, "sample-profile"), "--format", format, "--out", out, "--quiet")
		if res.code != exitOK {
			t.Errorf("convert --format %s: exit %d\n%s\n%s", format, res.code, res.stdout, res.stderr)
			continue
		}
		if !strings.Contains(res.stdout, "messages found 9 = written 8 + skipped 1 + not converted 0 + failed 0") {
			t.Errorf("convert --format %s summary:\n%s", format, res.stdout)
		}
		// The output is a source again: scan must find the 8 messages.
		scan := runCLI(t, nil, "scan", out, "--json")
		var s struct{ Totals struct{ Messages int } }
		if err := json.Unmarshal([]byte(scan.stdout), &s); err != nil || s.Totals.Messages != 8 {
			t.Errorf("scan of the %s output: %v, %d messages, want 8\n%s", format, err, s.Totals.Messages, scan.stderr)
		}
	}
}

// scan --json over the hand-made fixture of each layout: every
// folder with its message and skip counts, the special folders' targets,
// and the totals.
func TestScanJSONLayouts(t *testing.T) {
	type folder struct {
		messages, skipped int
		target            string
	}
	tests := []struct {
		name    string
		path    string
		kind    string
		folders map[string]folder
	}{
		{"maildir++ with keywords", "maildir/plusplus", "maildir", map[string]folder{
			"INBOX": {4, 3, "INBOX"}, "Archive/2019": {2, 0, "Archive/2019"}, "Empty": {0, 0, "Empty"},
			"Entwürfe": {1, 0, "Entwürfe"}, "Sent": {2, 0, "Sent"},
		}},
		{"eml tree", "eml/tree", "eml", map[string]folder{
			"tree": {1, 0, "tree"}, "Archive": {0, 0, "Archives"}, "Archive/2019": {1, 0, "Archives/2019"},
			// Inbox's outlook.msg, dragged out of Outlook, is read with its .eml files.
			"Empty": {0, 0, "Empty"}, "Inbox": {9, 4, "INBOX"}, "Sent Items": {1, 0, "Sent"},
		}},
		{"apple mail V10 tree", "emlx/V10tree/Mail", "applemail", map[string]folder{
			"0A1B2C3D-1111-2222-3333-444455556666/Deleted Messages": {0, 0, "Trash"},
			"0A1B2C3D-1111-2222-3333-444455556666/INBOX":            {3, 1, "INBOX"},
			"0A1B2C3D-1111-2222-3333-444455556666/Sent Messages":    {1, 0, "Sent"},
			"On My Mac/Archive":           {1, 0, "Archives"},
			"On My Mac/Work":              {1, 0, "Work"},
			"On My Mac/Work/Projects":     {1, 0, "Work/Projects"},
			"On My Mac/Work/Projects/Old": {1, 0, "Work/Projects/Old"},
			"bob@example.com/INBOX":       {1, 0, "INBOX"},
		}},
		{"apple mail export bundle", "emlx/export", "applemail", map[string]folder{
			"Family": {2, 0, "Family"}, "Family/Kids": {1, 0, "Family/Kids"},
		}},
	}
	for _, tt := range tests {
		res := runCLI(t, nil, "scan", testutil.Testdata(t, tt.path), "--json")
		if res.code != exitOK {
			t.Errorf("%s: scan exit %d, want %d: %s", tt.name, res.code, exitOK, res.stderr)
			continue
		}
		var got struct {
			Stores  []struct{ Kind string }
			Folders []struct {
				Path     string
				Target   string
				Messages int
				Skipped  map[string]int
			}
			Totals struct{ Folders, Messages int }
		}
		if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		stores := slices.DeleteFunc(slices.Clone(got.Stores), func(s struct{ Kind string }) bool { return s.Kind == "other" })
		if len(stores) != 1 || stores[0].Kind != tt.kind {
			t.Errorf("%s: stores %+v, want one %s (and the stores of other programs)", tt.name, got.Stores, tt.kind)
		}
		wantMessages := 0
		for _, f := range tt.folders {
			wantMessages += f.messages
		}
		if got.Totals.Folders != len(tt.folders) || got.Totals.Messages != wantMessages || len(got.Folders) != len(tt.folders) {
			t.Errorf("%s: totals %+v (%d folders listed), want %d folders and %d messages", tt.name, got.Totals,
				len(got.Folders), len(tt.folders), wantMessages)
		}
		for _, g := range got.Folders {
			w, ok := tt.folders[g.Path]
			skipped := 0
			for _, n := range g.Skipped {
				skipped += n
			}
			if !ok || g.Messages != w.messages || skipped != w.skipped || g.Target != w.target {
				t.Errorf("%s: folder %q = %d messages, %d skipped → %q; want %+v (known: %v)", tt.name, g.Path,
					g.Messages, skipped, g.Target, w, ok)
			}
		}
	}
}

// --retry-timeout and --io-timeout reach upload.Options; zero or negative
// values are usage errors (exit 2) before anything is read or dialled.
func TestTimeoutFlags(t *testing.T) {
	fs := newFlagSet("upload", "", io.Discard)
	var sf serverFlags
	sf.register(fs)
	if err := fs.Parse([]string{"--retry-timeout", "45s", "--io-timeout", "3m", "--prefix", "Old"}); err != nil {
		t.Fatal(err)
	}
	var opts upload.Options
	if err := sf.apply(&opts); err != nil {
		t.Fatal(err)
	}
	if opts.RetryTimeout != 45*time.Second || opts.IOTimeout != 3*time.Minute || opts.Plan.Prefix != "Old" {
		t.Errorf("options: retry %v, io %v, prefix %q; want 45s, 3m0s, Old", opts.RetryTimeout, opts.IOTimeout, opts.Plan.Prefix)
	}

	var defaults serverFlags
	defaults.register(newFlagSet("upload", "", io.Discard))
	opts = upload.Options{}
	if err := defaults.apply(&opts); err != nil || opts.RetryTimeout != 2*time.Minute || opts.IOTimeout != time.Minute {
		t.Errorf("defaults: %v, retry %v, io %v; want 2m0s and 1m0s", err, opts.RetryTimeout, opts.IOTimeout)
	}

	src := filepath.Join(testutil.ProjectRoot(t), "testdata", "sample-profile")
	for _, bad := range [][]string{{"--io-timeout", "0s"}, {"--retry-timeout", "-1s"}} {
		r := runCLI(t, nil, append([]string{"upload", src, "--to", "imaps://me@127.0.0.1:1"}, bad...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "must be positive") {
			t.Errorf("%v: exit %d, stderr %q; want %d and a usage message", bad, r.code, r.stderr, exitUsage)
		}
	}
}

// TestLimitMemory: the CLI keeps the heap under memoryLimit unless the
// user set GOMEMLIMIT.
func TestLimitMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(before)
	if got := limitMemory(func(string) string { return "" }); got != memoryLimit || debug.SetMemoryLimit(-1) != memoryLimit {
		t.Errorf("limit = %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), memoryLimit)
	}
	debug.SetMemoryLimit(1 << 40)
	if got := limitMemory(func(k string) string { return map[string]string{"GOMEMLIMIT": "1TiB"}[k] }); got != 1<<40 {
		t.Errorf("with GOMEMLIMIT set: limit = %d, want the user's %d", got, int64(1<<40))
	}
}
