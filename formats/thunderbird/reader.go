// Package thunderbird reads Thunderbird profiles (FORMATS.md section 1):
// it finds profiles and accounts (profiles.ini, installs.ini, prefs.js),
// walks the folder tree of each account (mbox + .msf + .sbd, or the maildir
// store), recovers real folder names where Thunderbird hashed them, and
// turns every message into the common stream with its IMAP flags and
// received date. Splitting mbox files is formats/mbox's job.
//
// Decisions, each with its reason:
//
//   - A Thunderbird root (profiles.ini) yields the profile Thunderbird
//     opens by default (the install default, else Default=1), with a
//     warning naming the others; Options.Profile picks another one and
//     Options.AllProfiles reads all of them. Most users have one real
//     profile and several stale ones from old installs.
//   - Messages with the Expunged bit are skipped (SkipDeleted); partial
//     POP3 downloads are yielded with Incomplete set; in ImapMail (an
//     offline cache, read best effort) IMAPDeleted messages are skipped.
//   - X-Mozilla-Status, X-Mozilla-Status2 and X-Mozilla-Keys are removed
//     from the bytes: their meaning travels as IMAP flags.
//   - The mbox is the source of messages; the .msf only enriches
//     (keywords that did not fit X-Mozilla-Keys, junk state, flags of
//     messages without X-Mozilla-Status), matched by byte offset.
//   - The received date is the top-most Received: header, then Date:, then
//     the From_ line (UTC when after 2023-11-15, when Thunderbird started
//     writing UTC, else Options.Location), then the file's mtime.
//   - Nothing under the source is ever written, renamed or locked.
package thunderbird

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/mbox"
)

// Options configure a Reader.
type Options struct {
	formats.Options
	// Profile selects a profile of a Thunderbird root by name
	// ("default-release") or directory name; "" means the default one.
	Profile string
	// AllProfiles reads every profile of a Thunderbird root; account names
	// are then prefixed with the profile name ("default: Local Folders").
	AllProfiles bool
	// SkipIMAPCache leaves out ImapMail/ (IMAP offline caches).
	SkipIMAPCache bool
	// Location is the zone of From_ line dates written before Thunderbird
	// switched to UTC (November 2023); nil means time.Local.
	Location *time.Location
	// Variant is the mbox quoting convention; mbox.Auto decides per file.
	Variant mbox.Variant
}

// StripFields are the header fields removed from uploaded bytes.
var StripFields = []string{"X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys"}

// tbUTCSince is when Thunderbird began writing From_ lines in UTC (Bug
// 1719121, landed 2023-11-15; FORMATS.md 1.6).
var tbUTCSince = time.Date(2023, 11, 15, 0, 0, 0, 0, time.UTC)

// Kind says what a source path is.
type Kind string

// Source kinds.
const (
	KindNone    Kind = ""
	KindRoot    Kind = "root"      // a directory with profiles.ini
	KindProfile Kind = "profile"   // a profile directory
	KindMailDir Kind = "mail-dir"  // a profile's Mail/ or ImapMail/
	KindAccount Kind = "account"   // an account directory, Local Folders, or a .sbd tree
	KindFile    Kind = "mbox-file" // one folder's mbox file
)

// Detect says whether path is a Thunderbird store, and which kind, by its
// content: profiles.ini, a prefs.js with mail prefs, Mail/ImapMail account
// directories, .msf summaries, filter rules, mbox files with
// X-Mozilla-Status. note describes it for the user (profile names, a
// running Thunderbird). A plain mbox without any Thunderbird trace is not
// Thunderbird's (KindNone): the generic mbox reader takes it.
func Detect(path string) (kind Kind, note string) {
	st, err := os.Stat(path)
	if err != nil {
		return KindNone, ""
	}
	if st.Mode().IsRegular() {
		if strings.HasSuffix(strings.ToLower(path), ".msf") {
			return KindNone, ""
		}
		if isFile(path+".msf") || !ignoredFile(filepath.Base(path)) && hasMozillaStatus(path) {
			return KindFile, ""
		}
		return KindNone, ""
	}
	if !st.IsDir() {
		return KindNone, ""
	}
	k := classifyDir(path)
	switch k {
	case KindRoot:
		ps, _ := ReadRoot(path)
		var names []string
		for _, p := range ps {
			n := p.Name
			if p.Default {
				n += " (default)"
			}
			if l := LockStatus(p.Dir); l != "" && p.Default {
				n += ", Thunderbird may be running on it"
			}
			names = append(names, n)
		}
		note = fmt.Sprintf("Thunderbird root with %d profile(s): %s", len(ps), strings.Join(names, ", "))
	case KindProfile:
		note = "Thunderbird profile " + filepath.Base(path)
		if LockStatus(path) != "" {
			note += "; Thunderbird may be running on it"
		}
	}
	return k, note
}

