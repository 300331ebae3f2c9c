package thunderbird

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mailferry/formats"
	"mailferry/formats/mbox"
	"mailferry/internal/mutf7"
)

// Folder flags (cc:mailnews/base/public/nsMsgFolderFlags.idl), as stored in
// folderCache.json and the .msf dbfolderinfo row.
const (
	folderTrash     = 0x00000100
	folderSent      = 0x00000200
	folderDrafts    = 0x00000400
	folderQueue     = 0x00000800
	folderInbox     = 0x00001000
	folderArchive   = 0x00004000
	folderTemplates = 0x00400000
	folderJunk      = 0x40000000
)

// specialFromFlags maps folder flags to a folder role.
func specialFromFlags(f uint32) formats.Special {
	switch {
	case f&folderInbox != 0:
		return formats.SpecialInbox
	case f&folderSent != 0:
		return formats.SpecialSent
	case f&folderDrafts != 0:
		return formats.SpecialDrafts
	case f&folderTemplates != 0:
		return formats.SpecialTemplates
	case f&folderTrash != 0:
		return formats.SpecialTrash
	case f&folderJunk != 0:
		return formats.SpecialJunk
	case f&folderArchive != 0:
		return formats.SpecialArchive
	case f&folderQueue != 0:
		return formats.SpecialOutbox
	}
	return formats.SpecialNone
}

// specialFromName maps Thunderbird's conventional top-level folder names
// (docs/thunderbird.md, Special folders) to a folder role.
func specialFromName(name string) formats.Special {
	if strings.EqualFold(name, "Inbox") {
		return formats.SpecialInbox
	}
	switch name {
	case "Sent":
		return formats.SpecialSent
	case "Drafts":
		return formats.SpecialDrafts
	case "Templates":
		return formats.SpecialTemplates
	case "Trash":
		return formats.SpecialTrash
	case "Junk":
		return formats.SpecialJunk
	case "Archives":
		return formats.SpecialArchive
	case "Unsent Messages":
		return formats.SpecialOutbox
	}
	return formats.SpecialNone
}

// specialRank orders folders as Thunderbird's folder pane does.
func specialRank(s formats.Special) int {
	switch s {
	case formats.SpecialInbox:
		return 0
	case formats.SpecialDrafts:
		return 1
	case formats.SpecialTemplates:
		return 2
	case formats.SpecialSent:
		return 3
	case formats.SpecialArchive:
		return 4
	case formats.SpecialJunk:
		return 5
	case formats.SpecialTrash:
		return 6
	case formats.SpecialOutbox:
		return 7
	}
	return 8
}

type folderKind int

const (
	kindParent  folderKind = iota // a .sbd directory without a folder file
	kindEmpty                     // a .msf without a folder file
	kindMbox                      // an mbox file
	kindMaildir                   // a maildir-store folder directory (cur/, tmp/)
)

// folder is one mailbox and where its messages are.
type folder struct {
	box  *formats.Mailbox
	acct *Account
	kind folderKind
	path string // mbox file or maildir folder directory
	msf  string // its summary file, "" if none
	rel  string // path for positions, relative to the source
}

// ignoredFile reports whether Thunderbird never shows a file as a folder
// (nsMsgLocalStoreUtils::nsShouldIgnoreFile), plus other files real profiles
// hold (*.dat, *.tmp, *.html, *.json;
// docs/thunderbird.md, Files that are not folders), and single saved messages
// (*.eml, which Thunderbird's "Save As" writes with X-Mozilla-Status: the EML
// reader's). A file with a .msf beside it is a folder whatever its name.
func ignoredFile(name string) bool {
	lower := strings.ToLower(name)
	if name == "" || name[0] == '.' || name[0] == '#' || strings.HasSuffix(name, "~") {
		return true
	}
	switch lower {
	case "msgfilterrules.dat", "rules.dat", "filterlog.html", "junklog.html", "rulesbackup.dat",
		"popstate.dat", "sort.dat", "mailfilt.log", "filters.js", "feeds.rdf", "feeditems.rdf":
		return true
	}
	for _, suf := range []string{".msf", ".snm", ".toc", ".dat", ".tmp", ".html", ".json", ".eml", ".emlx",
		".json.tmp", ".json.backup", ".json.corrupt", ".mozmsgs", ".sbd", ".sqlite", ".sqlite-journal", ".sqlite-wal", ".sqlite-shm"} {
		if strings.HasSuffix(lower, suf) {
			return true
		}
	}
	return strings.HasPrefix(lower, "feeditems_error")
}

