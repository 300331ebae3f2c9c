// Package detect looks at a path and says which mail stores live there (a
// Thunderbird profile, an Apple Mail directory, an EML tree, a Maildir, an
// mbox file, an Outlook .pst or .ost file, a folder of Outlook .msg
// files), by content rather than by name alone, and opens the matching
// readers as one stream. It is the one place that chooses a reader.
package detect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"mailferry/formats"
	"mailferry/formats/mbox"
	"mailferry/formats/thunderbird"
)

// Kind is a kind of mail store.
type Kind string

// The store kinds mailferry reads.
const (
	Auto        Kind = ""
	Thunderbird Kind = "thunderbird"
	AppleMail   Kind = "applemail"
	EML         Kind = "eml"
	Maildir     Kind = "maildir"
	Mbox        Kind = "mbox"
	// Outlook is one Outlook data file, .pst or .ost (package pst).
	Outlook Kind = "outlook"
	// MSG is one Outlook .msg file or a directory tree of them (package
	// msg). A tree that also holds .eml files is of kind EML: the eml
	// reader reads the .msg files among them.
	MSG Kind = "msg"
)

// KindNames lists the values --format accepts.
func KindNames() []string {
	return []string{string(Thunderbird), string(AppleMail), string(EML), string(Maildir), string(Mbox), string(Outlook), string(MSG)}
}

// ParseKind checks a --format value. "pst" and "ost", the names of
// Outlook's files, are taken for "outlook".
func ParseKind(s string) (Kind, error) {
	switch s {
	case "":
		return Auto, nil
	case "pst", "ost":
		return Outlook, nil
	}
	for _, k := range KindNames() {
		if s == k {
			return Kind(s), nil
		}
	}
	return Auto, fmt.Errorf("unknown store kind %q (known: %v)", s, KindNames())
}

// Found is one store found at a path.
type Found struct {
	Kind Kind   `json:"kind"`
	Path string `json:"path"`
	// Note says more, e.g. "profile default-release, Thunderbird may be running".
	Note string `json:"note,omitempty"`
	// Program and Advice are set for stores of kind Other: the mail
	// program that keeps it and what the user can do instead.
	Program string `json:"program,omitempty"`
	Advice  string `json:"advice,omitempty"`
	// Label names the store's folders when a source holds several stores
	// (its path below the source): it becomes the first part of every
	// Mailbox.Account, so that the folders of different stores never
	// share a name in scan, --include and the reports.
	Label string `json:"label,omitempty"`
}

// Source is an opened source: one reader over everything found.
type Source struct {
	Reader formats.Reader
	// Root is the source path (absolute, links resolved).
	Root string
	// Found are the stores read, then the stores of kind Other (found but
	// not readable).
	Found []Found
	// Notes are things the user should know before going on (a running
	// Thunderbird, older Apple Mail versions left alone).
	Notes []string
	// Accounts are the mail accounts the stores know of (Thunderbird's
	// prefs.js), for scan and the guided run; empty for stores without
	// accounts.
	Accounts []*thunderbird.Account
	// Profiles are the Thunderbird profiles read.
	Profiles []thunderbird.Profile

	files *fileTracker
}

// ErrNoMail is returned when a path holds nothing mailferry can read.
var ErrNoMail = errors.New("no mail store found")

// NoMailError is the error of Open when a path holds nothing mailferry
// can read; Others lists the stores found there that belong to programs
// mailferry cannot read (with what to do instead). It matches ErrNoMail.
type NoMailError struct {
	Path   string
	Others []Found
}

func (e *NoMailError) Error() string {
	if len(e.Others) == 0 {
		return fmt.Sprintf("source %s: %v (expected a Thunderbird profile, an Apple Mail folder, a folder of .eml or Outlook .msg files, a Maildir, an mbox file or an Outlook .pst or .ost file)", e.Path, ErrNoMail)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "source %s: %v that mailferry can read; found:", e.Path, ErrNoMail)
	for _, o := range e.Others {
		fmt.Fprintf(&b, "\n  %s: %s\n    what to do: %s", o.Path, o.Note, o.Advice)
	}
	return b.String()
}

func (e *NoMailError) Is(target error) bool { return target == ErrNoMail }

