// Package detect looks at a path and says which mail stores live there (a
// Thunderbird profile, an Apple Mail directory, an EML tree, a Maildir, an
// mbox file), by content rather than by name alone, and opens the matching
// readers as one stream. It is the one place that chooses a reader.
package detect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

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
)

// KindNames lists the values --format accepts.
func KindNames() []string {
	return []string{string(Thunderbird), string(AppleMail), string(EML), string(Maildir), string(Mbox)}
}

// ParseKind checks a --format value.
func ParseKind(s string) (Kind, error) {
	if s == "" {
		return Auto, nil
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
}

// Source is an opened source: one reader over everything found.
type Source struct {
	Reader formats.Reader
	Found  []Found
	// Notes are things the user should know before going on (a running
	// Thunderbird, older Apple Mail versions left alone).
	Notes []string
	// Accounts are the mail accounts the stores know of (Thunderbird's
	// prefs.js), for scan and the guided run; empty for stores without
	// accounts.
	Accounts []*thunderbird.Account
}

// ErrNoMail is returned when a path holds nothing mailferry can read.
var ErrNoMail = errors.New("no mail store found")

// Open detects what path holds (or takes kind as given) and opens it.
// Errors name the path. A path that does not exist or cannot be read is an
// error (the CLI's exit code 2).
func Open(path string, kind Kind, opts formats.Options) (*Source, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("source %s: %w", path, explainAccess(err))
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	var found []Found
	if kind == Auto {
		found, err = Detect(path)
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("source %s: %w (expected a Thunderbird profile, an Apple Mail folder, a folder of .eml files, a Maildir or an mbox file)", path, ErrNoMail)
		}
	} else {
		found = []Found{{Kind: kind, Path: path}}
	}
	src := &Source{Found: found}
	var readers []formats.Reader
	for _, f := range found {
		r, notes, err := openKind(f, opts)
		if err != nil {
			for _, r := range readers {
				r.Close()
			}
			return nil, fmt.Errorf("%s %s: %w", f.Kind, f.Path, explainAccess(err))
		}
		src.Notes = append(src.Notes, notes...)
		if tb, ok := r.(*thunderbird.Reader); ok {
			src.Accounts = append(src.Accounts, tb.Accounts()...)
		}
		readers = append(readers, r)
	}
	if len(readers) == 1 {
		src.Reader = readers[0]
	} else {
		src.Reader = formats.Concat(readers...)
	}
	return src, nil
}

// Detect says which stores live at path: the path itself when it is a
// store, else the stores found in the directories below it (a mix is
// allowed). Directories inside a recognised store are not searched again.
func Detect(path string) ([]Found, error) {
	if k, note := classify(path); k != Auto {
		return []Found{{Kind: k, Path: path, Note: note}}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		if mbox.IsEmptySource(path) {
			return []Found{{Kind: Mbox, Path: path}}, nil
		}
		return nil, nil
	}
	return detectTree(path)
}

// Explain adds plain words to errors a user can fix outside mailferry:
// macOS refusing ~/Library/Mail until the terminal has Full Disk Access,
// and Windows refusing a file that a running Thunderbird holds open. Other
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
		return fmt.Errorf("%w\n  Windows does not let this user read the file; if Thunderbird is running, close it and try again", err)
	default:
		return fmt.Errorf("%w\n  the folder or file is not readable for this user; if a mail program is running, close it and try again", err)
	}
}
