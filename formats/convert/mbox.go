package convert

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"mailferry/formats"
)

// mozFlags is the one table from IMAP flags to Thunderbird's flag bits
// (cc:mailnews/base/public/nsMsgMessageFlags.idl). Bits
// below 0x10000 go into X-Mozilla-Status, the others into
// X-Mozilla-Status2. Keywords not listed here go into X-Mozilla-Keys.
var mozFlags = []struct {
	flag string
	bit  uint32
}{
	{`\Seen`, 0x0001},
	{`\Answered`, 0x0002},
	{`\Flagged`, 0x0004},
	{"$Forwarded", 0x1000},
	{"$MDNSent", 0x00800000},
}

// mozKeysBlank is the length Thunderbird pads X-Mozilla-Keys to so that
// it can add tags in place (X_MOZILLA_KEYWORDS_BLANK_LEN).
const mozKeysBlank = 80

// mozHeaders returns the three X-Mozilla header lines for flags, and the
// flags they cannot carry.
func mozHeaders(flags []string) (lines string, lost []string) {
	var bits uint32
	var keys []string
flags:
	for _, f := range flags {
		for _, e := range mozFlags {
			if strings.EqualFold(f, e.flag) {
				bits |= e.bit
				continue flags
			}
		}
		if strings.HasPrefix(f, `\`) || f == "" {
			lost = append(lost, f) // \Draft: Thunderbird keeps no such flag
			continue
		}
		keys = append(keys, keywordAtom(f))
	}
	k := strings.Join(keys, " ")
	if len(k) < mozKeysBlank {
		k += strings.Repeat(" ", mozKeysBlank-len(k))
	}
	return fmt.Sprintf("X-Mozilla-Status: %04x\r\nX-Mozilla-Status2: %08x\r\nX-Mozilla-Keys: %s\r\n",
		bits&0xFFFF, bits&0xFFFF0000, k), lost
}

// keywordAtom keeps a keyword usable in a header and as an IMAP atom.
func keywordAtom(k string) string {
	return strings.Map(func(r rune) rune {
		if r <= ' ' || r >= 0x7f {
			return '_'
		}
		return r
	}, k)
}

// fromLine is the From_ line Thunderbird 128+ writes (MboxMsgOutputStream.cpp
// buildFromLine): "-" as the sender, the date in UTC without a zone, the
// day zero-padded.
func fromLine(s *source) string {
	return "From - " + s.date.UTC().Format("Mon Jan 02 15:04:05 2006") + "\r\n"
}

// mozStrip are the header fields dropped from a message written to mbox:
// the writer puts its own at the top.
var mozStrip = []string{"X-Mozilla-Status", "X-Mozilla-Status2", "X-Mozilla-Keys"}

// mboxFile is the temporary file of the folder being written.
type mboxFile struct {
	n     *node
	f     *os.File
	tmp   string
	final string
	bw    *bufio.Writer
	off   int64 // bytes in the file that hold complete messages
}

type mboxWriter struct {
	out string
	cur *mboxFile
	q   *fromQuoter
}

func newMboxWriter(out string) *mboxWriter {
	return &mboxWriter{out: out, q: newFromQuoter(nil)}
}

// mkdir creates the folder's (empty) mbox file, its parents' files and
// their .sbd directories, as Thunderbird has them.
func (w *mboxWriter) mkdir(n *node) error {
	if n.made || n.parent == nil {
		return nil
	}
	if err := w.mkdir(n.parent); err != nil {
		return err
	}
	p := filepath.Join(w.out, n.rel)
	if n.parent.parent != nil {
		if err := os.Mkdir(filepath.Dir(p), 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n.made = true
	return f.Close()
}

func (w *mboxWriter) write(n *node, m *formats.Message, s *source, fr *FolderReport) error {
	if w.cur != nil && w.cur.n != n {
		if err := w.finish(); err != nil {
			return err
		}
	}
	if w.cur == nil {
		if err := w.begin(n); err != nil {
			return err
		}
	}
	mf := w.cur
	moz, lost := mozHeaders(m.Flags)
	for _, f := range lost {
		addLost(fr, f)
	}
	w.q.reset(mf.bw)
	_, err := io.WriteString(mf.bw, fromLine(s))
	if err == nil {
		_, err = io.WriteString(mf.bw, moz)
	}
	if err == nil {
		err = copyStripped(w.q, s.br)
	}
	if err == nil {
		err = w.q.finish()
	}
	if err == nil {
		_, err = io.WriteString(mf.bw, "\r\n") // the empty line ending the message
	}
	if err != nil {
		err = s.copyErr(err)
		if terr := mf.truncate(); terr != nil {
			return fmt.Errorf("remove the incomplete message from %s: %w", mf.tmp, terr)
		}
		return err
	}
	fr.Bytes += w.q.n
	if err := mf.bw.Flush(); err != nil {
		return err
	}
	mf.off, err = mf.f.Seek(0, io.SeekCurrent)
	return err
}

// truncate cuts the file back to its last complete message.
func (mf *mboxFile) truncate() error {
	mf.bw.Reset(mf.f)
	if err := mf.f.Truncate(mf.off); err != nil {
		return err
	}
	_, err := mf.f.Seek(mf.off, io.SeekStart)
	return err
}

// begin opens a temporary file for n beside its mbox file, starting with
// what the mbox file already holds (when a reader comes back to a folder
// it had left).
func (w *mboxWriter) begin(n *node) error {
	final := filepath.Join(w.out, n.rel)
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	mf := &mboxFile{n: n, f: f, tmp: tmp, final: final, bw: bufio.NewWriterSize(f, 64<<10)}
	if old, err := os.Open(final); err == nil {
		_, err = io.Copy(f, old)
		old.Close()
		if err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
		if mf.off, err = f.Seek(0, io.SeekCurrent); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	w.cur = mf
	return nil
}

// finish makes the current folder's temporary file the folder's mbox file.
func (w *mboxWriter) finish() error {
	mf := w.cur
	if mf == nil {
		return nil
	}
	w.cur = nil
	err := mf.bw.Flush()
	if err == nil {
		err = mf.f.Sync()
	}
	if cerr := mf.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(mf.tmp, mf.final)
	}
	if err != nil {
		os.Remove(mf.tmp)
		return fmt.Errorf("finish %s: %w", mf.final, err)
	}
	return nil
}

func (w *mboxWriter) close(failed bool) error {
	if failed && w.cur != nil {
		// Only complete messages were flushed past off; keep those.
		if err := w.cur.truncate(); err != nil {
			w.cur.f.Close()
			os.Remove(w.cur.tmp)
			w.cur = nil
			return err
		}
	}
	return w.finish()
}

// copyStripped copies a message from br to w, leaving out the X-Mozilla
// header fields (and their continuation lines) of its header. Header lines
// are read with ReadSlice, so a header line longer than the buffer is
// passed on in pieces; it is never one of the fields dropped.
func copyStripped(w io.Writer, br *bufio.Reader) error {
	dropping := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A very long line: pass it on, and its rest, untouched.
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if _, werr := w.Write(line); werr != nil {
					return werr
				}
			}
			dropping = false
			if err != nil {
				return eofOK(err)
			}
			continue
		}
		if len(line) == 0 && err != nil {
			return eofOK(err)
		}
		trim := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trim) == 0 || !formats.IsHeaderLine(trim):
			// The end of the header (or not a header at all): the rest is
			// body and is copied as it is.
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
			if err != nil {
				return eofOK(err)
			}
			_, err := io.Copy(w, br)
			return err
		case trim[0] == ' ' || trim[0] == '\t':
			// continuation of the previous field
		default:
			dropping = false
			name, _, _ := bytes.Cut(trim, []byte(":"))
			name = bytes.TrimRight(name, " \t")
			for _, s := range mozStrip {
				if strings.EqualFold(string(name), s) {
					dropping = true
				}
			}
		}
		if !dropping {
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
		}
		if err != nil {
			return eofOK(err)
		}
	}
}

func eofOK(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}
