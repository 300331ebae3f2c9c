package convert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"mailferry/formats"
)

// maildirLetters is the one table from IMAP flags to Maildir info letters
// (cr.yp.to/proto/maildir.html). P (passed) stands for
// $Forwarded as in formats/maildir; since Dovecot ignores P and keeps
// $Forwarded as a keyword, it is written both ways. T (trashed) is never
// written: skipped messages are not converted.
var maildirLetters = []struct {
	flag   string
	letter byte
}{
	{`\Draft`, 'D'},
	{`\Flagged`, 'F'},
	{"$Forwarded", 'P'},
	{`\Answered`, 'R'},
	{`\Seen`, 'S'},
}

// maxDirName is the longest directory name common file systems take.
const maxDirName = 255

// maildirInfoSep separates the unique name from the flags: ':' by the
// specification, ';' on Windows where ':' cannot be in a file name (as
// go-maildir does; formats/maildir reads both everywhere).
func maildirInfoSep() string {
	if runtime.GOOS == "windows" {
		return ";"
	}
	return ":"
}

// maildirFolder is the per-folder state.
type maildirFolder struct {
	dir      string
	keywords []string // index i is letter 'a'+i
}

type maildirWriter struct {
	out string
	seq int
}

func newMaildirWriter(out string) *maildirWriter { return &maildirWriter{out: out} }

func (w *maildirWriter) mkdir(n *node) error {
	if n.made {
		return nil
	}
	// Out is always the INBOX, with or without an inbox in the source.
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(w.out, sub), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	if n.rel == "." {
		n.made, n.state = true, &maildirFolder{dir: w.out}
		return nil
	}
	if len(n.rel) > maxDirName {
		return fmt.Errorf("the Maildir++ name %q is longer than %d bytes; leave out this folder with --exclude or convert to another format", n.rel, maxDirName)
	}
	dir := filepath.Join(w.out, n.rel)
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	// Courier and Dovecot mark Maildir++ subfolders with this file.
	f, err := os.OpenFile(filepath.Join(dir, "maildirfolder"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	n.made, n.state = true, &maildirFolder{dir: dir}
	return nil
}

func (w *maildirWriter) write(n *node, m *formats.Message, s *source, fr *FolderReport) error {
	st := n.state.(*maildirFolder)
	letters, err := w.letters(st, m.Flags, fr)
	if err != nil {
		return err
	}
	w.seq++
	base := strconv.FormatInt(max(s.date.Unix(), 0), 10) + ".M" + strconv.Itoa(w.seq) + ".mailferry"
	tmp := filepath.Join(st.dir, "tmp", base)
	nw, err := s.writeTemp(tmp)
	if err != nil {
		return err
	}
	// Dovecot's maildir-save.c: a message without flags and keywords is
	// delivered to new/, any other to cur/ with its info.
	final := filepath.Join(st.dir, "new", base)
	if letters != "" {
		final = filepath.Join(st.dir, "cur", base+maildirInfoSep()+"2,"+letters)
	}
	if _, err := os.Lstat(final); err == nil {
		os.Remove(tmp)
		return fmt.Errorf("%s exists already; not overwriting it", final)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	fr.Bytes += nw
	return nil
}

// letters turns flags into info letters in ASCII order, assigning keyword
// letters as keywords appear; the 27th and later keywords of a folder
// are lost.
func (w *maildirWriter) letters(st *maildirFolder, flags []string, fr *FolderReport) (string, error) {
	var out []byte
	changed := false
flags:
	for _, f := range flags {
		for _, e := range maildirLetters {
			if strings.EqualFold(f, e.flag) {
				out = append(out, e.letter)
				if e.letter != 'P' {
					continue flags
				}
				// Dovecot ignores P: it keeps $Forwarded as a keyword.
				// Both are written; readers that know either find it.
				f = "$Forwarded"
				break
			}
		}
		if strings.HasPrefix(f, `\`) || f == "" {
			addLost(fr, f)
			continue
		}
		k := keywordAtom(f)
		idx := -1
		for i, have := range st.keywords {
			if strings.EqualFold(have, k) {
				idx = i
				break
			}
		}
		if idx < 0 {
			if len(st.keywords) >= 26 {
				addLost(fr, f)
				continue
			}
			st.keywords = append(st.keywords, k)
			idx = len(st.keywords) - 1
			changed = true
		}
		out = append(out, byte('a'+idx))
	}
	if changed {
		if err := w.writeKeywords(st); err != nil {
			return "", err
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	// drop duplicates
	uniq := out[:0]
	for i, c := range out {
		if i == 0 || c != out[i-1] {
			uniq = append(uniq, c)
		}
	}
	return string(uniq), nil
}

// writeKeywords replaces the folder's dovecot-keywords file ("<index>
// <keyword>" per line), before any message uses the new letter.
func (w *maildirWriter) writeKeywords(st *maildirFolder) error {
	var b strings.Builder
	for i, k := range st.keywords {
		fmt.Fprintf(&b, "%d %s\n", i, k)
	}
	final := filepath.Join(st.dir, "dovecot-keywords")
	tmp := filepath.Join(st.dir, "tmp", "dovecot-keywords.mailferry")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (w *maildirWriter) close(failed bool) error { return nil }
