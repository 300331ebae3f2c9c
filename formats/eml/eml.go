// Package eml reads folders of .eml files (docs/eml.md) as a
// formats.Reader: a directory tree in which every directory is a folder
// and every .eml file (any case of the extension) one message. It only
// reads the source.
//
// Choices a careful user should know:
//   - Folder paths are the directories relative to the root. The root's own
//     messages go into a folder named after the root directory ("Export"
//     for Export/*.eml), so that pointing at a single folder of .eml files
//     keeps its name; the root is only a mailbox when it holds files.
//     Every subdirectory is a mailbox, empty ones too (exporters write one
//     directory per folder). MailMate's "Name.mailbox" directories are
//     called "Name". Dot-files and dot-directories are ignored. Symbolic
//     links are never followed, to files neither: in a copied or hostile
//     tree a link may point at any file of this computer.
//   - EML files carry no flag state. They are nearly always archives the
//     user has read (exports, saved messages), so every message is given
//     \Seen by default (docs/eml.md, Flags); Config.Unread gives none.
//   - Each file is cleaned (docs/eml.md, Cleaning): a leading UTF-8 BOM, a
//     leading mbox "From " line (some exporters write one; its date is
//     kept as a fallback) and trailing NUL bytes are removed, and line
//     endings become CRLF. Nothing else is changed.
//   - The received date is the Date: header, else the top-most Received:
//     header, else the From_ line's date, else the file's modification
//     time. DateSource says which.
//   - Outlook .msg files among the .eml files (people drag messages out
//     of Outlook into the same folder) are read too, through msg.Convert,
//     as package msg reads them: with the flags, keywords and received
//     date of the message itself (not the \Seen given to .eml files),
//     Incomplete when the conversion left content out; Outlook items that
//     are not mail (contacts, appointments) are skipped as
//     formats.SkipNotMail, damaged ones as SkipUnreadable. A .msg file
//     that holds an Internet message is read as one, like a file without
//     extension below.
//   - Files that are not imported are still reported, as skipped messages,
//     so that the counts add up: empty files (formats.SkipEmpty), .eml
//     files that do not start with a header field (formats.SkipNotMail),
//     and every other file (SkipNotEML). A file without any extension that
//     plainly is a message (a header block with a From:, Date:, Subject:,
//     Message-ID: or Received: field, then a blank line) is read as one,
//     as exports and MH-style folders name them that way. Thumbs.db and desktop.ini are
//     ignored.
//   - MH folders (nmh, Sylpheed, Claws Mail, Evolution: message files
//     named 1, 2, 3, ...) are read in the order of their numbers, with the
//     flags of the folder's .mh_sequences when it has one: a message in
//     the "unseen" sequence is unread, every other one read; "flagged"
//     gives \Flagged and "replied" \Answered. Files named ",3" or "#3"
//     are messages deleted with nmh's rmm: skipped as formats.SkipDeleted. A file that cannot be read is skipped as SkipUnreadable
//     with a warning saying why.
package eml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/mbox"
	"mailferry/formats/msg"
	"mailferry/formats/msg/cfb"
)

// Reasons for skipping files, besides formats.SkipEmpty and
// formats.SkipNotMail.
const (
	SkipNotEML     = "not an .eml file"
	SkipUnreadable = "file could not be read"
)

// maxDepth bounds the directory walk; symbolic links are never followed
// (to files neither: a link may point anywhere on this computer).
const maxDepth = 32

// Config holds the options of OpenWith.
type Config struct {
	formats.Options
	// Unread, when true, gives .eml messages no flags; by default they
	// get \Seen (see the package comment). Outlook .msg files keep the
	// flags they carry either way.
	Unread bool
}

// Reader reads one EML tree. It is not safe for concurrent use.
type Reader struct {
	cfg     Config
	folders []*folder
	boxes   []*formats.Mailbox
	fi, mi  int
	ld      *loader
	closed  bool
}

type folder struct {
	box   *formats.Mailbox
	files []file
	// mh holds the flags of an MH folder's numbered messages, from its
	// .mh_sequences; nil for other folders.
	mh *mhFlags
	// isMH is set for a folder with numbered message files or
	// .mh_sequences: its ",N" and "#N" files are messages deleted with
	// nmh's rmm.
	isMH bool
}

