// Package msg reads Outlook .msg files, the files Outlook writes when a
// message is dragged out of it or saved ([MS-OXMSG]), and folders of
// them, as a formats.Reader.
//
// A .msg file is a Compound File Binary container (package cfb) holding
// one message as MAPI properties: the root storage's
// __properties_version1.0 stream lists the fixed-size properties (with
// their values) and the sizes of the others, each of which is a stream
// named __substg1.0_IIIITTTT after its ID and type; recipients and
// attachments are storages named __recip_version1.0_#NNNNNNNN and
// __attach_version1.0_#NNNNNNNN with their own property streams; an
// attached message is the attachment's __substg1.0_3701000D storage,
// laid out like the root; and __nameid_version1.0 maps the file's named
// properties (IDs from 0x8000) to their names. The message implements
// mapi.Message, and is converted to an Internet message by
// mapi.WriteMIME, the conversion the .pst reader uses too.
//
// Choices a careful user should know:
//   - A directory is read as a tree: every directory is a folder, named
//     as it is; the root's own files go into a folder named after the
//     root (as package eml does). Dot-files and dot-directories are
//     ignored, as are Thumbs.db and desktop.ini. Top-level folders named
//     as Outlook names its folders ("Inbox", "Sent Items", "Deleted
//     Items", ...) get their role (formats.SpecialByName).
//   - A file named .msg that holds an Internet message (some programs
//     save one under that name) is read as it is, like an .eml file:
//     CRLF line endings, \Seen, the date of its Date: or Received:
//     field.
//   - Every .msg file is a message of the stream, so that the counts add
//     up: those that hold other Outlook items (contacts, appointments,
//     tasks, notes) are skipped as formats.SkipNotMail, empty ones as
//     formats.SkipEmpty, those that are neither a compound file nor an
//     Internet message as SkipNotMsg, and those that cannot be read
//     (damaged) as SkipUnreadable, with a warning saying why. Each .msg
//     file read is reported through formats.Options.OnFile, and so is
//     each damaged one, with its error: it may have held mail.
//   - Files of other kinds in the tree (attachments saved beside the
//     messages, notes) are not messages: they yield nothing and are left
//     to the caller's accounting of files (package detect says what each
//     is), rather than counted as skipped messages, which would make
//     "messages found" count pictures and documents.
//   - Flags and the received date come from the message's properties
//     (mapi.Flags, mapi.ReceivedDate); without any date, the file's
//     modification time is used.
//   - What the conversion could not rebuild exactly is reported: missing
//     content (an attachment that is only a link to a file, an OLE
//     object) makes the message Incomplete; other notes that matter
//     (a damaged header or body) are warnings.
package msg

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/formats/msg/cfb"
)

// OpenMessage reads the Outlook message in the compound file r of the
// given size. The message reads r as it is used: r must stay open while
// it is.
func OpenMessage(r io.ReaderAt, size int64) (mapi.Message, error) {
	f, err := cfb.Open(r, size)
	if err != nil {
		return nil, err
	}
	o, err := newObject(f, f.Root(), nil, kindTop, 0)
	if err != nil {
		return nil, err
	}
	o.names = readNameMap(f)
	return message{o}, nil
}

// Info is what Convert learned about a message besides its bytes.
type Info struct {
	// Class is the message class (PidTagMessageClass).
	Class string
	// NotMail is true for Outlook items that are not mail (contacts,
	// appointments, ...): Convert then writes nothing.
	NotMail bool
	// Flags are the IMAP flags and keywords.
	Flags []string
	// Date is the received date and DateSource where it came from; zero
	// and formats.DateUnknown when the message has none.
	Date       time.Time
	DateSource formats.DateSource
	// Notes say what could not be rebuilt exactly.
	Notes mapi.Notes
}

// Fill gives m what Convert learned: the flags and keywords, the
// received date (else mtime, the file's modification time, when the
// message has no date or one in the future), Incomplete from the notes
// that mean a loss, and, through opts.Warn, the notes that say the
// original was damaged. The eml reader uses it for the .msg files among
// its .eml files, so that a message reads the same in both readers.
func (info Info) Fill(m *formats.Message, mtime time.Time, opts formats.Options) {
	for _, w := range info.Notes.Warnings() {
		opts.Warnf(m.Pos, "%s", w)
	}
	m.Incomplete = info.Notes.Incomplete()
	m.Flags = info.Flags
	m.Date, m.DateSource = info.Date, info.DateSource
	future := time.Now().Add(24 * time.Hour)
	if m.Date.IsZero() || m.Date.After(future) {
		m.Date, m.DateSource = time.Time{}, formats.DateUnknown
		if mtime.Unix() > 0 && !mtime.After(future) {
			m.Date, m.DateSource = mtime, formats.DateFileMtime
		}
	}
}

// Convert writes the .msg file in r (size bytes) to w as an Internet
// message (see mapi.WriteMIME), unless it is not mail. The eml reader can
// use it for .msg files it meets among .eml files.
func Convert(r io.ReaderAt, size int64, w io.Writer) (Info, error) {
	var info Info
	m, err := OpenMessage(r, size)
	if err != nil {
		return info, err
	}
	if info.Class, err = mapi.Class(m); err != nil {
		return info, err
	}
	if !mapi.IsMail(info.Class) {
		info.NotMail = true
		return info, nil
	}
	var kwNotes mapi.Notes
	if info.Flags, kwNotes, err = mapi.FlagsNoted(m); err != nil {
		return info, err
	}
	if info.Date, info.DateSource, err = mapi.ReceivedDate(m); err != nil {
		return info, err
	}
	info.Notes, err = mapi.WriteMIMESalvaging(w, m, mapi.WriteOptions{})
	info.Notes = append(info.Notes, kwNotes...)
	return info, err
}

// Detect reports whether path is an Outlook .msg file (by content: the
// compound file signature and a message's property stream; any name), or
// a directory with a .msg file in it within a few levels.
func Detect(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return isMsgFile(path)
	}
	return formats.FindInTree(path, 3, 2000, nil, func(p string) bool {
		return strings.EqualFold(filepath.Ext(p), ".msg") && isMsgFile(p)
	})
}

// isMsgFile reports whether the file is a compound file whose root holds
// a message's property stream and property value streams.
func isMsgFile(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var sig [8]byte
	if _, err := io.ReadFull(fh, sig[:]); err != nil || !cfb.IsCompoundFile(sig[:]) {
		return false
	}
	st, err := fh.Stat()
	if err != nil {
		return false
	}
	f, err := cfb.Open(fh, st.Size())
	if err != nil {
		return false
	}
	props, substg := false, false
	for _, c := range f.Children(f.Root()) {
		switch {
		case strings.EqualFold(c.Name, propStreamName) && c.Type == cfb.TypeStream:
			props = true
		case len(c.Name) > len(substgPrefix) && strings.EqualFold(c.Name[:len(substgPrefix)], substgPrefix):
			substg = true
		}
	}
	return props && substg
}

// countWriter counts bytes and discards them (Options.SizesOnly).
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// Reset starts the count over, so that a message written again without a
// damaged attachment (mapi.WriteMIMESalvaging) has the same size when
// only counted as when kept.
func (c *countWriter) Reset() error { c.n = 0; return nil }

func looksLikeCFB(head []byte) bool { return cfb.IsCompoundFile(head) }
