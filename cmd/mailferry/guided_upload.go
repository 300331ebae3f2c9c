package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"mailferry/formats"
	"mailferry/internal/oauth"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
)

// --- steps 3 and 4: plan and upload ---------------------------------------------

// account is the server account that step 2 signed in to, as steps 3 and
// 4 use it. Another way of signing in adds its credential here and in
// serverOptions.
type account struct {
	target   upload.Target
	password string
	tokens   oauth.TokenSource // an OAuth sign-in instead of the password
}

// serverOptions are the upload options of the guided run.
func (g *guide) serverOptions(a account) upload.Options {
	t := a.target
	return upload.Options{Target: &t, Password: a.password, Tokens: a.tokens, CAFile: g.f.tlsCA, Logger: g.logs.log}
}

// folderList is a source of folders without messages: all the plan needs.
// The folders are those step 1 found, so that the plan reads nothing of
// the source again.
type folderList struct{ boxes []*formats.Mailbox }

func (r *folderList) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	return r.boxes, ctx.Err()
}

func (r *folderList) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, io.EOF
}

func (r *folderList) Close() error { return nil }

// knownFolders is an opened source whose folders were already listed.
type knownFolders struct {
	formats.Reader
	boxes []*formats.Mailbox
}

func (r *knownFolders) Mailboxes(context.Context) ([]*formats.Mailbox, error) { return r.boxes, nil }

// showPlan asks the server how the folders found in step 1 will be named
// there, shows the plan folder by folder with step 1's counts, and asks
// for the go-ahead. The plan is the server's real one (its delimiter, its
// special folders, the names it refuses): a dry run of the upload over the
// folders alone, which creates and sends nothing and reads no message. How
// many of the messages are on the server already would need every
// message's header, a second full read of the source; the plan shows what
// the server's folders hold instead, and the upload does not send again
// what is there.
func (g *guide) showPlan(m *mail, a account) error {
	g.say("Asking the server how your folders will be named there (nothing is uploaded yet)…")
	opts := g.serverOptions(a)
	opts.DryRun = true
	rep, err := upload.Upload(g.ctx, &folderList{boxes: m.mailboxes()}, opts)
	if err != nil && !errors.Is(err, upload.ErrIncomplete) {
		if g.ctx.Err() != nil {
			return g.ctx.Err()
		}
		g.say("The check stopped: %s\nNothing was uploaded.", errorText(err))
		return stopped{exitCode(err)}
	}
	g.printPlan(m, rep)
	if g.f.yes {
		g.say("Starting the upload (--yes).")
		return nil
	}
	ans, err := g.ask("Start the upload? Type yes to start, anything else stops: ")
	if err != nil {
		return err
	}
	if a := strings.ToLower(ans); a != "yes" && a != "y" {
		fmt.Fprintln(g.e.stdout, "Nothing was uploaded. Run mailferry again whenever you are ready.")
		return stopped{exitOK}
	}
	return nil
}

// mailboxes are the folders step 1 found.
func (m *mail) mailboxes() []*formats.Mailbox {
	boxes := make([]*formats.Mailbox, 0, len(m.sum.Folders))
	for _, f := range m.sum.Folders {
		boxes = append(boxes, f.Mailbox)
	}
	return boxes
}

