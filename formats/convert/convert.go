// Package convert writes the message stream of any formats.Reader into an
// offline store: Thunderbird-style mbox files, a Dovecot-importable
// Maildir++, or a tree of .eml files (`mailferry convert`). It owns the
// writers, the folder-name safety rules for the output, and the conversion
// report.
//
// Our package layout would put each writer beside its reader (formats/mbox,
// formats/maildir, formats/eml). They live here instead because the reader
// packages were written by other people at the same time; moving them is a
// mechanical change once the readers have settled.
//
// # Guarantees
//
//   - Out must be empty or not exist (ErrOutNotEmpty otherwise). Nothing
//     outside Out is written, and no file is ever overwritten except the
//     ones this run created (an mbox folder file is replaced by its longer
//     version).
//   - Folder names never escape Out: every name passes SafeName (no '/',
//     '\', "..", NUL, control characters, drive letters, Windows device
//     names, trailing dots or spaces) and is made unique among its siblings
//     case-insensitively. Every changed name is in Report.Renamed.
//   - Every file is written under a temporary name in the same directory
//     and renamed when complete, so an interrupted run leaves no half
//     message visible: maildir messages go through tmp/ as the Maildir
//     specification says; an eml file is written as ".mailferry-*.tmp";
//     an mbox folder file is written as ".<name>.tmp-*" and renamed over
//     the folder file whenever the reader moves on to another folder (and
//     at the end). A message whose bytes cannot be read is cut off again,
//     so a visible mbox file only ever holds complete messages. When ctx
//     is cancelled, Convert stops between two messages, renames what is
//     complete and returns ctx.Err(). Only a hard kill can leave a
//     temporary file (a dot-file) behind.
//   - Memory does not grow with message or folder size: messages are
//     streamed from Open to the file. Only names (a few bytes per message
//     for eml collisions) are kept.
//   - Skipped messages (Message.Skip, e.g. deleted in the source) are not
//     written; they are counted by reason. Quarantined items
//     (Message.Quarantine: bytes that are not a message, such as text
//     before the first From_ line of an mbox) are not converted either,
//     but kept as they are, one file each, in Out/not-converted/
//     (NotConvertedDir), listed in Report.NotConverted and counted by
//     reason. Found = Written + Skipped + Quarantined + Failed, per
//     folder and in total.
//
// # Received date
//
// The received date is Message.Date, else the Date: header, else the
// top-most Received: header. A message with none of these is written with
// 1970-01-01 00:00:00 UTC (Unix time 0) and counted as undated: an mbox
// From_ line needs a date for mutt to recognise it, and a modification
// time must be something; "now" would be a lie that looks like a fact.
// Our maildir and eml readers treat times before 1990 as unknown again;
// the generic mbox and Thunderbird readers take the 1970 From_ date (the
// Thunderbird reader only when a message has neither Received: nor Date:,
// which it prefers to the From_ line).
//
// # mbox
//
// One file per folder, arranged as Thunderbird's Local Folders: "Name" is
// the folder's mbox, "Name.sbd/" holds its children, and a folder that
// only has children still gets an empty "Name" file, as Thunderbird makes
// it. The top-level inbox is named "Inbox" as in Thunderbird. Each message
// is written as Thunderbird 128+ does (cc:mailnews/base/src/
// MboxMsgOutputStream.cpp): "From - <Www Mmm DD HH:MM:SS YYYY>" in UTC,
// CRLF line endings throughout (so the bytes come back exactly; Thunderbird
// on Linux reads CRLF files), lines matching "^>*From " quoted with one
// more '>' (mboxrd), a CRLF added to a message without a final line break,
// and one empty line after each message. Flags go into X-Mozilla-Status
// (\Seen, \Answered, \Flagged, $Forwarded), X-Mozilla-Status2 ($MDNSent)
// and X-Mozilla-Keys (every other keyword; padded with spaces to 80
// characters as Thunderbird does), inserted at the top of the header; such
// headers already in the message are dropped. \Draft has no Thunderbird
// flag and is counted in LostFlags.
//
// Readers that do not unquote (Python's mailbox, mboxo in general) see
// one '>' more on lines that began with ">*From "; they split the file
// correctly, since no body line begins with "From ".
//
// # maildir
//
// Maildir++ as Dovecot lays it out: Out is the INBOX (the source's
// top-level inbox goes there), every other folder is ".Parent.Child" with a
// maildirfolder file, names in modified UTF-7 (Dovecot's default on disk;
// formats/maildir decodes it). A '.' in a name becomes '_' (Maildir++
// cannot hold it without Dovecot's listescape plugin) and is reported.
// Files are named "<secs>.M<n>.mailferry" plus ":2,<flags>" with the
// letters in ASCII order (D \Draft, F \Flagged, P $Forwarded, R \Answered,
// S \Seen, then keyword letters). Dovecot ignores P, so $Forwarded is
// also written as a keyword. Keywords are letters a-z listed in the
// folder's dovecot-keywords file; a folder's 27th and later keywords are
// counted in LostFlags. As Dovecot's own maildir-save.c does, a message
// without flags or keywords goes into new/ and every other one into cur/.
// The modification time is the received date (Dovecot's INTERNALDATE).
// On Windows the info separator is ';' (go-maildir's choice).
//
// # eml
//
// A directory per folder (children nested inside), one .eml file per
// message holding the message bytes as the reader gave them, named
// "<YYYY-MM-DD HHMM> <subject>.eml" (date in the received date's own
// zone, subject RFC 2047-decoded, characters file systems refuse replaced,
// cut to 60 characters, "-2", "-3" against collisions), modification time
// the received date. EML keeps no flags: they are counted in LostFlags and
// a note says so once.
package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mailferry/formats"
)

