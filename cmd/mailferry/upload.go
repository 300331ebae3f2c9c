package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/internal/oauth"
	"mailferry/internal/private"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
	"mailferry/upload/plan"
)

const uploadManual = `mailferry upload SOURCE [--to URL] [options]

Uploads every message of SOURCE to an IMAP server: it recreates the folder
tree (inboxes go to INBOX; Sent, Drafts, Trash, Junk, Archives and Templates go
to the server's own folders for them), keeps each message's read / replied /
flagged state, its tags and its original date, then checks the server against
the source and prints one line per folder:
  =  every message is there      -  messages are missing on the server
  +  all there, plus other mail  !  the folder could not be checked
  2  all there, but some twice (duplicates on the server)

Without --to, upload REHEARSES: it uploads into an IMAP server embedded in
mailferry (nothing leaves this computer), verifies, and shows what a real run
would do, including messages a server would refuse.

Running the same command again is safe: messages already on the server are
recognised and not uploaded twice, so an interrupted upload is resumed by
running it again.

URL is imaps://USER@HOST[:PORT] (TLS, port 993) or imap://USER@HOST[:PORT]
(STARTTLS, port 143). The user name may contain @: imaps://info@example.com@mail.example.com.
Instead of --to, --email ADDRESS looks the server up as the provider publishes
it for mail programs (or takes --server HOST[:PORT]) and logs in as ADDRESS.
The password comes from --password-file, else the MAILFERRY_PASSWORD
environment variable, else a prompt (nothing is echoed). It is never taken
from the command line, and never written to logs or reports.

Messages deleted in the source but still in its files (Thunderbird before
"Compact") are skipped and counted. Messages the server refuses are saved in
the quarantine folder with the server's reason, and the run goes on. That
folder is --quarantine, else mailferry-quarantine beside the --report file,
else mailferry/quarantine in your data folder (~/.local/share on Linux,
~/Library/Application Support on macOS, %LocalAppData% on Windows); only you
can read it, and a link or a folder everyone may write to is refused.

Examples:
  mailferry upload ~/.thunderbird/abcd.default
  mailferry upload ~/.thunderbird/abcd.default --to imaps://me@mail.example.com
  mailferry upload ~/Maildir --to imaps://me@example.com@imap.example.com --prefix Imported
  mailferry upload ~/.thunderbird/abcd.default --email me@example.com
  MAILFERRY_PASSWORD=... mailferry upload mail.mbox --to imap://me@localhost:1143 --tls-ca ca.pem
`

const verifyManual = `mailferry verify SOURCE --to URL [options]

Compares the server with SOURCE without uploading anything: for every folder,
the messages the source holds against the messages the server holds. Prints
one line per folder:
  =  every message is there      -  messages are missing on the server
  +  all there, plus other mail  !  the folder could not be checked
  2  all there, but some twice (duplicates on the server)
then totals. Use the same --prefix, --include and --exclude as for upload.

Example:
  mailferry verify ~/.thunderbird/abcd.default --to imaps://me@mail.example.com
`

// serverFlags are the flags upload and verify share.
type serverFlags struct {
	to, prefix, report, tlsCA, passwordFile, format string
	email, server                                   string
	include, exclude                                stringList
	insecure, allowPlaintext, quiet, noCompress     bool
	retryTimeout, ioTimeout                         time.Duration
	oauth                                           oauth.Flags
}

func (f *serverFlags) register(fs *flag.FlagSet) {
	f.registerConnect(fs)
	fs.StringVar(&f.report, "report", "", "write a JSON report to this file")
	fs.BoolVar(&f.quiet, "quiet", false, "print only warnings and the summary")
	fs.StringVar(&f.format, "format", "", "force the store kind: "+strings.Join(detect.KindNames(), ", "))
}

