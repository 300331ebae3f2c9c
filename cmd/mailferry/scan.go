package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/internal/term"
	"mailferry/upload"
	"mailferry/upload/plan"
)

const scanManual = `mailferry scan [SOURCE] [--json] [--format KIND] [--to URL | --email ADDRESS]

Shows what mail SOURCE holds without changing anything: the kind of store,
the folder tree with message counts, sizes, read / flagged / skipped /
incomplete counts, the name each folder would get on an IMAP server, where the
received dates come from, and warnings. Check this list against what your mail
program shows before you upload.

Without SOURCE, scan looks for the profiles of Thunderbird (and of Betterbird,
SeaMonkey, Postbox, Icedove), Apple Mail on macOS and Windows Live Mail on
Windows in the usual places and lists what it found, and names the stores of
mail programs mailferry cannot read (Outlook, Windows Mail, eM Client, ...)
with what to do instead.

SOURCE may also be a whole home folder or backup drive: every store in it is
found (hidden mail directories such as ~/.thunderbird included) and read,
each under its own name. Every file under SOURCE is accounted for: read as
mail, recognised as holding no mail, or listed under "Not read" with the
reason and size. When files that look like mail could not be read, scan
exits with code 3.

The server names shown are those of a typical server ('/' between levels,
no namespace prefix). With --to URL (or --email ADDRESS), scan logs in and
asks that server: its namespace, delimiter, special-use folders and rules for
folder names decide the names, exactly as upload plans them (nothing is
created there). --prefix, --include and --exclude apply as in upload.

Messages deleted in Thunderbird but still in the file (the folder was never
compacted) are counted as skipped: they will not be uploaded.

Examples:
  mailferry scan ~/.thunderbird/abcd.default
  mailferry scan ~/Library/Mail/V10 --json > scan.json
`

func (e *env) scan(args []string) int {
	fs := newFlagSet("scan", scanManual, e.stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	format := fs.String("format", "", "force the store kind: "+strings.Join(detect.KindNames(), ", "))
	var sf serverFlags
	sf.registerConnect(fs)
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	var opts upload.Options
	if err := sf.apply(&opts); err != nil {
		return e.fail("scan", err)
	}
	if _, err := formats.NewSelector(sf.include, sf.exclude); err != nil {
		return e.fail("scan", usageErrorf("%v", err))
	}
	if sf.withServer() {
		if err := e.account("scan", &sf, &opts); err != nil {
			return e.fail("scan", err)
		}
	}
	if len(pos) > 1 {
		fmt.Fprintf(e.stderr, "mailferry scan: one SOURCE at most, got %d\n", len(pos))
		return exitUsage
	}
	var sources []string
	var others []detect.Found
	if len(pos) == 1 {
		sources = pos
	} else {
		paths := detect.SystemPaths()
		found := detect.DefaultSources(paths)
		others = detect.OtherSources(paths)
		if len(found) == 0 && len(others) == 0 {
			fmt.Fprintln(e.stderr, "mailferry scan: no mail store found in the usual places; name one: mailferry scan SOURCE")
			return exitUsage
		}
		for _, f := range found {
			sources = append(sources, f.Path)
		}
	}
	kind, err := detect.ParseKind(*format)
	if err != nil {
		return e.fail("scan", usageErrorf("%v", err))
	}
	var results []*scanResult
	code := exitOK
	for _, src := range sources {
		res, err := e.scanOne(src, kind, opts)
		var nm *detect.NoMailError
		if errors.As(err, &nm) && len(nm.Others) > 0 {
			// Only stores mailferry cannot read: say what they are and
			// what to do.
			res, err = &scanResult{Source: src, Stores: nm.Others, Folders: []scanFolder{}, Warnings: []string{}}, nil
			// And every other file there, as for any source.
			if l, lerr := nm.Ledger(); lerr == nil {
				res.Files = l
			} else {
				res.Warnings = append(res.Warnings, fmt.Sprintf("could not account for the files of %s: %v", src, lerr))
			}
		}
		if err != nil {
			return e.fail("scan", err)
		}
		results = append(results, res)
		if filesIncomplete(res.Files) || len(res.others()) > 0 {
			code = exitIncomplete
		}
	}
	if len(others) > 0 {
		results = append(results, &scanResult{Source: "the usual places of other mail programs", Stores: others, Folders: []scanFolder{}, Warnings: []string{}})
		code = exitIncomplete
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		var v any = results[0]
		if len(results) > 1 {
			v = results
		}
		if err := enc.Encode(v); err != nil {
			return e.fail("scan", err)
		}
		return code
	}
	for _, r := range results {
		printScan(e.stdout, r)
	}
	return code
}

// others are the stores found that mailferry cannot read.
func (r *scanResult) others() []detect.Found {
	var out []detect.Found
	for _, f := range r.Stores {
		if f.Kind == detect.Other {
			out = append(out, f)
		}
	}
	return out
}

// scanResult is what scan prints, and its JSON form.
type scanResult struct {
	Source   string         `json:"source"`
	Stores   []detect.Found `json:"stores"`
	Accounts []scanAccount  `json:"accounts,omitempty"`
	Folders  []scanFolder   `json:"folders"`
	Warnings []string       `json:"warnings"`
	Totals   scanTotals     `json:"totals"`
	Renamed  []plan.Rename  `json:"renamed,omitempty"`
	// Server is the server the names were planned for ("" is a typical
	// server), Learned what was learned about its rules for names.
	Server  string   `json:"server,omitempty"`
	Learned []string `json:"learned,omitempty"`
	// Files accounts for every file under the source.
	Files *formats.FileLedger `json:"files,omitempty"`
}

type scanFolder struct {
	Path     string          `json:"path"`
	Account  string          `json:"account,omitempty"`
	Folder   formats.Folder  `json:"folder"`
	Store    string          `json:"store"`
	Location string          `json:"location,omitempty"`
	Special  formats.Special `json:"special,omitempty"`
	Target   string          `json:"target"`
	formats.FolderSummary
}

// scanAccount is a mail account as its mail program knew it.
type scanAccount struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"`
	Hostname string `json:"hostname,omitempty"`
	User     string `json:"user,omitempty"`
	Dir      string `json:"dir,omitempty"`
	Note     string `json:"note,omitempty"`
}