// Open detects what path holds (or takes kind as given) and opens it.
// Errors name the path. A path that does not exist or cannot be read is an
// error (the CLI's exit code 2); a path that holds no store mailferry can
// read is a *NoMailError.
//
// The source path itself is resolved (a link given as SOURCE is
// followed); below it no reader follows symbolic links: in a copied or
// hostile tree a link may loop or point at any file of this computer, and
// what a link points to inside the source is read where it lies.
//
// Every file under the source is accounted for: the readers report what
// they read (formats.Options.OnFile), and Ledger walks the source once
// more after the last message to say what each other file is. A
// *formats.MessageError from a reader (a file that could not be read) is
// recorded there and warned about, and reading goes on with the next
// file. Likewise, when a source holds several stores, one that cannot be
// opened (a damaged Outlook file, one that Outlook holds open) is recorded
// and warned about, and the others are read; a source whose only store
// cannot be opened is an error.
func Open(path string, kind Kind, opts formats.Options) (*Source, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("source %s: %w", path, explainAccess(err))
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	var found []Found
	if kind == Auto {
		var err error
		found, err = Detect(path)
		if err != nil {
			return nil, err
		}
	} else {
		found = []Found{{Kind: kind, Path: path}}
	}
	var readable, others []Found
	for _, f := range found {
		if f.Kind == Other {
			others = append(others, f)
		} else {
			readable = append(readable, f)
		}
	}
	if len(readable) == 0 {
		return nil, &NoMailError{Path: path, Others: others}
	}
	if len(readable) > 1 {
		for i := range readable {
			readable[i].Label = storeLabel(path, readable[i])
		}
	}
	src := &Source{Root: path, files: newFileTracker(path, opts.OnFile)}
	tracked := opts
	tracked.OnFile = src.files.record
	var readers []formats.Reader
	var opened []Found
	var failed []error
	for _, f := range readable {
		r, notes, err := openKind(f, tracked)
		if err != nil {
			err = fmt.Errorf("%s %s: %w", f.Kind, f.Path, explainAccess(err))
			if len(readable) == 1 {
				return nil, err
			}
			// One store that cannot be opened does not end the run: the
			// file accounting lists it with the error, and the other
			// stores are read.
			src.files.failStore(f.Path, err)
			opts.Warnf(formats.Pos{File: f.Path}, "not read, going on with the other stores: %v", err)
			failed = append(failed, err)
			continue
		}
		opened = append(opened, f)
		src.Notes = append(src.Notes, notes...)
		if tb, ok := r.(*thunderbird.Reader); ok {
			src.Accounts = append(src.Accounts, tb.Accounts()...)
			src.Profiles = append(src.Profiles, tb.Profiles()...)
			src.files.thunderbirdHints(f, tb)
		}
		if f.Kind == AppleMail {
			src.files.appleMailHints(f.Path)
		}
		if f.Label != "" {
			if err := relabel(r, f.Label); err != nil {
				r.Close()
				for _, r := range readers {
					r.Close()
				}
				return nil, err
			}
		}
		readers = append(readers, &trackedReader{Reader: r, store: f, files: src.files, warn: opts.Warn})
	}
	if len(readers) == 0 {
		return nil, errors.Join(failed...)
	}
	src.Found = append(opened, others...)
	src.files.setStores(opened)
	if len(readers) == 1 {
		src.Reader = readers[0]
	} else {
		src.Reader = formats.Concat(readers...)
	}
	return src, nil
}

