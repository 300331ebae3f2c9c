package corpusgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Names inside the directory Write fills.
const (
	MboxName    = "Bench"   // the Thunderbird-style mbox file (one folder "Bench")
	MaildirName = "maildir" // the Maildir (cur/, new/, tmp/, dovecot-keywords)
)

// Stats describe a written corpus.
type Stats struct {
	Messages    int
	Bytes       int64 // the messages in LF form (the Maildir files)
	IMAPBytes   int64 // the messages in CRLF form: what readers yield and APPEND sends
	MboxBytes   int64 // the mbox file
	Attachments int   // messages with an attachment (huge ones included)
	Huge        int   // messages of about 10 MB
	Largest     int64 // the largest message, CRLF form
}

// Write generates the corpus of opts into dir (created if needed; the two
// outputs must not exist yet): dir/Bench, a Thunderbird-style mbox, and
// dir/maildir, a Maildir holding the same messages.
func Write(dir string, opts Options) (Stats, error) {
	var st Stats
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return st, fmt.Errorf("make corpus directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, MboxName), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return st, fmt.Errorf("create mbox: %w", err)
	}
	mw := NewMboxWriter(f)
	md, err := NewMaildirWriter(filepath.Join(dir, MaildirName))
	if err != nil {
		f.Close()
		return st, err
	}
	g := New(opts)
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		if err := mw.Write(m); err != nil {
			f.Close()
			return st, err
		}
		if err := md.Write(m); err != nil {
			f.Close()
			return st, err
		}
		st.Messages++
		st.Bytes += int64(len(m.Data))
		size := m.CRLFSize()
		st.IMAPBytes += size
		st.Largest = max(st.Largest, size)
		if bytes.Contains(m.Data, []byte("Content-Disposition: attachment")) {
			st.Attachments++
		}
		if len(m.Data) >= HugeSize {
			st.Huge++
		}
	}
	if err := mw.Flush(); err != nil {
		f.Close()
		return st, err
	}
	st.MboxBytes = mw.n
	if err := f.Close(); err != nil {
		return st, fmt.Errorf("write mbox: %w", err)
	}
	if err := md.Close(); err != nil {
		return st, err
	}
	return st, nil
}

// Thunderbird's X-Mozilla-Status bits (nsMsgMessageFlags.idl).
var mozBits = map[string]uint16{`\Seen`: 0x0001, `\Answered`: 0x0002, `\Flagged`: 0x0004, `$Forwarded`: 0x1000}

// MboxWriter writes messages as Thunderbird (before version 128) stores
// them: a "From - " line with an asctime date, X-Mozilla-Status,
// X-Mozilla-Status2 and X-Mozilla-Keys (padded to 80 characters) first,
// the message with LF line endings and "From " body lines quoted as
// ">From ", and a blank line after each message.
type MboxWriter struct {
	w *bufio.Writer
	n int64
}

// NewMboxWriter returns a writer to w; call Flush at the end.
func NewMboxWriter(w io.Writer) *MboxWriter {
	return &MboxWriter{w: bufio.NewWriterSize(w, 1<<20)}
}

// Write appends one message.
func (mw *MboxWriter) Write(m *Message) error {
	var status uint16
	var keys []string
	for _, f := range m.Flags {
		if b, ok := mozBits[f]; ok {
			status |= b
		} else if !strings.HasPrefix(f, `\`) {
			keys = append(keys, f)
		}
	}
	kw := strings.Join(keys, " ")
	if len(kw) < 80 {
		kw += strings.Repeat(" ", 80-len(kw))
	}
	head := fmt.Sprintf("From - %s\nX-Mozilla-Status: %04x\nX-Mozilla-Status2: 00000000\nX-Mozilla-Keys: %s\n",
		m.Date.UTC().Format(time.ANSIC), status, kw)
	if err := mw.write([]byte(head)); err != nil {
		return err
	}
	data := m.Data
	for len(data) > 0 {
		i := bytes.Index(data, []byte("\nFrom "))
		if i < 0 {
			break
		}
		if err := mw.write(data[:i+1]); err != nil {
			return err
		}
		if err := mw.write([]byte{'>'}); err != nil {
			return err
		}
		data = data[i+1:]
	}
	if err := mw.write(data); err != nil {
		return err
	}
	return mw.write([]byte{'\n'})
}

func (mw *MboxWriter) write(p []byte) error {
	n, err := mw.w.Write(p)
	mw.n += int64(n)
	if err != nil {
		return fmt.Errorf("write mbox: %w", err)
	}
	return nil
}

// Flush writes what is buffered.
func (mw *MboxWriter) Flush() error {
	if err := mw.w.Flush(); err != nil {
		return fmt.Errorf("write mbox: %w", err)
	}
	return nil
}

// maildirLetters are the Maildir info letters of the IMAP flags
// (cr.yp.to/proto/maildir.html; P for $Forwarded as Dovecot writes it).
var maildirLetters = map[string]byte{`\Draft`: 'D', `\Flagged`: 'F', `$Forwarded`: 'P', `\Answered`: 'R', `\Seen`: 'S'}

// MaildirWriter writes messages into one Maildir, each file in cur/ named
// "<seconds>.M<index>P1.corpusgen:2,<letters>" with the received date as
// its name time and mtime; keywords get letters a-z through a
// dovecot-keywords file, written by Close.
type MaildirWriter struct {
	dir      string
	keywords []string
}

// NewMaildirWriter makes dir with cur/, new/ and tmp/; dir must not exist.
func NewMaildirWriter(dir string) (*MaildirWriter, error) {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("make maildir: %w", err)
	}
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("make maildir: %w", err)
		}
	}
	return &MaildirWriter{dir: dir}, nil
}

// Write stores one message.
func (w *MaildirWriter) Write(m *Message) error {
	var letters []byte
	for _, f := range m.Flags {
		if l, ok := maildirLetters[f]; ok {
			letters = append(letters, l)
			continue
		}
		if strings.HasPrefix(f, `\`) {
			continue
		}
		i := slices.Index(w.keywords, f)
		if i < 0 {
			if len(w.keywords) == 26 {
				return errors.New("write maildir: more than 26 keywords")
			}
			w.keywords = append(w.keywords, f)
			i = len(w.keywords) - 1
		}
		letters = append(letters, 'a'+byte(i))
	}
	slices.Sort(letters)
	name := fmt.Sprintf("%d.M%dP1.corpusgen:2,%s", m.Date.Unix(), m.Index, letters)
	path := filepath.Join(w.dir, "cur", name)
	if err := os.WriteFile(path, m.Data, 0o644); err != nil {
		return fmt.Errorf("write maildir: %w", err)
	}
	if err := os.Chtimes(path, m.Date, m.Date); err != nil {
		return fmt.Errorf("write maildir: %w", err)
	}
	return nil
}

// Close writes dovecot-keywords.
func (w *MaildirWriter) Close() error {
	if len(w.keywords) == 0 {
		return nil
	}
	var b strings.Builder
	for i, k := range w.keywords {
		fmt.Fprintf(&b, "%d %s\n", i, k)
	}
	if err := os.WriteFile(filepath.Join(w.dir, "dovecot-keywords"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write maildir: %w", err)
	}
	return nil
}
