package detect

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mailferry/formats"
	"mailferry/formats/mbox"
	"mailferry/formats/msg"
)

// Which directories are searched.
//
// A copy of a home folder holds mail in hidden directories (Thunderbird's
// ~/.thunderbird, Evolution's ~/.local/share/evolution/mail, a ~/.maildir)
// beside thousands of hidden caches and settings of other programs. The
// rule: a hidden directory is searched when it is one of the places mail
// programs keep mail (hiddenMailPaths; a path such as .local/share/
// evolution/mail is followed step by step and nothing else below .local is
// entered), or when it is itself a store (a maildir with cur/ and new/, a
// Mozilla root with profiles.ini). Every other hidden directory, and every
// cache directory (cacheDirs), is listed as not searched, and its content
// is not read, not even listed. Inside a store found, everything is
// searched.
var hiddenMailPaths = []string{
	".thunderbird",
	".mozilla-thunderbird",
	".icedove",
	".mozilla/seamonkey",
	".config/thunderbird",
	".var/app/org.mozilla.Thunderbird/.thunderbird",
	".var/app/eu.betterbird.Betterbird/.thunderbird",
	".local/share/evolution/mail",
	".local/share/local-mail",
	".evolution/mail",
	".kde/share/apps/kmail/mail",
	".kde4/share/apps/kmail/mail",
	".maildir",
	".Maildir",
	".mail",
	".Mail",
}

// pathTrie is hiddenMailPaths as a tree of path elements; a leaf is
// searched whole.
type pathTrie struct {
	children map[string]*pathTrie
	leaf     bool
}

func buildTrie(paths []string) *pathTrie {
	root := &pathTrie{children: map[string]*pathTrie{}}
	for _, p := range paths {
		n := root
		for _, e := range strings.Split(p, "/") {
			c := n.children[e]
			if c == nil {
				c = &pathTrie{children: map[string]*pathTrie{}}
				n.children[e] = c
			}
			n = c
		}
		n.leaf = true
	}
	return root
}

var hiddenTrie = buildTrie(hiddenMailPaths)

// cacheDirs are directories of caches and build output that never hold
// a user's mail and may hold a great many files.
var cacheDirs = map[string]bool{
	"Caches": true, "Cache": true, "cache": true, "cache2": true, "Code Cache": true, "GPUCache": true,
	"INetCache": true, "Temporary Internet Files": true, "startupCache": true, "node_modules": true,
	"__pycache__": true,
}

// Reasons for directories that were not searched.
const (
	reasonHiddenDir = "hidden directory of program settings or caches (not searched)"
	reasonCacheDir  = "cache directory (not searched)"
	reasonTooDeep   = "nested too deep (not searched)"
)

// maxWalkDepth bounds every walk of a source.
const maxWalkDepth = 64

// dirRule says how a directory outside any store is walked.
type dirRule int

const (
	ruleSearch    dirRule = iota // searched like any directory
	rulePartial                  // hidden: only the children on the trie
	ruleNotSearch                // hidden or a cache: not searched
)

// ruleFor decides a directory outside a store. node is the trie position
// when the parent was entered partially (nil otherwise). It returns the
// rule, the trie node to carry into the children, and the reason when
// the directory is not searched.
func ruleFor(dir, name string, node *pathTrie) (dirRule, *pathTrie, string) {
	if node != nil {
		c := node.children[name]
		switch {
		case c == nil:
			return ruleNotSearch, nil, reasonHiddenDir
		case c.leaf:
			return ruleSearch, nil, ""
		}
		return rulePartial, c, ""
	}
	if strings.HasPrefix(name, ".") {
		if c := hiddenTrie.children[name]; c != nil {
			if c.leaf {
				return ruleSearch, nil, ""
			}
			return rulePartial, c, ""
		}
		if isStoreItself(dir) {
			return ruleSearch, nil, ""
		}
		return ruleNotSearch, nil, reasonHiddenDir
	}
	if cacheDirs[name] {
		return ruleNotSearch, nil, reasonCacheDir
	}
	return ruleSearch, nil, ""
}

// isStoreItself is the cheap check for a hidden directory that is a store
// of its own: a maildir (cur/ and new/) or a Mozilla root (profiles.ini).
func isStoreItself(dir string) bool {
	return isDir(filepath.Join(dir, "cur")) && isDir(filepath.Join(dir, "new")) || isFile(filepath.Join(dir, "profiles.ini"))
}

