// Package emlx reads Apple Mail stores: the .emlx files of Mail.app's
// ~/Library/Mail/V<n> directory (and copies of it, single .mbox folders or
// plain directories of .emlx files), .partial.emlx files whose attachments
// Mail.app stored separately, and "Export Mailbox…" bundles (<Name>.mbox/
// mbox, read with the mbox package). docs/applemail.md has the format
// facts and sources.
//
// A message's flags come from the plist's flags bit field (Flags), its
// received date from the plist's date-received, which is UTC epoch seconds
// (checked against the Received: headers of every real file in the
// corpus: they agree to within a second, in +0100, +0200, -0800 and
// +0000), else from the top-most Received: header, the Date: header or the
// file's modification time. Messages Mail.app marks deleted are reported
// with Skip set to formats.SkipDeleted.
package emlx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"mailferry/formats"
	"mailferry/formats/mbox"
)

// Reader reads an Apple Mail source. It implements formats.Reader.
type Reader struct {
	opts   formats.Options
	boxes  []*box
	bi     int // next box
	cur    *box
	queue  []msgFile
	qi     int
	index  int // messages yielded in the current box
	mboxTo string
	sub    formats.Reader // the current export bundle's mbox reader
	spool  *formats.Spool
	done   bool
}

var _ formats.Reader = (*Reader)(nil)

// Open finds the mailboxes under source (see discover for the layouts it
// knows). Messages are read one at a time by Next. Permission errors are
// *AccessError values (wrapping fs.ErrPermission) with a Full Disk Access
// hint.
func Open(source string, opts formats.Options) (*Reader, error) {
	boxes, err := discover(source, opts)
	if err != nil {
		return nil, err
	}
	return &Reader{opts: opts, boxes: boxes, spool: formats.NewSpool(opts.TempDir, opts.MemLimit)}, nil
}

// Mailboxes returns every mailbox found, empty ones included.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]*formats.Mailbox, len(r.boxes))
	for i, b := range r.boxes {
		out[i] = b.mb
	}
	return out, nil
}

// Next returns the next message, or io.EOF after the last. Its Open is
// valid until the following call. A file that is not an emlx file is
// yielded as a skipped message (formats.SkipNotMail) with a warning; a
// file that cannot be read is a *formats.MessageError, and the next call
// goes on with the next file.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.done {
			return nil, io.EOF
		}
		if r.sub != nil {
			m, err := r.sub.Next(ctx)
			if err == io.EOF {
				cerr := r.sub.Close()
				r.sub = nil
				if cerr != nil {
					return nil, fmt.Errorf("close %s: %w", r.cur.mboxFile, cerr)
				}
				continue
			}
			return m, err
		}
		if r.qi < len(r.queue) {
			f := r.queue[r.qi]
			r.qi++
			return r.message(f)
		}
		if r.mboxTo != "" {
			path := r.mboxTo
			r.mboxTo = ""
			sub, err := mbox.Open(path, r.cur.mb, mbox.ReaderOptions{SplitOptions: mbox.SplitOptions{Options: r.opts}})
			r.opts.ReportFile(path, err)
			if err != nil {
				return nil, access(path, fmt.Errorf("open exported mailbox %s: %w", r.cur.mb.DisplayPath(), err))
			}
			if _, err := sub.Mailboxes(ctx); err != nil {
				sub.Close()
				return nil, fmt.Errorf("open exported mailbox %s: %w", r.cur.mb.DisplayPath(), err)
			}
			r.sub = sub
			continue
		}
		if r.bi >= len(r.boxes) {
			r.done = true
			_ = r.spool.Reset()
			return nil, io.EOF
		}
		r.cur = r.boxes[r.bi]
		r.bi++
		r.index, r.qi, r.mboxTo = 0, 0, r.cur.mboxFile
		var err error
		if r.queue, err = listMessages(r.cur); err != nil {
			return nil, err
		}
	}
}

// message converts one file into the spool.
func (r *Reader) message(f msgFile) (*formats.Message, error) {
	if err := r.spool.Reset(); err != nil {
		return nil, fmt.Errorf("reset spool: %w", err)
	}
	r.index++
	pos := formats.Pos{File: f.path, Line: 1, Index: r.index}
	fh, err := os.Open(f.path)
	if err != nil {
		r.opts.ReportFile(f.path, err)
		return nil, &formats.MessageError{Pos: pos, Op: "open emlx", Err: access(f.path, err)}
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "stat emlx", Err: err}
	}
	partial := IsPartial(f.path)
	att := ""
	if partial {
		att = attachmentsDir(f.path)
	}
	c, err := convert(fh, st.Size(), f.path, partial, att, r.spool, r.opts.Warn)
	if errors.Is(err, ErrNotEmlx) {
		r.opts.Warnf(pos, "skipped: %v", err)
		return &formats.Message{Mailbox: r.cur.mb, Pos: pos, Skip: formats.SkipNotMail}, nil
	}
	r.opts.ReportFile(f.path, err)
	if err != nil {
		return nil, err
	}
	m := &formats.Message{
		Mailbox:    r.cur.mb,
		Size:       r.spool.Size(),
		Pos:        formats.Pos{File: f.path, Line: 2, Offset: c.file.MsgStart, Index: r.index},
		Open:       r.spool.Open,
		Incomplete: incompleteReason(c.missing),
	}
	m.Date, m.DateSource = c.receivedDate(st.ModTime())
	if bits, ok := c.file.Plist.Flags(); ok {
		var deleted bool
		m.Flags, deleted = Flags(bits)
		if deleted {
			m.Skip = formats.SkipDeleted
		}
	}
	return m, nil
}

// Close releases the spool and any open exported mailbox.
func (r *Reader) Close() error {
	var errs []error
	if r.sub != nil {
		errs = append(errs, r.sub.Close())
		r.sub = nil
	}
	errs = append(errs, r.spool.Close())
	r.done = true
	return errors.Join(errs...)
}
