package convert

import (
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/emersion/go-message/charset"

	"mailferry/formats"
)

// maxSubjectRunes is how much of the subject goes into an .eml file name.
const maxSubjectRunes = 60

// emlFolder is the per-folder state: the file names handed out.
type emlFolder struct {
	dir   string
	files *namer
}

type emlWriter struct {
	out string
	seq int
	dec *mime.WordDecoder
}

func newEMLWriter(out string) *emlWriter {
	return &emlWriter{out: out, dec: &mime.WordDecoder{CharsetReader: charset.Reader}}
}

func (w *emlWriter) mkdir(n *node) error {
	if n.made || n.parent == nil {
		return nil
	}
	if err := w.mkdir(n.parent); err != nil {
		return err
	}
	dir := filepath.Join(w.out, n.rel)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	n.made = true
	n.state = &emlFolder{dir: dir, files: newNamer(nameRules{maxBytes: 200})}
	return nil
}

func (w *emlWriter) write(n *node, m *formats.Message, s *source, fr *FolderReport) error {
	st := n.state.(*emlFolder)
	for _, f := range m.Flags {
		addLost(fr, f)
	}
	w.seq++
	tmp := filepath.Join(st.dir, ".mailferry-"+strconv.Itoa(w.seq)+".tmp")
	nw, err := s.writeTemp(tmp)
	if err != nil {
		return err
	}
	stem := emlStem(s, w.dec)
	for {
		final := filepath.Join(st.dir, st.files.unique(stem, ".eml"))
		if _, err := os.Lstat(final); err == nil {
			continue // never overwrite; take the next name
		}
		if err := os.Rename(tmp, final); err != nil {
			os.Remove(tmp)
			return err
		}
		break
	}
	fr.Bytes += nw
	return nil
}

// emlStem is the file name of a message without ".eml": its date and its
// subject, e.g. "2019-03-04 1012 Re- Meeting notes".
func emlStem(s *source, dec *mime.WordDecoder) string {
	date := "undated"
	if !s.undated {
		date = s.date.Format("2006-01-02 1504")
	}
	subj, _ := s.head.Get("Subject")
	if d, err := dec.DecodeHeader(subj); err == nil {
		subj = d
	}
	subj = SubjectName(subj)
	if subj == "" {
		subj = "no subject"
	}
	return date + " " + subj
}

// SubjectName makes a subject into part of a file name safe on Windows,
// macOS and Linux: characters file systems refuse (`/\:*?"<>|`) become
// '-', control characters and runs of white space become one space, and
// the result is cut to 60 characters without dots, spaces or dashes at
// its ends. "Re: Meeting notes" becomes "Re- Meeting notes".
func SubjectName(subj string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, c := range strings.ToValidUTF8(subj, "_") {
		if n >= maxSubjectRunes {
			break
		}
		switch {
		case unicode.IsSpace(c) || unicode.IsControl(c):
			space = true
			continue
		case strings.ContainsRune(fsIllegal, c):
			c = '-'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(c)
		n++
	}
	return strings.Trim(b.String(), ". -")
}

func (w *emlWriter) close(failed bool) error { return nil }
