package formats

import (
	"fmt"
)

// FileLedger accounts for every file under a source, so that nothing is
// left behind silently: each file was read as mail, was recognised as a
// file that holds no mail (a summary, a setting, a picture, a cache), or
// is listed as not read with the reason. Directories that were not
// searched at all (the hidden settings and caches of other programs) are
// listed by name. It marshals into the JSON reports.
type FileLedger struct {
	// Root is the source that was accounted for.
	Root string `json:"root"`
	// Files and Bytes count every file found under Root (symbolic links
	// count as files of their own size); Files = Read.Files + the NoMail
	// groups' files + the NotRead entries' files (Check).
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// Read are the files whose content went into the message stream.
	Read FileCount `json:"read"`
	// NoMail groups the files recognised as holding no mail, by reason.
	NoMail []FileGroup `json:"no_mail"`
	// NotRead are the files (or whole directories of a store mailferry
	// cannot read) that hold or may hold mail and were not read.
	NotRead []NotRead `json:"not_read"`
	// NotSearched are directories not searched at all (not in Files).
	NotSearched []NotSearched `json:"not_searched,omitempty"`
	// ReadOutside counts files read from outside Root: the mail directory
	// an account's settings name elsewhere.
	ReadOutside FileCount `json:"read_outside,omitempty"`
}

// FileCount is a number of files and their size.
type FileCount struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// FileGroup is a number of files that hold no mail for the same reason.
type FileGroup struct {
	Reason string `json:"reason"`
	FileCount
	// Paths lists the files (relative to Root, with /), at most
	// MaxGroupPaths of them.
	Paths []string `json:"paths"`
}

// MaxGroupPaths bounds FileGroup.Paths, so that a directory of a hundred
// thousand thumbnails does not fill the report.
const MaxGroupPaths = 200

// NotReadKind says what kind of not-read entry it is, for code that
// branches on it (the exit code, the wording).
type NotReadKind string

// Kinds of not-read entries.
const (
	// NotReadMail is a file that looks like mail (an mbox, a message, an
	// .emlx) that no reader took.
	NotReadMail NotReadKind = "mail"
	// NotReadError is a file a reader tried and could not read.
	NotReadError NotReadKind = "error"
	// NotReadStore is a store of a mail program mailferry cannot read
	// (Outlook, Windows Mail, eM Client, ...): Advice says what to do.
	NotReadStore NotReadKind = "store"
	// NotReadLink is a symbolic link that was not followed because it
	// leaves the source or loops.
	NotReadLink NotReadKind = "link"
	// NotReadUnreadable is a file or directory this user may not read.
	NotReadUnreadable NotReadKind = "unreadable"
	// NotReadArchive is an archive (zip, tar, ...): not opened, it may
	// hold mail, but usually does not (Mail is not set).
	NotReadArchive NotReadKind = "archive"
	// NotReadLeftOut is mail a reader leaves out on purpose, as mail
	// programs do (an older Apple Mail store, a Thunderbird profile that is
	// not the default one, a hidden file inside a store): listed with how
	// to read it, but Mail is not set.
	NotReadLeftOut NotReadKind = "left out"
)

// NotRead is one file, or one directory, that was not read.
type NotRead struct {
	// Path is relative to the ledger's Root, with /.
	Path string      `json:"path"`
	Kind NotReadKind `json:"kind"`
	// Files is 1 for a file; a directory (a store mailferry cannot read)
	// counts the files below it.
	Files int   `json:"files"`
	Size  int64 `json:"size"`
	// Reason says what the file is and why it was not read.
	Reason string `json:"reason"`
	// Advice says what the user can do, when there is something to do.
	Advice string `json:"advice,omitempty"`
	// Mail is set when the entry holds or may hold mail that was not
	// left out on purpose: such entries make a run "finished, but not
	// everything could be taken".
	Mail bool `json:"mail"`
}

// NotSearched is a directory whose content was not looked at.
type NotSearched struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// NoMailFiles is the number of files recognised as holding no mail.
func (l *FileLedger) NoMailFiles() FileCount {
	var c FileCount
	for _, g := range l.NoMail {
		c.Files += g.Files
		c.Bytes += g.Bytes
	}
	return c
}

// NotReadFiles is the number of files not read.
func (l *FileLedger) NotReadFiles() FileCount {
	var c FileCount
	for _, n := range l.NotRead {
		c.Files += n.Files
		c.Bytes += n.Size
	}
	return c
}

// MailNotRead is the number of not-read entries that hold or may hold
// mail.
func (l *FileLedger) MailNotRead() int {
	n := 0
	for _, e := range l.NotRead {
		if e.Mail {
			n++
		}
	}
	return n
}

// Check verifies that every file is in exactly one bucket.
func (l *FileLedger) Check() error {
	nm, nr := l.NoMailFiles(), l.NotReadFiles()
	if sum := l.Read.Files + nm.Files + nr.Files; sum != l.Files {
		return fmt.Errorf("files under %s: %d, but read %d + no mail %d + not read %d = %d", l.Root, l.Files, l.Read.Files, nm.Files, nr.Files, sum)
	}
	if sum := l.Read.Bytes + nm.Bytes + nr.Bytes; sum != l.Bytes {
		return fmt.Errorf("bytes under %s: %d, but read %d + no mail %d + not read %d = %d", l.Root, l.Bytes, l.Read.Bytes, nm.Bytes, nr.Bytes, sum)
	}
	return nil
}