// Output formats.
const (
	FormatMbox    = "mbox"
	FormatMaildir = "maildir"
	FormatEML     = "eml"
)

// Formats lists the output formats, for --help and flag checking.
var Formats = []string{FormatMbox, FormatMaildir, FormatEML}

// ErrOutNotEmpty is returned when Options.Out exists and is not an empty
// directory.
var ErrOutNotEmpty = errors.New("output directory exists and is not empty")

// undatedTime is what a message without any date is written with.
var undatedTime = time.Unix(0, 0).UTC()

// Options configure Convert.
type Options struct {
	// Format is FormatMbox, FormatMaildir or FormatEML.
	Format string
	// Out is the output directory. It must be empty or not exist; it is
	// created with its parents.
	Out string
	// Source, when set, is the source path: Out may not lie inside it or
	// contain it (sources are read-only, and a reader must not find its
	// own output).
	Source string
	// Select chooses the mailboxes (--include/--exclude); nil means all.
	Select *formats.Selector
	// OnMessage, when set, sees every message of a selected mailbox after
	// it was handled (written, skipped or failed), for progress.
	OnMessage func(*formats.Message)
	// Logger receives per-message problems and renamed folders; nil
	// discards them.
	Logger *slog.Logger
}

// Report says what a conversion did. It marshals to JSON.
type Report struct {
	Format  string          `json:"format"`
	Out     string          `json:"out"`
	Folders []*FolderReport `json:"folders"`
	// Renamed lists every folder whose output names differ from its
	// source names (made safe, made unique, or the inbox renamed).
	Renamed []Rename `json:"renamed,omitempty"`
	// NotConverted lists the quarantined items kept in NotConvertedDir.
	NotConverted []NotConverted `json:"not_converted,omitempty"`
	// Notes are things to know about the whole output, said once.
	Notes  []string `json:"notes,omitempty"`
	Totals Totals   `json:"totals"`
	// Files accounts for every file under the source; set by the caller,
	// which read the source, when it was read to the end.
	Files *formats.FileLedger `json:"files,omitempty"`
}

