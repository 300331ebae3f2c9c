package thunderbird

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"mailferry/formats"
)

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
// the shape of a hashed name and a name from the folder's
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
