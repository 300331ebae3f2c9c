// Package thunderbird reads Thunderbird profiles:
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
//   - The mbox (or maildir folder) is the source of messages. Their flags
//     and tags come from where Thunderbird shows them: the folder's .msf
//     summary when it is current for the store by Thunderbird's own rule
//     (summary version, mbox size and modification time against the
//     summary's folderSize and folderDate; see summaryCurrent), matched
//     to a message by its storeToken (the From_ line's byte offset, or
//     the maildir file name) and Message-ID. Otherwise, as Thunderbird
//     rebuilding the summary would: X-Mozilla-Status(2) (else Status:)
//     and X-Mozilla-Keys, plus the tags and junk state of the old
//     summary's row with the same Message-ID. Mailbox.FlagSource and
//     FlagNote say which, per folder. Messages a current summary does not
//     list (deleted, awaiting compaction) are still read, with a warning.
//   - Text before the first From_ line of a folder's mbox is yielded
//     quarantined (mbox.QuarantineLeadingText). Separators follow
//     Thunderbird's own rule (mbox.ThunderbirdSeparators).
//   - The received date is the top-most Received: header, then Date:, then
//     the From_ line (UTC when after 2023-11-15, when Thunderbird started
//     writing UTC, else Options.Location), then the file's mtime.
//   - Nothing under the source is ever written, renamed or locked.
package thunderbird

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// 1719121, landed 2023-11-15).
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

	fi   int  // next folder to open
	cur  iter // the open folder, or nil
	done bool
	ld   *formats.Loader // maildir-store message files
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
	r.ld = formats.NewLoader(opts.TempDir, opts.MemLimit)
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
	return errors.Join(err, r.ld.Close())
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

var _ formats.Reader = (*Reader)(nil)

var isDir, isFile = formats.IsDir, formats.IsFile
