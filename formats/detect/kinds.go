package detect

import (
	"bytes"
	"cmp"
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
	"mailferry/formats/msg"
	"mailferry/formats/pst"
	"mailferry/formats/thunderbird"
)

// classify says which kind of store path itself is (Auto: none, or an EML
// or .msg tree, which Detect decides separately because such trees are
// recognised by the files anywhere below them). The order matters: a
// Thunderbird profile holds mbox files and, with the maildir store, *.eml
// files; an Apple Mail tree holds .mbox directories. Outlook's files are
// recognised by their content whatever their name (a renamed backup is
// read too); an .ost gets a note, since its mail is usually on a server.
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
		head, err := fileHead(path)
		switch {
		case outlookHead(path, head, err):
			if strings.EqualFold(filepath.Ext(path), ".ost") {
				return Outlook, noteOST
			}
			return Outlook, ""
		case bytes.HasPrefix(head, cfbMagic) && msg.Detect(path):
			return MSG, ""
		case eml.Detect(path):
			return EML, ""
		case mbox.LooksLikeMbox(path), mbox.TextBeforeFirstMessage(path, mbox.EnvelopeSeparators):
			// A damaged or hand-edited mbox is read from its first
			// separator on; the text before it is quarantined.
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

// isOutlookFile reports whether the file at path is one for package pst:
// by its content, or, when it cannot be opened at all, by its name (.pst,
// .ost). Windows refuses to open a file that a running Outlook holds, and
// opening such a file as a store gives that error with what to do (close
// Outlook), where its content would have said nothing.
func isOutlookFile(path string) bool {
	head, err := fileHead(path)
	return outlookHead(path, head, err)
}

// outlookHead is isOutlookFile for a file whose head (or the error of
// reading it) is known.
func outlookHead(path string, head []byte, err error) bool {
	if err != nil {
		ext := strings.ToLower(filepath.Ext(path))
		return ext == ".pst" || ext == ".ost"
	}
	return bytes.HasPrefix(head, pstMagic) && pst.Detect(path)
}

// noteOST is the note of an .ost file read as a store.
const noteOST = "Outlook's offline copy of a server mailbox (.ost): its mail is usually still on that server"

// detectTree finds the stores below a directory that is not one itself
// (or, with owned, beside the directories a store at root reads). A
// directory holding .eml or Outlook .msg files directly starts a tree of
// message files (kind EML when it holds any .eml file, whose reader reads
// the .msg files too, else MSG) unless it lies inside another store; when
// nothing but such trees is found and collapse is set, the whole
// directory is one tree, so that its subdirectories become folders. Links
// are never followed; hidden directories and caches are entered only as
// ruleFor says.
func detectTree(root string, owned map[string]bool, collapse bool) ([]Found, error) {
	if _, err := os.ReadDir(root); err != nil {
		return nil, err
	}
	var stores, others, fileDirs []Found
	// messageDir records dir as holding message files of kind k: a
	// directory inside the tree recorded last belongs to it, and trees
	// recorded below dir (its subdirectories come first when their names
	// sort first) become part of dir's.
	messageDir := func(dir string, k Kind) {
		if n := len(fileDirs); n > 0 && within(dir, fileDirs[n-1].Path) {
			fileDirs[n-1].Kind = treeKind(fileDirs[n-1].Kind, k)
			return
		}
		for n := len(fileDirs); n > 0 && within(fileDirs[n-1].Path, dir); n-- {
			k = treeKind(k, fileDirs[n-1].Kind)
			fileDirs = fileDirs[:n-1]
		}
		fileDirs = append(fileDirs, Found{Kind: k, Path: dir})
	}
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
			switch k, note := classify(p); {
			case k == Mbox || k == Thunderbird || k == AppleMail || k == Outlook:
				stores = append(stores, Found{Kind: k, Path: p, Note: note})
			case k == Auto && mbox.IsEmptyFolder(p):
				stores = append(stores, Found{Kind: Mbox, Path: p})
			case k == EML, k == Auto && eml.IsMHMessage(p):
				// An MH folder's numbered message files are read by the
				// eml reader, with the flags of its .mh_sequences.
				messageDir(dir, EML)
			case k == MSG && strings.EqualFold(filepath.Ext(name), ".msg"):
				// The msg reader takes .msg files only (a template, .oft,
				// is not a message to upload).
				messageDir(dir, MSG)
			}
		}
	}
	walk(root, nil, 0)
	if collapse && len(stores) == 0 && len(fileDirs) > 0 {
		k := MSG
		for _, f := range fileDirs {
			k = treeKind(k, f.Kind)
		}
		return append([]Found{{Kind: k, Path: root}}, others...), nil
	}
	out := append(stores, mergeFileTrees(root, fileDirs, stores)...)
	return append(out, others...), nil
}

