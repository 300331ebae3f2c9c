package emlx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

// A .partial.emlx keeps the whole MIME tree, but the leaf parts Mail.app
// stored separately have an empty body and an X-Apple-Content-Length header;
// their decoded bytes are in Attachments/<id>/<part>/<file> beside the
// Messages directory (docs/applemail.md, Partial messages and Attachments).
// The rebuilder walks the message line by line, copying every byte as it is,
// and puts each stored file back: the X-Apple-Content-Length field is
// dropped, the file is encoded as the part's Content-Transfer-Encoding says
// and written where the empty body was. Nothing else changes, so the bytes
// outside rebuilt bodies are the original ones. Memory stays bounded: one
// header at a time.

const appleLengthField = "X-Apple-Content-Length"

// maxHeader bounds a part header held in memory; a longer one is copied
// through unparsed.
const maxHeader = 1 << 20

// missingPart describes an attachment that could not be put back.
type missingPart struct {
	part, name string
}

func (m missingPart) String() string {
	if m.name == "" {
		return "part " + m.part
	}
	return "part " + m.part + " (" + m.name + ")"
}

// incompleteReason renders the missing parts for Message.Incomplete:
// "missing attachment part 2.4 (original.doc), part 2.6 (text.txt)".
func incompleteReason(missing []missingPart) string {
	if len(missing) == 0 {
		return ""
	}
	s := make([]string, len(missing))
	for i, m := range missing {
		s[i] = m.String()
	}
	return "missing attachment " + strings.Join(s, ", ")
}

type frame struct {
	boundary []byte
	prefix   string // part number of the multipart entity ("" at the top)
	child    int
}

type rebuilder struct {
	w       io.Writer
	attDir  string // Attachments/<id>; "" means there is none
	missing []missingPart
	stack   []frame

	// the entity being read
	part     string // its part number as a leaf ("1" at the top)
	prefix   string // the number its children extend
	inHeader bool
	hdr      []byte

	inserted     bool // an attachment was just written into the body
	bodySinceIns bool // body bytes were copied after it
	midLine      bool // the previous segment did not end a line
	warn         func(string)
}

// rebuild copies the message from r to w, putting stored attachments back.
// It returns the attachments it could not find.
func rebuild(r io.Reader, w io.Writer, attDir string, warn func(string)) ([]missingPart, error) {
	b := &rebuilder{w: w, attDir: attDir, part: "1", inHeader: true, warn: warn}
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		seg, err := br.ReadSlice('\n')
		if len(seg) > 0 {
			if werr := b.segment(seg, !b.midLine); werr != nil {
				return b.missing, werr
			}
			b.midLine = seg[len(seg)-1] != '\n'
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return b.missing, err
		}
	}
	if b.inHeader {
		if err := b.endHeader(false); err != nil {
			return b.missing, err
		}
	}
	return b.missing, nil
}

func (b *rebuilder) segment(seg []byte, lineStart bool) error {
	if lineStart && len(seg) <= 1000 {
		if k, closing := b.delimiter(seg); k >= 0 {
			if b.inHeader {
				if err := b.endHeader(false); err != nil {
					return err
				}
			}
			if b.inserted && !b.bodySinceIns {
				// The delimiter needs the line break before it.
				if _, err := b.w.Write([]byte("\n")); err != nil {
					return err
				}
			}
			b.inserted = false
			if _, err := b.w.Write(seg); err != nil {
				return err
			}
			b.stack = b.stack[:k+1]
			if closing {
				b.stack = b.stack[:k]
				return nil
			}
			f := &b.stack[k]
			f.child++
			b.part = strconv.Itoa(f.child)
			if f.prefix != "" {
				b.part = f.prefix + "." + b.part
			}
			b.prefix = b.part
			b.inHeader, b.hdr = true, b.hdr[:0]
			return nil
		}
	}
	if b.inHeader {
		b.hdr = append(b.hdr, seg...)
		if lineStart && (len(seg) == 1 || len(seg) == 2 && seg[0] == '\r') && seg[len(seg)-1] == '\n' {
			return b.endHeader(true)
		}
		if len(b.hdr) > maxHeader {
			b.inHeader = false
			_, err := b.w.Write(b.hdr)
			return err
		}
		return nil
	}
	if b.inserted {
		b.bodySinceIns = true
	}
	_, err := b.w.Write(seg)
	return err
}

