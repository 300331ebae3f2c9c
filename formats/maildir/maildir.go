// Package maildir reads Maildir stores (FORMATS.md 5) as a formats.Reader:
// a single maildir, Maildir++ (the root is INBOX, ".Parent.Child"
// directories are its subfolders) and directory trees of maildirs
// (Dovecot LAYOUT=fs, mbsync "SubFolders Verbatim", notmuch), also mixed.
//
// It reads cur/ and new/ itself and never writes, renames or touches
// anything under the source. go-maildir v0.6.0 does not fit (FORMATS.md
// 7.2): its Walk reads only cur/, Unseen renames files from new/ into cur/,
// it rejects names without ":2," and it knows only the separator of the
// platform it was built on. Only its Flag constants are used here, as the
// keys of the flag table (TestGoMaildirDoesNotFit shows why the rest is not).
//
// Choices a careful user should know:
//   - Flags come from the info part of the file name (":2,", ";2," or
//     "!2,"): S, R, F, D, P map to \Seen, \Answered, \Flagged, \Draft,
//     $Forwarded; T (trashed) messages are reported skipped
//     (formats.SkipDeleted); lower-case letters are Dovecot keywords looked
//     up in the maildir's dovecot-keywords file; letters that map to nothing
//     are warned about once per folder.
//   - The received date is the file's modification time, as Dovecot uses it.
//     When all files of a folder have modification times within a few
//     minutes of each other although their names or headers say they
//     arrived over a longer time, the maildir was copied without keeping
//     times: the date then comes from the file name's leading seconds, else
//     the top-most Received: header, else Date:, with one warning per folder.
//   - Files lying beside cur/ and new/ whose names carry a ":2," info part
//     (the notmuch test corpus has such files) are read as messages of that
//     folder, with one warning per folder: notmuch indexes them and a user
//     who keeps them expects them; Dovecot would not show them. Other files
//     there (dovecot-uidlist, dovecot-keywords, maildirfolder, indexes) are
//     metadata and ignored. tmp/ and dot-files are never read. Symbolic
//     links are never followed, to message files neither: in a copied or
//     hostile tree a link may point at any file of this computer.
//   - A file in cur/ or new/ that is empty is skipped as formats.SkipEmpty;
//     one that does not start with a header field is skipped as
//     formats.SkipNotMail; one that cannot be read is skipped as
//     SkipUnreadable with a warning saying why. All are counted.
//   - A live server may rename files while we read. new/ is listed before
//     cur/ and a base name found in both is read once, from cur/; a file
//     gone since listing is looked up again by its base name.
package maildir

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"mailferry/formats"
)

// SkipUnreadable is the reason given for a message file that could not be
// read (the warning says why).
const SkipUnreadable = "file could not be read"

// flattenWindow is how close all modification times of a folder must lie
// to count as "copied without keeping times" (FORMATS.md 5).
const flattenWindow = 5 * time.Minute

// maxDepth bounds the directory walk; symbolic links are never followed
// (to message files neither).
const maxDepth = 32

// headPeek is how much of a file is looked at for its header.
const headPeek = 64 << 10

// ErrNoMaildir is returned by Open when the source holds no maildir.
var ErrNoMaildir = errors.New("no maildir (a directory with cur/ or new/) found")

// Reader reads one maildir store. It is not safe for concurrent use.
type Reader struct {
	root    string
	opts    formats.Options
	folders []*folder
	boxes   []*formats.Mailbox
	fi, mi  int
	spool   *formats.Spool
	crlf    *formats.CRLFWriter
	br      *bufio.Reader
	copyBuf []byte
	closed  bool
}

type folder struct {
	box       *formats.Mailbox
	dir       string
	files     []file
	kw        *Keywords
	flattened bool
	warned    map[string]bool // warnings given once per folder
}

type file struct {
	path  string
	name  string
	sub   string // "cur", "new" or "" (beside them)
	mtime time.Time
	size  int64
	moved bool // relocated once after a rename
}