// registerConnect registers the flags that say which server and account,
// how to reach it and how to place the folders there: what scan needs to
// show the server's folder names.
func (f *serverFlags) registerConnect(fs *flag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "the IMAP account: imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT]")
	fs.StringVar(&f.email, "email", "", "instead of --to: your e-mail address; the server is looked up from it (see mailferry help start)")
	fs.StringVar(&f.server, "server", "", "with --email: the IMAP server, HOST[:PORT], instead of looking it up")
	fs.StringVar(&f.prefix, "prefix", "", "put every folder under this server folder instead of merging into the tree")
	fs.Var(&f.include, "include", "only folders matching this pattern, as scan shows them (repeatable; * and ? allowed)")
	fs.Var(&f.exclude, "exclude", "leave out folders matching this pattern (repeatable)")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "also trust the CA certificates in this PEM file")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not check the server's TLS certificate (unsafe)")
	fs.BoolVar(&f.allowPlaintext, "allow-plaintext", false, "allow sending the password unencrypted when the server offers no STARTTLS (unsafe)")
	fs.StringVar(&f.passwordFile, "password-file", "", "read the password from this file (first line)")
	fs.DurationVar(&f.retryTimeout, "retry-timeout", 2*time.Minute, "how long a lost connection is retried, or a server that asks to slow down waited for, before the run gives up")
	fs.DurationVar(&f.ioTimeout, "io-timeout", time.Minute, "how long a connection may go without any progress before it is replaced")
	fs.BoolVar(&f.noCompress, "no-compress", false, "do not compress the connection even where the server offers it (COMPRESS=DEFLATE)")
	f.oauth.Register(fs)
}

// withServer reports whether the flags name a server.
func (f *serverFlags) withServer() bool {
	return f.to != "" || f.email != "" || f.server != "" || f.oauth.Enabled()
}