// FolderReport is what happened to one source mailbox.
type FolderReport struct {
	// Source is the mailbox as scan shows it (account/path).
	Source string `json:"source"`
	// Path are the source folder names; Names the names written (before
	// any on-disk encoding such as modified UTF-7).
	Path  []string `json:"path"`
	Names []string `json:"names"`
	// Location is the source file or directory.
	Location string `json:"location,omitempty"`
	// Output is the folder's file or directory relative to Out, with '/'
	// separators ("." is Out itself, the maildir INBOX).
	Output  string         `json:"output"`
	Found   int            `json:"found"`
	Written int            `json:"written"`
	Skipped map[string]int `json:"skipped,omitempty"`
	// Quarantined counts, by reason, the items kept in NotConvertedDir.
	Quarantined map[string]int `json:"quarantined,omitempty"`
	Failed      int            `json:"failed"`
	Incomplete  int            `json:"incomplete"`
	// Undated counts messages written with the 1970 placeholder date.
	Undated int   `json:"undated,omitempty"`
	Bytes   int64 `json:"bytes"`
	// LostFlags counts, per flag or keyword, the messages on which the
	// output format could not keep it.
	LostFlags map[string]int `json:"lost_flags,omitempty"`
	// Errors describe failed messages, with their positions (at most
	// maxErrors; Failed has the count).
	Errors []string `json:"errors,omitempty"`

	box  *formats.Mailbox
	node *node
}

// SkippedTotal is the number of skipped messages over all reasons.
func (f *FolderReport) SkippedTotal() int {
	n := 0
	for _, c := range f.Skipped {
		n += c
	}
	return n
}

// QuarantinedTotal is the number of quarantined items over all reasons.
func (f *FolderReport) QuarantinedTotal() int {
	n := 0
	for _, c := range f.Quarantined {
		n += c
	}
	return n
}

// Rename is one folder whose output names differ from the source's.
type Rename struct {
	Source []string `json:"source"`
	Output []string `json:"output"`
}

// Totals add up the folders: Found = Written + Skipped + Quarantined +
// Failed.
type Totals struct {
	Folders     int            `json:"folders"`
	Found       int            `json:"found"`
	Written     int            `json:"written"`
	Skipped     int            `json:"skipped"`
	Quarantined int            `json:"quarantined"`
	Failed      int            `json:"failed"`
	Incomplete  int            `json:"incomplete"`
	Undated     int            `json:"undated,omitempty"`
	Bytes       int64          `json:"bytes"`
	LostFlags   map[string]int `json:"lost_flags,omitempty"`
}

const maxErrors = 100

// Convert reads r to the end and writes every message of the selected
// mailboxes into opts.Out in opts.Format. Per-message problems (a message
// that cannot be read) are counted, logged with their position and do not
// stop the run; problems with the output (cannot create, disk full) end
// it. The report is returned also with an error, covering what was done.
// A cancelled ctx stops the run between messages; ctx.Err() is returned
// unwrapped.
func Convert(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !slices.Contains(Formats, opts.Format) {
		return nil, fmt.Errorf("convert: unknown output format %q (want mbox, maildir or eml)", opts.Format)
	}
	if opts.Out == "" {
		return nil, errors.New("convert: no output directory given")
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return nil, fmt.Errorf("convert: output directory %s: %w", opts.Out, err)
	}
	if err := checkSourceOut(opts.Source, out); err != nil {
		return nil, err
	}
	boxes, err := r.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range boxes {
		if b.Location != "" && formats.IsDir(b.Location) {
			if err := checkSourceOut(b.Location, out); err != nil {
				return nil, err
			}
		}
	}
	if err := prepareOut(out); err != nil {
		return nil, err
	}
	c := &converter{
		out:    out,
		opts:   opts,
		log:    log,
		report: &Report{Format: opts.Format, Out: opts.Out},
		byBox:  map[*formats.Mailbox]*FolderReport{},
		plan:   newPlan(opts.Format, boxes),
	}
	switch opts.Format {
	case FormatMbox:
		c.w = newMboxWriter(out)
	case FormatMaildir:
		c.w = newMaildirWriter(out)
	default:
		c.w = newEMLWriter(out)
	}
	err = c.run(ctx, r, boxes)
	if cerr := c.w.close(err != nil); err == nil && cerr != nil {
		err = cerr
	}
	c.finishReport()
	return c.report, err
}