type kind int

const (
	kindEML   kind = iota // *.eml
	kindBare              // no extension: read when it is plainly mail
	kindMsg               // *.msg
	kindOther             // anything else
)

type file struct {
	path  string
	kind  kind
	size  int64
	mtime time.Time
}

// Open reads the EML tree at source (a directory, or a single .eml file)
// with the default flags. See OpenWith.
func Open(source string, opts formats.Options) (*Reader, error) {
	return OpenWith(source, Config{Options: opts})
}

// OpenWith reads the EML tree at source. It lists every folder and file
// up front (without reading the files), so Mailboxes is complete. It fails
// when source cannot be read or a directory in it cannot be listed.
func OpenWith(source string, cfg Config) (*Reader, error) {
	st, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("open eml folder: %w", err)
	}
	r := &Reader{cfg: cfg, ld: newLoader(cfg.TempDir, cfg.MemLimit)}
	if !st.IsDir() {
		// A single file: a folder named after its directory.
		abs, err := filepath.Abs(source)
		if err != nil {
			return nil, fmt.Errorf("open eml file: %w", err)
		}
		dir := filepath.Dir(abs)
		f := r.addFolder(formats.Folder{folderName(filepath.Base(dir))}, dir)
		f.files = append(f.files, file{path: source, kind: kindOf(source), size: st.Size(), mtime: st.ModTime()})
	} else if err := r.walk(source); err != nil {
		return nil, err
	}
	for _, f := range r.folders {
		r.boxes = append(r.boxes, f.box)
	}
	return r, nil
}

func (r *Reader) addFolder(path formats.Folder, dir string) *folder {
	f := &folder{box: &formats.Mailbox{Path: path, Special: formats.SpecialByName(path), Store: "eml", Location: dir}}
	r.folders = append(r.folders, f)
	return f
}

// walk lists the tree below root into folders (formats.ListTree).
func (r *Reader) walk(root string) error {
	dirs, err := formats.ListTree(root, formats.TreeOptions{MaxDepth: maxDepth, Ignore: ignored, FolderName: folderName, Warn: r.cfg.Warnf})
	if err != nil {
		return fmt.Errorf("read eml folder: %w", err)
	}
	for _, d := range dirs {
		f := r.addFolder(d.Path, d.Dir)
		for _, tf := range d.Files {
			f.files = append(f.files, file{path: tf.Path, kind: kindOf(filepath.Base(tf.Path)), size: tf.Size, mtime: tf.ModTime})
		}
		f.mh = readMHFlags(d.Dir)
		f.isMH = f.mh != nil || slices.ContainsFunc(f.files, func(fe file) bool {
			_, ok := mhNumber(filepath.Base(fe.path))
			return ok
		})
		if f.isMH {
			sortMH(f.files)
		}
	}
	return nil
}

// ignored names files that operating systems leave in folders, and the
// state nmh keeps at the top of its mail directory ("context": the
// current folder), which would otherwise make that directory a folder of
// its own. The file accounting still says what they are.
func ignored(name string) bool {
	switch strings.ToLower(name) {
	case "thumbs.db", "desktop.ini", "ehthumbs.db", "context":
		return true
	}
	return false
}

func folderName(dir string) string {
	if n, ok := strings.CutSuffix(dir, ".mailbox"); ok && n != "" {
		return n // MailMate (docs/eml.md, Who writes them)
	}
	return dir
}

func kindOf(name string) kind {
	switch ext := filepath.Ext(name); {
	case strings.EqualFold(ext, ".eml"):
		return kindEML
	case strings.EqualFold(ext, ".msg"):
		return kindMsg
	case ext == "":
		return kindBare
	}
	return kindOther
}

// Detect reports whether path is an .eml file that starts like a message,
// or a directory with such a file within a few levels. Files in
// directories named cur, new or tmp do not count: those are maildirs
// (Thunderbird's maildir store names its files *.eml).
func Detect(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return kindOf(path) == kindEML && fileLooksLikeMail(path)
	}
	notMaildir := func(name string) bool { return name != "cur" && name != "new" && name != "tmp" }
	return formats.FindInTree(path, 3, 2000, notMaildir, func(p string) bool {
		return kindOf(p) == kindEML && fileLooksLikeMail(p) || IsMHMessage(p)
	})
}

