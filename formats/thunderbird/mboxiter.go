package thunderbird

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"mailferry/formats"
	"mailferry/formats/mbox"
)

// mboxIter reads one mbox folder.
type mboxIter struct {
	r      *Reader
	f      *folder
	file   *os.File
	sp     *mbox.Splitter
	ix     *msfIndex
	mtime  time.Time
	closed bool
}

func (r *Reader) openMbox(f *folder) (iter, error) {
	file, err := os.Open(f.path)
	r.opts.ReportFile(f.path, err)
	if err != nil {
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "open mbox", Err: err}
	}
	it := &mboxIter{r: r, f: f, file: file, mtime: st.ModTime()}
	it.sp = mbox.NewSplitter(file, f.rel, mbox.SplitOptions{Options: r.opts.Options, Variant: r.opts.Variant,
		Separators: mbox.ThunderbirdSeparators, StripFields: StripFields})
	it.ix = r.loadMSF(f, st)
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
	m := &formats.Message{Mailbox: it.f.box, Pos: e.Pos, Size: e.Size, Open: e.Open, Quarantine: e.Quarantine}
	if e.Quarantine != "" {
		return m, nil // not a message: no flags, no date
	}
	var rec *msfMsg
	if it.ix != nil {
		rec = it.ix.record(it.ix.byOffset[e.Pos.Offset], e.Header)
	}
	it.r.applyMeta(m, it.f, e.Header, e.FromLine, it.mtime, rec, it.ix != nil && it.ix.current)
	it.ix.tally(rec, m)
	return m, nil
}

// finish compares the summary with the mbox.
func (it *mboxIter) finish() { it.ix.finish(it.r, it.f, "the mbox holds") }

func (it *mboxIter) close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	return errors.Join(it.sp.Close(), it.file.Close())
}