// apply puts the flags that map one to one onto opts, checking them.
func (f *serverFlags) apply(opts *upload.Options) error {
	if f.retryTimeout <= 0 || f.ioTimeout <= 0 {
		return usageErrorf("--retry-timeout and --io-timeout must be positive (got %v and %v)", f.retryTimeout, f.ioTimeout)
	}
	opts.CAFile, opts.InsecureSkipVerify, opts.AllowPlaintext = f.tlsCA, f.insecure, f.allowPlaintext
	opts.Plan = plan.Options{Prefix: f.prefix, Include: f.include, Exclude: f.exclude}
	opts.RetryTimeout, opts.IOTimeout = f.retryTimeout, f.ioTimeout
	opts.NoCompress = f.noCompress
	if err := f.oauth.Validate(); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

func (e *env) upload(args []string) int {
	fs := newFlagSet("upload", uploadManual+oauthHelp, e.stderr)
	var sf serverFlags
	sf.register(fs)
	connections := fs.Int("connections", 4, "connections used in parallel; every folder goes over all of them (1 keeps the source order on the server)")
	dryRun := fs.Bool("dry-run", false, "connect, log in, plan and read everything, but create and upload nothing")
	full := fs.Bool("full", false, "verify every message byte for byte after the upload (default: header and size of each, and a random sample byte for byte)")
	quarantine := fs.String("quarantine", "", "save messages the server refuses in this folder (default: beside --report, else in your data folder)")
	return e.serverCommand("upload", fs, args, &sf, func(opts *upload.Options) {
		opts.Connections = *connections
		opts.DryRun = *dryRun
		opts.FullVerify = *full
		opts.QuarantineDir = quarantineDir(*quarantine, sf.report, e.getenv)
	})
}

func (e *env) verify(args []string) int {
	fs := newFlagSet("verify", verifyManual+oauthHelp, e.stderr)
	var sf serverFlags
	sf.register(fs)
	full := fs.Bool("full", false, "compare every message byte for byte (fetches every message whole; default: the header and size of each)")
	return e.serverCommand("verify", fs, args, &sf, func(o *upload.Options) { o.FullVerify = *full })
}

// serverCommand runs upload or verify: both read a source and talk to a
// server with the same flags.
func (e *env) serverCommand(cmd string, fs *flag.FlagSet, args []string, sf *serverFlags, extra func(*upload.Options)) int {
	var of outputFlags
	of.register(fs)
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	if len(pos) != 1 {
		fmt.Fprintf(e.stderr, "mailferry %s: need exactly one SOURCE (see mailferry help %s)\n", cmd, cmd)
		return exitUsage
	}
	kind, err := detect.ParseKind(sf.format)
	if err != nil {
		return e.fail(cmd, usageErrorf("%v", err))
	}
	if err := checkReportPath(sf.report); err != nil {
		return e.fail(cmd, err)
	}
	var opts upload.Options
	if err := sf.apply(&opts); err != nil {
		return e.fail(cmd, err)
	}
	sel, err := formats.NewSelector(sf.include, sf.exclude)
	if err != nil {
		return e.fail(cmd, usageErrorf("%v", err))
	}
	if extra != nil {
		extra(&opts)
	}
	if err := e.account(cmd, sf, &opts); err != nil {
		return e.fail(cmd, err)
	}
	j := jobUpload
	switch {
	case cmd == "verify":
		j = jobVerify
	case opts.DryRun:
		j = jobDryRun
	}
	prog := e.newMeterFor(j, sf.quiet)
	logs, err := of.open(prog)
	if err != nil {
		return e.fail(cmd, err)
	}
	defer logs.close()
	prog.setRecord(logs.file)
	log := logs.log
	opts.Logger = log
	opts.SourceID, _ = filepath.Abs(pos[0]) // names the marker of a run in progress ("" is fine)
	if sf.insecure {
		log.Warn("TLS certificate checking is OFF (--insecure-skip-verify): anyone on the network path could read your password and mail")
	}
	fopts := formats.Options{Warn: func(w formats.Warning) { log.Warn(w.String()) }}
	src, err := detect.Open(pos[0], kind, fopts)
	if err != nil {
		return e.fail(cmd, usageErrorf("%v", err))
	}
	defer src.Reader.Close()
	for _, n := range src.Notes {
		log.Warn(n)
	}
	what := cmd + " of " + pos[0]
	switch {
	case opts.Target != nil:
		what += " to " + opts.Target.String()
	case cmd == "upload":
		what = "rehearsal of " + pos[0] + " (into the embedded test server)"
	}
	prog.start(mfterm.Escape(what))
	opts.OnProgress = prog.update
	stopCount := countInBackground(e.ctx, prog, log, pos[0], kind, sel)
	start := time.Now()
	var rep *upload.Report
	if cmd == "verify" {
		rep, err = upload.Verify(e.ctx, src.Reader, opts)
	} else {
		rep, err = upload.Upload(e.ctx, src.Reader, opts)
	}
	took := time.Since(start)
	stopCount()
	prog.finish(e.ctx.Err() != nil || rep == nil || rep.Stopped != "")
	if rep != nil && e.ctx.Err() == nil {
		rep.Files = sourceLedger(src, func(m string) { log.Warn(m) })
	}
	if rep != nil {
		printReport(e.stdout, rep, took)
		if sf.report != "" {
			if werr := writeJSON(sf.report, rep); werr != nil {
				fmt.Fprintf(e.stderr, "mailferry %s: write report: %s\n", cmd, errorText(werr))
				if err == nil {
					err = werr
				}
			}
		}
	}
	if e.ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "mailferry %s: interrupted. Run the same command again to resume: messages already on the server are not uploaded twice.\n", cmd)
		return exitInterrupted
	}
	if rep != nil && (rep.StopReason == upload.StopDailyLimit || rep.StopReason == upload.StopThrottled) {
		if left, ok := prog.left(); ok {
			fmt.Fprintf(e.stdout, "Left for the next run: %d message(s), %s. Run the same command again later", left.messages, humanBytes(left.bytes))
			if rep.StopReason == upload.StopDailyLimit {
				fmt.Fprintf(e.stdout, " (after %s, when a day has passed since this run began)", start.Add(24*time.Hour).Format("Mon 15:04"))
			}
			fmt.Fprintln(e.stdout, ": it continues where it stopped.")
		}
	}
	if err != nil {
		return e.fail(cmd, err)
	}
	if filesIncomplete(rep.Files) {
		fmt.Fprintf(e.stderr, "mailferry %s: finished, but %d file(s) under the source that hold or may hold mail were not read (listed under \"Not read\")\n", cmd, rep.Files.MailNotRead())
		return exitIncomplete
	}
	return exitOK
}