// storeLabel names a store of a source that holds several: its path below
// the source, or, for the source directory itself, its kind. An mbox file
// names its own folder, so its label is the directory it lies in (none at
// the source's top: a directory of mbox files is one tree of folders).
func storeLabel(root string, f Found) string {
	p := f.Path
	if f.Kind == Mbox && formats.IsFile(p) {
		p = filepath.Dir(p)
		if p == root {
			return ""
		}
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == "." {
		return f.Kind.Title()
	}
	return filepath.ToSlash(rel)
}

// Title names a kind of store for people: "Apple Mail", "Outlook".
func (k Kind) Title() string {
	switch k {
	case Thunderbird:
		return "Thunderbird"
	case AppleMail:
		return "Apple Mail"
	case EML:
		return "EML"
	case Maildir:
		return "Maildir"
	case Mbox:
		return "mbox"
	case Outlook:
		return "Outlook"
	case MSG:
		return "Outlook .msg"
	}
	return string(k)
}

// relabel puts label in front of the account of every mailbox of r.
func relabel(r formats.Reader, label string) error {
	boxes, err := r.Mailboxes(context.Background())
	if err != nil {
		return err
	}
	for _, b := range boxes {
		if b.Account == "" {
			b.Account = label
		} else {
			b.Account = label + ": " + b.Account
		}
	}
	return nil
}

// Detect says which stores live at path: the path itself when it is a
// store, else the stores found in the directories below it (a mix is
// allowed), including the stores of programs mailferry cannot read (kind
// Other). A Thunderbird profile may have other stores beside its Mail/
// and ImapMail/ (a home folder or backup copied into one directory): they
// are found too. Directories inside a recognised store are not searched
// again; hidden directories and caches are searched only as the rules of
// ruleFor say.
func Detect(path string) ([]Found, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if o := otherStoreFile(path, filepath.Base(path)); o != nil {
			return []Found{otherFound(path, o)}, nil
		}
		if k, note := classify(path); k != Auto {
			return []Found{{Kind: k, Path: path, Note: note}}, nil
		}
		if mbox.IsEmptySource(path) {
			return []Found{{Kind: Mbox, Path: path}}, nil
		}
		return nil, nil
	}
	if o := otherStoreDir(path, filepath.Base(path)); o != nil {
		return []Found{otherFound(path, o)}, nil
	}
	k, note := classify(path)
	if k == Auto {
		return detectTree(path, nil, true)
	}
	root := Found{Kind: k, Path: path, Note: note}
	if k != Thunderbird {
		return []Found{root}, nil
	}
	owned := thunderbirdOwned(path)
	if owned == nil {
		return []Found{root}, nil
	}
	rest, err := detectTree(path, owned, false)
	if err != nil {
		return nil, err
	}
	return append([]Found{root}, rest...), nil
}

// thunderbirdOwned returns the directories a Thunderbird profile at dir
// reads (Mail/, ImapMail/, and account directories prefs.js names inside
// it), or nil when dir is not a profile (an account directory, a root):
// the directories beside them may hold other stores.
func thunderbirdOwned(dir string) map[string]bool {
	if kind, _ := thunderbird.Detect(dir); kind != thunderbird.KindProfile {
		return nil
	}
	owned := map[string]bool{
		filepath.Join(dir, "Mail"):     true,
		filepath.Join(dir, "ImapMail"): true,
	}
	if accts, _, err := thunderbird.ReadAccounts(dir); err == nil {
		for _, a := range accts {
			if a.Dir != "" {
				owned[filepath.Clean(a.Dir)] = true
			}
		}
	}
	return owned
}

// Explain adds plain words to errors a user can fix outside mailferry:
// macOS refusing ~/Library/Mail until the terminal has Full Disk Access,
// and Windows refusing a file that a running Thunderbird or Outlook holds
// open (Outlook keeps its .pst and .ost files open while it runs). Other
// errors are returned as they are.
func Explain(err error) error { return explainFor(err, runtime.GOOS) }

func explainAccess(err error) error { return explainFor(err, runtime.GOOS) }

func explainFor(err error, goos string) error {
	switch {
	case err == nil:
		return nil
	case isSharingViolation(err):
		return fmt.Errorf("%w\n  another program holds this file open; this is usually Thunderbird (or Outlook) still running.\n  Close it (check the system tray too), then run mailferry again", err)
	case !errors.Is(err, fs.ErrPermission):
		return err
	case goos == "darwin":
		return fmt.Errorf("%w\n  macOS protects this folder. Open System Settings → Privacy & Security → Full Disk Access,\n  allow your terminal app (Terminal or iTerm), then quit and reopen it and run mailferry again", err)
	case goos == "windows":
		return fmt.Errorf("%w\n  Windows does not let this user read the file; if Thunderbird or Outlook is running, close it and try again", err)
	default:
		return fmt.Errorf("%w\n  the folder or file is not readable for this user; if a mail program is running, close it and try again", err)
	}
}