// isNstmp reports a compaction temporary file (nsMsgFolderCompactor
// writes "nstmp", CreateUnique makes "nstmp-1"…).
func isNstmp(name string) bool {
	return name == "nstmp" || strings.HasPrefix(name, "nstmp-") || strings.HasPrefix(name, "nstmp.")
}

// isMaildirFolder reports a maildir-store folder directory: it has cur/
// (Thunderbird creates cur/ and tmp/, no new/;
// docs/thunderbird.md, The maildir store).
func isMaildirFolder(dir string) bool {
	return isDir(filepath.Join(dir, "cur"))
}

// looksLikeMbox reports whether a file starts (after blank lines) with
// "From ", or is empty.
func looksLikeMbox(path string) bool {
	b, err := readHead(path, 512)
	if err != nil {
		return false
	}
	b = []byte(strings.TrimLeft(string(b), "\r\n"))
	return len(b) == 0 || strings.HasPrefix(string(b), "From ")
}

// looksLikeFolderDir reports whether dir holds Thunderbird folders: a
// .msf summary, filter rules or POP3 state, or an mbox with
// X-Mozilla-Status.
func looksLikeFolderDir(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	checked := 0
	for _, e := range ents {
		n := e.Name()
		lower := strings.ToLower(n)
		if strings.HasSuffix(lower, ".msf") || lower == "msgfilterrules.dat" || lower == "popstate.dat" {
			return true
		}
		if checked < 8 && !ignoredFile(n) && e.Type().IsRegular() {
			checked++
			if hasMozillaStatus(filepath.Join(dir, n)) {
				return true
			}
		}
	}
	return false
}

// hasMozillaStatus reports an mbox written by Thunderbird: it starts with
// "From " (or has text before its first message, a damaged or hand-edited
// folder file) and has an X-Mozilla-Status header near the start.
func hasMozillaStatus(path string) bool {
	// Most files a directory walk meets are not mbox files: look at the
	// first bytes before reading further.
	leading := false
	if !looksLikeMbox(path) {
		if !mbox.TextBeforeFirstMessage(path, mbox.ThunderbirdSeparators) {
			return false
		}
		leading = true
	}
	b, err := readHead(path, 16<<10)
	if err != nil {
		return false
	}
	s := strings.TrimLeft(string(b), "\r\n")
	return (leading || strings.HasPrefix(s, "From ")) && strings.Contains(s, "\nX-Mozilla-Status:")
}

// walker turns one account directory into folders.
type walker struct {
	r       *Reader
	acct    *Account
	name    string // Mailbox.Account
	hints   *nameHints
	cacheAt string // the account directory's path in cache keys: "Mail/x" or "x"
}

type candidate struct {
	name                    string // on-disk name
	file, maildir, msf, sbd bool
}