// account sets the target server and the way to sign in: the account of
// --to, or of --email (the server looked up from the address, or given
// with --server); a password, or with the OAuth flags a token source
// (whose provider may also name the server).
func (e *env) account(cmd string, sf *serverFlags, opts *upload.Options) error {
	var target *upload.Target
	switch {
	case sf.to != "":
		t, err := upload.ParseURL(sf.to)
		if err != nil {
			return err
		}
		target = &t
	case sf.email != "" && (sf.server != "" || !sf.oauth.Enabled()):
		t, err := e.targetFromEmail(sf.email, sf.server, e.lookupAutoconfig)
		if err != nil {
			return err
		}
		target = &t
	case sf.server != "":
		return usageErrorf("--server needs --email (or give the account with --to)")
	case sf.email == "" && sf.oauth.Enabled():
		return usageErrorf("--oauth2 needs --email ADDRESS or --to URL (the account to sign in as)")
	}
	if target == nil && !sf.oauth.Enabled() {
		if cmd == "verify" {
			return usageErrorf("verify needs --to URL or --email ADDRESS (the server to check)")
		}
		return nil // a rehearsal
	}
	if sf.oauth.Enabled() {
		src, t, err := e.signIn(&sf.oauth, sf.email, target)
		if err != nil {
			return err
		}
		opts.Target, opts.Tokens = &t, src
		return nil
	}
	opts.Target = target
	pw, err := e.password(sf.passwordFile, *target)
	opts.Password = pw
	return err
}

// password finds the password without ever taking it from argv:
// --password-file, else MAILFERRY_PASSWORD, else a prompt on a terminal.
func (e *env) password(file string, t upload.Target) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErrorf("password file: %v", err)
		}
		pw, _, _ := strings.Cut(string(b), "\n")
		pw = strings.TrimSuffix(pw, "\r")
		if pw == "" {
			return "", usageErrorf("password file %s is empty", file)
		}
		return pw, nil
	}
	if pw := e.getenv("MAILFERRY_PASSWORD"); pw != "" {
		return pw, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("no password: use --password-file FILE or set MAILFERRY_PASSWORD (there is no terminal to ask on)")
	}
	fmt.Fprintf(e.stderr, "Password for %s: ", t)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if len(b) == 0 {
		return "", usageErrorf("empty password")
	}
	return string(b), nil
}