// Reasons for files that hold no mail, recognised by name or content.
const (
	reasonSummary      = "mail summary (.msf): Thunderbird's index of an mbox file, rebuilt from it"
	reasonSettings     = "settings of a mail program or the system"
	reasonDatabase     = "database of a mail program (address book, search index, history)"
	reasonProgramData  = "program data (filters, POP3 state, folder caches, logs)"
	reasonLock         = "lock file of a running (or crashed) mail program"
	reasonOSMeta       = "folder metadata of the operating system (.DS_Store, Thumbs.db, ._ files)"
	reasonAppleIndex   = "Apple Mail's index and settings"
	reasonPartialCopy  = "partial copy (.partial.emlx) of a message whose full .emlx is read"
	reasonAttachment   = "attachment Mail.app stored beside its message (put back into the message when it is read)"
	reasonMaildirMeta  = "Maildir index and state of a mail server or sync tool"
	reasonMaildirTmp   = "unfinished delivery in a Maildir's tmp/ (never shown by a mail program)"
	reasonMHSequences  = "MH folder's sequences (which messages are unread, flagged, replied: given to them)"
	reasonEmpty        = "empty file"
	reasonText         = "text without mail headers"
	reasonBinary       = "binary data, not a mail format"
	reasonMedia        = "picture, sound or video"
	reasonDocument     = "document (PDF, office, web page)"
	reasonProgram      = "program or library"
	reasonWLMIndex     = "Windows Live Mail's index database (its messages are .eml files, read as such)"
	reasonNotRegular   = "not a regular file (a named pipe, socket or device): never opened"
	reasonLinkInside   = "symbolic link to a file inside the source (read, or listed, where it lies)"
	reasonLinkDangling = "symbolic link to nothing"
)

// leftOutByName recognises copies of folders that mail programs make
// while compacting: they hold mail, but copies of messages the folder
// itself holds (or held before the user deleted them), so they are left
// out on purpose and listed.
func leftOutByName(name string) (reason, advice string) {
	switch {
	case name == "nstmp" || strings.HasPrefix(name, "nstmp-") || strings.HasPrefix(name, "nstmp."):
		return "leftover of an interrupted compaction in Thunderbird: a possibly half-written copy of a folder, whose messages are in the folder itself",
			"compact the folders in Thunderbird, or look at the file by hand"
	case strings.HasPrefix(name, "#PB#"):
		return "copy Postbox keeps of a folder from before it was compacted (the folder itself is read)", ""
	}
	return "", ""
}

// knownNoMail recognises, by name alone, files that never hold mail.
func knownNoMail(path, name string) string {
	lower := strings.ToLower(name)
	ext := strings.ToLower(filepath.Ext(name))
	parent := filepath.Base(filepath.Dir(path))
	switch {
	case ext == ".msf":
		return reasonSummary
	case name == ".mh_sequences":
		return reasonMHSequences
	case lower == ".ds_store" || lower == "thumbs.db" || lower == "ehthumbs.db" || lower == "desktop.ini" ||
		strings.HasPrefix(name, "._") || name == "Icon\r" || lower == ".localized":
		return reasonOSMeta
	case lower == "lock" || lower == ".parentlock" || lower == "parent.lock":
		return reasonLock
	case strings.HasPrefix(lower, "envelope index") || parent == "MailData" || strings.HasPrefix(lower, "external changes"):
		return reasonAppleIndex
	case ext == ".plist":
		return reasonSettings
	case lower == "mail.msmessagestore" || ext == ".edb" || ext == ".jfm" || ext == ".chk" || ext == ".jrs":
		return reasonWLMIndex
	case strings.HasPrefix(lower, "dovecot") || lower == "maildirfolder" || lower == "subscriptions" ||
		strings.HasPrefix(lower, "courierimap") || strings.HasPrefix(lower, ".mbsyncstate") || lower == ".uidvalidity" ||
		lower == ".isyncuidmap.db" || lower == "folders.db" || ext == ".cmeta" || ext == ".ev-summary" || lower == "table_of_contents":
		return reasonMaildirMeta
	case ext == ".sqlite" || strings.HasPrefix(ext, ".sqlite-") || ext == ".db" || ext == ".db-journal" || ext == ".db-wal" ||
		ext == ".db-shm" || ext == ".mab" || ext == ".ldb" || ext == ".sqlite3":
		return reasonDatabase
	case lower == "prefs.js" || lower == "user.js" || ext == ".ini" || ext == ".rdf" || ext == ".cfg" || ext == ".conf" ||
		ext == ".xml" || ext == ".js" || ext == ".xpi" || ext == ".css":
		return reasonSettings
	case ext == ".dat" || ext == ".json" || ext == ".jsonlz4" || ext == ".mozlz4" || ext == ".lz4" || ext == ".log" ||
		ext == ".html" || ext == ".htm" || ext == ".tmp" || ext == ".bak" || ext == ".toc" || ext == ".idx" ||
		strings.HasPrefix(lower, "feeditems_error"):
		return reasonProgramData
	case mediaExt[ext]:
		return reasonMedia
	case documentExt[ext]:
		return reasonDocument
	case programExt[ext]:
		return reasonProgram
	}
	return ""
}