// walk adds the folders below dir, whose folder path is prefix and whose
// path below the account directory is diskRel (with .sbd elements).
func (w *walker) walk(dir string, prefix formats.Folder, diskRel string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		w.r.warnf(formats.Pos{File: w.r.relPath(dir)}, "cannot list folder directory: %v", err)
		return
	}
	cands := map[string]*candidate{}
	get := func(n string) *candidate {
		c := cands[n]
		if c == nil {
			c = &candidate{name: n}
			cands[n] = c
		}
		return c
	}
	for _, e := range ents {
		n := e.Name()
		full := filepath.Join(dir, n)
		if strings.HasPrefix(n, ".") {
			continue
		}
		if isNstmp(n) {
			w.r.warnf(formats.Pos{File: w.r.relPath(full)}, "leftover of an interrupted compaction (possibly a half-compacted copy of a folder); not imported — compact the folder in Thunderbird or look at it by hand")
			continue
		}
		st, err := os.Lstat(full)
		if err != nil {
			w.r.warnf(formats.Pos{File: w.r.relPath(full)}, "cannot read: %v", err)
			continue
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			// Links are never followed: a .sbd link may loop ("Loop.sbd ->
			// .") or lead out of the source. What it points to inside the
			// source is read where it lies.
			w.r.warnf(formats.Pos{File: w.r.relPath(full)}, "symbolic link not followed")
		case st.IsDir() && strings.HasSuffix(n, ".sbd"):
			get(strings.TrimSuffix(n, ".sbd")).sbd = true
		case st.IsDir() && strings.HasSuffix(n, ".mozmsgs"):
		case st.IsDir() && isMaildirFolder(full):
			get(n).maildir = true
		case st.IsDir():
			if !ignoredFile(n) {
				w.r.warnf(formats.Pos{File: w.r.relPath(full)}, "directory is not a Thunderbird folder; skipped")
			}
		case st.Mode().IsRegular() && strings.HasSuffix(strings.ToLower(n), ".msf"):
			get(n[:len(n)-4]).msf = true
		case st.Mode().IsRegular():
			get(n).file = true
		}
	}
	var list []*candidate
	for _, c := range cands {
		if c.file && !c.msf && !c.sbd {
			full := filepath.Join(dir, c.name)
			if ignoredFile(c.name) {
				continue
			}
			if !looksLikeMbox(full) && !mbox.TextBeforeFirstMessage(full, mbox.ThunderbirdSeparators) {
				w.r.warnf(formats.Pos{File: w.r.relPath(full)}, "not an mbox file (no \"From \" line at the start) and no .msf beside it; skipped")
				continue
			}
		}
		if !c.file && !c.maildir && !c.msf && !c.sbd {
			continue
		}
		list = append(list, c)
	}
	type item struct {
		c    *candidate
		f    *folder
		name string
	}
	var items []item
	for _, c := range list {
		f := w.folder(dir, prefix, diskRel, c)
		items = append(items, item{c, f, f.box.Path[len(f.box.Path)-1]})
	}
	sort.Slice(items, func(i, j int) bool {
		ri, rj := specialRank(items[i].f.box.Special), specialRank(items[j].f.box.Special)
		if ri != rj {
			return ri < rj
		}
		li, lj := strings.ToLower(items[i].name), strings.ToLower(items[j].name)
		if li != lj {
			return li < lj
		}
		return items[i].c.name < items[j].c.name
	})
	for _, it := range items {
		w.r.addFolder(it.f)
		if it.c.sbd {
			w.walk(filepath.Join(dir, it.c.name+".sbd"), it.f.box.Path, joinRel(diskRel, it.c.name+".sbd"))
		}
	}
}

func joinRel(a, b string) string {
	if a == "" {
		return b
	}
	return a + "/" + b
}

// folder makes the folder for one candidate of dir.
func (w *walker) folder(dir string, prefix formats.Folder, diskRel string, c *candidate) *folder {
	full := filepath.Join(dir, c.name)
	f := &folder{acct: w.acct}
	if c.msf {
		f.msf = full + ".msf"
	}
	store := "thunderbird-mbox"
	if w.acct.Maildir {
		store = "thunderbird-maildir"
	}
	switch {
	case c.maildir:
		f.kind, f.path, store = kindMaildir, full, "thunderbird-maildir"
	case c.file:
		f.kind, f.path, store = kindMbox, full, "thunderbird-mbox"
	case c.msf:
		f.kind = kindEmpty
	default:
		f.kind = kindParent
	}
	if f.path != "" {
		f.rel = w.r.relPath(f.path)
	}
	cacheKey := joinRel(w.cacheAt, joinRel(diskRel, c.name+".msf"))
	entry := w.hints.lookup(cacheKey)
	name := w.r.realName(c.name, full, f.msf, entry, w.hints)
	if w.acct.IMAPCache && name == c.name && strings.Contains(name, "&") {
		// Older Thunderbird named IMAP cache files after the server's
		// modified UTF-7 names ("Entw&APw-rfe";
		// docs/thunderbird.md, ImapMail: the offline cache).
		if dec, ok := mutf7.Decode(name); ok {
			name = dec
		}
	}
	path := append(append(formats.Folder{}, prefix...), name)
	special := formats.SpecialNone
	if entry != nil && entry.hasFlags {
		special = specialFromFlags(entry.flags)
	}
	if special == formats.SpecialNone && len(prefix) == 0 && w.acct.Skip == "" {
		special = specialFromName(name)
	}
	f.box = &formats.Mailbox{Account: w.name, Path: path, Special: special, Store: store, Location: f.path}
	return f
}
