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
	if maildir.Detect(path) && maildirRoot(path) {
		return Maildir, ""
	}
	return Auto, ""
}

// maildirRoot decides a directory that maildir.Detect accepts: one with
// cur/ or new/ of its own (with its Maildir++ ".Name" folders) is a maildir;
// one that only has maildirs among its subdirectories (Dovecot's
// LAYOUT=fs: INBOX/, Sent/, ...) is the root of a maildir tree only when
// at least half of its subdirectories are maildirs. A copied home folder
// with a Maildir/ beside Documents/, Pictures/ and Library/ is not one:
// its Maildir/ is found as a store of its own, and the rest is searched.
func maildirRoot(dir string) bool {
	if isDir(filepath.Join(dir, "cur")) || isDir(filepath.Join(dir, "new")) {
		return true
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	mail, other := 0, 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		hasMaildir := isDir(filepath.Join(sub, "cur")) || isDir(filepath.Join(sub, "new"))
		switch {
		case strings.HasPrefix(e.Name(), "."):
			// Maildir++ folders sit in a maildir with cur/ and new/ of
			// its own (its INBOX), found above; here a hidden maildir is
			// a store of its own (~/.maildir beside ~/Documents).
		case hasMaildir:
			mail++
		default:
			other++
		}
	}
	return mail > 0 && mail >= other
}

// detectTree finds the stores below a directory that is not one itself
// (or, with owned, beside the directories a store at root reads). A
// directory holding .eml files directly starts an EML tree unless it lies
// inside another store; when nothing but EML is found and collapse is
// set, the whole directory is one EML tree, so that its subdirectories
// become folders. Links are never followed; hidden directories and
// caches are entered only as ruleFor says.
func detectTree(root string, owned map[string]bool, collapse bool) ([]Found, error) {
	if _, err := os.ReadDir(root); err != nil {
		return nil, err
	}
	var stores, others, emlDirs []Found
	var walk func(dir string, node *pathTrie, depth int)
	walk = func(dir string, node *pathTrie, depth int) {
		ents, err := os.ReadDir(dir)
		if err != nil || depth > maxWalkDepth {
			return // an unreadable corner does not hide the rest (the file accounting lists it)
		}
		for _, e := range ents {
			name := e.Name()
			p := filepath.Join(dir, name)
			if owned[p] || e.Type()&fs.ModeSymlink != 0 {
				continue
			}
			if e.IsDir() {
				rule, next, _ := ruleFor(p, name, node)
				switch {
				case rule == ruleNotSearch:
				case rule == rulePartial:
					walk(p, next, depth+1)
				default:
					if o := otherStoreDir(p, name); o != nil {
						others = append(others, otherFound(p, o))
					} else if k, note := classify(p); k != Auto {
						stores = append(stores, Found{Kind: k, Path: p, Note: note})
					} else {
						walk(p, nil, depth+1)
					}
				}
				continue
			}
			if !e.Type().IsRegular() || node != nil {
				continue
			}
			if o := otherStoreFile(p, name); o != nil {
				others = append(others, otherFound(p, o))
				continue
			}
			if knownNoMail(p, name) != "" {
				continue
			}
			if k, note := classify(p); k == Mbox || k == Thunderbird || k == AppleMail {
				stores = append(stores, Found{Kind: k, Path: p, Note: note})
			} else if k == Auto && mbox.IsEmptyFolder(p) {
				stores = append(stores, Found{Kind: Mbox, Path: p})
			} else if k == EML {
				if len(emlDirs) == 0 || !within(dir, emlDirs[len(emlDirs)-1].Path) {
					emlDirs = append(emlDirs, Found{Kind: EML, Path: dir})
				}
			}
		}
	}
	walk(root, nil, 0)
	if collapse && len(stores) == 0 && len(emlDirs) > 0 {
		return append([]Found{{Kind: EML, Path: root}}, others...), nil
	}
	out := append(stores, mergeEML(root, emlDirs, stores)...)
	return append(out, others...), nil
}

// mergeEML makes sibling EML trees one tree rooted at their parent ("Exported
// EML/Inbox" and "Exported EML/Archive" become "Exported EML", whose
// subdirectories are then folders), unless the parent is the source root
// or holds another store.
func mergeEML(root string, eml, stores []Found) []Found {
	for changed := true; changed; {
		changed = false
		byParent := map[string]int{}
		for _, f := range eml {
			byParent[filepath.Dir(f.Path)]++
		}
		var out []Found
		done := map[string]bool{}
		for _, f := range eml {
			parent := filepath.Dir(f.Path)
			if byParent[parent] < 2 || parent == root || !within(parent, root) || holdsStore(parent, stores) {
				out = append(out, f)
				continue
			}
			if !done[parent] {
				done[parent] = true
				out = append(out, Found{Kind: EML, Path: parent})
				changed = true
			}
		}
		eml = out
	}
	return eml
}

func holdsStore(dir string, stores []Found) bool {
	for _, s := range stores {
		if within(s.Path, dir) {
			return true
		}
	}
	return false
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
		opts.ReportFile(f.Path, err)
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
// names none: every profile of Thunderbird and the programs that share its
// format (Betterbird, SeaMonkey, Postbox, Icedove; the default one of each
// installation first), on macOS Apple Mail's ~/Library/Mail, and on
// Windows the .eml folders of Windows Live Mail and of Vista's Windows
// Mail. OtherSources lists the stores of programs mailferry cannot read.
func DefaultSources(p Paths) []Found {
	var found []Found
	profiles, _ := thunderbird.FindProfiles(p.Home, p.Getenv, p.GOOS)
	for _, pr := range profiles {
		if pr.Missing {
			continue
		}
		program := pr.Program
		if program == "" {
			program = thunderbird.ProgramThunderbird
		}
		note := program + " profile " + pr.Name
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
	if p.GOOS == "windows" {
		local := ""
		if p.Getenv != nil {
			local = p.Getenv("LOCALAPPDATA")
		}
		if local == "" && p.Home != "" {
			local = filepath.Join(p.Home, "AppData", "Local")
		}
		for _, w := range []struct{ dir, note string }{
			{filepath.Join(local, "Microsoft", "Windows Live Mail"), "Windows Live Mail (.eml files)"},
			{filepath.Join(local, "Microsoft", "Windows Mail", "Local Folders"), "Windows Mail of Windows Vista (.eml files)"},
		} {
			if local != "" && isDir(w.dir) && eml.Detect(w.dir) {
				found = append(found, Found{Kind: EML, Path: w.dir, Note: w.note})
			}
		}
	}
	return found
}