func fileLooksLikeMail(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = bytes.TrimPrefix(head[:n], []byte{0xEF, 0xBB, 0xBF}) // a UTF-8 byte order mark
	if line, ok := formats.LeadingFromLine(head); ok {
		head = head[len(line):]
	}
	return formats.StartsWithHeader(head)
}

// Mailboxes returns every folder, empty ones too, in walk order.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.boxes, nil
}

// Next returns the next message, folder by folder in name order, or
// io.EOF. Skipped files come with Skip set and no Open.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed {
		return nil, errors.New("eml: Next on a closed reader")
	}
	for r.fi < len(r.folders) {
		f := r.folders[r.fi]
		if r.mi >= len(f.files) {
			r.fi++
			r.mi = 0
			continue
		}
		r.mi++
		return r.message(f, &f.files[r.mi-1], r.mi), nil
	}
	return nil, io.EOF
}

func (r *Reader) message(f *folder, fe *file, index int) *formats.Message {
	m := &formats.Message{Mailbox: f.box, Pos: formats.Pos{File: fe.path, Index: index}}
	switch {
	case f.isMH && mhDeleted(filepath.Base(fe.path)):
		m.Skip = formats.SkipDeleted
		r.cfg.ReportFile(fe.path, nil) // accounted for as a skipped message
		return m
	case fe.kind == kindOther:
		m.Skip = SkipNotEML
		return m
	case fe.size == 0:
		m.Skip = formats.SkipEmpty
		return m
	case fe.kind == kindMsg && r.outlookFile(m, fe):
		return m
	}
	// Files without an extension, and .msg files holding an Internet
	// message (some programs save one under that name), must plainly be
	// a message.
	res, err := r.loadFile(fe.path, fe.kind != kindEML)
	switch {
	case err != nil:
		r.unreadable(m, err)
		return m
	case res.skip != "":
		// Files the loader found not to be mail are left to the caller's
		// accounting, which says what they are.
		m.Skip = res.skip
		if fe.kind != kindEML {
			m.Skip = SkipNotEML
		}
		return m
	}
	r.cfg.ReportFile(fe.path, nil)
	if res.nuls > 0 {
		r.cfg.Warnf(m.Pos, "removed %d trailing NUL bytes", res.nuls)
	}
	n, numbered := mhNumber(filepath.Base(fe.path))
	switch {
	case f.mh != nil && fe.kind == kindBare && numbered:
		m.Flags = f.mh.flags(n)
	case !r.cfg.Unread:
		m.Flags = []string{`\Seen`}
	}
	m.Size = r.ld.spool.Size()
	m.Open = r.ld.spool.Open
	m.Date, m.DateSource = receivedDate(res, fe.mtime)
	return m
}

// outlookFile reads an Outlook .msg file (a message dragged out of
// Outlook into the folder) into m through msg.Convert, with the flags,
// received date and notes of the message itself (msg.Info.Fill). It
// returns false when the file is not a compound file, to be read as an
// Internet message instead.
func (r *Reader) outlookFile(m *formats.Message, fe *file) bool {
	fh, err := os.Open(fe.path)
	if err != nil {
		r.unreadable(m, err)
		return true
	}
	defer fh.Close()
	var sig [8]byte
	if n, _ := io.ReadFull(fh, sig[:]); !cfb.IsCompoundFile(sig[:n]) {
		return false
	}
	if err := r.ld.spool.Reset(); err != nil {
		r.unreadable(m, err)
		return true
	}
	var w io.Writer = r.ld.spool
	var counted countWriter
	if r.cfg.SizesOnly {
		w = &counted
	}
	info, err := msg.Convert(fh, fe.size, w)
	if err != nil {
		// Most likely a damaged message: reported as a file not read.
		r.unreadable(m, &formats.MessageError{Pos: m.Pos, Op: "convert Outlook message", Err: err})
		return true
	}
	r.cfg.ReportFile(fe.path, nil)
	if info.NotMail {
		m.Skip = formats.SkipNotMail
		return true
	}
	info.Fill(m, fe.mtime, r.cfg.Options)
	m.Size, m.Open = r.ld.spool.Size(), r.ld.spool.Open
	if r.cfg.SizesOnly {
		m.Size = counted.n
		m.Open = func() (io.ReadCloser, error) { return nil, formats.ErrNoBytes }
	}
	return true
}

