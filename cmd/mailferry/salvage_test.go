package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/internal/dovecottest"
	"mailferry/upload"
)

// Mbox files with text before their first separator, in a hidden mail
// directory, in a Thunderbird profile and in a plain folder: scan, upload
// and convert read them from the first separator on, the text is counted
// as quarantined and kept (the upload's quarantine folder, convert's
// not-converted/), the accounting lines add up, and upload and convert
// exit 3 (finished, not everything could be taken).
func TestMboxLeadingTextSalvagedEverywhere(t *testing.T) {
	const notes = "Notes typed above the mail\nbefore the first message\n\n"
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		".thunderbird/profiles.ini":                              "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n",
		".thunderbird/abcd.default/prefs.js":                     `user_pref("mail.server.server1.type", "none");` + "\n",
		".thunderbird/abcd.default/Mail/Local Folders/Damaged":   notes + tbFolder(fileMsgA),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox":     tbFolder(fileMsgB),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf": "",
		".mail/saved":            notes + "From anna@example.org Mon Jun  7 10:00:00 2010\n" + fileMsgA,
		"Backup/mbox/notes.mbox": notes + "From ben@example.org Tue Jun  8 10:00:00 2010\n" + fileMsgB,
	})

	scan := runCLI(t, nil, "scan", root)
	if scan.code != exitOK {
		t.Fatalf("scan: exit %d\n%s%s", scan.code, scan.stdout, scan.stderr)
	}
	checkFilesLine(t, "scan", scan.stdout)
	wantOutput(t, "scan output", scan.stdout,
		"Quarantined (kept, never uploaded): 3 (text before the first From_ line",
		"= read as mail 4 + no mail 3 + not read 0",
	)

	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	up := runCLI(t, nil, "upload", root, "--report", report, "--quiet")
	if up.code != exitIncomplete {
		t.Fatalf("upload (rehearsal): exit %d, want %d\n%s\n%s", up.code, exitIncomplete, up.stdout, up.stderr)
	}
	checkFilesLine(t, "upload", up.stdout)
	wantOutput(t, "upload output", up.stdout, "Messages found: 7 = uploaded 4 + already on the server 0 + skipped 0 + quarantined 3")
	rep := uploadReport(t, report)
	if rep.Files == nil || rep.Files.Check() != nil || rep.Files.MailNotRead() != 0 {
		t.Errorf("report files = %+v, want a ledger that adds up with nothing left unread", rep.Files)
	}
	notMessage := 0
	for _, f := range rep.Folders {
		for _, q := range f.Quarantined {
			if q.Code == upload.ProblemNotMessage {
				notMessage++
			}
		}
	}
	if notMessage != 3 {
		t.Errorf("report lists %d texts that are not messages, want 3", notMessage)
	}

	out := filepath.Join(t.TempDir(), "out")
	conv := runCLI(t, nil, "convert", root, "--format", "mbox", "--out", out, "--quiet")
	if conv.code != exitIncomplete {
		t.Fatalf("convert: exit %d, want %d\n%s\n%s", conv.code, exitIncomplete, conv.stdout, conv.stderr)
	}
	checkFilesLine(t, "convert", conv.stdout)
	wantOutput(t, "convert output", conv.stdout,
		"messages found 7 = written 4 + skipped 0 + not converted 3 + failed 0",
		"= read as mail 4 + no mail 3 + not read 0",
	)
	ents, err := os.ReadDir(filepath.Join(out, "not-converted"))
	if err != nil || len(ents) != 3 {
		t.Errorf("not-converted/ holds %d files (%v), want 3", len(ents), err)
	}
}

// Uploaded for real, the text before an mbox's first message goes to the
// quarantine folder byte for byte, and the messages after it arrive.
func TestMboxLeadingTextKeptInQuarantine(t *testing.T) {
	const notes = "Notes typed above the mail\nbefore the first message\n\n"
	srv := dovecottest.Start(t, dovecottest.Config{})
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		".mail/saved":            notes + "From anna@example.org Mon Jun  7 10:00:00 2010\n" + fileMsgA,
		"Backup/mbox/notes.mbox": notes + "From ben@example.org Tue Jun  8 10:00:00 2010\n" + fileMsgB,
	})
	quarantine := filepath.Join(t.TempDir(), "quarantine")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "upload", root, "--to", to, "--tls-ca", srv.CAFile,
		"--quarantine", quarantine, "--quiet")
	if res.code != exitIncomplete {
		t.Fatalf("upload: exit %d, want %d\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	checkFilesLine(t, "upload", res.stdout)
	wantOutput(t, "upload output", res.stdout,
		"Messages found: 4 = uploaded 2 + already on the server 0 + skipped 0 + quarantined 2",
		"= read as mail 2 + no mail 0 + not read 0",
	)
	var kept []string
	filepath.WalkDir(quarantine, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			kept = append(kept, p)
		}
		return nil
	})
	if len(kept) != 2 {
		t.Fatalf("quarantine holds %q, want the 2 texts", kept)
	}
	for _, p := range kept {
		if b, err := os.ReadFile(p); err != nil || string(b) != notes {
			t.Errorf("%s holds %q (%v), want %q", p, b, err, notes)
		}
	}
	if n := len(srv.FetchAll(t)); n != 2 {
		t.Errorf("Dovecot holds %d messages, want 2", n)
	}
}

