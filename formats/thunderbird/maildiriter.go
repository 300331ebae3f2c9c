package thunderbird

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"mailferry/formats"
)

// maildirIter reads one folder of Thunderbird's maildir store: the files
// in cur/ (and new/, which Thunderbird does not make but others might);
// tmp/ holds interrupted writes and is skipped.
type maildirIter struct {
	r     *Reader
	f     *folder
	files []string
	i     int
	ix    *msfIndex
}

func (r *Reader) openMaildir(f *folder) (iter, error) {
	it := &maildirIter{r: r, f: f}
	for _, sub := range []string{"cur", "new"} {
		ents, err := os.ReadDir(filepath.Join(f.path, sub))
		if err != nil {
			if sub == "cur" {
				return nil, &formats.MessageError{Pos: formats.Pos{File: f.rel}, Op: "list maildir folder", Err: err}
			}
			continue
		}
		var names []string
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") && e.Type().IsRegular() { // links are not followed
				names = append(names, e.Name())
			}
		}
		sort.Slice(names, func(i, j int) bool { return naturalLess(names[i], names[j]) })
		for _, n := range names {
			it.files = append(it.files, filepath.Join(f.path, sub, n))
		}
	}
	if ents, err := os.ReadDir(filepath.Join(f.path, "tmp")); err == nil {
		n := 0
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
		if n > 0 {
			r.warnf(formats.Pos{File: f.rel + "/tmp"}, "%d file(s) in tmp/ (writes Thunderbird did not finish) skipped", n)
		}
	}
	it.ix = r.loadMSF(f, nil)
	return it, nil
}

// naturalLess orders file names by their leading number when both have
// one (Thunderbird's names start with a time), else as strings.
func naturalLess(a, b string) bool {
	na, ra := leadingDigits(a)
	nb, rb := leadingDigits(b)
	if na != "" && nb != "" && len(na) != len(nb) {
		return len(na) < len(nb)
	}
	if na != nb {
		return na < nb
	}
	return ra < rb
}

func leadingDigits(s string) (string, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return strings.TrimLeft(s[:i], "0"), s[i:]
}

func (it *maildirIter) next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if it.i >= len(it.files) {
		it.ix.finish(it.r, it.f, "the folder holds")
		return nil, io.EOF
	}
	path := it.files[it.i]
	it.i++
	rel := it.r.relPath(path)
	pos := formats.Pos{File: rel, Line: 1, Offset: 0, Index: it.i}
	st, err := os.Stat(path)
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "read message file", Err: err}
	}
	m := &formats.Message{Mailbox: it.f.box, Pos: pos}
	if st.Size() == 0 {
		m.Skip = formats.SkipEmpty
		m.Date, m.DateSource = st.ModTime(), formats.DateFileMtime
		return m, nil
	}
	h, fromLine, err := it.r.loadFile(path)
	it.r.opts.ReportFile(path, err)
	if err != nil {
		return nil, &formats.MessageError{Pos: pos, Op: "read message file", Err: err}
	}
	m.Size = it.r.ld.Spool().Size()
	m.Open = it.r.ld.Spool().Open
	var rec *msfMsg
	if it.ix != nil {
		rec = it.ix.record(it.ix.byToken[filepath.Base(path)], h)
	}
	it.r.applyMeta(m, it.f, h, fromLine, st.ModTime(), rec, it.ix != nil && it.ix.current)
	it.ix.tally(rec, m)
	return m, nil
}

func (it *maildirIter) close() error { return nil }

// loadFile reads one message file into the loader's spool: a leading
// From_ line removed (and returned), the stripped fields removed, CRLF
// line endings.
func (r *Reader) loadFile(path string) (formats.Header, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	res, err := r.ld.Load(f, formats.LoadOptions{StripFromLine: true, StripFields: StripFields})
	return res.Header, res.FromLine, err
}