// unreadable skips m, whose file could not be read, and says why.
func (r *Reader) unreadable(m *formats.Message, err error) {
	r.cfg.ReportFile(m.Pos.File, err)
	r.cfg.Warnf(m.Pos, "read message: %v", err)
	m.Skip = SkipUnreadable
}

// countWriter counts bytes and discards them (Options.SizesOnly).
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// Reset starts the count over, so that a message written again without a
// damaged attachment (mapi.WriteMIMESalvaging) has the same size when
// only counted as when kept.
func (c *countWriter) Reset() error { c.n = 0; return nil }

func (r *Reader) loadFile(path string, strict bool) (loadResult, error) {
	fh, err := os.Open(path)
	if err != nil {
		return loadResult{}, err
	}
	defer fh.Close()
	return r.ld.load(fh, strict)
}

// receivedDate applies the fallback chain of the package comment.
func receivedDate(res loadResult, mtime time.Time) (time.Time, formats.DateSource) {
	if t, ok := res.header.Date(); ok && plausible(t) {
		return t, formats.DateHeader
	}
	if t, ok := res.header.ReceivedDate(); ok && plausible(t) {
		return t, formats.DateReceived
	}
	if !res.fromDate.IsZero() && plausible(res.fromDate) {
		return res.fromDate, formats.DateFromLine
	}
	if plausible(mtime) && mtime.Unix() > 0 {
		return mtime, formats.DateFileMtime
	}
	return time.Time{}, formats.DateUnknown
}

// plausible rejects dates in the future (a broken clock or header).
func plausible(t time.Time) bool { return !t.After(time.Now().Add(24 * time.Hour)) }

// Close releases the spool. Next fails afterwards.
func (r *Reader) Close() error {
	r.closed = true
	return r.ld.spool.Close()
}

// loader cleans one file's bytes into a spool, as the package comment
// says, with formats.Loader.
type loader struct {
	*formats.Loader
	spool *formats.Spool
}

func newLoader(tempDir string, memLimit int) *loader {
	l := formats.NewLoader(tempDir, memLimit)
	return &loader{Loader: l, spool: l.Spool()}
}

type loadResult struct {
	header   formats.Header
	fromDate time.Time
	nuls     int    // trailing NULs removed
	skip     string // why the file is not a message
}

// load reads src into the spool: without a leading BOM, a leading From_
// line and trailing NULs, with CRLF line endings. With strict (files
// without an extension), the file must plainly be a message (see
// plainlyMail).
func (l *loader) load(src io.Reader, strict bool) (loadResult, error) {
	res, err := l.Load(src, formats.LoadOptions{StripBOM: true, StripFromLine: true, TrimNULs: true,
		Check: func(head []byte) string {
			switch {
			case len(bytes.TrimRight(head, "\x00")) == 0:
				return formats.SkipEmpty
			case !formats.StartsWithHeader(head), strict && !plainlyMail(head):
				return formats.SkipNotMail
			}
			return ""
		}})
	out := loadResult{header: res.Header, nuls: res.NULs, skip: res.Skip}
	if res.FromLine != "" {
		// Older exports start with the mbox From_ line; its date is a fallback.
		if _, t, ok := mbox.ParseFromLine(res.FromLine, nil); ok {
			out.fromDate = t
		}
	}
	return out, err
}

// plainlyMail reports whether b holds a whole header block (ending in a
// blank line) with a field every message has.
func plainlyMail(b []byte) bool {
	if formats.HeaderEnd(b) < 0 {
		return false
	}
	h := formats.ParseHeader(b)
	for _, name := range []string{"From", "Date", "Subject", "Message-ID", "Received"} {
		if _, ok := h.Get(name); ok {
			return true
		}
	}
	return false
}
