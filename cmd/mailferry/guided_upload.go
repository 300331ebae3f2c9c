package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/detect"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
)

// --- steps 3 and 4: plan and upload ---------------------------------------------

// serverOptions are the upload options of the guided run.
func (g *guide) serverOptions(t upload.Target, password string, log *slog.Logger) upload.Options {
	return upload.Options{Target: &t, Password: password, CAFile: g.f.tlsCA, Logger: log}
}

// pass reads the whole source once through upload.Upload (a dry run or the
// real upload), with a progress bar.
func (g *guide) pass(m *mail, opts upload.Options, label string) (*upload.Report, time.Duration, error) {
	src, err := detect.Open(m.path, detect.Auto, formats.Options{}) // warnings were shown in step 1
	if err != nil {
		return nil, 0, err
	}
	defer src.Reader.Close()
	prog := newProgress(g.w, false, label)
	prog.SetTotal(m.sum.Totals.Bytes)
	opts.Logger = slog.New(slog.NewTextHandler(prog, &slog.HandlerOptions{Level: slog.LevelWarn, ReplaceAttr: dropTime}))
	var last int64
	opts.OnProgress = func(p upload.Progress) {
		if p.DoneBytes > last {
			prog.Add(p.DoneBytes - last)
			last = p.DoneBytes
		}
	}
	start := time.Now()
	rep, err := upload.Upload(g.ctx, src.Reader, opts)
	prog.Finish()
	return rep, time.Since(start), err
}

// showPlan compares the source with the server without changing anything,
// shows the plan folder by folder and asks for the go-ahead.
func (g *guide) showPlan(m *mail, t upload.Target, password string) error {
	g.say("Comparing your mail with what the server already holds (nothing is uploaded yet)…")
	opts := g.serverOptions(t, password, nil)
	opts.DryRun = true
	rep, _, err := g.pass(m, opts, "checking")
	if err != nil && !errors.Is(err, upload.ErrIncomplete) {
		if g.ctx.Err() != nil {
			return g.ctx.Err()
		}
		g.say("The check stopped: %v\nNothing was uploaded.", err)
		return stopped{exitCode(err)}
	}
	g.printPlan(rep)
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

func (g *guide) printPlan(rep *upload.Report) {
	t := rep.Totals
	g.say("\nHere is the plan (nothing has been uploaded yet):\n")
	width := 10
	for _, f := range rep.Folders {
		width = max(width, len([]rune(f.Server)))
	}
	for _, f := range rep.Folders {
		var parts []string
		parts = append(parts, messages(f.Uploaded)+" to upload")
		if f.Already > 0 {
			parts = append(parts, fmt.Sprintf("%s already there", count(f.Already)))
		}
		if n := f.SkippedTotal(); n > 0 {
			parts = append(parts, fmt.Sprintf("%s left out", count(n)))
		}
		g.say("  %s%s  %s\n  %s  from %s", f.Server, strings.Repeat(" ", width-len([]rune(f.Server))), strings.Join(parts, ", "),
			strings.Repeat(" ", width), strings.Join(f.Sources, ", "))
	}
	g.say("\nIn total: %s to upload (%s), %s already on the server.", messages(t.Uploaded), humanBytes(t.Bytes), count(t.Already))
	skipped := map[string]int{}
	for _, f := range rep.Folders {
		for k, v := range f.Skipped {
			skipped[k] += v
		}
	}
	if t.Skipped > 0 {
		g.say("Left out: %s.", plainCounts(skipped))
		if skipped[formats.SkipDeleted] > 0 {
			g.say("(Messages you deleted in Thunderbird stay in its files until the folder is\n\"compacted\"; they are not uploaded, just as Thunderbird no longer shows them.)")
		}
	}
	if t.Incomplete > 0 {
		g.say("%s on this computer are incomplete (for example, only the start was downloaded);\nthey are uploaded as they are and listed in the report.", messages(t.Incomplete))
	}
	if len(rep.Renames) > 0 {
		g.say("Some folder names must change for this server:")
		for _, rn := range rep.Renames {
			g.say("  %s → %s (%s)", rn.Source, rn.Server, rn.Reason)
		}
	}
	if t.Uploaded == 0 && t.Found > 0 {
		g.say("Everything is already on the server; going on only checks it once more.")
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
func (g *guide) uploadAll(m *mail, t upload.Target, password string) error {
	g.say("This can take a while; you can keep using the computer. If it is interrupted,\nrun mailferry again: it continues where it stopped.")
	report := g.reportPath(time.Now())
	opts := g.serverOptions(t, password, nil)
	opts.QuarantineDir = filepath.Join(filepath.Dir(report), upload.DefaultQuarantineDir)
	rep, took, err := g.pass(m, opts, "uploading")
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
	switch {
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