// printPlan shows where each folder goes on the server, with step 1's
// counts of its source folders.
func (g *guide) printPlan(m *mail, rep *upload.Report) {
	bySource := map[string]*formats.FolderSummary{}
	for _, f := range m.sum.Folders {
		bySource[f.Mailbox.DisplayPath()] = f
	}
	g.say("\nHere is the plan (nothing has been uploaded yet):\n")
	names := make([]string, len(rep.Folders))
	width := 10
	for i, f := range rep.Folders {
		names[i] = mfterm.Escape(f.Server)
		if f.NotMail != "" {
			names[i] = "(not uploaded)"
		}
		width = max(width, utf8.RuneCountInString(names[i]))
	}
	onServer := 0
	for i, f := range rep.Folders {
		var n, left int
		var size int64
		for _, src := range f.Sources {
			if s := bySource[src]; s != nil {
				n += s.Messages
				size += s.Bytes
				left += s.SkippedTotal() + s.QuarantinedTotal()
			}
		}
		var parts []string
		if f.NotMail != "" {
			parts = append(parts, mfterm.Escape(f.NotMail))
		} else {
			parts = append(parts, messages(n)+" to upload")
			if size > 0 {
				parts[0] += " (" + humanBytes(size) + ")"
			}
		}
		if left > 0 {
			parts = append(parts, fmt.Sprintf("%s left out", count(left)))
		}
		if f.ServerBefore > 0 {
			parts = append(parts, fmt.Sprintf("the server's folder holds %s already", count(f.ServerBefore)))
			onServer += f.ServerBefore
		}
		if f.Error != "" {
			parts = append(parts, "cannot be created: "+mfterm.Escape(f.Error))
		}
		g.say("  %s%s  %s\n  %s  from %s", names[i], strings.Repeat(" ", width-utf8.RuneCountInString(names[i])),
			strings.Join(parts, ", "), strings.Repeat(" ", width), mfterm.Escape(strings.Join(f.Sources, ", ")))
	}
	t := m.sum.Totals
	g.say("\nIn total: %s to upload (%s).", messages(t.Messages), humanBytes(t.Bytes))
	if onServer > 0 {
		g.say("The server already holds %s in these folders. Those that came from this mail\n"+
			"(an earlier run, or a copy your mail program made) are recognised and not uploaded again.", messages(onServer))
	}
	if t.SkippedTotal() > 0 {
		g.say("Left out: %s.", plainCounts(t.Skipped))
		if t.Skipped[formats.SkipDeleted] > 0 {
			g.say("(Messages you deleted in Thunderbird stay in its files until the folder is\n\"compacted\"; they are not uploaded, just as Thunderbird no longer shows them.)")
		}
	}
	if n := t.QuarantinedTotal(); n > 0 {
		g.say("%s in your mail files are not messages (%s): they are not uploaded, but kept\nin the quarantine folder beside the report.", count(n), plainCounts(t.Quarantined))
	}
	if t.Incomplete > 0 {
		g.say("%s on this computer are incomplete (for example, only the start was downloaded);\nthey are uploaded as they are and listed in the report.", messages(t.Incomplete))
	}
	if len(rep.Renames) > 0 {
		g.say("Some folder names must change for this server:")
		for _, rn := range rep.Renames {
			g.say("  %s → %s (%s)", mfterm.Escape(rn.Source), mfterm.Escape(rn.Server), mfterm.Escape(rn.Reason))
		}
	}
}

// upload reads the source in full, the one time the guided run does, and
// uploads and verifies it with the progress line. Its totals are step 1's
// counts. A folder that appeared since step 1 was not in the plan: it is
// uploaded too, and said.
func (g *guide) upload(m *mail, opts upload.Options) (*upload.Report, time.Duration, error) {
	src, err := g.openSource(m.path, formats.Options{}) // warnings were shown in step 1
	if err != nil {
		return nil, 0, err
	}
	defer src.Reader.Close()
	boxes, err := src.Reader.Mailboxes(g.ctx)
	if err != nil {
		return nil, 0, err
	}
	g.sayNewFolders(m, boxes)
	prog := g.e.newMeterFor(jobUpload, false)
	prog.setRecord(g.logs.file)
	g.relay.to(prog)
	defer g.relay.to(g.w)
	prog.setTotal(m.total)
	prog.start(mfterm.Escape("upload of " + m.path + " to " + opts.Target.String()))
	opts.OnProgress = prog.update
	start := time.Now()
	rep, err := upload.Upload(g.ctx, &knownFolders{Reader: src.Reader, boxes: boxes}, opts)
	took := time.Since(start)
	prog.finish(g.ctx.Err() != nil || rep == nil || rep.Stopped != "")
	if rep != nil && g.ctx.Err() == nil {
		// Every file under the source, as the upload command accounts
		// for it: what was read, what holds no mail, what was not read.
		rep.Files = sourceLedger(src, func(m string) { g.logs.log.Warn(m) })
	}
	return rep, took, err
}