// delimiter reports whether line is a boundary line of an open multipart:
// the index of that multipart in the stack (innermost first) and whether it
// is the close delimiter; -1 if it is none.
func (b *rebuilder) delimiter(line []byte) (int, bool) {
	if len(b.stack) == 0 || !bytes.HasPrefix(line, []byte("--")) {
		return -1, false
	}
	s := bytes.TrimRight(line[2:], " \t\r\n")
	for k := len(b.stack) - 1; k >= 0; k-- {
		bd := b.stack[k].boundary
		if !bytes.HasPrefix(s, bd) {
			continue
		}
		switch rest := s[len(bd):]; {
		case len(rest) == 0:
			return k, false
		case string(rest) == "--":
			return k, true
		}
	}
	return -1, false
}

// endHeader handles a complete entity header (blank: it ended with a blank
// line, which b.hdr includes).
func (b *rebuilder) endHeader(blank bool) error {
	b.inHeader = false
	h := formats.ParseHeader(b.hdr)
	ctype, params := contentType(h)
	cte := transferEncoding(h)
	_, stored := h.Get(appleLengthField)
	switch {
	case strings.HasPrefix(ctype, "multipart/") && params["boundary"] != "":
		b.stack = append(b.stack, frame{boundary: []byte(params["boundary"]), prefix: b.prefix})
	case ctype == "message/rfc822" && !stored && (cte == "" || cte == "7bit" || cte == "8bit" || cte == "binary"):
		// The body is a message: its parts are numbered below this one.
		if _, err := b.w.Write(b.hdr); err != nil {
			return err
		}
		b.prefix = b.part
		b.part += ".1"
		b.inHeader, b.hdr = true, b.hdr[:0]
		return nil
	case stored:
		return b.insert(h, ctype, cte, blank)
	}
	_, err := b.w.Write(b.hdr)
	return err
}

// insert writes the header without X-Apple-Content-Length and the stored
// file, encoded. When the file cannot be found, the part is kept as it is.
func (b *rebuilder) insert(h formats.Header, ctype, cte string, blank bool) error {
	name := partFilename(h)
	path := ""
	if b.attDir != "" {
		path = findAttachment(filepath.Join(b.attDir, filepath.FromSlash(b.part)), name)
	}
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Open(path); err != nil {
			b.warn(fmt.Sprintf("open attachment of part %s: %v", b.part, err))
			f = nil
		}
	}
	if f == nil {
		b.missing = append(b.missing, missingPart{part: b.part, name: name})
		_, err := b.w.Write(b.hdr)
		return err
	}
	defer f.Close()
	if _, err := b.w.Write(dropField(b.hdr, appleLengthField)); err != nil {
		return err
	}
	if !blank {
		if _, err := b.w.Write([]byte("\n")); err != nil {
			return err
		}
	}
	var enc io.WriteCloser
	switch cte {
	case "base64":
		enc = newBase64Encoder(b.w)
	case "quoted-printable":
		enc = newQPEncoder(b.w, strings.HasPrefix(ctype, "text/"))
	case "", "7bit", "8bit", "binary":
		enc = nopCloser{b.w}
	default:
		b.warn(fmt.Sprintf("part %s: unknown Content-Transfer-Encoding %q; attachment inserted unencoded", b.part, cte))
		enc = nopCloser{b.w}
	}
	if _, err := io.Copy(enc, f); err != nil {
		return fmt.Errorf("attachment of part %s: %w", b.part, err)
	}
	if err := enc.Close(); err != nil {
		return err
	}
	b.inserted, b.bodySinceIns = true, false
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// dropField returns hdr without the field name (and its continuation lines).
func dropField(hdr []byte, name string) []byte {
	out := make([]byte, 0, len(hdr))
	skipping := false
	for len(hdr) > 0 {
		i := bytes.IndexByte(hdr, '\n')
		var line []byte
		if i < 0 {
			line, hdr = hdr, nil
		} else {
			line, hdr = hdr[:i+1], hdr[i+1:]
		}
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skipping {
				out = append(out, line...)
			}
			continue
		}
		c := bytes.IndexByte(line, ':')
		skipping = c > 0 && strings.EqualFold(strings.TrimSpace(string(line[:c])), name)
		if !skipping {
			out = append(out, line...)
		}
	}
	return out
}