// checkSourceOut refuses an output directory inside the source or a
// source inside the output directory.
func checkSourceOut(source, out string) error {
	if source == "" {
		return nil
	}
	src, err := filepath.Abs(source)
	if err != nil {
		return fmt.Errorf("convert: source %s: %w", source, err)
	}
	if r, err := filepath.EvalSymlinks(src); err == nil {
		src = r
	}
	o := out
	if r, err := evalExisting(out); err == nil {
		o = r
	}
	if within(o, src) || within(src, o) {
		return fmt.Errorf("convert: output directory %s and source %s overlap; choose an output outside the source", out, source)
	}
	return nil
}

// evalExisting resolves symbolic links in the longest existing prefix of p.
func evalExisting(p string) (string, error) {
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", os.ErrNotExist
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// prepareOut creates out, or checks that it is an empty directory.
func prepareOut(out string) error {
	fi, err := os.Lstat(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(out, 0o700); err != nil {
			return fmt.Errorf("convert: create output directory: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("convert: output directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("convert: %s: %w (it is a file)", out, ErrOutNotEmpty)
	}
	d, err := os.Open(out)
	if err != nil {
		return fmt.Errorf("convert: output directory: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(1)
	if err != nil && err != io.EOF {
		return fmt.Errorf("convert: read output directory: %w", err)
	}
	if len(names) > 0 {
		return fmt.Errorf("convert: %s: %w (it holds %q); the output must be empty or not exist", out, ErrOutNotEmpty, names[0])
	}
	return nil
}

// writer is one output format.
type writer interface {
	// mkdir creates a folder (empty), and its parents as the format needs.
	mkdir(n *node) error
	// write stores one message; src has its header parsed. It returns a
	// *readError when the source failed (the message is not written) and
	// any other error when the output failed.
	write(n *node, m *formats.Message, src *source, fr *FolderReport) error
	// close finishes every folder (renames complete temporary files); on
	// failed runs too.
	close(failed bool) error
}

// readError marks a failure of the source, as opposed to the output.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type converter struct {
	out  string // Out, absolute
	opts Options
	// notConverted names the files of NotConvertedDir.
	notConverted *namer
	log          *slog.Logger
	report       *Report
	byBox        map[*formats.Mailbox]*FolderReport
	plan         *plan
	w            writer
	src          source
}

func (c *converter) run(ctx context.Context, r formats.Reader, boxes []*formats.Mailbox) error {
	for _, b := range boxes {
		if c.opts.Select.Selected(b) {
			if _, err := c.folder(b); err != nil {
				return err
			}
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := r.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if m.Mailbox == nil || !c.opts.Select.Selected(m.Mailbox) {
			continue
		}
		fr, err := c.folder(m.Mailbox)
		if err != nil {
			return err
		}
		if err := c.message(fr, m); err != nil {
			return err
		}
		if c.opts.OnMessage != nil {
			c.opts.OnMessage(m)
		}
	}
}

// folder returns the report of a mailbox, creating the folder on first
// sight (also for a mailbox the reader did not list).
func (c *converter) folder(b *formats.Mailbox) (*FolderReport, error) {
	if fr := c.byBox[b]; fr != nil {
		return fr, nil
	}
	n := c.plan.place(b)
	fr := &FolderReport{
		Source:   b.DisplayPath(),
		Path:     slices.Clone([]string(b.Path)),
		Names:    n.names(),
		Location: b.Location,
		Output:   filepath.ToSlash(n.rel),
		box:      b,
		node:     n,
	}
	c.byBox[b] = fr
	c.report.Folders = append(c.report.Folders, fr)
	if src := c.plan.sourceNames(b); !slices.Equal(src, fr.Names) {
		c.report.Renamed = append(c.report.Renamed, Rename{Source: src, Output: fr.Names})
		c.log.Info("folder renamed for the output", "source", strings.Join(src, "/"), "output", strings.Join(fr.Names, "/"), "path", fr.Output)
	}
	if err := c.w.mkdir(n); err != nil {
		return nil, fmt.Errorf("convert: create folder %s: %w", fr.Output, err)
	}
	return fr, nil
}

func (c *converter) message(fr *FolderReport, m *formats.Message) error {
	fr.Found++
	if m.Quarantine != "" {
		return c.quarantine(fr, m)
	}
	if m.Skip != "" {
		if fr.Skipped == nil {
			fr.Skipped = map[string]int{}
		}
		fr.Skipped[m.Skip]++
		return nil
	}
	fail := func(err error) { c.failed(fr, m, err) }
	if m.Open == nil {
		fail(errors.New("the reader gave no way to open the message"))
		return nil
	}
	if err := c.src.open(m); err != nil {
		fail(err)
		return nil
	}
	err := c.w.write(fr.node, m, &c.src, fr)
	c.src.close()
	var re *readError
	switch {
	case errors.As(err, &re):
		fail(re.err)
		return nil
	case err != nil:
		return &formats.MessageError{Pos: m.Pos, Op: "write " + fr.Output, Err: err}
	}
	fr.Written++
	if m.Incomplete != "" {
		fr.Incomplete++
	}
	if c.src.undated {
		fr.Undated++
	}
	return nil
}

// failed counts a message that could not be converted and logs why.
func (c *converter) failed(fr *FolderReport, m *formats.Message, err error) {
	fr.Failed++
	merr := &formats.MessageError{Pos: m.Pos, Op: "convert", Err: err}
	if len(fr.Errors) < maxErrors {
		fr.Errors = append(fr.Errors, merr.Error())
	}
	c.log.Warn("message not converted", "error", merr)
}

func (c *converter) finishReport() {
	t := &c.report.Totals
	lostEML := 0
	for _, fr := range c.report.Folders {
		t.Folders++
		t.Found += fr.Found
		t.Written += fr.Written
		t.Skipped += fr.SkippedTotal()
		t.Quarantined += fr.QuarantinedTotal()
		t.Failed += fr.Failed
		t.Incomplete += fr.Incomplete
		t.Undated += fr.Undated
		t.Bytes += fr.Bytes
		for k, v := range fr.LostFlags {
			if t.LostFlags == nil {
				t.LostFlags = map[string]int{}
			}
			t.LostFlags[k] += v
			lostEML += v
		}
	}
	switch {
	case c.opts.Format == FormatEML && lostEML > 0:
		c.report.Notes = append(c.report.Notes, "EML files keep no flags or keywords (read, replied, flagged, tags): those of the source are not in the output (see lost_flags)")
	case c.opts.Format == FormatMaildir && t.LostFlags != nil:
		c.report.Notes = append(c.report.Notes, "a Maildir folder holds at most 26 keywords (dovecot-keywords letters a-z): the others are not in the output (see lost_flags)")
	case c.opts.Format == FormatMbox && t.LostFlags != nil:
		c.report.Notes = append(c.report.Notes, "Thunderbird's mbox headers have no place for some flags (\\Draft): see lost_flags")
	}
	if t.Quarantined > 0 {
		c.report.Notes = append(c.report.Notes, fmt.Sprintf("%d item(s) of the source are not messages (such as text before the first From_ line of an mbox file): they were not converted but kept as they are in %s/ (see not_converted)", t.Quarantined, NotConvertedDir))
	}
	if t.Undated > 0 {
		c.report.Notes = append(c.report.Notes, fmt.Sprintf("%d messages had no date at all and were written with 1970-01-01 00:00:00 UTC", t.Undated))
	}
}

func addLost(fr *FolderReport, flag string) {
	if fr.LostFlags == nil {
		fr.LostFlags = map[string]int{}
	}
	fr.LostFlags[flag]++
}
