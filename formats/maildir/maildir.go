// Package maildir reads Maildir stores (docs/maildir.md) as a formats.Reader:
// a single maildir, Maildir++ (the root is INBOX, ".Parent.Child"
// directories are its subfolders) and directory trees of maildirs
// (Dovecot LAYOUT=fs, mbsync "SubFolders Verbatim", notmuch), also mixed.
//
// It reads cur/ and new/ itself and never writes, renames or touches
// anything under the source. go-maildir v0.6.0 does not fit: its Walk
// reads only cur/, Unseen renames files from new/ into cur/,
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
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/internal/mutf7"
)

// SkipUnreadable is the reason given for a message file that could not be
// read (the warning says why).
const SkipUnreadable = "file could not be read"

// maxDepth bounds the directory walk; symbolic links are never followed
// (to message files neither).
const maxDepth = 32

// ErrNoMaildir is returned by Open when the source holds no maildir.
var ErrNoMaildir = errors.New("no maildir (a directory with cur/ or new/) found")

// Reader reads one maildir store. It is not safe for concurrent use.
type Reader struct {
	root    string
	opts    formats.Options
	folders []*folder
	boxes   []*formats.Mailbox
	fi, mi  int
	ld      *formats.Loader
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
	r.ld = formats.NewLoader(opts.TempDir, opts.MemLimit)
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
			if formats.IsDir(filepath.Join(dir, name)) {
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
	if d, ok := mutf7.Decode(s); ok {
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
	m.Size = r.ld.Spool().Size()
	m.Open = r.ld.Spool().Open
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

// load reads the file into the spool with CRLF line endings. It returns
// the parsed header, or nil (and no error) when the file does not start
// with a header field.
func (r *Reader) load(path string) (formats.Header, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	res, err := r.ld.Load(fh, formats.LoadOptions{Check: func(head []byte) string {
		if !formats.StartsWithHeader(head) {
			return formats.SkipNotMail
		}
		return ""
	}})
	if err != nil || res.Skip != "" {
		return nil, err
	}
	return res.Header, nil
}

// Close releases the spool. Next fails afterwards.
func (r *Reader) Close() error {
	r.closed = true
	if r.ld != nil {
		return r.ld.Close()
	}
	return nil
}
