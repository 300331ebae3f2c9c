package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/convert"
	"mailferry/formats/eml"
	"mailferry/formats/formatstest"
	"mailferry/formats/msg"
	"mailferry/formats/pst"
	"mailferry/internal/dovecottest"
	"mailferry/internal/psttest"
	"mailferry/internal/testutil"
	"mailferry/upload"
)

// The Enron .pst of the corpus holds 71 messages: the count pst-extractor's
// own test asserts for it (and formats/pst's comparisons with readpst and
// pffexport confirm).
const enronMessages = 71

// outlookSources are the Outlook sources of these tests, with the reader
// that says what each holds.
type outlookSource struct {
	name string
	path string
	open func(t *testing.T) formats.Reader
}

func pstSource(t *testing.T, file string) outlookSource {
	p := testutil.Corpus(t, "pst/"+file)
	return outlookSource{file, p, func(t *testing.T) formats.Reader {
		r, err := pst.Open(p, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}}
}

// writtenSource is a small mailbox written as an Outlook file by psttest:
// received mail (read, answered, flagged, with categories, its transport
// headers and an attachment), sent mail without headers, a draft, and a
// calendar.
func writtenSource(t *testing.T, opts psttest.Options) outlookSource {
	s, i32 := psttest.String, psttest.Int32
	at := time.Date(2022, 5, 6, 7, 8, 9, 0, time.UTC)
	received := &psttest.Message{
		Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Minutes"), i32(0x0E07, 1), psttest.Time(0x0E06, at),
			s(0x007D, "From: Ann <ann@example.org>\r\nTo: bob@example.com\r\nSubject: Minutes\r\nDate: Fri, 6 May 2022 07:08:00 +0000\r\nMessage-ID: <minutes@example.org>\r\n\r\n"),
			s(0x1000, "The minutes are attached."), i32(0x1081, 102), i32(0x1090, 2), psttest.Keywords("Board", "Follow up")},
		Attachments: []*psttest.Attachment{{Props: []psttest.Prop{i32(0x3705, 1), s(0x3707, "minutes.txt"), s(0x370E, "text/plain"), psttest.Binary(0x3701, []byte("1. Budget\r\n"))}}},
	}
	sent := &psttest.Message{
		Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Re: Minutes"), i32(0x0E07, 1), psttest.Time(0x0039, at.Add(time.Hour)), psttest.Time(0x0E06, at.Add(time.Hour)),
			s(0x0C1A, "Bob"), s(0x0C1F, "bob@example.com"), s(0x0C1E, "SMTP"), s(0x1035, "<re-minutes@example.com>"), s(0x1000, "Thanks.")},
		Recipients: [][]psttest.Prop{{i32(0x0C15, 1), s(0x3001, "Ann"), s(0x3002, "SMTP"), s(0x3003, "ann@example.org")}},
	}
	draft := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Unsent"), i32(0x0E07, 1|8), s(0x1000, "draft")}}
	meeting := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Appointment"), s(0x0037, "Board meeting")}}
	name := fmt.Sprintf("written-%d-%d.pst", opts.Format, opts.Crypt)
	p := filepath.Join(t.TempDir(), name)
	err := psttest.Write(p, opts, []*psttest.Folder{
		{Name: "Inbox", Class: "IPF.Note", Role: psttest.RoleInbox, Messages: []*psttest.Message{received}},
		{Name: "Sent Items", Class: "IPF.Note", Role: psttest.RoleSent, Messages: []*psttest.Message{sent}},
		{Name: "Drafts", Class: "IPF.Note", Role: psttest.RoleDrafts, Messages: []*psttest.Message{draft}},
		{Name: "Calendar", Class: "IPF.Appointment", Messages: []*psttest.Message{meeting}},
	})
	if err != nil {
		t.Fatal(err)
	}
	src := pstSource(t, "go-pst-32-bit.pst") // for its open function's shape
	src.name, src.path = name, p
	src.open = func(t *testing.T) formats.Reader {
		r, err := pst.Open(p, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return src
}

// copyInto copies files into dir (made as needed), keyed by the path
// below dir: messages dragged out of Outlook, gathered at test time.
func copyInto(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, src := range files {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// msgSource is a folder tree of .msg files: the corpus's two, and the
// testdata's message and contact.
func msgSource(t *testing.T) outlookSource {
	dir := filepath.Join(t.TempDir(), "Saved from Outlook")
	copyInto(t, dir, map[string]string{
		"Inbox/strange-date.msg": testutil.Corpus(t, "msg/msg-extractor-strangeDate.msg"),
		"Inbox/unicode.msg":      testutil.Corpus(t, "msg/msg-extractor-unicode.msg"),
		"Projects/flagged.msg":   testutil.Testdata(t, "eml/tree/Inbox/outlook.msg"),
		"Projects/contact.msg":   testutil.Testdata(t, "msg/contact.msg"),
	})
	return outlookSource{".msg files", dir, func(t *testing.T) formats.Reader {
		r, err := msg.Open(dir, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}}
}

// mixedSource is one folder of .eml files and .msg files.
func mixedSource(t *testing.T) outlookSource {
	dir := filepath.Join(t.TempDir(), "Projects")
	copyInto(t, dir, map[string]string{
		"a.eml":       testutil.Testdata(t, "eml/tree/Inbox/a.EML"),
		"s.eml":       testutil.Testdata(t, "eml/tree/Sent Items/s.eml"),
		"unicode.msg": testutil.Corpus(t, "msg/msg-extractor-unicode.msg"),
		"flagged.msg": testutil.Testdata(t, "eml/tree/Inbox/outlook.msg"),
	})
	return outlookSource{".eml and .msg in one folder", dir, func(t *testing.T) formats.Reader {
		r, err := eml.Open(dir, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}}
}

// scanJSON is what these tests read of scan --json.
type scanJSON struct {
	Stores  []struct{ Kind, Path string }
	Folders []struct {
		Path     string
		Store    string
		Target   string
		Messages int
		Skipped  map[string]int
	}
	Totals struct {
		Messages int
		Skipped  map[string]int
	}
	Files formats.FileLedger
}

// scan of Outlook files: the folders and counts the reader yields
// (messages and skipped items, by folder and reason), the folders that
// are not mail without a server folder, the file read.
func TestScanOutlook(t *testing.T) {
	for _, src := range []outlookSource{pstSource(t, "pst-extractor-enron.pst"), pstSource(t, "java-libpst-dist-list.pst"), msgSource(t)} {
		t.Run(src.name, func(t *testing.T) {
			res := runCLI(t, nil, "scan", src.path, "--json")
			if res.code != exitOK {
				t.Fatalf("scan: exit %d\n%s", res.code, res.stderr)
			}
			var got scanJSON
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
				t.Fatalf("scan --json: %v\n%s", err, res.stdout)
			}
			wantKind := map[bool]string{true: "msg", false: "outlook"}[src.name == ".msg files"]
			// scan names a store by its real path: the corpus may be
			// reached through a link.
			wantPath, err := filepath.EvalSymlinks(src.path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Stores) != 1 || got.Stores[0].Kind != wantKind || got.Stores[0].Path != wantPath {
				t.Errorf("stores %+v, want one %s store at %s", got.Stores, wantKind, wantPath)
			}

			r := src.open(t)
			boxes, msgs := formatstest.Collect(t, r)
			r.Close()
			type counts struct {
				messages int
				skipped  string
			}
			want := map[string]counts{}
			for _, b := range boxes {
				want[b.DisplayPath()] = counts{}
			}
			wantTotal, wantSkipped := 0, map[string]int{}
			for _, m := range msgs {
				c := want[m.Mailbox.DisplayPath()]
				if m.Skip == "" {
					c.messages++
					wantTotal++
				} else {
					c.skipped += m.Skip + ";"
					wantSkipped[m.Skip]++
				}
				want[m.Mailbox.DisplayPath()] = c
			}
			if len(got.Folders) != len(want) {
				t.Errorf("%d folders, want %d", len(got.Folders), len(want))
			}
			notMail := 0
			for _, f := range got.Folders {
				var skipped []string
				for reason, n := range f.Skipped {
					for range n {
						skipped = append(skipped, reason)
					}
				}
				w, ok := want[f.Path]
				wantList := strings.Split(strings.TrimSuffix(w.skipped, ";"), ";")
				if w.skipped == "" {
					wantList = nil
				}
				slices.Sort(skipped)
				slices.Sort(wantList)
				if !ok || f.Messages != w.messages || !slices.Equal(skipped, wantList) {
					t.Errorf("folder %q: %d messages, skipped %q; want %d, %q (known: %v)", f.Path, f.Messages, skipped, w.messages, wantList, ok)
				}
				for _, b := range boxes {
					if b.DisplayPath() == f.Path && b.Skip != "" {
						notMail++
						if f.Target != "" {
							t.Errorf("folder %q is not mail (%s) but has the server folder %q", f.Path, b.Skip, f.Target)
						}
					}
				}
			}
			if got.Totals.Messages != wantTotal || fmt.Sprint(got.Totals.Skipped) != fmt.Sprint(wantSkipped) {
				t.Errorf("totals: %d messages, skipped %v; want %d, %v", got.Totals.Messages, got.Totals.Skipped, wantTotal, wantSkipped)
			}
			switch src.name {
			case "pst-extractor-enron.pst":
				if wantTotal != enronMessages || len(wantSkipped) != 0 {
					t.Errorf("the Enron file: %d messages (%v skipped), want %d", wantTotal, wantSkipped, enronMessages)
				}
			case "java-libpst-dist-list.pst":
				// A calendar entry, two contacts and Outlook's free/busy
				// record, in folders that are not mail.
				if wantTotal != 0 || wantSkipped[pst.SkipSystemFolder] != 1 || wantSkipped["not mail: contacts"] != 2 || notMail < 3 {
					t.Errorf("the distribution-list file: %d messages, skipped %v, %d folders not mail", wantTotal, wantSkipped, notMail)
				}
			case ".msg files":
				if wantTotal != 3 || wantSkipped[formats.SkipNotMail] != 1 {
					t.Errorf("the .msg files: %d messages, skipped %v; want 3 and the contact", wantTotal, wantSkipped)
				}
			}
			if err := got.Files.Check(); err != nil || got.Files.Files != got.Files.Read.Files || len(got.Files.NotRead) != 0 {
				t.Errorf("files: %+v (%v), want every file read", got.Files, err)
			}
		})
	}
}

// upload of Outlook sources to a real Dovecot: exit 0, every message the
// reader yields once on the server in its folder, with its bytes, flags
// and internal date; folders that are not mail are not created; a second
// upload uploads nothing; verify matches.
func TestUploadOutlookToDovecot(t *testing.T) {
	// Every Outlook file of the corpus: the Enron .pst, the Outlook 2013
	// .ost (4 KiB pages), the sent items and drafts of the go-pst sample,
	// the password-protected .pst, the one with only contacts and the ANSI
	// one with only a calendar; then .msg files alone and beside .eml
	// files.
	sources := []outlookSource{
		pstSource(t, "pst-extractor-enron.pst"), pstSource(t, "pst-extractor-test-2013.ost"), pstSource(t, "go-pst-support.pst"),
		pstSource(t, "java-libpst-passworded.pst"), pstSource(t, "java-libpst-dist-list.pst"), pstSource(t, "go-pst-32-bit.pst"),
		msgSource(t), mixedSource(t),
		// What the corpus lacks: mail in an ANSI file, the cyclic
		// encoding, an encoded .ost with compressed blocks.
		writtenSource(t, psttest.Options{Format: psttest.ANSI, Crypt: psttest.CryptCyclic, Password: "secret"}),
		writtenSource(t, psttest.Options{Format: psttest.Unicode4K, Crypt: psttest.CryptPermute}),
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			srv := dovecottest.Start(t, dovecottest.Config{})
			vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
			to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
			res := runCLI(t, vars, "upload", src.path, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
			if res.code != exitOK || !strings.Contains(res.stdout, "Verification: all") {
				t.Fatalf("upload: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			want := expectedOnServer(t, src.open(t), '/', srv)
			checkServerHolds(t, srv, want)
			n := 0
			for _, msgs := range want {
				n += len(msgs)
			}
			if src.name == "pst-extractor-enron.pst" && n != enronMessages {
				t.Errorf("%d messages expected on the server, want %d", n, enronMessages)
			}
			if strings.HasPrefix(src.name, "written-") {
				// What the source says, on the server: the received message in
				// INBOX with its state, its categories as keywords (the space
				// made "_"), its delivery time; the draft in Drafts.
				got := map[string]string{}
				for _, m := range srv.FetchAll(t) {
					flags := slices.Clone(m.Flags)
					slices.Sort(flags)
					got[m.Mailbox+" "+oneSubject(m.Text)] = fmt.Sprint(flags, " ", m.Received.UTC().Format(time.RFC3339))
				}
				for k, w := range map[string]string{
					"INBOX Minutes":    `[Board Follow_up \Answered \Flagged \Seen] 2022-05-06T07:08:09Z`,
					"Drafts Unsent":    `[\Draft \Seen] `,
					"Sent Re: Minutes": `[\Seen] 2022-05-06T08:08:09Z`,
				} {
					g, ok := got[k]
					if k == "Drafts Unsent" && ok {
						g = g[:strings.LastIndex(g, " ")+1] // no date in the source: the server's
					}
					if g != w {
						t.Errorf("%s on the server: %q, want %q (all: %q)", k, g, w, got)
					}
				}
			}
			if src.name == ".eml and .msg in one folder" && (len(want) != 1 || n != 4) {
				t.Errorf("server folders %v, want one folder with 4 messages", want)
			}
			have := srv.Mailboxes(t)
			r := src.open(t)
			boxes, _ := formatstest.Collect(t, r)
			r.Close()
			for _, b := range boxes {
				if b.Skip != "" && slices.Contains(have, b.Path.String()) {
					t.Errorf("folder %q is not mail (%s) but was created on the server", b.Path, b.Skip)
				}
			}

			res = runCLI(t, vars, "upload", src.path, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
			if again := fmt.Sprintf("uploaded 0 + already on the server %d + ", n); res.code != exitOK || !strings.Contains(res.stdout, again) {
				t.Errorf("second upload: exit %d, want 0 and %q\n%s\n%s", res.code, again, res.stdout, res.stderr)
			}
			if got := len(srv.FetchAll(t)); got != n {
				t.Errorf("Dovecot holds %d messages after the second upload, want still %d", got, n)
			}
			res = runCLI(t, vars, "verify", src.path, "--to", to, "--tls-ca", srv.CAFile)
			if res.code != exitOK {
				t.Errorf("verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
		})
	}
}

// convert of a .pst to each format: the report adds up (found = written +
// skipped + quarantined + failed, for the totals and every folder; every
// file under the source accounted for), the counts are the reader's, and
// the output, scanned as a source again, holds every message written.
func TestConvertOutlook(t *testing.T) {
	for _, src := range []outlookSource{pstSource(t, "pst-extractor-enron.pst"), pstSource(t, "pst-extractor-test-2013.ost"), pstSource(t, "java-libpst-dist-list.pst")} {
		r := src.open(t)
		_, msgs := formatstest.Collect(t, r)
		r.Close()
		written, skipped := 0, 0
		for _, m := range msgs {
			if m.Skip != "" {
				skipped++
			} else {
				written++
			}
		}
		for _, format := range []string{"mbox", "maildir", "eml"} {
			t.Run(src.name+" to "+format, func(t *testing.T) {
				dir := t.TempDir()
				out, report := filepath.Join(dir, "out"), filepath.Join(dir, "report.json")
				res := runCLI(t, nil, "convert", src.path, "--format", format, "--out", out, "--report", report, "--quiet")
				if res.code != exitOK {
					t.Fatalf("convert: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
				}
				summary := fmt.Sprintf("messages found %d = written %d + skipped %d + not converted 0 + failed 0", len(msgs), written, skipped)
				if !strings.Contains(res.stdout, summary) {
					t.Errorf("convert summary lacks %q:\n%s", summary, res.stdout)
				}
				b, err := os.ReadFile(report)
				if err != nil {
					t.Fatal(err)
				}
				var rep convert.Report
				if err := json.Unmarshal(b, &rep); err != nil {
					t.Fatal(err)
				}
				tt := rep.Totals
				if tt.Found != tt.Written+tt.Skipped+tt.Quarantined+tt.Failed || tt.Found != len(msgs) || tt.Written != written {
					t.Errorf("report totals %+v do not add up to the reader's %d messages (%d written)", tt, len(msgs), written)
				}
				var sum convert.Totals
				for _, f := range rep.Folders {
					fs, fq := 0, 0
					for _, n := range f.Skipped {
						fs += n
					}
					for _, n := range f.Quarantined {
						fq += n
					}
					if f.Found != f.Written+fs+fq+f.Failed {
						t.Errorf("folder %s: found %d = written %d + skipped %d + quarantined %d + failed %d does not add up", f.Source, f.Found, f.Written, fs, fq, f.Failed)
					}
					sum.Found += f.Found
					sum.Written += f.Written
				}
				if sum.Found != tt.Found || sum.Written != tt.Written {
					t.Errorf("folders add up to %d found, %d written; totals say %d, %d", sum.Found, sum.Written, tt.Found, tt.Written)
				}
				if rep.Files == nil || rep.Files.Check() != nil || rep.Files.Read.Files != 1 || rep.Files.Files != 1 {
					t.Errorf("report files %+v, want the one file, read", rep.Files)
				}
				if written == 0 {
					return
				}
				scan := runCLI(t, nil, "scan", out, "--json")
				var s scanJSON
				if err := json.Unmarshal([]byte(scan.stdout), &s); err != nil || s.Totals.Messages != written {
					t.Errorf("scan of the output: %v, %d messages, want %d\n%s", err, s.Totals.Messages, written, scan.stderr)
				}
			})
		}
	}
}

// The guided run finds Outlook's files where Outlook keeps them: on
// Windows in Documents\Outlook Files (.pst) and in
// %LOCALAPPDATA%\Microsoft\Outlook (.ost, said to be a server's copy), on
// macOS in ~/Documents/Outlook Files; it offers them with their messages
// counted.
func TestGuidedFindsOutlookFiles(t *testing.T) {
	for _, goos := range []string{"windows", "darwin"} {
		t.Run(goos, func(t *testing.T) {
			home := t.TempDir()
			files := map[string]string{"Documents/Outlook Files/archive.pst": testutil.Corpus(t, "pst/pst-extractor-enron.pst")}
			if goos == "windows" {
				files["AppData/Local/Microsoft/Outlook/someone@example.com.ost"] = testutil.Corpus(t, "pst/pst-extractor-test-2013.ost")
			}
			copyInto(t, home, files)
			deps := testDeps(home, nil)
			deps.paths.GOOS = goos
			res := runGuided(t, deps, nil, typed("9"))
			// One place is shown with its folders; several are offered as a
			// numbered list.
			want := []string{"Found: Outlook data file archive.pst", fmt.Sprintf("In total: %d messages in 7 folders", enronMessages)}
			if goos == "windows" {
				want = []string{"I found 2 places with mail", fmt.Sprintf("Outlook data file archive.pst: %d messages", enronMessages),
					"Outlook's offline copy of a server mailbox, someone@example.com.ost (its mail is usually still on that server): 14 messages"}
			}
			for _, w := range want {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("the dialogue lacks %q:\n%s", w, res.stderr)
				}
			}
		})
	}
}

// oneSubject is the Subject field of a stored message.
func oneSubject(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "Subject: "); ok {
			return v
		}
		if strings.TrimRight(l, "\r") == "" {
			break
		}
	}
	return ""
}

// What an Outlook file cannot give whole is listed in the report: an
// attachment that is only a link to a file, and one damaged in its
// middle. Both messages are uploaded with the rest of their content, the
// report lists them as incomplete with the attachment's name, and the run
// ends with the exit code that says so.
func TestUploadOutlookLossesReported(t *testing.T) {
	large := append(bytes.Repeat([]byte("A"), 9000), bytes.Repeat([]byte("B"), 9000)...)
	base := func(subject string, att []psttest.Prop) *psttest.Message {
		return &psttest.Message{
			Props:       []psttest.Prop{psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, subject), psttest.Int32(0x0E07, 1), psttest.String(0x1000, "body of "+subject)},
			Attachments: []*psttest.Attachment{{Props: att}},
		}
	}
	msgs := []*psttest.Message{
		base("With a link", []psttest.Prop{psttest.Int32(0x3705, 2), psttest.String(0x3707, "plan.docx"), psttest.String(0x3708, `\\server\share\plan.docx`)}),
		base("With a damaged attachment", []psttest.Prop{psttest.Int32(0x3705, 1), psttest.String(0x3707, "large.bin"), psttest.Binary(0x3701, large)}),
		base("Whole", []psttest.Prop{psttest.Int32(0x3705, 1), psttest.String(0x3707, "small.txt"), psttest.Binary(0x3701, []byte("fine"))}),
	}
	p := filepath.Join(t.TempDir(), "losses.pst")
	if err := psttest.Write(p, psttest.Options{Format: psttest.Unicode}, []*psttest.Folder{{Name: "Inbox", Role: psttest.RoleInbox, Messages: msgs}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[bytes.Index(b, bytes.Repeat([]byte("B"), 100))+50] ^= 1 // a block in the middle of large.bin
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}

	srv := dovecottest.Start(t, dovecottest.Config{})
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	report := filepath.Join(t.TempDir(), "report.json")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	res := runCLI(t, vars, "upload", p, "--to", to, "--tls-ca", srv.CAFile, "--quiet", "--report", report)
	if res.code != exitIncomplete {
		t.Errorf("upload: exit %d, want %d (incomplete)\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	if n := len(srv.FetchAll(t)); n != 3 {
		t.Errorf("Dovecot holds %d messages, want all 3", n)
	}
	rb, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep upload.Report
	if err := json.Unmarshal(rb, &rep); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, f := range rep.Folders {
		for _, pr := range f.Incomplete {
			reasons = append(reasons, pr.Reason)
		}
	}
	slices.Sort(reasons)
	if len(reasons) != 2 || !strings.Contains(reasons[0], "large.bin") || !strings.Contains(reasons[1], "plan.docx") {
		t.Errorf("incomplete in the report: %q, want large.bin and plan.docx", reasons)
	}
}