// treeKind is the kind of a tree of message files holding trees of kinds
// a and b: EML when either holds .eml files (the eml reader reads .msg
// files too), else MSG.
func treeKind(a, b Kind) Kind {
	if a == EML || b == EML {
		return EML
	}
	return MSG
}

// mergeFileTrees makes sibling trees of message files one tree rooted at
// their parent ("Exported EML/Inbox" and "Exported EML/Archive" become
// "Exported EML", whose subdirectories are then folders), unless the
// parent is the source root or holds another store.
func mergeFileTrees(root string, trees, stores []Found) []Found {
	for changed := true; changed; {
		changed = false
		byParent := map[string]int{}
		kinds := map[string]Kind{}
		for _, f := range trees {
			parent := filepath.Dir(f.Path)
			byParent[parent]++
			kinds[parent] = treeKind(cmp.Or(kinds[parent], MSG), f.Kind)
		}
		var out []Found
		done := map[string]bool{}
		for _, f := range trees {
			parent := filepath.Dir(f.Path)
			if byParent[parent] < 2 || parent == root || !within(parent, root) || holdsStore(parent, stores) {
				out = append(out, f)
				continue
			}
			if !done[parent] {
				done[parent] = true
				out = append(out, Found{Kind: kinds[parent], Path: parent})
				changed = true
			}
		}
		trees = out
	}
	return trees
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
	case Outlook:
		// The reader reports the file itself, read or not.
		r, err := pst.Open(f.Path, opts)
		return r, notes, err
	case MSG:
		r, err := msg.Open(f.Path, opts)
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
// installation first), on macOS Apple Mail's ~/Library/Mail, on Windows
// the .eml folders of Windows Live Mail and of Vista's Windows Mail, and
// the Outlook data files (.pst, .ost) in the folders Outlook keeps them in
// (outlookDirs). OtherSources lists the stores of programs mailferry
// cannot read.
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
	for _, dir := range outlookDirs(p) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			path := filepath.Join(dir, e.Name())
			if (ext != ".pst" && ext != ".ost") || !e.Type().IsRegular() || !isOutlookFile(path) {
				continue // OtherSources names the Outlook files that cannot be read
			}
			note := "Outlook data file " + e.Name()
			if ext == ".ost" {
				note = "Outlook's offline copy of a server mailbox, " + e.Name() + " (its mail is usually still on that server)"
			}
			found = append(found, Found{Kind: Outlook, Path: path, Note: note})
		}
	}
	return found
}

// outlookDirs are the folders Outlook keeps its data files in on p.GOOS.
// On Windows: Documents\Outlook Files (Outlook 2010 and later: .pst files
// of POP3 accounts and archives), the same below OneDrive (which often
// holds the Documents folder), My Documents\Outlook Files (Windows XP),
// %LOCALAPPDATA%\Microsoft\Outlook (.ost files, and the .pst files of
// Outlook 2007 and earlier) and its Windows XP equivalent, Local
// Settings\Application Data\Microsoft\Outlook. On macOS,
// ~/Documents/Outlook Files, where .pst files copied from Windows are
// kept by the same habit (Outlook for Mac itself keeps mail in a
// database of its own, which OtherSources names).
func outlookDirs(p Paths) []string {
	getenv := p.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var dirs []string
	add := func(elem ...string) {
		if elem[0] != "" {
			dirs = append(dirs, filepath.Join(elem...))
		}
	}
	switch p.GOOS {
	case "windows":
		local, oneDrive := getenv("LOCALAPPDATA"), getenv("OneDrive")
		if local == "" && p.Home != "" {
			local = filepath.Join(p.Home, "AppData", "Local")
		}
		if oneDrive == "" && p.Home != "" {
			oneDrive = filepath.Join(p.Home, "OneDrive")
		}
		add(p.Home, "Documents", "Outlook Files")
		add(oneDrive, "Documents", "Outlook Files")
		add(p.Home, "My Documents", "Outlook Files")
		add(local, "Microsoft", "Outlook")
		add(p.Home, "Local Settings", "Application Data", "Microsoft", "Outlook")
	case "darwin":
		add(p.Home, "Documents", "Outlook Files")
	}
	return dirs
}
