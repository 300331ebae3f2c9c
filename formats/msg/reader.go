package msg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
)

// Reasons for skipping files, besides formats.SkipNotMail (Outlook items
// that are not mail) and formats.SkipEmpty.
const (
	SkipNotMsg     = "not an Outlook .msg message"
	SkipUnreadable = "Outlook .msg file could not be read"
)

// maxDepth bounds the directory walk; symbolic links to directories are
// not followed.
const maxDepth = 32

// Reader reads one .msg file or a tree of them. It is not safe for
// concurrent use.
type Reader struct {
	opts    formats.Options
	folders []*folder
	boxes   []*formats.Mailbox
	fi, mi  int
	spool   *formats.Spool
	closed  bool
}

type folder struct {
	box   *formats.Mailbox
	files []file
}

type file struct {
	path  string
	size  int64
	mtime time.Time
}

// Open reads the .msg file or directory tree at path. It lists every
// folder and file up front (without reading the files), so Mailboxes is
// complete; it fails when path cannot be read or a directory in it cannot
// be listed.
func Open(path string, opts formats.Options) (formats.Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open msg folder: %w", err)
	}
	r := &Reader{opts: opts, spool: formats.NewSpool(opts.TempDir, opts.MemLimit)}
	if !st.IsDir() {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("open msg file: %w", err)
		}
		dir := filepath.Dir(abs)
		f := r.addFolder(formats.Folder{filepath.Base(dir)}, dir)
		f.files = append(f.files, file{path: path, size: st.Size(), mtime: st.ModTime()})
	} else if err := r.walk(path); err != nil {
		return nil, err
	}
	for _, f := range r.folders {
		r.boxes = append(r.boxes, f.box)
	}
	return r, nil
}

func (r *Reader) addFolder(path formats.Folder, dir string) *folder {
	f := &folder{box: &formats.Mailbox{Path: path, Special: formats.SpecialByName(path), Store: "msg", Location: dir}}
	r.folders = append(r.folders, f)
	return f
}

// walk lists the tree below root into folders (formats.ListTree). Only
// the .msg files are the reader's: other files (attachments saved beside
// the messages, notes) are not messages, and are left to the caller's
// accounting of files (formats.Options.OnFile), which says what they are.
func (r *Reader) walk(root string) error {
	dirs, err := formats.ListTree(root, formats.TreeOptions{MaxDepth: maxDepth, Ignore: ignored, Warn: r.opts.Warnf})
	if err != nil {
		return fmt.Errorf("read msg folder: %w", err)
	}
	for _, d := range dirs {
		f := r.addFolder(d.Path, d.Dir)
		for _, tf := range d.Files {
			if strings.EqualFold(filepath.Ext(tf.Path), ".msg") {
				f.files = append(f.files, file{path: tf.Path, size: tf.Size, mtime: tf.ModTime})
			}
		}
	}
	return nil
}

// ignored names files that operating systems leave in folders.
func ignored(name string) bool {
	switch strings.ToLower(name) {
	case "thumbs.db", "desktop.ini", "ehthumbs.db":
		return true
	}
	return false
}

// Mailboxes returns every folder, empty ones too, in walk order.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.boxes, nil
}

// Next returns the next message, folder by folder, files in name order,
// or io.EOF. Skipped files come with Skip set and no Open.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed {
		return nil, errors.New("msg: Next on a closed reader")
	}
	for r.fi < len(r.folders) {
		f := r.folders[r.fi]
		if r.mi >= len(f.files) {
			r.fi++
			r.mi = 0
			continue
		}
		r.mi++
		return r.message(f, &f.files[r.mi-1], r.mi), nil
	}
	return nil, io.EOF
}

func (r *Reader) message(f *folder, fe *file, index int) *formats.Message {
	m := &formats.Message{Mailbox: f.box, Pos: formats.Pos{File: fe.path, Index: index}}
	if fe.size == 0 {
		m.Skip = formats.SkipEmpty
		return m
	}
	info, err := r.convert(fe.path)
	switch {
	case errors.Is(err, errNoSignature):
		// Neither a compound file nor an Internet message: the caller's
		// accounting of files says what it is.
		r.opts.Warnf(m.Pos, "skipped: %v", err)
		m.Skip = SkipNotMsg
		return m
	case err != nil:
		// A compound file named .msg that could not be read as a message
		// (ErrNotMsg: no property stream) is most likely a damaged one:
		// reported as a file not read, so that the loss is not hidden.
		me := &formats.MessageError{Pos: m.Pos, Op: "convert Outlook message", Err: err}
		r.opts.ReportFile(fe.path, me)
		r.opts.Warnf(m.Pos, "skipped: %v", me)
		m.Skip = SkipUnreadable
		return m
	}
	r.opts.ReportFile(fe.path, nil)
	if info.NotMail {
		m.Skip = formats.SkipNotMail
		return m
	}
	info.Fill(m, fe.mtime, r.opts)
	if r.opts.SizesOnly {
		m.Size = info.size
		m.Open = func() (io.ReadCloser, error) { return nil, formats.ErrNoBytes }
		return m
	}
	m.Size = r.spool.Size()
	m.Open = r.spool.Open
	return m
}

var errNoSignature = errors.New("no compound file signature")

type convertInfo struct {
	Info
	size int64
}

// convert converts one file into the spool (or only counts its bytes).
func (r *Reader) convert(path string) (convertInfo, error) {
	var ci convertInfo
	if err := r.spool.Reset(); err != nil {
		return ci, fmt.Errorf("reset spool: %w", err)
	}
	fh, err := os.Open(path)
	if err != nil {
		return ci, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return ci, err
	}
	var w io.Writer = r.spool
	counter := &countWriter{}
	if r.opts.SizesOnly {
		w = counter
	}
	var head [4096]byte
	n, _ := fh.ReadAt(head[:], 0)
	if n < 8 || !looksLikeCFB(head[:n]) {
		// Some programs save an Internet message under a .msg name: take
		// it as it is (CRLF line endings), as the eml reader would.
		h, ok := internetMessage(head[:n])
		if !ok {
			return ci, errNoSignature
		}
		cw := formats.NewCRLFWriter(w)
		if _, err := io.Copy(cw, fh); err != nil {
			return ci, err
		}
		if err := cw.Close(); err != nil {
			return ci, err
		}
		ci.Flags = []string{`\Seen`}
		ci.Class = "IPM.Note"
		if t, ok := h.Date(); ok {
			ci.Date, ci.DateSource = t, formats.DateHeader
		} else if t, ok := h.ReceivedDate(); ok {
			ci.Date, ci.DateSource = t, formats.DateReceived
		}
		ci.size = cw.N()
		return ci, nil
	}
	ci.Info, err = Convert(fh, st.Size(), w)
	ci.size = counter.n
	return ci, err
}

// internetMessage reports whether head starts an Internet message: a
// header block with a field every message has.
func internetMessage(head []byte) (formats.Header, bool) {
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line = head[:i]
	}
	if len(line) == 0 || line[0] == ' ' || line[0] == '\t' || !formats.IsHeaderLine(line) {
		return nil, false
	}
	h := formats.ParseHeader(head)
	for _, name := range []string{"From", "Date", "Subject", "Message-ID", "Received"} {
		if _, ok := h.Get(name); ok {
			return h, true
		}
	}
	return nil, false
}

// Close releases the spool. Next fails afterwards.
func (r *Reader) Close() error {
	r.closed = true
	return r.spool.Close()
}