// sayNewFolders tells about folders that were not there when step 1
// counted (the mail program ran meanwhile).
func (g *guide) sayNewFolders(m *mail, boxes []*formats.Mailbox) {
	known := map[string]bool{}
	for _, b := range m.mailboxes() {
		known[b.DisplayPath()] = true
	}
	var added []string
	for _, b := range boxes {
		if !known[b.DisplayPath()] {
			added = append(added, mfterm.Escape(b.DisplayPath()))
		}
	}
	if len(added) > 0 {
		g.say("Since your mail was counted, these folders appeared; they are uploaded too: %s", strings.Join(added, ", "))
	}
}

// reportPath is where the JSON report goes: --report, else a dated file in
// Documents (when it exists) or the home folder.
func (g *guide) reportPath(now time.Time) string {
	if g.f.report != "" {
		return g.f.report
	}
	dir := "."
	if home := g.deps.paths.Home; home != "" {
		dir = home
		if st, err := os.Stat(filepath.Join(home, "Documents")); err == nil && st.IsDir() {
			dir = filepath.Join(home, "Documents")
		}
	}
	return filepath.Join(dir, "mailferry-report-"+now.Format("2006-01-02-150405")+".json")
}

// uploadAll runs the upload and the verification and says what the result
// means.
func (g *guide) uploadAll(m *mail, a account) error {
	g.say("This can take a while; you can keep using the computer. If it is interrupted,\nrun mailferry again: it continues where it stopped.")
	report := g.reportPath(time.Now())
	opts := g.serverOptions(a)
	opts.QuarantineDir = filepath.Join(filepath.Dir(report), upload.QuarantineFolderName)
	rep, took, err := g.upload(m, opts)
	out := g.e.stdout
	if rep != nil {
		printReport(out, rep, took)
		if werr := writeJSON(report, rep); werr != nil {
			g.say("Could not write the report: %v", werr)
			report = ""
		}
	}
	fmt.Fprintln(out)
	tt := upload.Totals{}
	if rep != nil {
		tt = rep.Totals
	}
	onServer := tt.Uploaded + tt.Already
	reportLine := func() {
		if report != "" {
			fmt.Fprintf(out, "The report (for you or your support desk) is in %s\n", report)
		}
	}
	var files *formats.FileLedger
	if rep != nil {
		files = rep.Files
	}
	switch {
	case err == nil && filesIncomplete(files):
		fmt.Fprintf(out, "Almost done: all %s that were read are on the server, each one checked. But\n", messages(onServer))
		fmt.Fprintf(out, "%d file(s) on this computer that hold or may hold mail were not read: the list\n", files.MailNotRead())
		fmt.Fprintln(out, "\"Not read\" above says which, why, and what you can do.")
		fmt.Fprintln(out, "Keep the old POP3 account until you have looked at them.")
		reportLine()
		return stopped{exitIncomplete}
	case err == nil:
		fmt.Fprintf(out, "Done: all %s are on the server, each one checked.\n", messages(onServer))
		if tt.Skipped > 0 {
			fmt.Fprintf(out, "(%s left out as shown in the plan: deleted or not mail.)\n", messages(tt.Skipped))
		}
		fmt.Fprintln(out, "\nWhat to do next:")
		fmt.Fprintln(out, "  1. Look at your mail on the server: open your provider's webmail (or set up the")
		fmt.Fprintln(out, "     account in your mail program as IMAP) and check a few folders.")
		fmt.Fprintln(out, "  2. Only then remove the old POP3 account from Thunderbird. mailferry changed")
		fmt.Fprintln(out, "     nothing on this computer, so your mail here stays as it was until you do.")
		if report != "" {
			fmt.Fprintf(out, "  3. The report (for you or your support desk) is in %s\n", report)
		}
		fmt.Fprintln(out, "Running mailferry again is safe: it only uploads what is not on the server yet.")
		return nil
	case g.ctx.Err() != nil:
		fmt.Fprintf(out, "Stopped before the end: %s are on the server so far. Nothing is lost:\n", messages(onServer))
		fmt.Fprintln(out, "run mailferry again and it continues where it stopped.")
		reportLine()
		return stopped{exitInterrupted}
	case errors.Is(err, upload.ErrIncomplete):
		fmt.Fprintf(out, "Almost done: %s are on the server, each one checked. But %s did not\n", messages(onServer),
			messages(tt.Quarantined+tt.Failed+tt.Incomplete))
		fmt.Fprintln(out, "arrive as complete copies of your mail here: the list above says which and why.")
		if tt.Quarantined > 0 {
			fmt.Fprintf(out, "Copies of the messages the server refused are in %s\n", opts.QuarantineDir)
		}
		if filesIncomplete(files) {
			fmt.Fprintf(out, "Also, %d file(s) that hold or may hold mail were not read (listed under \"Not read\").\n", files.MailNotRead())
		}
		fmt.Fprintln(out, "Keep the old POP3 account until you have looked at them.")
		reportLine()
	case errors.Is(err, upload.ErrVerify):
		fmt.Fprintf(out, "%s are missing on the server after the upload (listed above).\n", messages(tt.Missing))
		fmt.Fprintln(out, "Run mailferry again: it uploads only what is missing. If this keeps happening,")
		fmt.Fprintln(out, "send the report to your support desk. Do not remove the old POP3 account yet.")
		reportLine()
	case errors.Is(err, upload.ErrOverQuota):
		fmt.Fprintf(out, "The mailbox on the server is full: %s fit. Make room on the server (or ask your\n", messages(onServer))
		fmt.Fprintln(out, "provider for more space), then run mailferry again: it continues where it stopped.")
		reportLine()
	default:
		reason := upload.StopServer
		if rep != nil && rep.StopReason != "" {
			reason = rep.StopReason
		}
		fmt.Fprintf(out, "The upload stopped: %s\n", mfterm.Escape(err.Error()))
		fmt.Fprintf(out, "%s are on the server so far; nothing is lost.\n", messages(onServer))
		fmt.Fprintln(out, whatNow(reason))
		reportLine()
	}
	return stopped{exitCode(err)}
}

