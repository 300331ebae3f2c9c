package mbox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
)

// StatusFields are the header fields whose meaning the Reader turns into
// IMAP flags, and which it therefore removes from the bytes uploaded (as
// the Thunderbird reader removes X-Mozilla-Status*): the server keeps the
// flags itself, and a stale "Status: RO" in the bytes would contradict them
// after the user changes a flag. Other mail-store fields stay: X-UID,
// X-IMAP and X-IMAPbase are private to the old server but harmless, and
// Content-Length and Lines describe the original message; removing them
// gains nothing and changes the message more than needed.
var StatusFields = []string{"Status", "X-Status", "X-Keywords"}

// DefaultDateOrder is where the generic Reader takes a message's received
// date from, first match wins: for mail spools, mboxrd archives and Gmail
// Takeout the From_ line is the delivery time.
var DefaultDateOrder = []formats.DateSource{
	formats.DateFromLine, formats.DateReceived, formats.DateHeader, formats.DateFileMtime,
}

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	SplitOptions
	// DateOrder lists where the received date comes from, first match
	// wins; nil means DefaultDateOrder. DateFromLine, DateReceived,
	// DateHeader and DateFileMtime are understood.
	DateOrder []formats.DateSource
	// Location is the zone of From_ line dates that carry none (asctime
	// dates usually do not); nil means time.Local, where the writing
	// program most likely ran.
	Location *time.Location
	// KeepStatusFields keeps Status, X-Status and X-Keywords in the bytes.
	KeepStatusFields bool
}

// Reader reads one mbox file as one mailbox and implements formats.Reader.
type Reader struct {
	f     *os.File // nil for NewReader
	box   *formats.Mailbox
	split *Splitter
	opts  ReaderOptions
	mtime time.Time
	now   time.Time // only to refuse dates in the future, never as a date
}

var _ formats.Reader = (*Reader)(nil)

// Open opens the mbox file at path as the mailbox box. A nil box means one
// named after the file, without an .mbox, .mbx or .txt extension, with
// Store "mbox". The file is only read.
func Open(path string, box *formats.Mailbox, opts ReaderOptions) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open mbox: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open mbox: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open mbox %s: is a directory", path)
	}
	r := NewReader(f, path, box, st.ModTime(), opts)
	r.f = f
	return r, nil
}

// NewReader reads the mbox stream src as the mailbox box (nil means
// MailboxFor(name)); name is the file name in positions. mtime is the last
// resort for dates (zero: none). Close does not close src.
func NewReader(src io.Reader, name string, box *formats.Mailbox, mtime time.Time, opts ReaderOptions) *Reader {
	if box == nil {
		box = MailboxFor(name)
	}
	if opts.DateOrder == nil {
		opts.DateOrder = DefaultDateOrder
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	so := opts.SplitOptions
	if !opts.KeepStatusFields {
		so.StripFields = append(append([]string(nil), so.StripFields...), StatusFields...)
	}
	return &Reader{
		box:   box,
		split: NewSplitter(src, name, so),
		opts:  opts,
		mtime: mtime,
		now:   time.Now(),
	}
}

// MailboxFor returns the mailbox a lone mbox file stands for: its name
// without an .mbox, .mbx or .txt extension, Store "mbox", and a special
// role for the conventional names (Inbox, Sent, Drafts, Trash, Junk/Spam,
// Archive).
func MailboxFor(path string) *formats.Mailbox {
	name := filepath.Base(path)
	ext := filepath.Ext(name)
	switch strings.ToLower(ext) {
	case ".mbox", ".mbx", ".txt":
		if ext != name {
			name = strings.TrimSuffix(name, ext)
		}
	}
	return &formats.Mailbox{
		Path:     formats.Folder{name},
		Special:  conventional[strings.ToLower(name)],
		Store:    "mbox",
		Location: path,
	}
}

var conventional = map[string]formats.Special{
	"inbox": formats.SpecialInbox, "sent": formats.SpecialSent, "drafts": formats.SpecialDrafts,
	"trash": formats.SpecialTrash, "junk": formats.SpecialJunk, "spam": formats.SpecialJunk,
	"archive": formats.SpecialArchive,
}

// Mailboxes returns the one mailbox.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []*formats.Mailbox{r.box}, nil
}

// Splitter returns the reader's splitter, e.g. to ask for its Variant.
func (r *Reader) Splitter() *Splitter { return r.split }

// Next returns the next message, or io.EOF.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	e, err := r.split.Next(ctx)
	if err != nil {
		return nil, err
	}
	m := &formats.Message{
		Mailbox:    r.box,
		Size:       e.Size,
		Pos:        e.Pos,
		Open:       e.Open,
		Quarantine: e.Quarantine,
	}
	if e.Quarantine != "" {
		return m, nil // no flags, no date: not a message
	}
	var deleted bool
	m.Flags, deleted = StatusFlags(e.Header, func(format string, args ...any) {
		r.opts.Warnf(e.Pos, format, args...)
	})
	switch {
	case e.Size == 0:
		m.Skip = formats.SkipNotMail
	case deleted:
		m.Skip = formats.SkipDeleted
	case isFolderData(e.Header):
		m.Skip = formats.SkipNotMail
	}
	m.Date, m.DateSource = e.ReceivedDate(r.opts.DateOrder, r.opts.Location, r.mtime, r.now)
	return m, nil
}

// isFolderData recognises the pseudo message UW-IMAP and Pine put first in
// an mbox to hold the folder's UID state (Dovecot reads and writes it too):
// it is not mail.
func isFolderData(h formats.Header) bool {
	if _, ok := h.Get("X-IMAP"); !ok {
		return false
	}
	subj, _ := h.Get("Subject")
	return strings.Contains(subj, "FOLDER INTERNAL DATA")
}

// Close closes the file.
func (r *Reader) Close() error {
	err := r.split.Close()
	if r.f != nil {
		if cerr := r.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// ReceivedDate picks the message's received date from the sources in order
// (DateFromLine, DateReceived, DateHeader, DateFileMtime; others are
// ignored). loc is the zone of From_ line dates without one (nil: UTC);
// mtime is the file's modification time. A date later than a day after now
// is a broken clock, not a received date, and is passed over; now is used
// for nothing else. The zero time and DateUnknown mean no source had one.
func (e *Entry) ReceivedDate(order []formats.DateSource, loc *time.Location, mtime, now time.Time) (time.Time, formats.DateSource) {
	limit := now.Add(24 * time.Hour)
	for _, src := range order {
		var t time.Time
		var ok bool
		switch src {
		case formats.DateFromLine:
			if e.FromLine != "" {
				_, t, ok = ParseFromLine(e.FromLine, loc)
			}
		case formats.DateReceived:
			t, ok = e.Header.ReceivedDate()
		case formats.DateHeader:
			t, ok = e.Header.Date()
		case formats.DateFileMtime:
			t, ok = mtime, !mtime.IsZero()
		}
		if ok && (now.IsZero() || t.Before(limit)) {
			return t, src
		}
	}
	return time.Time{}, formats.DateUnknown
}