type scanTotals struct {
	Folders int `json:"folders"`
	formats.FolderSummary
}

// scanOne reads one source. With opts.Target, the server names come from
// that server (upload.PlanOn); else from a typical server.
func (e *env) scanOne(src string, kind detect.Kind, opts upload.Options) (*scanResult, error) {
	var warnings []string
	fopts := formats.Options{Warn: func(w formats.Warning) { warnings = append(warnings, w.String()) }, SizesOnly: true}
	s, err := detect.Open(src, kind, fopts)
	var nm *detect.NoMailError
	if errors.As(err, &nm) {
		return nil, err
	}
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	defer s.Reader.Close()
	warnings = append(warnings, s.Notes...)
	sum, err := formats.Summarize(e.ctx, s.Reader, nil)
	if err != nil {
		return nil, err
	}
	var boxes []*formats.Mailbox
	for _, f := range sum.Folders {
		boxes = append(boxes, f.Mailbox)
	}
	res := &scanResult{Source: src, Stores: s.Found}
	var p *plan.Plan
	if opts.Target != nil {
		sp, err := upload.PlanOn(e.ctx, s.Reader, opts)
		if err != nil {
			return nil, err
		}
		p, res.Server, res.Learned = sp.Plan, sp.Target, sp.Learned
		for _, u := range sp.Undecodable {
			res.Learned = append(res.Learned, "left alone (its name cannot be decoded): "+u)
		}
	} else {
		// Target names as a typical server ('/' delimiter, no special-use
		// folders announced) would get them.
		if p, err = plan.Make(boxes, plan.Info{Delimiter: '/'}, opts.Plan); err != nil {
			return nil, err
		}
	}
	res.Warnings, res.Renamed = warnings, p.Renames
	for _, a := range s.Accounts {
		note := a.Note
		if a.Skip != "" {
			note = strings.TrimPrefix(strings.Join([]string{note, "not read: " + a.Skip}, "; "), "; ")
		}
		res.Accounts = append(res.Accounts, scanAccount{Name: a.Name, Type: a.Type, Hostname: a.Hostname,
			User: a.UserName, Dir: a.Dir, Note: note})
	}
	for _, f := range sum.Folders {
		b := f.Mailbox
		res.Folders = append(res.Folders, scanFolder{
			Path: b.DisplayPath(), Account: b.Account, Folder: b.Path, Store: b.Store,
			Location: b.Location, Special: b.Special, Target: targetName(p, b), FolderSummary: *f,
		})
	}
	res.Totals = scanTotals{Folders: len(sum.Folders), FolderSummary: sum.Totals}
	res.Files = sourceLedger(s, func(m string) { res.Warnings = append(res.Warnings, m) })
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	return res, nil
}