// whatNow says, in plain words, what to do after a run stopped for this
// reason; "run again" only where running again can help.
func whatNow(r upload.StopReason) string {
	switch r {
	case upload.StopConnection:
		return "The connection to the server kept failing. Check that this computer is online, then run\nmailferry again: it continues where it stopped."
	case upload.StopDailyLimit:
		return "Your provider allows only so much upload a day (Gmail: about 500 MB), and today's share is\nused up. Run mailferry again tomorrow: it continues where it stopped, and nothing is uploaded twice."
	case upload.StopThrottled:
		return "The server asked mailferry to slow down for longer than it waits. Run mailferry again\nin an hour or so: it continues where it stopped."
	case upload.StopInterrupted:
		return "Run mailferry again: it continues where it stopped."
	case upload.StopLogin:
		return "The server refused the login. Check your e-mail address and password (some providers\nwant an app password or a sign-in in the browser), then run mailferry again."
	case upload.StopConfig:
		return "Something in the settings must change first (the message above says what).\nIf you are unsure, send the report to your support desk."
	case upload.StopOverQuota:
		return "The mailbox on the server is full. Make room on the server (or ask your provider for\nmore space), then run mailferry again: it continues where it stopped."
	case upload.StopSource:
		return "Your mail on this computer could not be read to the end. Running again will stop at the\nsame place: send the report to your support desk."
	}
	return "The server answered in a way mailferry cannot go on with. Running again will most likely\nstop the same way: send the report to your support desk."
}