var (
	mediaExt = set(".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".webp", ".svg", ".ico", ".icns",
		".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".raw", ".cr2", ".nef")
	documentExt = set(".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp", ".rtf", ".pages",
		".numbers", ".key", ".epub", ".ttf", ".otf", ".woff", ".woff2")
	programExt = set(".exe", ".dll", ".so", ".dylib", ".sys", ".bin", ".o", ".a", ".class", ".jar", ".pyc", ".wasm")
	archiveExt = set(".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".dmg", ".iso", ".cab")
)

func set(l ...string) map[string]bool {
	m := map[string]bool{}
	for _, s := range l {
		m[s] = true
	}
	return m
}

// sniffed is what the first bytes of a file say.
type sniffed struct {
	mail   bool   // it looks like mail: the file should have been read
	reason string // what it is
}

// sniffSize is how much of an unknown file is read to tell what it is
// (plain text further, by mbox.TextBeforeFirstMessage).
const sniffSize = 4096

// sniff reads the start of a file that no reader took and no name
// recognised, and says whether it looks like mail.
func sniff(path string) (sniffed, error) {
	f, err := os.Open(path)
	if err != nil {
		return sniffed{}, err
	}
	defer f.Close()
	b := make([]byte, sniffSize)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return sniffed{}, err
	}
	sn := sniffBytes(b[:n])
	if sn.reason == reasonText && mbox.TextBeforeFirstMessage(path, mbox.EnvelopeSeparators) {
		// Notes above the mail, or a damaged start: an mbox all the same.
		sn = sniffed{mail: true, reason: "an mbox file with text before its first message"}
	}
	if !sn.mail && bytes.HasPrefix(b[:n], cfbMagic) && msg.Detect(path) {
		// A compound file is told from other programs' (Word, Excel,
		// installers) only by the streams inside it.
		sn = sniffed{mail: true, reason: "an Outlook message (.msg)"}
	}
	return sn, nil
}

// sniffBytes classifies the start of a file.
func sniffBytes(b []byte) sniffed {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(b, "\r\n")
	switch {
	case len(bytes.Trim(b, "\x00 \t\r\n")) == 0:
		return sniffed{reason: reasonEmpty}
	case bytes.HasPrefix(b, pstMagic):
		return sniffed{mail: true, reason: "an Outlook data file (.pst, .ost)"}
	case bytes.HasPrefix(trimmed, []byte("From ")):
		return sniffed{mail: true, reason: "an mbox file (messages after \"From \" lines)"}
	case looksLikeEmlxBytes(b):
		return sniffed{mail: true, reason: "an Apple Mail message (.emlx)"}
	case looksLikeMessage(b):
		return sniffed{mail: true, reason: "a mail message (a header block with From:, Date:, Subject: ...)"}
	}
	if t := magicType(b); t != "" {
		return sniffed{reason: t}
	}
	if isText(b) {
		return sniffed{reason: reasonText}
	}
	return sniffed{reason: reasonBinary}
}

// looksLikeMessage reports a header block that starts the file and holds
// a field every message has.
func looksLikeMessage(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || !formats.IsHeaderLine(line) {
		return false
	}
	end := formats.HeaderEnd(b)
	head := b
	if end >= 0 {
		head = b[:end]
	}
	h := formats.ParseHeader(head)
	found := 0
	for _, name := range []string{"From", "Date", "Subject", "Message-ID", "Received", "To", "Return-Path", "MIME-Version"} {
		if _, ok := h.Get(name); ok {
			found++
		}
	}
	return found >= 2
}

// looksLikeEmlxBytes reports the byte-count line of an .emlx file
// followed by a header field.
func looksLikeEmlxBytes(b []byte) bool {
	nl := bytes.IndexByte(b, '\n')
	if nl <= 0 || nl > 20 {
		return false
	}
	d := bytes.TrimSpace(b[:nl])
	if len(d) == 0 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return looksLikeMessage(b[nl+1:])
}

// magicType names common file types that hold no mail by their magic
// numbers.
func magicType(b []byte) string {
	has := func(p string) bool { return bytes.HasPrefix(b, []byte(p)) }
	switch {
	case has("\xff\xd8\xff"), has("\x89PNG"), has("GIF8"), has("BM"), has("II*\x00"), has("MM\x00*"),
		len(b) > 12 && string(b[4:8]) == "ftyp", has("RIFF"), has("ID3"), has("OggS"), has("fLaC"):
		return reasonMedia
	case has("%PDF"):
		return reasonDocument
	case has("SQLite format 3\x00"):
		return reasonDatabase
	case has("\x7fELF"), has("MZ"), has("\xcf\xfa\xed\xfe"), has("\xca\xfe\xba\xbe"):
		return reasonProgram
	case has("bplist"):
		return reasonSettings
	}
	return ""
}

// isText reports whether b is plain text (UTF-8 or a Latin charset
// without control bytes other than white space).
func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != 0x1b {
			return false
		}
	}
	return true
}
