package thunderbird

import (
	"context"
	"errors"
	"io"
	"mailferry/formats"
	"mailferry/formats/mbox"
	"os"
	"time"
)

// mboxIter reads one mbox folder.
type mboxIter struct {
	r      *Reader
	f      *folder
	file   *os.File
	sp     *mbox.Splitter
	ix     *msfIndex
	mtime  time.Time
	kept   int // messages not skipped as expunged
	closed bool
}

func (r *Reader) openMbox(f *folder) (iter, error) {
	file, err := os.Open(f.path)
	if err != nil {
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	it := &mboxIter{r: r, f: f, file: file, mtime: st.ModTime()}
	it.sp = mbox.NewSplitter(file, f.rel, mbox.SplitOptions{Options: r.opts.Options, Variant: r.opts.Variant, StripFields: StripFields})
	it.ix = r.loadMSF(f)
	return it, nil
}

func (it *mboxIter) next(ctx context.Context) (*formats.Message, error) {
	e, err := it.sp.Next(ctx)
	if err == io.EOF {
		it.finish()
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	var rec *msfMsg
	if it.ix != nil {
		rec = it.ix.match(it.ix.byOffset[e.Pos.Offset], e.Header)
	}
	m := &formats.Message{Mailbox: it.f.box, Pos: e.Pos, Size: e.Size, Open: e.Open}
	it.r.applyMeta(m, it.f, e.Header, e.FromLine, it.mtime, rec)
	if m.Skip != formats.SkipDeleted {
		it.kept++
	}
	return m, nil
}

// finish compares the summary's message count with the mbox's.
func (it *mboxIter) finish() {
	if it.ix == nil || it.f.acct.IMAPCache {
		return // an offline cache holds fewer bodies than headers by design
	}
	if it.ix.count != it.kept {
		it.r.warnf(formats.Pos{File: it.f.rel}, "the summary (.msf) lists %d messages, the mbox holds %d (deleted ones not counted); the mbox is what is read (the summary may be stale)", it.ix.count, it.kept)
	}
}

func (it *mboxIter) close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	return errors.Join(it.sp.Close(), it.file.Close())
}
