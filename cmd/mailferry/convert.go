package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/convert"
	"mailferry/formats/detect"
	"mailferry/internal/term"
)

const convertManual = `mailferry convert SOURCE --format mbox|maildir|eml --out DIR [options]

Converts SOURCE offline, without any server, into:
  mbox     one mbox file per folder, laid out like Thunderbird's "Local Folders"
           (Name files and Name.sbd folders): copy the output into a profile's
           Mail/Local Folders and Thunderbird shows the tree, with read,
           flagged and tag states kept
  maildir  a Maildir++ tree that Dovecot (and most servers) import as it is;
           flags in the file names, tags in dovecot-keywords, dates as file times
  eml      one folder per mail folder, one .eml file per message, named by
           date and subject; file times are the received dates (EML files
           cannot keep read/flagged states)

DIR must be empty or not exist: nothing is ever overwritten or deleted. Folder
names that are not safe as file names (.., /, \, CON, ...) are changed, and
the summary lists every change. Messages deleted in the source are skipped.
Each file appears only when complete, so an interrupted conversion leaves no
half message behind.

Examples:
  mailferry convert ~/Library/Mail/V10 --format mbox --out ~/Desktop/for-thunderbird
  mailferry convert ~/.thunderbird/abcd.default --format maildir --out /srv/import/Maildir
`

func (e *env) convert(args []string) int {
	fs := newFlagSet("convert", convertManual, e.stderr)
	format := fs.String("format", "", "output format: mbox, maildir or eml")
	out := fs.String("out", "", "output directory (must be empty or not exist)")
	var include, exclude stringList
	fs.Var(&include, "include", "only folders matching this pattern, as scan shows them (repeatable)")
	fs.Var(&exclude, "exclude", "leave out folders matching this pattern (repeatable)")
	report := fs.String("report", "", "write a JSON report to this file")
	var of outputFlags
	of.registerQuiet(fs)
	of.register(fs)
	source := fs.String("source-format", "", "force the source's store kind: "+strings.Join(detect.KindNames(), ", "))
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "mailferry convert: need exactly one SOURCE (see mailferry help convert)")
		return exitUsage
	}
	if *format == "" || *out == "" {
		return e.fail("convert", usageErrorf("--format and --out are required"))
	}
	kind, err := detect.ParseKind(*source)
	if err != nil {
		return e.fail("convert", usageErrorf("%v", err))
	}
	if err := checkReportPath(*report); err != nil {
		return e.fail("convert", err)
	}
	sel, err := formats.NewSelector(include, exclude)
	if err != nil {
		return e.fail("convert", usageErrorf("%v", err))
	}
	prog := e.newMeterFor(jobConvert, of.quiet)
	logs, err := of.open(prog)
	if err != nil {
		return e.fail("convert", err)
	}
	defer logs.close()
	prog.setRecord(logs.file)
	log := logs.log
	src, err := detect.Open(pos[0], kind, formats.Options{Warn: func(w formats.Warning) { log.Warn(w.String()) }})
	if err != nil {
		return e.fail("convert", usageErrorf("%v", err))
	}
	defer src.Reader.Close()
	for _, n := range src.Notes {
		log.Warn(n)
	}
	prog.start(term.Escape("convert of " + pos[0] + " to " + *out))
	stopCount := countInBackground(e.ctx, prog, log, pos[0], kind, sel)
	start := time.Now()
	rep, err := convert.Convert(e.ctx, src.Reader, convert.Options{
		Format: *format, Out: *out, Source: pos[0], Select: sel, Logger: log,
		OnMessage: func(m *formats.Message) {
			if m.Mailbox != nil {
				prog.setFolder(m.Mailbox.DisplayPath())
			}
			prog.add(m.Size)
		},
	})
	stopCount()
	prog.finish(err != nil || e.ctx.Err() != nil)
	var files *formats.FileLedger
	if err == nil && rep != nil {
		files = sourceLedger(src, func(m string) { log.Warn(m) })
		rep.Files = files
	}
	if rep != nil {
		printConvert(e.stdout, rep, time.Since(start))
		printFiles(e.stdout, files)
		if *report != "" {
			if werr := writeJSON(*report, rep); werr != nil && err == nil {
				err = fmt.Errorf("write report: %w", werr)
			}
		}
	}
	if e.ctx.Err() != nil {
		fmt.Fprintln(e.stderr, "mailferry convert: interrupted; the output holds only complete messages")
		return exitInterrupted
	}
	if errors.Is(err, convert.ErrOutNotEmpty) {
		return e.fail("convert", usageErrorf("%v", err))
	}
	if err != nil {
		return e.fail("convert", err)
	}
	// Items kept in not-converted/ (text before an mbox's first message)
	// were not taken as mail: finished, but not everything could be taken,
	// as for upload.
	if rep.Totals.Failed > 0 || rep.Totals.Incomplete > 0 || rep.Totals.Quarantined > 0 || filesIncomplete(files) {
		return exitIncomplete
	}
	return exitOK
}

func printConvert(w io.Writer, r *convert.Report, took time.Duration) {
	for _, f := range r.Folders {
		fmt.Fprintf(w, "  %6d  %s → %s", f.Written, term.Escape(f.Source), term.Escape(f.Output))
		if n := f.SkippedTotal(); n > 0 {
			fmt.Fprintf(w, " (skipped %d)", n)
		}
		if f.Failed > 0 {
			fmt.Fprintf(w, " (FAILED %d)", f.Failed)
		}
		fmt.Fprintln(w)
		for _, e := range f.Errors {
			fmt.Fprintf(w, "      %s\n", term.Escape(e))
		}
	}
	if len(r.Renamed) > 0 {
		fmt.Fprintln(w, "\nRenamed to be safe as file names:")
		for _, rn := range r.Renamed {
			fmt.Fprintf(w, "  %s → %s\n", term.Escape(strings.Join(rn.Source, "/")), term.Escape(strings.Join(rn.Output, "/")))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "Note: %s\n", term.Escape(n))
	}
	t := r.Totals
	fmt.Fprintf(w, "\n%s: %d folders; messages found %d = written %d + skipped %d + not converted %d + failed %d; %s in %s\n",
		term.Escape(r.Out), t.Folders, t.Found, t.Written, t.Skipped, t.Quarantined, t.Failed, humanBytes(t.Bytes), took.Round(100*time.Millisecond))
	if t.Incomplete > 0 {
		fmt.Fprintf(w, "Incomplete in the source (written as they are): %d\n", t.Incomplete)
	}
}
