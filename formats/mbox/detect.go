package mbox

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mailferry/formats"
)

// LooksLikeMbox reports whether the file's first line that is not blank
// (after a UTF-8 byte order mark) is a From_ line.
func LooksLikeMbox(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for range 20 {
		line, err := br.ReadSlice('\n')
		line = bytes.TrimPrefix(line, utf8BOM)
		if len(bytes.TrimSpace(line)) > 0 {
			return bytes.HasPrefix(line, fromPrefix)
		}
		if err != nil {
			return false
		}
	}
	return false
}

// IsEmptyFolder decides whether an empty file found in a directory tree
// is an empty mbox folder: mbox exports and mail spools keep one file per
// folder, and an empty folder is an empty file. It is one when it is a
// regular file of 0 bytes, not hidden, beside at least one file of the
// same directory that is an mbox (LooksLikeMbox), and named like such a
// sibling: without an extension, or with the extension of one of them
// ("Drafts" beside "Inbox", "Old.mbox" beside "Sent.mbox"). A lone empty
// file, one in a directory of other files, and files named as single
// messages (.eml, .emlx, .msg, even when they start with a From_ line)
// are not mbox folders.
//
// A 0-byte file the user names as the source itself needs no siblings:
// see IsEmptySource.
func IsEmptyFolder(path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
		return false
	}
	name := filepath.Base(path)
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	ext := strings.ToLower(filepath.Ext(name))
	if notMboxExt(ext) {
		return false
	}
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	const maxLooks = 16 // enough to find a sibling; bounded in huge directories
	looked := 0
	for _, e := range ents {
		n := e.Name()
		if n == name || strings.HasPrefix(n, ".") || !e.Type().IsRegular() {
			continue
		}
		sibExt := strings.ToLower(filepath.Ext(n))
		if ext != "" && sibExt != ext || notMboxExt(sibExt) {
			continue
		}
		if looked++; looked > maxLooks {
			return false
		}
		if sib := filepath.Join(dir, n); LooksLikeMbox(sib) || TextBeforeFirstMessage(sib, EnvelopeSeparators) {
			return true
		}
	}
	return false
}

// IsEmptySource reports whether a file named as the source is an empty
// mbox: a regular file of 0 bytes. Nothing else the user can mean by
// pointing at an empty file holds mail, and an empty mbox is read as one
// empty folder named after the file, so that it is created (the user
// gets what he pointed at) rather than refused as "no mail store". Empty
// files whose name says they are single messages (.eml, .emlx, .msg) or
// Thunderbird summaries (.msf) are left to their own readers.
func IsEmptySource(path string) bool {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
		return false
	}
	return !notMboxExt(strings.ToLower(filepath.Ext(path)))
}

// notMboxExt reports the extensions of files that hold one message (.eml,
// .emlx, .msg; some start with a From_ line too) or a Thunderbird summary.
func notMboxExt(ext string) bool {
	switch ext {
	case ".eml", ".emlx", ".msg", ".msf":
		return true
	}
	return false
}

// salvageWindow bounds how far into a file TextBeforeFirstMessage looks for
// the first separator: far enough for a few notes typed above the mail or
// the remains of a damaged start, not so far that every large text file is
// read. A file with a NUL byte in its first binaryWindow bytes (a picture,
// an archive, a disk image under a name no rule knows) is looked at only
// that far: searching every such file of a home folder for mail would
// cost far more than the rare damaged mbox that starts with binary bytes.
const (
	salvageWindow = 256 << 10
	binaryWindow  = 4 << 10
)

// TextBeforeFirstMessage reports whether the file at path is an mbox file
// whose first message comes after text that is not a message (a damaged or
// hand-edited file): within its first 256 KiB, after such text, a "From "
// line starts a message by the splitter's own rule for seps. The splitter
// reads such a file from that separator on and yields the text before it
// quarantined (QuarantineLeadingText), so that nothing is lost. A file that
// starts with a From_ line (LooksLikeMbox) or with header fields (a
// message) is not one; a file that looks binary from its start is looked
// at only as far as its first 4 KiB (see salvageWindow).
func TextBeforeFirstMessage(path string, seps Separators) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, salvageWindow)
	n, err := io.ReadFull(f, head[:binaryWindow])
	if err == nil && bytes.IndexByte(head[:n], 0) < 0 {
		var more int
		more, err = io.ReadFull(f, head[n:])
		n += more
	}
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return false
	}
	head = head[:n]
	if !bytes.Contains(head, []byte("\nFrom ")) {
		return false
	}
	s := NewSplitter(bytes.NewReader(head), path, SplitOptions{
		Options:    formats.Options{SizesOnly: true},
		Separators: seps,
	})
	ctx := context.Background()
	first, err := s.Next(ctx)
	if err != nil || first.Quarantine == "" {
		return false
	}
	next, err := s.Next(ctx)
	return err == nil && next.Quarantine == "" && next.FromLine != ""
}