func printScan(w io.Writer, r *scanResult) {
	fmt.Fprintf(w, "Source: %s\n", term.Escape(r.Source))
	for _, s := range r.Stores {
		if s.Kind != detect.Other {
			fmt.Fprintf(w, "  found %s at %s\n", s.Kind, term.Escape(s.Path))
		}
	}
	printOthers(w, r.others())
	if len(r.Folders) == 0 {
		// Nothing mailferry reads was found there: only what the files
		// under it are.
		printFiles(w, r.Files)
		fmt.Fprintln(w)
		return
	}
	if len(r.Accounts) > 0 {
		fmt.Fprintln(w, "\nAccounts:")
		for _, a := range r.Accounts {
			fmt.Fprintf(w, "  %s", term.Escape(a.Name))
			var what []string
			parts := []string{a.Type, a.User, a.Hostname}
			if a.Type == "none" { // Local Folders: no server, no user
				parts = nil
			}
			for _, s := range parts {
				if s != "" && s != a.Name {
					what = append(what, s)
				}
			}
			if len(what) > 0 {
				fmt.Fprintf(w, " (%s)", term.Escape(strings.Join(what, ", ")))
			}
			if a.Note != "" {
				fmt.Fprintf(w, ": %s", term.Escape(a.Note))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	if r.Server != "" {
		fmt.Fprintf(w, "Server names as planned on %s (nothing was created there):\n", term.Escape(r.Server))
	}
	fmt.Fprintf(w, "%8s %10s %6s %7s %7s %10s  %s\n", "messages", "size", "read", "flagged", "skipped", "incomplete", "folder → server")
	for _, f := range r.Folders {
		fmt.Fprintf(w, "%8d %10s %6d %7d %7d %10d  %s → %s\n", f.Messages, humanBytes(f.Bytes), f.Read,
			f.Flagged, f.SkippedTotal(), f.Incomplete, term.Escape(f.Path), term.Escape(f.Target))
	}
	printFlagSources(w, r.Folders)
	if len(r.Renamed) > 0 {
		fmt.Fprintln(w, "\nRenamed for the server:")
		for _, rn := range r.Renamed {
			fmt.Fprintf(w, "  %s → %s (%s)\n", term.Escape(rn.Source), term.Escape(rn.Server), term.Escape(rn.Reason))
		}
	}
	for _, l := range r.Learned {
		fmt.Fprintf(w, "Learned about the server: %s\n", term.Escape(l))
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w, "\nWarnings:")
		for _, m := range r.Warnings {
			fmt.Fprintf(w, "  %s\n", term.Escape(m))
		}
	}
	t := r.Totals
	fmt.Fprintf(w, "\nTotal: %d folders, %d messages, %s", t.Folders, t.Messages, humanBytes(t.Bytes))
	fmt.Fprintf(w, "; %d read, %d flagged, %d incomplete\n", t.Read, t.Flagged, t.Incomplete)
	if n := t.SkippedTotal(); n > 0 {
		fmt.Fprintf(w, "Skipped: %d (%s)\n", n, countsString(t.Skipped))
	}
	if n := t.QuarantinedTotal(); n > 0 {
		fmt.Fprintf(w, "Quarantined (kept, never uploaded): %d (%s)\n", n, countsString(t.Quarantined))
	}
	if len(t.Dates) > 0 {
		dates := map[string]int{}
		for k, v := range t.Dates {
			dates[string(k)] = v
		}
		fmt.Fprintf(w, "Received dates from: %s\n", countsString(dates))
	}
	printFiles(w, r.Files)
	fmt.Fprintln(w)
}

// printFlagSources says, for stores that keep flags in two places
// (Thunderbird's .msf summary and the mbox headers), where the folders'
// flags and tags were taken from and why, folders with the same answer
// together (the JSON output has it per folder).
func printFlagSources(w io.Writer, folders []scanFolder) {
	type answer struct {
		source formats.FlagSource
		note   string
	}
	var order []answer
	paths := map[answer][]string{}
	for _, f := range folders {
		if f.FlagSource == formats.FlagsUnknown {
			continue
		}
		a := answer{f.FlagSource, f.FlagNote}
		if paths[a] == nil {
			order = append(order, a)
		}
		paths[a] = append(paths[a], f.Path)
	}
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(w, "\nRead state and tags taken from:")
	for _, a := range order {
		which := strings.Join(paths[a], ", ")
		if len(paths[a]) > 3 {
			which = fmt.Sprintf("%d folders", len(paths[a]))
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", a.source, a.note, which)
	}
}

// countsString renders a count map as "a: 3, b: 1", largest first; the
// keys (reasons a reader gave) are escaped.
func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", term.Escape(k), m[k])
	}
	return strings.Join(parts, ", ")
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// flagErrorCode maps a flag parsing error to an exit code: --help is not
// an error.
func flagErrorCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// fail prints err and returns its exit code.
func (e *env) fail(cmd string, err error) int {
	fmt.Fprintf(e.stderr, "mailferry %s: %s\n", cmd, errorText(detect.Explain(err)))
	if errors.Is(err, upload.ErrNoEncryption) {
		fmt.Fprintf(e.stderr, "mailferry %s: use imaps:// (TLS, port 993), or --allow-plaintext if you accept that anyone on the network path can read the password\n", cmd)
	}
	return exitCode(err)
}

func targetName(p *plan.Plan, b *formats.Mailbox) string {
	if f := p.Folder(b); f != nil {
		return f.Server
	}
	return ""
}