func classifyDir(dir string) Kind {
	if isFile(filepath.Join(dir, "profiles.ini")) {
		return KindRoot
	}
	if looksLikeProfile(dir) {
		return KindProfile
	}
	if b := filepath.Base(dir); strings.EqualFold(b, mailDirName) || strings.EqualFold(b, imapMailDirName) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if d := filepath.Join(dir, e.Name()); isDir(d) && looksLikeFolderDir(d) {
				return KindMailDir
			}
		}
	}
	if looksLikeFolderDir(dir) {
		return KindAccount
	}
	return KindNone
}

// Reader reads a Thunderbird source and implements formats.Reader.
type Reader struct {
	opts     Options
	source   string // absolute source path
	base     string // positions are relative to this directory
	kind     Kind
	profiles []Profile
	accounts []*Account
	folders  []*folder
	boxes    []*formats.Mailbox
	seenDirs map[string]bool

	fi    int  // next folder to open
	cur   iter // the open folder, or nil
	done  bool
	spool *formats.Spool
	crlf  *formats.CRLFWriter
}

// iter yields the messages of one folder.
type iter interface {
	next(ctx context.Context) (*formats.Message, error)
	close() error
}

// Open opens a Thunderbird source: a root directory (profiles.ini), a
// profile, a Mail/ or ImapMail/ directory, an account directory (or Local
// Folders, or a .sbd subtree), or one mbox file. It reads the folder tree
// (not the messages) at once; problems that do not stop reading (a
// directory from another machine, a name that could not be recovered, a
// running Thunderbird) go to opts.Warn.
func Open(source string, opts Options) (*Reader, error) {
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, fmt.Errorf("thunderbird source %s: %w", source, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("thunderbird source: %w", err)
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	r := &Reader{opts: opts, source: abs, seenDirs: map[string]bool{}}
	r.spool = formats.NewSpool(opts.TempDir, opts.MemLimit)
	r.crlf = formats.NewCRLFWriter(r.spool)
	if st.Mode().IsRegular() {
		r.kind, r.base = KindFile, filepath.Dir(abs)
		err = r.openFile(abs)
	} else {
		r.base = abs
		r.kind = classifyDir(abs)
		switch r.kind {
		case KindRoot:
			err = r.openRoot(abs)
		case KindProfile:
			err = r.openProfile(Profile{Name: filepath.Base(abs), Dir: abs}, "")
		case KindMailDir:
			err = r.openMailDir(abs)
		default:
			r.kind = KindAccount
			err = r.openTree(abs)
		}
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Kind is what the source turned out to be.
func (r *Reader) Kind() Kind { return r.kind }

// Profiles returns the profiles read (none for sources below a profile
// that was not found).
func (r *Reader) Profiles() []Profile { return r.profiles }

// Accounts returns every account found, those skipped (RSS, news) too,
// in the order their folders come.
func (r *Reader) Accounts() []*Account { return r.accounts }

// AccountOf returns the account a mailbox belongs to, or nil.
func (r *Reader) AccountOf(b *formats.Mailbox) *Account {
	for _, f := range r.folders {
		if f.box == b {
			return f.acct
		}
	}
	return nil
}

// warnLock warns when Thunderbird may be running on the profile in dir.
func (r *Reader) warnLock(dir string) {
	if dir == "" {
		return
	}
	if l := LockStatus(dir); l != "" {
		r.warnf(formats.Pos{}, "%s", l)
	}
}

func (r *Reader) warnf(pos formats.Pos, format string, args ...any) {
	r.opts.Warnf(pos, format, args...)
}

// relPath returns p relative to the source's base, with / separators, for
// positions and warnings.
func (r *Reader) relPath(p string) string {
	if rel, err := filepath.Rel(r.base, p); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return p
}

func (r *Reader) addFolder(f *folder) {
	r.folders = append(r.folders, f)
	r.boxes = append(r.boxes, f.box)
}

func (r *Reader) openRoot(root string) error {
	ps, err := ReadRoot(root)
	if err != nil {
		return fmt.Errorf("thunderbird root %s: %w", root, err)
	}
	if len(ps) == 0 {
		return fmt.Errorf("thunderbird root %s: no profiles listed in profiles.ini", root)
	}
	var chosen []Profile
	switch {
	case r.opts.AllProfiles:
		chosen = ps
	case r.opts.Profile != "":
		for _, p := range ps {
			if p.Name == r.opts.Profile || filepath.Base(p.Dir) == r.opts.Profile {
				chosen = append(chosen, p)
				break
			}
		}
		if len(chosen) == 0 {
			return fmt.Errorf("thunderbird root %s: no profile named %q (profiles: %s)", root, r.opts.Profile, profileList(ps))
		}
	default:
		for _, p := range ps {
			if p.Default {
				chosen = append(chosen, p)
			}
		}
		if len(chosen) == 0 {
			chosen = append(chosen, ps[0])
			r.warnf(formats.Pos{}, "%s: no default profile marked; reading the first one, %s", root, ps[0].Name)
		}
		if len(ps) > 1 {
			var others []Profile
			for _, p := range ps {
				if p.Dir != chosen[0].Dir {
					others = append(others, p)
				}
			}
			r.warnf(formats.Pos{}, "%s has %d profiles; reading the default one, %q (%s); not read: %s — point mailferry at a profile directory to read another one",
				root, len(ps), chosen[0].Name, chosen[0].Dir, profileList(others))
		}
	}
	for _, p := range chosen {
		if p.Note != "" {
			r.warnf(formats.Pos{}, "profile %q: %s", p.Name, p.Note)
		}
		if p.Missing {
			r.warnf(formats.Pos{}, "profile %q: directory %s does not exist; skipped", p.Name, p.Dir)
			continue
		}
		prefix := ""
		if len(chosen) > 1 {
			prefix = p.Name + ": "
		}
		if err := r.openProfile(p, prefix); err != nil {
			return err
		}
	}
	return nil
}

func profileList(ps []Profile) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%q (%s)", p.Name, p.Dir))
	}
	return strings.Join(s, ", ")
}

// openProfile reads the accounts of a profile and walks their folders;
// names are prefixed with namePrefix.
func (r *Reader) openProfile(p Profile, namePrefix string) error {
	r.profiles = append(r.profiles, p)
	r.warnLock(p.Dir)
	accts, warns, err := ReadAccounts(p.Dir)
	if err != nil {
		return fmt.Errorf("thunderbird profile %s: %w", p.Dir, err)
	}
	for _, w := range warns {
		r.warnf(formats.Pos{}, "%s", w)
	}
	hints := loadNameHints(p.Dir)
	for _, a := range accts {
		r.addAccount(a, namePrefix, hints, p.Dir)
	}
	return nil
}

// addAccount lists an account and walks its folders unless it is skipped.
func (r *Reader) addAccount(a *Account, namePrefix string, hints *nameHints, profile string) {
	r.accounts = append(r.accounts, a)
	switch {
	case a.Skip != "":
		r.warnf(formats.Pos{}, "account %q skipped: %s", a.Name, a.Skip)
		return
	case a.Dir == "":
		return
	case a.IMAPCache && r.opts.SkipIMAPCache:
		r.warnf(formats.Pos{}, "account %q skipped: IMAP offline cache", a.Name)
		return
	}
	d := filepath.Clean(a.Dir)
	if r.seenDirs[d] {
		r.warnf(formats.Pos{}, "account %q uses the same directory as another account (%s); its folders are listed once", a.Name, d)
		return
	}
	r.seenDirs[d] = true
	w := &walker{r: r, acct: a, name: namePrefix + a.Name, hints: hints, cacheAt: cacheBase(profile, d)}
	w.walk(d, nil, "")
}

// cacheBase is how the folder caches name an account directory: its path
// relative to the profile ("Mail/Local Folders"), or, outside the profile,
// its last element.
func cacheBase(profile, dir string) string {
	if profile != "" {
		if rel, err := filepath.Rel(profile, dir); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(dir)
}

// openMailDir reads a profile's Mail/ or ImapMail/ directory: with the
// profile's prefs.js when it sits above, else one account per directory.
func (r *Reader) openMailDir(dir string) error {
	profile := filepath.Dir(dir)
	if isFile(filepath.Join(profile, "prefs.js")) {
		accts, warns, err := ReadAccounts(profile)
		if err == nil {
			for _, w := range warns {
				r.warnf(formats.Pos{}, "%s", w)
			}
			hints := loadNameHints(profile)
			for _, a := range accts {
				if a.Dir != "" && within(dir, a.Dir) {
					r.addAccount(a, "", hints, profile)
				}
			}
			return nil
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("thunderbird mail directory %s: %w", dir, err)
	}
	hints := newNameHints()
	for _, e := range ents {
		d := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") || !e.IsDir() { // a link is not followed
			continue
		}
		r.addAccount(diskAccount(d), "", hints, "")
	}
	return nil
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// diskAccount makes an account for a directory not known from prefs.js.
func diskAccount(d string) *Account {
	a := &Account{Name: filepath.Base(d), Dir: d, DirFrom: "disk"}
	switch {
	case strings.EqualFold(filepath.Base(filepath.Dir(d)), imapMailDirName):
		a.Type, a.IMAPCache, a.Hostname, a.Note = "imap", true, a.Name, NoteIMAPCache
	case a.Name == "Local Folders":
		a.Type = "none"
	}
	return a
}

// enclosing finds the account directory that holds p (a folder file or a
// .sbd directory) and the profile above it, if any: an account is the
// first directory above p's chain of .sbd directories.
func (r *Reader) enclosing(p string, isFileSource bool) (acct *Account, profile string, hints *nameHints, prefixDirs []string) {
	dir := p
	if isFileSource {
		dir = filepath.Dir(p)
	}
	for strings.HasSuffix(filepath.Base(dir), ".sbd") {
		prefixDirs = append([]string{filepath.Base(dir)}, prefixDirs...)
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	parent := filepath.Dir(dir)
	if b := filepath.Base(parent); strings.EqualFold(b, mailDirName) || strings.EqualFold(b, imapMailDirName) {
		prof := filepath.Dir(parent)
		if isFile(filepath.Join(prof, "prefs.js")) {
			if accts, warns, err := ReadAccounts(prof); err == nil {
				for _, a := range accts {
					if a.Dir != "" && filepath.Clean(a.Dir) == dir {
						for _, w := range warns {
							r.warnf(formats.Pos{}, "%s", w)
						}
						return a, prof, loadNameHints(prof), prefixDirs
					}
				}
			}
		}
		if isFile(filepath.Join(prof, "folderCache.json")) || isFile(filepath.Join(prof, "panacea.dat")) {
			return diskAccount(dir), prof, loadNameHints(prof), prefixDirs
		}
	}
	return diskAccount(dir), "", newNameHints(), prefixDirs
}

// openTree reads an account directory or a .sbd subtree.
func (r *Reader) openTree(dir string) error {
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("thunderbird folder directory %s: %w", dir, err)
	}
	a, profile, hints, prefixDirs := r.enclosing(dir, false)
	r.warnLock(profile)
	r.accounts = append(r.accounts, a)
	w := &walker{r: r, acct: a, name: a.Name, hints: hints, cacheAt: cacheBase(profile, a.Dir)}
	prefix, diskRel := w.prefix(a.Dir, prefixDirs)
	w.walk(dir, prefix, diskRel)
	return nil
}

// prefix turns the .sbd directories between the account directory and a
// source into the folder path above the source.
func (w *walker) prefix(acctDir string, sbds []string) (formats.Folder, string) {
	var path formats.Folder
	diskRel := ""
	dir := acctDir
	for _, s := range sbds {
		disk := strings.TrimSuffix(s, ".sbd")
		full := filepath.Join(dir, disk)
		msf := ""
		if isFile(full + ".msf") {
			msf = full + ".msf"
		}
		entry := w.hints.lookup(joinRel(w.cacheAt, joinRel(diskRel, disk+".msf")))
		path = append(path, w.r.realName(disk, full, msf, entry, w.hints))
		diskRel = joinRel(diskRel, s)
		dir = filepath.Join(dir, s)
	}
	return path, diskRel
}

// openFile reads one folder file (its .msf may be beside it).
func (r *Reader) openFile(path string) error {
	if strings.HasSuffix(strings.ToLower(path), ".msf") {
		mboxPath := path[:len(path)-4]
		if !isFile(mboxPath) {
			return fmt.Errorf("thunderbird folder %s: a summary file without its mbox (the folder is empty or its mail is elsewhere)", path)
		}
		path = mboxPath
	}
	a, profile, hints, prefixDirs := r.enclosing(path, true)
	r.warnLock(profile)
	r.accounts = append(r.accounts, a)
	w := &walker{r: r, acct: a, name: a.Name, hints: hints, cacheAt: cacheBase(profile, a.Dir)}
	prefix, diskRel := w.prefix(a.Dir, prefixDirs)
	if len(prefixDirs) == 0 && profile == "" {
		// A lone file: its folder is named after it, with no account.
		w.name = ""
	}
	c := &candidate{name: filepath.Base(path), file: true, msf: isFile(path + ".msf")}
	f := w.folder(filepath.Dir(path), prefix, diskRel, c)
	r.addFolder(f)
	return nil
}

// realName returns a folder's real name: the on-disk name, unless that has
// the shape of a hashed name (FORMATS.md 1.4) and a name from the folder's
// .msf, its folder-cache entry or anywhere in the profile's caches hashes
// to it. A hashed name that cannot be recovered is kept, with a warning.
func (r *Reader) realName(disk, full, msf string, entry *cacheEntry, hints *nameHints) string {
	if _, _, ok := hashSuffix(disk); !ok {
		return disk
	}
	var cands []string
	if msf != "" {
		if info, err := readMSF(msf); err == nil {
			cands = append(cands, info.FolderName, info.MailboxName)
			cands = append(cands, lastElems(info.OnlineName)...)
		}
	}
	if entry != nil {
		cands = append(cands, entry.folderName)
		cands = append(cands, lastElems(entry.onlineName)...)
	}
	if name, ok := hints.recoverName(disk, cands...); ok {
		return name
	}
	if looksHashed(disk) {
		r.warnf(formats.Pos{File: r.relPath(full)}, "folder file name %q looks like a hashed name (Thunderbird hashes names it cannot use as file names), but no name in the .msf, folderCache.json or folderTree.json matches it; using %q", disk, disk)
	}
	return disk
}

// lastElems returns an IMAP server name and its last element under each
// likely hierarchy delimiter.
func lastElems(n string) []string {
	if n == "" {
		return nil
	}
	out := []string{n}
	for _, d := range []string{"/", ".", "^", `\`} {
		if i := strings.LastIndex(n, d); i >= 0 {
			out = append(out, n[i+1:])
		}
	}
	return out
}

// Mailboxes returns every folder found, empty and parent-only ones too.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.boxes, nil
}

// Next returns the next message, or io.EOF after the last. An error about
// one folder (unreadable file) is returned once, and the next call goes on
// with the following folder.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.done {
			return nil, io.EOF
		}
		if r.cur == nil {
			if r.fi >= len(r.folders) {
				r.done = true
				return nil, io.EOF
			}
			f := r.folders[r.fi]
			r.fi++
			it, err := r.openFolder(f)
			if err != nil {
				return nil, err
			}
			if it == nil {
				continue
			}
			r.cur = it
		}
		m, err := r.cur.next(ctx)
		if err == nil {
			return m, nil
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		cerr := r.cur.close()
		r.cur = nil
		if err == io.EOF {
			if cerr != nil {
				return nil, fmt.Errorf("close folder: %w", cerr)
			}
			continue
		}
		return nil, err
	}
}

// Close releases the open file and the spool.
func (r *Reader) Close() error {
	var err error
	if r.cur != nil {
		err = r.cur.close()
		r.cur = nil
	}
	r.done = true
	return errors.Join(err, r.spool.Close())
}

func (r *Reader) openFolder(f *folder) (iter, error) {
	switch f.kind {
	case kindMbox:
		return r.openMbox(f)
	case kindMaildir:
		return r.openMaildir(f)
	}
	return nil, nil
}

// msfIndex is a folder's summary, indexed for matching messages.
type msfIndex struct {
	byOffset map[int64]*msfMsg
	byToken  map[string]*msfMsg
	count    int
	used     int
}

// loadMSF reads a folder's summary for enrichment; a broken one is
// reported and ignored.
func (r *Reader) loadMSF(f *folder) *msfIndex {
	if f.msf == "" {
		return nil
	}
	info, err := readMSF(f.msf)
	if err != nil {
		r.warnf(formats.Pos{File: r.relPath(f.msf)}, "summary file not used (tags and junk state only in it are lost): %v", err)
		return nil
	}
	ix := &msfIndex{byOffset: map[int64]*msfMsg{}, byToken: map[string]*msfMsg{}, count: len(info.Msgs)}
	for _, m := range info.Msgs {
		if m.Offset >= 0 {
			ix.byOffset[m.Offset] = m
		}
		if m.Token != "" {
			ix.byToken[m.Token] = m
		}
	}
	return ix
}

// match finds the summary's record of a message, checking the Message-ID
// when both have one (a stale summary must not lend its flags to another
// message).
func (ix *msfIndex) match(m *msfMsg, h formats.Header) *msfMsg {
	if ix == nil || m == nil {
		return nil
	}
	if id, ok := h.Get("Message-ID"); ok && m.MessageID != "" {
		if strings.Trim(strings.TrimSpace(id), "<>") != m.MessageID {
			return nil
		}
	}
	ix.used++
	return m
}

// mboxIter reads one mbox folder.
type mboxIter struct {
	r      *Reader
	f      *folder
	file   *os.File
	sp     *mbox.Splitter
	ix     *msfIndex
	mtime  time.Time
	kept   int // messages not skipped as expunged
	closed bool
}

func (r *Reader) openMbox(f *folder) (iter, error) {
	file, err := os.Open(f.path)
	r.opts.ReportFile(f.path, err)
	if err != nil {
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	it := &mboxIter{r: r, f: f, file: file, mtime: st.ModTime()}
	it.sp = mbox.NewSplitter(file, f.rel, mbox.SplitOptions{Options: r.opts.Options, Variant: r.opts.Variant, StripFields: StripFields})
	it.ix = r.loadMSF(f)
	return it, nil
}

func (it *mboxIter) next(ctx context.Context) (*formats.Message, error) {
	e, err := it.sp.Next(ctx)
	if err == io.EOF {
		it.finish()
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	var rec *msfMsg
	if it.ix != nil {
		rec = it.ix.match(it.ix.byOffset[e.Pos.Offset], e.Header)
	}
	m := &formats.Message{Mailbox: it.f.box, Pos: e.Pos, Size: e.Size, Open: e.Open}
	it.r.applyMeta(m, it.f, e.Header, e.FromLine, it.mtime, rec)
	if m.Skip != formats.SkipDeleted {
		it.kept++
	}
	return m, nil
}

// finish compares the summary's message count with the mbox's.
func (it *mboxIter) finish() {
	if it.ix == nil || it.f.acct.IMAPCache {
		return // an offline cache holds fewer bodies than headers by design
	}
	if it.ix.count != it.kept {
		it.r.warnf(formats.Pos{File: it.f.rel}, "the summary (.msf) lists %d messages, the mbox holds %d (deleted ones not counted); the mbox is what is read (the summary may be stale)", it.ix.count, it.kept)
	}
}

func (it *mboxIter) close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	return errors.Join(it.sp.Close(), it.file.Close())
}

// applyMeta sets a message's flags, skip and incomplete state, and date
// from its header, From_ line, summary record and file time.
func (r *Reader) applyMeta(m *formats.Message, f *folder, h formats.Header, fromLine string, mtime time.Time, rec *msfMsg) {
	flags, ok := mozStatus(h)
	if !ok && rec != nil {
		flags, ok = rec.Flags, true
	}
	if !ok {
		flags, _ = berkeleyStatus(h)
	}
	m.Flags = imapFlags(flags)
	if rec != nil && rec.Flags&flagRedirected != 0 {
		m.Flags = addFlag(m.Flags, "$Redirected")
	}
	if f.box.Special == formats.SpecialDrafts {
		m.Flags = addFlag(m.Flags, `\Draft`)
	}
	keys := mozKeys(h)
	if rec != nil {
		keys = append(keys, rec.Keywords...)
		switch {
		case rec.JunkScore == "100":
			keys = append(keys, "$Junk")
		case rec.JunkScore == "0" && rec.JunkFrom == "user":
			keys = append(keys, "$NotJunk")
		}
	}
	for _, k := range keys {
		kw, changed := sanitizeKeyword(k)
		if changed {
			r.warnf(m.Pos, "tag %q is not a valid IMAP keyword; uploaded as %q", k, kw)
		}
		if kw != "" && !strings.HasPrefix(kw, `\`) {
			m.Flags = addFlag(m.Flags, kw)
		}
	}
	switch {
	case flags&flagExpunged != 0:
		m.Skip = formats.SkipDeleted
	case flags&flagIMAPDeleted != 0 && f.acct.IMAPCache:
		m.Skip = SkipIMAPDeleted
	}
	if flags&flagPartial != 0 {
		m.Incomplete = IncompletePartial
	}
	m.Date, m.DateSource = r.receivedDate(h, fromLine, mtime)
}

// receivedDate picks the received date (issue 2): the top-most Received:
// header, the Date: header, the From_ line, the file's mtime. A date more
// than a day in the future is a broken clock and is passed over.
func (r *Reader) receivedDate(h formats.Header, fromLine string, mtime time.Time) (time.Time, formats.DateSource) {
	limit := time.Now().Add(24 * time.Hour) // only to reject broken dates, never used as a date
	if t, ok := h.ReceivedDate(); ok && t.Before(limit) {
		return t, formats.DateReceived
	}
	if t, ok := h.Date(); ok && t.Before(limit) {
		return t, formats.DateHeader
	}
	if fromLine != "" {
		if _, t, ok := mbox.ParseFromLine(fromLine, time.UTC); ok {
			if t.Before(tbUTCSince) {
				_, t, ok = mbox.ParseFromLine(fromLine, r.opts.Location)
			}
			if ok && t.Before(limit) {
				return t, formats.DateFromLine
			}
		}
	}
	if !mtime.IsZero() && mtime.Before(limit) {
		return mtime, formats.DateFileMtime
	}
	return time.Time{}, formats.DateUnknown
}

// maildirIter reads one folder of Thunderbird's maildir store: the files
// in cur/ (and new/, which Thunderbird does not make but others might);
// tmp/ holds interrupted writes and is skipped.
type maildirIter struct {
	r     *Reader
	f     *folder
	files []string
	i     int
	ix    *msfIndex
	kept  int
}

func (r *Reader) openMaildir(f *folder) (iter, error) {
	it := &maildirIter{r: r, f: f}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(f.path, sub))
		if err != nil {
			if sub == "cur" {
				return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "list maildir folder", Err: err}
			}
			continue
		}
		var names []string
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() { // links are not followed
				names = append(names, e.Name())
			}
		}
		sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
		for _, n := range names {
			it.files = append(it.files, filepath.Join(f.path, sub, n))
		}
	}
	if ents, err := os.ReadDir(filepath.Join(f.path, "tmp")); err == nil {
		n := 0
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if n > 0 {
			r.warnf(formats.Pos{File: f.rel + "/tmp"}, "%d file(s) in tmp/ (writes Thunderbird did not finish) skipped", n)
		}
	}
	it.ix = r.loadMSF(f)
	return it, nil
}

// naturalLess orders file names by their leading number when both have
// one (Thunderbird's names start with a time), else as strings.
func naturalLess(a, b string) bool {
	na, ra := leadingDigits(a)
	nb, rb := leadingDigits(b)
	if na != "" && nb != "" && len(na) != len(nb) {
		return len(na) < len(nb)
	}
	if na != nb {
		return na < nb
	}
	return ra < rb
}

func leadingDigits(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return strings.TrimLeft(s[:i], "0"), s[i:]
}

func (it *maildirIter) next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.i >= len(it.files) {
		if it.ix != nil && it.ix.count != it.kept {
			it.r.warnf(formats.Pos{File: it.f.rel}, "the summary (.msf) lists %d messages, the folder holds %d files (deleted ones not counted); the files are what is read", it.ix.count, it.kept)
		}
		return nil, io.EOF
	}
	path := it.files[it.i]
	it.i++
	rel := it.r.relPath(path)
	pos := formats.Pos{File: rel, Line: 1, Offset: 0, Index: it.i}
	st, err := os.Stat(path)
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "read message file", Err: err}
	}
	m := &formats.Message{Mailbox: it.f.box, Pos: pos}
	if st.Size() == 0 {
		m.Skip = formats.SkipEmpty
		m.Date, m.DateSource = st.ModTime(), formats.DateFileMtime
		return m, nil
	}
	h, fromLine, err := it.r.loadFile(path)
	it.r.opts.ReportFile(path, err)
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "read message file", Err: err}
	}
	m.Size = it.r.spool.Size()
	m.Open = it.r.spool.Open
	var rec *msfMsg
	if it.ix != nil {
		rec = it.ix.match(it.ix.byToken[filepath.Base(path)], h)
	}
	it.r.applyMeta(m, it.f, h, fromLine, st.ModTime(), rec)
	if m.Skip != formats.SkipDeleted {
		it.kept++
	}
	return m, nil
}

func (it *maildirIter) close() error { return nil }

// maxHeaderBytes bounds the header block kept in memory for one message
// file; beyond it the rest is copied as body.
const maxHeaderBytes = 4 << 20

// loadFile reads one message file into the spool: a leading From_ line
// removed (and returned), the stripped fields removed, CRLF line endings.
func (r *Reader) loadFile(path string) (formats.Header, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	if err := r.spool.Reset(); err != nil {
		return nil, "", err
	}
	r.crlf.Reset(r.spool)
	br := bufio.NewReaderSize(f, 64<<10)
	var fromLine string
	if b, _ := br.Peek(5); string(b) == "From " {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, "", err
		}
		fromLine = strings.TrimRight(line, "\r\n")
	}
	var hdr []byte
	var lines [][]byte
	for len(hdr) < maxHeaderBytes {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lines = append(lines, line)
			hdr = append(hdr, line...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", err
		}
		if t := strings.TrimRight(string(line), "\r\n"); t == "" {
			break
		}
	}
	dropping := false
	for _, line := range lines {
		if line[0] == ' ' || line[0] == '\t' {
			if dropping {
				continue
			}
		} else {
			dropping = false
			if name, _, ok := strings.Cut(string(line), ":"); ok {
				name = strings.TrimRight(name, " \t")
				for _, s := range StripFields {
					if strings.EqualFold(name, s) {
						dropping = true
					}
				}
			}
			if dropping {
				continue
			}
		}
		if _, err := r.crlf.Write(line); err != nil {
			return nil, "", err
		}
	}
	if _, err := io.Copy(r.crlf, br); err != nil {
		return nil, "", err
	}
	if err := r.crlf.Close(); err != nil {
		return nil, "", err
	}
	return formats.ParseHeader(hdr), fromLine, nil
}

var _ formats.Reader = (*Reader)(nil)