// printReport prints the per-folder lines and the summary on stdout.
func printReport(w io.Writer, r *upload.Report, took time.Duration) {
	t := r.Totals
	switch {
	case r.Rehearsal:
		fmt.Fprintln(w, "Rehearsal: uploaded into mailferry's embedded test server; nothing left this computer.")
	case r.DryRun:
		fmt.Fprintln(w, "Dry run: nothing was created or uploaded.")
	}
	if r.Target != "" && !r.Rehearsal {
		fmt.Fprintf(w, "Server: %s\n", mfterm.Escape(r.Target))
	}
	fmt.Fprintln(w)
	if r.Stopped != "" && len(r.Folders) == 0 && t.Found == 0 {
		// Stopped at the connection or the login: counts of zero would
		// read as "the source holds no mail".
		fmt.Fprintf(w, "Stopped before any message was read: %s\n", mfterm.Escape(r.Stopped))
		return
	}
	for _, f := range r.Folders {
		status := " "
		detail := ""
		if v := f.Verify; v != nil {
			status = v.Status
			detail = fmt.Sprintf("%d of %d on server", v.Expected-len(v.Missing), v.Expected)
			if v.Duplicates > 0 {
				detail += fmt.Sprintf(", %d duplicate(s)", v.Duplicates)
			}
			if v.Extra > 0 {
				detail += fmt.Sprintf(", %d other", v.Extra)
			}
			if v.Error != "" {
				detail = v.Error
			}
		}
		var parts []string
		if r.Mode == upload.ModeUpload {
			parts = append(parts, fmt.Sprintf("uploaded %d", f.Uploaded))
			if f.Already > 0 {
				parts = append(parts, fmt.Sprintf("already there %d", f.Already))
			}
		}
		if n := f.SkippedTotal(); n > 0 {
			parts = append(parts, fmt.Sprintf("skipped %d", n))
		}
		if n := len(f.Quarantined); n > 0 {
			parts = append(parts, fmt.Sprintf("quarantined %d", n))
		}
		if n := len(f.Incomplete); n > 0 {
			parts = append(parts, fmt.Sprintf("incomplete %d", n))
		}
		failed, notDone := splitFailed(f.Failed)
		if n := len(failed); n > 0 {
			parts = append(parts, fmt.Sprintf("failed %d", n))
		}
		if notDone > 0 {
			parts = append(parts, fmt.Sprintf("not done %d", notDone))
		}
		server := mfterm.Escape(f.Server)
		if f.NotMail != "" {
			server = "(not uploaded: " + mfterm.Escape(f.NotMail) + ")"
		}
		fmt.Fprintf(w, "%s %-40s %s", status, server, detail)
		if len(parts) > 0 {
			fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
		}
		fmt.Fprintf(w, "  ← %s\n", mfterm.Escape(strings.Join(f.Sources, ", ")))
		if f.Error != "" {
			fmt.Fprintf(w, "    not created: %s\n", mfterm.Escape(f.Error))
		}
		if v := f.Verify; v != nil {
			for _, m := range v.Missing {
				fmt.Fprintf(w, "    missing: %s %s\n", mfterm.Escape(m.Pos), mfterm.Escape(m.MessageID))
			}
			for _, m := range v.BodyDiffers {
				fmt.Fprintf(w, "    differs on the server: %s %s: %s\n", mfterm.Escape(m.Pos), mfterm.Escape(m.MessageID), mfterm.Escape(m.Reason))
			}
			for _, m := range v.Changed {
				fmt.Fprintf(w, "    on the server, changed by the server: %s %s: %s\n", mfterm.Escape(m.Pos), mfterm.Escape(m.MessageID), mfterm.Escape(m.Reason))
			}
		}
		for _, q := range f.Quarantined {
			if q.File == "" {
				fmt.Fprintf(w, "    quarantined: %s: %s\n", mfterm.Escape(q.Pos), mfterm.Escape(q.Reason))
				continue
			}
			fmt.Fprintf(w, "    quarantined: %s: %s → %s\n", mfterm.Escape(q.Pos), mfterm.Escape(q.Reason), mfterm.Escape(q.File))
		}
		for _, q := range failed {
			fmt.Fprintf(w, "    failed: %s: %s\n", mfterm.Escape(q.Pos), mfterm.Escape(q.Reason))
		}
		for _, q := range f.Incomplete {
			fmt.Fprintf(w, "    incomplete in the source: %s: %s\n", mfterm.Escape(q.Pos), mfterm.Escape(q.Reason))
		}
	}
	if len(r.Renames) > 0 {
		fmt.Fprintln(w, "\nRenamed for the server:")
		for _, rn := range r.Renames {
			fmt.Fprintf(w, "  %s → %s (%s)\n", mfterm.Escape(rn.Source), mfterm.Escape(rn.Server), mfterm.Escape(rn.Reason))
		}
	}
	for _, u := range r.UndecodableFolders {
		fmt.Fprintf(w, "Left alone on the server (its name cannot be decoded): %s\n", mfterm.Escape(u))
	}
	for _, l := range r.NameRules {
		fmt.Fprintf(w, "Learned about the server: %s\n", mfterm.Escape(l))
	}
	for _, kw := range r.KeywordWarnings {
		fmt.Fprintf(w, "\nTags not kept in %s: %s (%s)\n", mfterm.Escape(kw.Server), mfterm.Escape(strings.Join(kw.Keywords, " ")), mfterm.Escape(kw.Reason))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Folders: %d (%d created)\n", t.Folders, t.FoldersCreated)
	if r.Mode == upload.ModeUpload {
		fmt.Fprintf(w, "Messages found: %d = uploaded %d + already on the server %d + skipped %d + quarantined %d",
			t.Found, t.Uploaded, t.Already, t.Skipped, t.Quarantined)
		if t.Failed > 0 {
			fmt.Fprintf(w, " + not done %d", t.Failed)
		}
		fmt.Fprintln(w)
		if err := r.CheckTotals(); err != nil {
			fmt.Fprintf(w, "WARNING: the counts do not add up: %v\n", err)
		}
		fmt.Fprintf(w, "Uploaded: %s in %s\n", humanBytes(t.Bytes), took.Round(100*time.Millisecond))
		if r.Connections > 0 && r.Connections < r.ConnectionsAsked {
			fmt.Fprintf(w, "Connections: %d of the %d asked: the server refused more (--connections %d avoids the refused logins)\n",
				r.Connections, r.ConnectionsAsked, r.Connections)
		}
	} else {
		fmt.Fprintf(w, "Messages in the source: %d (on the server %d, missing %d, skipped %d",
			t.Found, t.Already, t.Missing, t.Skipped)
		if t.Quarantined > 0 {
			fmt.Fprintf(w, ", not uploadable %d", t.Quarantined)
		}
		fmt.Fprintln(w, ")")
	}
	skipped := map[string]int{}
	for _, f := range r.Folders {
		for k, v := range f.Skipped {
			skipped[k] += v
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(w, "Skipped: %s\n", countsString(skipped))
	}
	if t.Incomplete > 0 {
		fmt.Fprintf(w, "Incomplete in the source (uploaded as they are): %d\n", t.Incomplete)
	}
	if t.NoDate > 0 {
		fmt.Fprintf(w, "Without a date in the source (the server used its own time): %d\n", t.NoDate)
	}
	notDone := 0
	for _, f := range r.Folders {
		_, n := splitFailed(f.Failed)
		notDone += n
	}
	if notDone > 0 {
		fmt.Fprintf(w, "Not done: %d message(s) were not sent, or sent without an answer, when the run stopped; running the same command again sends what is missing.\n", notDone)
	}
	notUploaded := t.Quarantined + t.Failed
	switch {
	case r.Stopped != "":
		fmt.Fprintf(w, "Stopped early: %s\n", mfterm.Escape(r.Stopped))
	case !r.Verified:
		fmt.Fprintln(w, "Verification: not run.")
	case t.Mismatched > 0:
		unchecked := 0
		for _, f := range r.Folders {
			if f.Verify != nil && f.Verify.Status == upload.StatusError {
				unchecked++
			}
		}
		fmt.Fprintf(w, "Verification: %d folder(s) do not match", t.Mismatched-unchecked)
		if unchecked > 0 {
			fmt.Fprintf(w, ", %d folder(s) could not be checked", unchecked)
		}
		fmt.Fprintf(w, "; %d message(s) missing on the server.\n", t.Missing)
	case t.Duplicates > 0:
		fmt.Fprintf(w, "Verification: every message is on the server, but %d message(s) are there more often than in the source (duplicates).\n", t.Duplicates)
	case notUploaded > 0:
		fmt.Fprintf(w, "Verification: every message that was uploaded is on the server; %d message(s) were not uploaded (listed above).\n", notUploaded)
	default:
		fmt.Fprintf(w, "Verification: all %d folders match; every message is on the server.\n", t.Folders)
	}
	switch {
	case r.Verified && r.FullCheck == "all":
		fmt.Fprintf(w, "Compared byte for byte: all %d messages on the server.\n", r.FullyChecked)
	case r.Verified && r.FullyChecked > 0:
		fmt.Fprintf(w, "Compared byte for byte: %d messages chosen at random (verify --full compares them all).\n", r.FullyChecked)
	}
	if t.Changed > 0 {
		fmt.Fprintf(w, "%d message(s) are on the server as the server changed them when it stored them (listed above).\n", t.Changed)
	}
	if t.Extra > 0 {
		fmt.Fprintf(w, "The server also holds %d other message(s) that are not from this source (left alone).\n", t.Extra)
	}
	printFiles(w, r.Files)
}

// splitFailed separates the messages a stopped run did not get to (listed
// only as a count: a re-run takes care of them) from real failures.
func splitFailed(l []upload.Problem) (failed []upload.Problem, notDone int) {
	for _, q := range l {
		if q.Code.NotDone() {
			notDone++
			continue
		}
		failed = append(failed, q)
	}
	return failed, notDone
}

// quarantineDir is where refused messages go: the --quarantine folder,
// else beside the report, else in mailferry's folder of the user's data
// folder ("" when there is none: the upload package then says why
// nothing was kept).
func quarantineDir(flag, report string, getenv func(string) string) string {
	switch {
	case flag != "":
		return flag
	case report != "":
		return filepath.Join(filepath.Dir(report), upload.QuarantineFolderName)
	}
	data, err := private.DataDir(getenv)
	if err != nil {
		return ""
	}
	return filepath.Join(data, "quarantine")
}

// checkReportPath refuses, before any work, a --report path the report
// could not be written to privately at the end (a link, a folder).
func checkReportPath(path string) error {
	if path == "" {
		return nil
	}
	if err := private.CheckFile(path); err != nil {
		return usageErrorf("--report: %v", err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return private.WriteFile(path, append(b, '\n'))
}
