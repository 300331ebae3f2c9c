package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailferry/formats"
	"mailferry/formats/detect"
	"mailferry/formats/thunderbird"
	mfterm "mailferry/internal/term"
)

// --- step 1: the mail ---------------------------------------------------------

// mail is the source the user chose and what it holds.
type mail struct {
	path  string
	label string // "Thunderbird profile default-release (default)"
	sum   *formats.Summary
	// total is every message the upload goes through (skipped ones too),
	// for the progress line.
	total    tally
	accounts []*thunderbird.Account
	profiles []thunderbird.Profile
	warnings []string
}

// inspect opens path, counts its messages and closes it again. It reads
// for sizes only (no message bytes are kept): this is the overview of step
// 1, and what it counts serves the plan of step 3 and the progress line of
// step 4, so that the source is read in full only once, by the upload.
func (g *guide) inspect(path string) (*mail, error) {
	m := &mail{path: path}
	opts := formats.Options{Warn: func(w formats.Warning) { m.warnings = append(m.warnings, w.String()) }, SizesOnly: true}
	src, err := g.openSource(path, opts)
	if err != nil {
		return nil, err
	}
	defer src.Reader.Close()
	for _, n := range src.Notes {
		if !strings.Contains(n, "may be running") { // waitForThunderbird asks about that
			m.warnings = append(m.warnings, n)
		}
	}
	m.accounts, m.profiles = src.Accounts, src.Profiles
	if len(src.Found) > 0 {
		m.label = src.Found[0].Kind.Title() + " mail"
	}
	m.sum, err = formats.Summarize(g.ctx, src.Reader, func(msg *formats.Message) { m.total.add(msg, nil) })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return m, nil
}

// findMail looks for the mail (or takes --source), lets the user pick when
// there are several stores, and shows what the chosen one holds.
func (g *guide) findMail() (*mail, error) {
	var candidates []detect.Found
	if g.f.source != "" {
		candidates = []detect.Found{{Path: expandHome(g.f.source, g.deps.paths.Home)}}
	} else {
		g.say("Looking for mail on this computer (Thunderbird and its relatives, Apple Mail, Outlook's data files)…")
		candidates = detect.DefaultSources(g.deps.paths)
	}
	for {
		if len(candidates) == 0 {
			g.say("I found no mail in the usual places on this computer.")
			ans, err := g.ask("Type the folder or file where your mail is (for example a Thunderbird profile folder, or an Outlook .pst file), or press Enter to stop: ")
			if err != nil {
				return nil, err
			}
			if ans == "" {
				g.say("Nothing was done. If you know where your mail is: mailferry start --source FOLDER")
				return nil, stopped{exitUsage}
			}
			candidates = []detect.Found{{Path: expandHome(ans, g.deps.paths.Home)}}
		}
		m, err := g.choose(candidates)
		if err == nil {
			g.showMail(m)
			return m, nil
		}
		if g.ctx.Err() != nil || errors.Is(err, errNoAnswer) {
			return nil, err
		}
		g.say("I could not read the mail there:\n  %v", err)
		if g.f.source != "" {
			return nil, stopped{exitUsage}
		}
		candidates = nil
	}
}

// choose inspects the candidates and returns the one the user picks.
func (g *guide) choose(candidates []detect.Found) (*mail, error) {
	if len(candidates) == 1 {
		c := candidates[0]
		g.say("Reading %s…", c.Path)
		m, err := g.inspect(c.Path)
		if err != nil {
			return nil, err
		}
		if c.Note != "" {
			m.label = noteLabel(c.Note)
		}
		return m, nil
	}
	var ms []*mail
	var skipped []string
	for _, c := range candidates {
		m, err := g.inspect(c.Path)
		switch {
		case g.ctx.Err() != nil:
			return nil, g.ctx.Err()
		case errors.Is(err, detect.ErrNoMail):
			skipped = append(skipped, c.Path+": no mail there")
			continue
		case err != nil:
			skipped = append(skipped, fmt.Sprintf("%s: not readable: %v", c.Path, err))
			continue
		}
		m.label = noteLabel(c.Note)
		ms = append(ms, m)
	}
	switch len(ms) {
	case 0:
		return nil, fmt.Errorf("none of the places with mail could be read:\n  %s", strings.Join(skipped, "\n  "))
	case 1:
		return ms[0], nil
	}
	g.say("I found %d places with mail:", len(ms))
	def := 0
	for i, m := range ms {
		t := m.sum.Totals
		g.say("  %d) %s: %s in %d folders, %s\n     %s", i+1, m.label, messages(t.Messages), len(m.sum.Folders),
			humanBytes(t.Bytes), m.path)
		if def == 0 && t.Messages > 0 {
			def = i + 1
		}
	}
	for _, s := range skipped {
		g.say("  (also looked at %s)", s)
	}
	if def == 0 {
		def = 1
	}
	for {
		ans, err := g.ask(fmt.Sprintf("Which one holds the mail to move? Type its number [%d]: ", def))
		if err != nil {
			return nil, err
		}
		if ans == "" {
			return ms[def-1], nil
		}
		if n, err := strconv.Atoi(ans); err == nil && n >= 1 && n <= len(ms) {
			return ms[n-1], nil
		}
		g.say("Please type a number from 1 to %d.", len(ms))
	}
}

