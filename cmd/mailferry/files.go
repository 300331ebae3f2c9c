package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/internal/term"
)

// sourceLedger accounts for every file of an opened source that was read
// to the end; it returns nil (after a warning on log) when that is not
// possible, so that a report never lists files as not read that were only
// not reached.
func sourceLedger(src *detect.Source, warn func(string)) *formats.FileLedger {
	l, err := src.Ledger()
	switch {
	case errors.Is(err, detect.ErrNotFinished):
		return nil
	case err != nil:
		warn(fmt.Sprintf("could not account for the files of %s: %v", src.Root, err))
		return nil
	}
	return l
}

// printFiles prints the accounting of the files under a source: the line
// that adds up, the files not read (each with its reason and size, and
// what to do), the groups of files that hold no mail, and the
// directories not searched.
func printFiles(w io.Writer, l *formats.FileLedger) {
	if l == nil {
		return
	}
	nm, nr := l.NoMailFiles(), l.NotReadFiles()
	fmt.Fprintf(w, "\nFiles under %s: %d (%s) = read as mail %d + no mail %d + not read %d\n",
		term.Escape(l.Root), l.Files, humanBytes(l.Bytes), l.Read.Files, nm.Files, nr.Files)
	if err := l.Check(); err != nil {
		fmt.Fprintf(w, "WARNING: the files do not add up: %v\n", err)
	}
	if l.ReadOutside.Files > 0 {
		fmt.Fprintf(w, "Also read, outside it: %d file(s) (%s) in an account's mail directory named by prefs.js\n",
			l.ReadOutside.Files, humanBytes(l.ReadOutside.Bytes))
	}
	if len(l.NotRead) > 0 {
		fmt.Fprintf(w, "Not read (%d):\n", len(l.NotRead))
		for _, n := range l.NotRead {
			size := humanBytes(n.Size)
			if n.Files != 1 {
				size = fmt.Sprintf("%d files, %s", n.Files, size)
			}
			mark := " "
			if n.Mail {
				mark = "!"
			}
			fmt.Fprintf(w, "  %s %s (%s): %s\n", mark, term.Escape(n.Path), size, term.Escape(n.Reason))
			if n.Advice != "" {
				fmt.Fprintf(w, "      what to do: %s\n", term.Escape(n.Advice))
			}
		}
		if k := l.MailNotRead(); k > 0 {
			fmt.Fprintf(w, "  (! %d of them hold or may hold mail that was not taken)\n", k)
		}
	}
	if len(l.NoMail) > 0 {
		parts := make([]string, len(l.NoMail))
		for i, g := range l.NoMail {
			parts[i] = fmt.Sprintf("%s: %d", g.Reason, g.Files)
		}
		fmt.Fprintf(w, "Holding no mail: %s\n", strings.Join(parts, "; "))
	}
	if len(l.NotSearched) > 0 {
		paths := make([]string, len(l.NotSearched))
		for i, n := range l.NotSearched {
			paths[i] = term.Escape(n.Path)
		}
		fmt.Fprintf(w, "Not searched (hidden settings and caches of programs): %s\n", strings.Join(paths, ", "))
	}
}

// printOthers names the stores found that mailferry cannot read, with
// what to do instead.
func printOthers(w io.Writer, others []detect.Found) {
	if len(others) == 0 {
		return
	}
	fmt.Fprintln(w, "\nFound, but mailferry cannot read it:")
	for _, o := range others {
		fmt.Fprintf(w, "  %s: %s (%s)\n", term.Escape(o.Path), term.Escape(o.Note), term.Escape(o.Program))
		fmt.Fprintf(w, "      what to do: %s\n", term.Escape(o.Advice))
	}
}

// filesIncomplete reports whether the files not read hold mail: the run
// then finished without taking everything (exit code 3).
func filesIncomplete(l *formats.FileLedger) bool {
	return l != nil && l.MailNotRead() > 0
}
