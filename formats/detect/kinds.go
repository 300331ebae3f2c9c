package detect

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"mailferry/formats"
	"mailferry/formats/eml"
	"mailferry/formats/emlx"
	"mailferry/formats/maildir"
	"mailferry/formats/mbox"
	"mailferry/formats/thunderbird"
)

// classify says which kind of store path itself is (Auto: none, or an EML
// tree, which Detect decides separately because EML trees are recognised
// by the files anywhere below them). The order matters: a Thunderbird
// profile holds mbox files and, with the maildir store, *.eml files; an
// Apple Mail tree holds .mbox directories.
func classify(path string) (Kind, string) {
	if k, note := thunderbird.Detect(path); k != thunderbird.KindNone {
		return Thunderbird, note
	}
	if emlx.Detect(path) {
		return AppleMail, ""
	}
	info, err := os.Stat(path)
	if err != nil {
		return Auto, ""
	}
	if info.Mode().IsRegular() {
		switch {
		case eml.Detect(path):
			return EML, ""
		case mbox.LooksLikeMbox(path):
			return Mbox, ""
		}
		return Auto, ""
	}
	if maildir.Detect(path) {
		return Maildir, ""
	}
	return Auto, ""
}

// detectTree finds the stores below a directory that is not one itself.
// A directory holding .eml files directly starts an EML tree unless it lies
// inside another store; when nothing but EML is found, the whole directory
// is one EML tree, so that its subdirectories become folders.
func detectTree(root string) ([]Found, error) {
	var stores, emlDirs []Found
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // an unreadable corner does not hide the rest
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") && d.IsDir() && !maildir.Detect(filepath.Dir(p)) {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if k, note := classify(p); k != Auto {
				stores = append(stores, Found{Kind: k, Path: p, Note: note})
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if k, note := classify(p); k == Mbox || k == Thunderbird || k == AppleMail {
			stores = append(stores, Found{Kind: k, Path: p, Note: note})
		} else if k == Auto && mbox.IsEmptyFolder(p) {
			stores = append(stores, Found{Kind: Mbox, Path: p})
		} else if k == EML {
			dir := filepath.Dir(p)
			if len(emlDirs) == 0 || !within(dir, emlDirs[len(emlDirs)-1].Path) {
				emlDirs = append(emlDirs, Found{Kind: EML, Path: dir})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(stores) == 0 && len(emlDirs) > 0 {
		return []Found{{Kind: EML, Path: root}}, nil
	}
	return append(stores, emlDirs...), nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// openKind opens the reader for one found store. notes are things the user
// must hear before going on.
func openKind(f Found, opts formats.Options) (formats.Reader, []string, error) {
	var notes []string
	switch f.Kind {
	case Thunderbird:
		// The reader itself warns (through opts.Warn) when Thunderbird may be
		// running on the profile.
		r, err := thunderbird.Open(f.Path, thunderbird.Options{Options: opts})
		return r, notes, err
	case AppleMail:
		r, err := emlx.Open(f.Path, opts)
		return r, notes, err
	case Maildir:
		r, err := maildir.Open(f.Path, opts)
		return r, notes, err
	case EML:
		r, err := eml.Open(f.Path, opts)
		return r, notes, err
	case Mbox:
		r, err := mbox.Open(f.Path, nil, mbox.ReaderOptions{SplitOptions: mbox.SplitOptions{Options: opts}})
		return r, notes, err
	}
	return nil, nil, fmt.Errorf("unknown store kind %q", f.Kind)
}

// Paths are the places a user's mail programs keep their stores.
type Paths struct {
	Home   string
	Getenv func(string) string
	GOOS   string
}

// SystemPaths describes this machine and user.
func SystemPaths() Paths {
	home, _ := os.UserHomeDir()
	return Paths{Home: home, Getenv: os.Getenv, GOOS: runtime.GOOS}
}

// DefaultSources lists the stores found in the usual places when the user
// names none: every Thunderbird profile (the default one of each
// installation first) and, on macOS, Apple Mail's ~/Library/Mail.
func DefaultSources(p Paths) []Found {
	var found []Found
	profiles, _ := thunderbird.FindProfiles(p.Home, p.Getenv, p.GOOS)
	for _, pr := range profiles {
		if pr.Missing {
			continue
		}
		note := "Thunderbird profile " + pr.Name
		if pr.Default {
			note += " (default)"
		}
		if l := thunderbird.LockStatus(pr.Dir); l != "" {
			note += "; " + l
		}
		found = append(found, Found{Kind: Thunderbird, Path: pr.Dir, Note: note})
	}
	if p.GOOS == "darwin" && p.Home != "" {
		lib := filepath.Join(p.Home, "Library", "Mail")
		if _, err := os.Stat(lib); err == nil {
			found = append(found, Found{Kind: AppleMail, Path: lib, Note: "Apple Mail"})
		}
	}
	return found
}