// Open reads the store at source, a directory. It walks the directory tree
// and lists every message file (without reading them) so that Mailboxes is
// complete and the date decision can be made per folder. It fails when
// source is not a readable directory, holds no maildir, or a folder
// directory cannot be listed.
func Open(source string, opts formats.Options) (*Reader, error) {
	st, err := os.Stat(source)
	if err != nil {
		return nil, fmt.Errorf("open maildir: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("open maildir %s: not a directory", source)
	}
	r := &Reader{root: source, opts: opts}
	if err := r.walk(source, nil, 0); err != nil {
		return nil, err
	}
	if len(r.folders) == 0 {
		if b := filepath.Base(source); b == "cur" || b == "new" || b == "tmp" {
			return nil, fmt.Errorf("open maildir %s: %w; give the directory that holds cur/ and new/", source, ErrNoMaildir)
		}
		return nil, fmt.Errorf("open maildir %s: %w", source, ErrNoMaildir)
	}
	for _, f := range r.folders {
		if err := r.list(f); err != nil {
			return nil, err
		}
		r.boxes = append(r.boxes, f.box)
	}
	r.decideDates()
	r.spool = formats.NewSpool(opts.TempDir, opts.MemLimit)
	r.crlf = formats.NewCRLFWriter(r.spool)
	r.br = bufio.NewReaderSize(nil, headPeek)
	r.copyBuf = make([]byte, 32<<10)
	return r, nil
}

// Detect reports whether path looks like a maildir store: a directory with
// cur/ and new/, or with one of them holding a file named like a maildir
// message (with a ":2," info part, which Thunderbird's maildir store does
// not use), or with such a directory as a ".Name" (Maildir++) or plain
// child.
func Detect(path string) bool {
	if isMaildir(path, true) {
		return true
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "cur" && e.Name() != "new" && e.Name() != "tmp" &&
			isMaildir(filepath.Join(path, e.Name()), true) {
			return true
		}
	}
	return false
}

// isMaildir reports whether dir has cur/ or new/. With strict, it needs
// both, or one holding a file whose name has an info part.
func isMaildir(dir string, strict bool) bool {
	cur := isDir(filepath.Join(dir, "cur"))
	nw := isDir(filepath.Join(dir, "new"))
	if !strict || (cur && nw) {
		return cur || nw
	}
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if _, _, ok := ParseName(e.Name()); ok && !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() {
				return true
			}
		}
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// walk finds the folders in dir (at path, nil for the root) and below.
func (r *Reader) walk(dir string, path formats.Folder, depth int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read maildir directory: %w", err)
	}
	if hasMaildirSubdirs(entries) {
		p := path
		if depth == 0 {
			p = formats.Folder{"INBOX"} // the root of Maildir++ and LAYOUT=fs is INBOX
		}
		r.addFolder(dir, p)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == "cur" || name == "new" || name == "tmp":
			continue
		case e.Type()&fs.ModeSymlink != 0:
			if isDirFollow(filepath.Join(dir, name)) {
				r.opts.Warnf(formats.Pos{File: filepath.Join(dir, name)}, "symbolic link to a directory not followed")
			}
			continue
		case !e.IsDir():
			continue
		}
		sub := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			// Maildir++: ".Parent.Child" holds a folder; other dot
			// directories (.notmuch, .git) are not mail.
			if len(name) > 1 && isMaildir(sub, false) {
				r.addFolder(sub, slices.Concat(path, r.plusPath(sub, name[1:])))
			}
			continue
		}
		if depth+1 >= maxDepth {
			r.opts.Warnf(formats.Pos{File: sub}, "directory nested deeper than %d levels not read", maxDepth)
			continue
		}
		if err := r.walk(sub, append(slices.Clone(path), decodeName(name)), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isDirFollow(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func hasMaildirSubdirs(entries []os.DirEntry) bool {
	for _, e := range entries {
		if e.IsDir() && (e.Name() == "cur" || e.Name() == "new") {
			return true
		}
	}
	return false
}

// plusPath splits a Maildir++ name (without its leading dot) into folder
// names, decoding each.
func (r *Reader) plusPath(dir, name string) formats.Folder {
	parts := strings.Split(name, ".")
	for _, p := range parts {
		if p == "" {
			r.opts.Warnf(formats.Pos{File: dir}, "Maildir++ name has an empty level; kept as one folder named %q", name)
			return formats.Folder{decodeName(name)}
		}
	}
	out := make(formats.Folder, len(parts))
	for i, p := range parts {
		out[i] = decodeName(p)
	}
	return out
}

// decodeName turns one on-disk folder name into the real name: Dovecot's
// listescape escapes ("\2e" for '.') and then modified UTF-7.
func decodeName(s string) string {
	if strings.Contains(s, `\`) {
		for esc, c := range map[string]string{`\2e`: ".", `\2E`: ".", `\2f`: "/", `\2F`: "/", `\7e`: "~", `\7E`: "~"} {
			s = strings.ReplaceAll(s, esc, c)
		}
		s = strings.NewReplacer(`\5c`, `\`, `\5C`, `\`).Replace(s)
	}
	if d, ok := DecodeMUTF7(s); ok {
		return d
	}
	return s
}

func (r *Reader) addFolder(dir string, path formats.Folder) {
	box := &formats.Mailbox{Path: path, Special: special(path), Store: "maildir", Location: dir}
	r.folders = append(r.folders, &folder{box: box, dir: dir, warned: map[string]bool{}})
}

// special derives a folder's role from its name: only top-level folders
// (or children of INBOX, the Courier namespace) count.
func special(path formats.Folder) formats.Special {
	if len(path) == 2 && strings.EqualFold(path[0], "INBOX") {
		path = path[1:]
	}
	if len(path) != 1 {
		return formats.SpecialNone
	}
	switch strings.ToLower(path[0]) {
	case "inbox":
		return formats.SpecialInbox
	case "sent", "sent items", "sent messages", "sent mail":
		return formats.SpecialSent
	case "drafts", "draft":
		return formats.SpecialDrafts
	case "trash", "deleted items", "deleted messages", "bin":
		return formats.SpecialTrash
	case "junk", "spam", "junk e-mail", "junk email":
		return formats.SpecialJunk
	case "archive", "archives":
		return formats.SpecialArchive
	case "templates":
		return formats.SpecialTemplates
	}
	return formats.SpecialNone
}

// list finds the message files of f and reads its dovecot-keywords.
func (r *Reader) list(f *folder) error {
	if b, err := os.Open(filepath.Join(f.dir, "dovecot-keywords")); err == nil {
		kw, problems, err := ParseKeywords(b)
		b.Close()
		pos := formats.Pos{File: filepath.Join(f.dir, "dovecot-keywords")}
		for _, p := range problems {
			r.opts.Warnf(pos, "%s", p)
		}
		if err != nil {
			r.opts.Warnf(pos, "%v", err)
		}
		f.kw = &kw
	}
	loose := 0
	// new/ before cur/: a live server only moves files from new/ to cur/,
	// so a file moved while we list is seen twice (and read once, below),
	// never missed.
	for _, sub := range []string{"new", "cur", ""} {
		dir := filepath.Join(f.dir, sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			if sub != "" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("list maildir folder %s: %w", f.box.Path, err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") || (e.IsDir() && sub == "") {
				continue
			}
			if sub == "" {
				if _, _, ok := ParseName(name); !ok {
					continue // metadata: dovecot-uidlist, maildirfolder, ...
				}
			}
			p := filepath.Join(dir, name)
			if e.Type()&fs.ModeSymlink != 0 {
				// Never followed: a link in a copied or hostile tree may
				// point at any file of this computer.
				r.opts.Warnf(formats.Pos{File: p}, "symbolic link not followed")
				continue
			}
			st, err := os.Lstat(p)
			if err != nil {
				r.opts.Warnf(formats.Pos{File: p}, "skipped: %v", err)
				continue
			}
			if !st.Mode().IsRegular() {
				r.opts.Warnf(formats.Pos{File: p}, "skipped: not a regular file")
				continue
			}
			if sub == "" {
				loose++
			}
			f.files = append(f.files, file{path: p, name: name, sub: sub, mtime: st.ModTime(), size: st.Size()})
		}
	}
	f.files = r.dropMoved(f, f.files)
	if loose > 0 {
		r.opts.Warnf(formats.Pos{File: f.dir}, "%d message file(s) lie outside cur/ and new/; reading them as messages of %s (notmuch indexes such files, Dovecot does not)", loose, f.box.Path)
	}
	return nil
}

// dropMoved removes the new/ entries whose base name is also in cur/: the
// same message, moved by a live server while we listed.
func (r *Reader) dropMoved(f *folder, files []file) []file {
	inCur := map[string]bool{}
	for _, fe := range files {
		if fe.sub == "cur" {
			base, _, _ := ParseName(fe.name)
			inCur[base] = true
		}
	}
	out := files[:0]
	for _, fe := range files {
		if base, _, _ := ParseName(fe.name); fe.sub == "new" && inCur[base] {
			r.opts.Warnf(formats.Pos{File: fe.path}, "also in cur/ (moved while listing %s); read once, from cur/", f.box.Path)
			continue
		}
		out = append(out, fe)
	}
	return out
}

// relocate finds a message file that disappeared since it was listed: a
// live server renames files when it moves them to cur/ or changes their
// flags, keeping the base name. It reports whether fe now names the file.
func relocate(f *folder, fe *file) bool {
	base, _, _ := ParseName(fe.name)
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(f.dir, sub))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if b, _, _ := ParseName(e.Name()); b == base && e.Name() != fe.name && !strings.HasPrefix(e.Name(), ".") {
				p := filepath.Join(f.dir, sub, e.Name())
				st, err := os.Lstat(p)
				if err != nil || !st.Mode().IsRegular() {
					continue
				}
				fe.path, fe.name, fe.sub, fe.mtime, fe.size = p, e.Name(), sub, st.ModTime(), st.Size()
				return true
			}
		}
	}
	return false
}

// Mailboxes returns every folder found, empty ones too, the root first.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.boxes, nil
}

// Next returns the next message, folder by folder (new/, then cur/, then
// files beside them, each in name order), or io.EOF. Skipped messages
// (deleted, empty, not mail, unreadable) come with Skip set and no Open.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed {
		return nil, errors.New("maildir: Next on a closed reader")
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
	base, letters, _ := ParseName(fe.name)
	flags, deleted, unknown := MapFlags(letters, f.kw)
	pos := formats.Pos{File: fe.path, Index: index}
	for _, c := range unknown {
		if key := "letter " + string(c); !f.warned[key] {
			f.warned[key] = true
			if c >= 'a' && c <= 'z' {
				r.opts.Warnf(pos, "keyword letter %q has no entry in dovecot-keywords; dropped (here and in other messages of %s)", c, f.box.Path)
			} else {
				r.opts.Warnf(pos, "unknown maildir flag %q; dropped (here and in other messages of %s)", c, f.box.Path)
			}
		}
	}
	m := &formats.Message{Mailbox: f.box, Flags: flags, Pos: pos}
	setMtime := func() {
		if plausible(fe.mtime) {
			m.Date, m.DateSource = fe.mtime, formats.DateFileMtime
		}
	}
	switch {
	case deleted:
		m.Skip = formats.SkipDeleted
		r.opts.ReportFile(fe.path, nil) // accounted for as a skipped message
		setMtime()
		return m
	case fe.size == 0:
		m.Skip = formats.SkipEmpty
		setMtime()
		return m
	}
	h, err := r.load(fe.path)
	if errors.Is(err, fs.ErrNotExist) && !fe.moved && relocate(f, fe) {
		fe.moved = true
		r.opts.Warnf(pos, "renamed while reading (a live maildir?); reading %s", fe.name)
		return r.message(f, fe, index)
	}
	if err != nil || h != nil {
		// A file found not to be mail is left to the caller's accounting,
		// which says what it is.
		r.opts.ReportFile(fe.path, err)
	}
	switch {
	case err != nil:
		r.opts.Warnf(pos, "read message: %v", err)
		m.Skip = SkipUnreadable
		setMtime()
		return m
	case h == nil:
		m.Skip = formats.SkipNotMail
		setMtime()
		return m
	}
	m.Size = r.spool.Size()
	m.Open = r.spool.Open
	if !f.flattened && plausible(fe.mtime) {
		m.Date, m.DateSource = fe.mtime, formats.DateFileMtime
		return m
	}
	if !f.flattened && !f.warned["mtime"] {
		f.warned["mtime"] = true
		r.opts.Warnf(pos, "implausible file modification time %v; using the file name or headers for the date (here and in other such messages of %s)", fe.mtime, f.box.Path)
	}
	m.Date, m.DateSource = altDate(base, h)
	if m.DateSource == formats.DateUnknown {
		setMtime()
	}
	return m
}

// altDate is the received date when the modification time is useless:
// the file name's seconds, else the top-most Received:, else Date:.
func altDate(base string, h formats.Header) (time.Time, formats.DateSource) {
	if t, ok := NameTime(base); ok {
		return t, formats.DateFileName
	}
	if t, ok := h.ReceivedDate(); ok && plausible(t) {
		return t, formats.DateReceived
	}
	if t, ok := h.Date(); ok && plausible(t) {
		return t, formats.DateHeader
	}
	return time.Time{}, formats.DateUnknown
}

// plausible rejects times no mail can have been received at: before 1990
// (an epoch-zero mtime from a broken copy) or more than a day ahead.
func plausible(t time.Time) bool {
	return !t.Before(time.Unix(minNameTime, 0)) && !t.After(time.Now().Add(24*time.Hour))
}

// load reads the file into the spool with CRLF line endings. It returns
// the parsed header, or nil (and no error) when the file does not start
// with a header field.
func (r *Reader) load(path string) (formats.Header, error) {
	if err := r.spool.Reset(); err != nil {
		return nil, fmt.Errorf("reset spool: %w", err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r.br.Reset(fh)
	head, err := r.br.Peek(headPeek)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if !startsWithHeader(head) {
		return nil, nil
	}
	h := formats.ParseHeader(head)
	// A header larger than the peek (a huge To:) is parsed from the spool
	// below; head is only valid until the copy.
	long := len(head) == headPeek && formats.HeaderEnd(head) < 0
	r.crlf.Reset(r.spool)
	// Plain wrappers so that CopyBuffer uses the reader's buffer instead of
	// allocating one per message (bufio.Reader.WriteTo would).
	if _, err := io.CopyBuffer(struct{ io.Writer }{r.crlf}, struct{ io.Reader }{r.br}, r.copyBuf); err != nil {
		return nil, err
	}
	if err := r.crlf.Close(); err != nil {
		return nil, err
	}
	if long {
		h = longHeader(r.spool)
	}
	return h, nil
}

// readHead reads the start of a message up to the end of its header (at
// most maxHeader bytes).
func readHead(r io.Reader) []byte {
	var b []byte
	chunk := 16 << 10
	for len(b) < maxHeader {
		n := len(b)
		b = append(b, make([]byte, chunk)...)
		m, err := io.ReadFull(r, b[n:])
		b = b[:n+m]
		if err != nil || formats.HeaderEnd(b) >= 0 {
			break
		}
		chunk *= 2
	}
	return b
}

// maxHeader bounds how much of a message is searched for its header.
const maxHeader = 1 << 20

// longHeader parses the header of the message in s, up to maxHeader bytes.
func longHeader(s *formats.Spool) formats.Header {
	rc, err := s.Open()
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, maxHeader))
	return formats.ParseHeader(b)
}

// startsWithHeader reports whether b begins with a header field: the
// least a file must have to be a message (the stalwart names corpus holds
// "b\n" stubs, which are not).
func startsWithHeader(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	return len(line) > 0 && line[0] != ' ' && line[0] != '\t' && formats.IsHeaderLine(line)
}

// Close releases the spool. Next fails afterwards.
func (r *Reader) Close() error {
	r.closed = true
	if r.spool != nil {
		return r.spool.Close()
	}
	return nil
}

// decideDates marks the folders whose modification times were flattened
// by a copy: at least two files, all modification times within
// flattenWindow, but the names' or headers' dates spread wider. Folders
// that cannot tell by themselves (a single file, or files that did arrive
// within minutes) count as flattened when all their times lie within a
// flattened folder's cluster: the same copy made them. One
// warning per flattened folder says so.
func (r *Reader) decideDates() {
	type span struct{ lo, hi time.Time }
	var clusters []span
	for _, f := range r.folders {
		if len(f.files) < 2 {
			continue
		}
		lo, hi := mtimeSpan(f.files)
		if hi.Sub(lo) > flattenWindow {
			continue
		}
		var alts []time.Time
		for _, fe := range f.files {
			if t, ok := r.peekAltDate(fe); ok {
				alts = append(alts, t)
			}
		}
		if len(alts) < 2 {
			continue
		}
		sort.Slice(alts, func(i, j int) bool { return alts[i].Before(alts[j]) })
		if alts[len(alts)-1].Sub(alts[0]) <= flattenWindow {
			continue // they really did arrive within minutes
		}
		f.flattened = true
		clusters = append(clusters, span{lo, hi})
	}
	for _, f := range r.folders {
		if !f.flattened && len(f.files) > 0 {
			lo, hi := mtimeSpan(f.files)
			for _, c := range clusters {
				if !lo.Before(c.lo.Add(-flattenWindow)) && !hi.After(c.hi.Add(flattenWindow)) {
					f.flattened = true
					break
				}
			}
		}
		if f.flattened {
			lo, hi := mtimeSpan(f.files)
			r.opts.Warnf(formats.Pos{File: f.dir}, "the modification times of the %d file(s) of %s lie between %s and %s, though the messages arrived over a longer time: the maildir was copied without keeping times; using the time in the file name, else the Received:/Date: header, as the received date",
				len(f.files), f.box.Path, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
		}
	}
}

func mtimeSpan(files []file) (lo, hi time.Time) {
	for i, fe := range files {
		if i == 0 || fe.mtime.Before(lo) {
			lo = fe.mtime
		}
		if i == 0 || fe.mtime.After(hi) {
			hi = fe.mtime
		}
	}
	return lo, hi
}

// peekAltDate is altDate for the date decision, reading only the header
// when the name has no time.
func (r *Reader) peekAltDate(fe file) (time.Time, bool) {
	base, _, _ := ParseName(fe.name)
	if t, ok := NameTime(base); ok {
		return t, true
	}
	fh, err := os.Open(fe.path)
	if err != nil {
		return time.Time{}, false
	}
	defer fh.Close()
	t, src := altDate(base, formats.ParseHeader(readHead(fh)))
	return t, src != formats.DateUnknown
}