// noteLabel shortens detect's note to the part that names the store.
func noteLabel(note string) string {
	label, _, _ := strings.Cut(note, ";")
	return label
}

// showMail tells what the chosen source holds.
func (g *guide) showMail(m *mail) {
	g.say("\nFound: %s\n  in %s", mfterm.Escape(m.label), mfterm.Escape(m.path))
	var accts []string
	for _, a := range m.accounts {
		if a.Skip != "" {
			continue
		}
		s := mfterm.Escape(a.Name)
		switch {
		case a.Type == "pop3" && a.Hostname != "":
			s += " (POP3, " + mfterm.Escape(a.Hostname) + ")"
		case a.Type == "imap":
			s += " (IMAP copy on this computer)"
		}
		accts = append(accts, s)
	}
	if len(accts) > 0 {
		g.say("  Accounts: %s", strings.Join(accts, "; "))
	}
	g.say("  Folders:")
	for _, f := range m.sum.Folders {
		word := "messages"
		if f.Messages == 1 {
			word = "message"
		}
		line := fmt.Sprintf("    %7s %-8s  %10s  %s", count(f.Messages), word, humanBytes(f.Bytes), mfterm.Escape(f.Mailbox.DisplayPath()))
		if n := f.SkippedTotal(); n > 0 {
			line += fmt.Sprintf("  (%d deleted or not mail: left out)", n)
		}
		g.say("%s", line)
	}
	t := m.sum.Totals
	g.say("  In total: %s in %d folders, %s.", messages(t.Messages), len(m.sum.Folders), humanBytes(t.Bytes))
	if n := t.SkippedTotal(); n > 0 {
		g.say("  %s will be left out: %s.", messages(n), plainCounts(t.Skipped))
	}
	if len(m.warnings) > 0 {
		g.say("  Notes:")
		for i, w := range m.warnings {
			if i == 5 {
				g.say("    … and %d more (mailferry scan %q lists them all)", len(m.warnings)-5, m.path)
				break
			}
			g.say("    %s", mfterm.Escape(w))
		}
	}
	if pops := popAccounts(m.accounts); len(pops) > 1 {
		var names []string
		for _, a := range pops {
			names = append(names, mfterm.Escape(a.Name))
		}
		g.say("  This profile has %d POP3 accounts (%s). All their mail goes into the one\n  account you log in to next; to split them, see mailferry help upload (--include).",
			len(pops), strings.Join(names, ", "))
	}
}

// lockStatus says whether Thunderbird may be running on the source.
func lockStatus(m *mail) bool {
	dirs := []string{m.path}
	for _, p := range m.profiles {
		dirs = append(dirs, p.Dir)
	}
	for _, d := range dirs {
		if thunderbird.LockStatus(d) != "" {
			return true
		}
	}
	return false
}

// waitForThunderbird warns when Thunderbird may be running on the profile
// (it rewrites its files while it runs) and waits until it is closed or the
// user goes on anyway.
func (g *guide) waitForThunderbird(m *mail) error {
	for lockStatus(m) {
		g.say("\nThunderbird seems to be open on this profile. While it runs it may change its")
		g.say("mail files, so please close Thunderbird first.")
		if g.f.yes {
			g.say("Going on anyway (--yes).")
			return nil
		}
		g.say("If Thunderbird is really closed (a crash can leave this mark behind), type continue.")
		ans, err := g.ask("Close Thunderbird, then press Enter (or type continue, or stop): ")
		if err != nil {
			return err
		}
		switch strings.ToLower(ans) {
		case "continue", "yes", "y":
			return nil
		case "stop", "no", "n", "q", "quit":
			g.say("Nothing was uploaded.")
			return stopped{exitOK}
		}
	}
	return nil
}