// The guided run accounts for every file under its source as the upload
// command does: the accounting line that adds up, the files not read with
// what to do, and exit 3 when some of them hold or may hold mail.
func TestGuidedShowsFilesNotRead(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{})
	home, _ := homeCopy(t)
	report := filepath.Join(t.TempDir(), "report.json")
	res := runGuided(t, testDeps(home, nil), map[string]string{"MAILFERRY_PASSWORD": srv.Password}, "",
		"--source", home, "--email", "someone@example.test", "--server", "imaps://"+srv.User+"@"+srv.TLSAddr, "--yes",
		"--tls-ca", srv.CAFile, "--report", report)
	if res.code != exitIncomplete {
		t.Fatalf("guided run: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	checkFilesLine(t, "guided run", res.stdout)
	wantOutput(t, "the result", res.stdout,
		"Messages found: 5 = uploaded 5 + already on the server 0 + skipped 0 + quarantined 0",
		fmt.Sprintf("Files under %s: 11 (", home),
		"= read as mail 4 + no mail 4 + not read 3",
		"Not read (3):",
		"! Documents/saved.txt (",
		"what to do:",
		"3 file(s) on this computer that hold or may hold mail were not read",
	)
	if strings.Contains(res.stdout, "Done: all") {
		t.Errorf("the result says done although files were not read:\n%s", res.stdout)
	}
	rep := uploadReport(t, report)
	if rep.Files == nil || rep.Files.Check() != nil || rep.Files.MailNotRead() != 3 {
		t.Errorf("report files = %+v, want the ledger with 3 files not read", rep.Files)
	}
	if n := len(srv.FetchAll(t)); n != 5 {
		t.Errorf("Dovecot holds %d messages, want 5", n)
	}
}

// The tree the issue ends with: stores of several programs (Thunderbird in
// a hidden directory, Apple Mail, MH folders, exported .eml files), an
// mbox with text before its first message, a damaged Outlook file and a
// saved message no store holds. Every readable message arrives once, the
// files that could not be read are named, the lines add up and the exit
// code says not everything could be taken.
func TestMixedTreeEveryFileAccounted(t *testing.T) {
	const notes = "Notes typed above the mail\n\n"
	msg := func(n int) string {
		return fmt.Sprintf("From: anna@example.org\nTo: ben@example.org\nSubject: mixed %d\nDate: Mon, 7 Jun 2010 10:00:00 +0000\nMessage-ID: <mixed%d@example.org>\n\nbody %d\n", n, n, n)
	}
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		".thunderbird/profiles.ini":                              "[Profile0]\nName=default\nIsRelative=1\nPath=abcd.default\nDefault=1\n",
		".thunderbird/abcd.default/prefs.js":                     `user_pref("mail.server.server1.type", "none");` + "\n",
		".thunderbird/abcd.default/Mail/Local Folders/Inbox":     tbFolder(msg(1), msg(2)),
		".thunderbird/abcd.default/Mail/Local Folders/Inbox.msf": "",
		".mail/saved": notes + "From anna@example.org Mon Jun  7 10:00:00 2010\n" + msg(3),
		"Library/Mail/V10/Mailboxes/Archive.mbox/Messages/1.emlx": emlxOf(msg(4)),
		"Mail/inbox/1":             msg(5),
		"Mail/inbox/2":             msg(6),
		"Mail/inbox/.mh_sequences": "unseen: 2\nflagged: 1\n",
		"Mail/work/1":              msg(7),
		"Documents/Exported/a.eml": msg(8),
		"Documents/old.pst":        "!BDN0000",
		"Documents/saved.txt":      msg(9),
	})
	scan := runCLI(t, nil, "scan", root, "--json")
	var s struct {
		Folders []struct {
			Path                    string
			Messages, Read, Flagged int
		}
		Files ledgerJSON
	}
	if err := json.Unmarshal([]byte(scan.stdout), &s); err != nil {
		t.Fatalf("scan --json: %v\n%s", err, scan.stderr)
	}
	var mh []string
	for _, f := range s.Folders {
		if strings.HasPrefix(f.Path, "Mail/") {
			mh = append(mh, fmt.Sprintf("%s %d/%d/%d", f.Path, f.Messages, f.Read, f.Flagged))
		}
	}
	if want := []string{"Mail/inbox 2/1/1", "Mail/work 1/1/0"}; !slices.Equal(mh, want) {
		t.Errorf("MH folders (messages/read/flagged) = %q, want %q", mh, want)
	}
	if want := []string{"Documents/old.pst|store|true", "Documents/saved.txt|mail|true"}; !slices.Equal(s.Files.notRead(), want) || !s.Files.adds() {
		t.Errorf("not read = %q (adds up %v), want %q", s.Files.notRead(), s.Files.adds(), want)
	}

	up := runCLI(t, nil, "upload", root, "--quiet")
	if up.code != exitIncomplete {
		t.Fatalf("upload (rehearsal): exit %d, want %d\n%s\n%s", up.code, exitIncomplete, up.stdout, up.stderr)
	}
	n := checkFilesLine(t, "upload", up.stdout)
	if n[3] != 2 {
		t.Errorf("upload: %d files not read, want 2:\n%s", n[3], up.stdout)
	}
	wantOutput(t, "upload output", up.stdout, "Messages found: 9 = uploaded 8 + already on the server 0 + skipped 0 + quarantined 1")
	conv := runCLI(t, nil, "convert", root, "--format", "eml", "--out", filepath.Join(t.TempDir(), "out"), "--quiet")
	if conv.code != exitIncomplete {
		t.Fatalf("convert: exit %d, want %d\n%s\n%s", conv.code, exitIncomplete, conv.stdout, conv.stderr)
	}
	checkFilesLine(t, "convert", conv.stdout)
	wantOutput(t, "convert output", conv.stdout, "messages found 9 = written 8 + skipped 0 + not converted 1 + failed 0")
}