// contentType returns the lower-case media type (text/plain when absent)
// and its parameters, leniently.
func contentType(h formats.Header) (string, map[string]string) {
	v, ok := h.Get("Content-Type")
	if !ok {
		return "text/plain", nil
	}
	mt, params, err := mime.ParseMediaType(v)
	if err == nil || errors.Is(err, mime.ErrInvalidMediaParameter) {
		return strings.ToLower(mt), params
	}
	t, _, _ := strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(t)), map[string]string{"boundary": looseParam(v, "boundary")}
}

func transferEncoding(h formats.Header) string {
	v, _ := h.Get("Content-Transfer-Encoding")
	if i := strings.IndexByte(v, '('); i >= 0 { // a comment
		v = v[:i]
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// partFilename is the attachment's name from Content-Disposition filename
// or Content-Type name (RFC 2231 and RFC 2047 decoded), or "".
func partFilename(h formats.Header) string {
	for _, fp := range [][2]string{{"Content-Disposition", "filename"}, {"Content-Type", "name"}} {
		v, ok := h.Get(fp[0])
		if !ok {
			continue
		}
		name := ""
		if _, params, err := mime.ParseMediaType(v); err == nil {
			name = params[fp[1]]
		}
		if name == "" {
			name = looseParam(v, fp[1])
		}
		if name != "" {
			if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
				name = d
			}
			return name
		}
	}
	return ""
}

// looseParam finds param=value in a header value that mime.ParseMediaType
// rejects (a missing ';' is common), unquoting the value.
func looseParam(v, param string) string {
	lv := strings.ToLower(v)
	for from := 0; ; {
		i := strings.Index(lv[from:], param+"=")
		if i < 0 {
			return ""
		}
		i += from
		from = i + len(param) + 1
		if i > 0 && !strings.ContainsRune("; \t", rune(lv[i-1])) {
			continue
		}
		s := v[from:]
		if strings.HasPrefix(s, `"`) {
			if j := strings.IndexByte(s[1:], '"'); j >= 0 {
				return s[1 : j+1]
			}
			return s[1:]
		}
		if j := strings.IndexAny(s, "; \t"); j >= 0 {
			s = s[:j]
		}
		return s
	}
}

// findAttachment returns the file stored for a part in dir: the one named
// like the MIME filename (compared after NFC normalization: macOS file
// names are often NFD), else the only file there, ignoring .DS_Store
// (Mail.app names unnamed parts "Mail-Anhang.png" and the like).
// The name from the message is only compared, never joined into a path.
func findAttachment(dir, name string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	var files []string
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".DS_Store") { // links are not followed
			continue
		}
		files = append(files, e.Name())
	}
	if name != "" {
		want := norm.NFC.String(name)
		for _, f := range files {
			if f == name || norm.NFC.String(f) == want {
				return filepath.Join(dir, f)
			}
		}
	}
	if len(files) == 1 {
		return filepath.Join(dir, files[0])
	}
	return ""
}
