package emlx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"mailferry/formats"
)

// ErrNotEmlx says that a file does not start with an emlx byte-count line.
var ErrNotEmlx = errors.New("not an emlx file: the first line is not a byte count")

// File is the layout of one .emlx file: where the message is and what the
// trailing plist says. Parse finds it without reading the message itself.
type File struct {
	Name string
	// Count is the byte count declared on the first line.
	Count int64
	// MsgStart and MsgEnd delimit the message's bytes in the file.
	MsgStart, MsgEnd int64
	// AddDash is set when the message's closing boundary lost its final
	// '-' right before the plist (docs/applemail.md, The .emlx file): the
	// reader appends it.
	AddDash bool
	// PlistStart is the offset of the plist, -1 when there is none.
	PlistStart int64
	Plist      Plist
}

// Sizes bounding what Parse reads into memory.
const (
	maxCountLine = 64        // "4994      \n" is 11 bytes in practice
	tailWindow   = 256 << 10 // where the plist is searched when the count is wrong
	maxPlist     = 1 << 20
	lastLineMax  = 4096 // bytes before the plist examined for a lost '-'
)

// Parse splits an emlx file of the given size read through r. name is used
// in positions and errors. It trusts the byte count when the plist starts
// there (after optional white space); otherwise it looks for the plist near
// the end and warns. A missing or truncated plist is a warning: the
// message is taken as far as it goes. Only a first line that is not a byte
// count is an error (a *formats.MessageError wrapping ErrNotEmlx).
func Parse(r io.ReaderAt, size int64, name string, warn func(formats.Warning)) (*File, error) {
	f := &File{Name: name, PlistStart: -1}
	pos := formats.Pos{File: name, Line: 1}
	warnf := func(format string, args ...any) {
		if warn != nil {
			warn(formats.Warning{Pos: pos, Message: fmt.Sprintf(format, args...)})
		}
	}
	head := make([]byte, min(size, maxCountLine))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, &formats.MessageError{Pos: pos, Op: "read emlx byte count", Err: err}
	}
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return nil, &formats.MessageError{Pos: pos, Op: "parse emlx", Err: ErrNotEmlx}
	}
	digits := bytes.Trim(head[:nl], " \t\r")
	n, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || n < 0 || len(digits) == 0 || digits[0] == '+' || digits[0] == '-' {
		return nil, &formats.MessageError{Pos: pos, Op: "parse emlx", Err: ErrNotEmlx}
	}
	f.Count = n
	f.MsgStart = int64(nl) + 1
	avail := size - f.MsgStart

	plistAt := int64(-1)
	decided := false
	if n <= avail {
		peek := make([]byte, min(avail-n, 80))
		if _, err := r.ReadAt(peek, f.MsgStart+n); err != nil && err != io.EOF {
			return nil, &formats.MessageError{Pos: pos, Op: "read emlx", Err: err}
		}
		ws := len(peek) - len(bytes.TrimLeft(peek, " \t\r\n"))
		atEOF := f.MsgStart+n+int64(len(peek)) == size
		switch {
		case len(peek) == 0:
			f.MsgEnd, decided = f.MsgStart+n, true // nothing after the message
			warnf("no plist after the message: flags and received date unknown")
		case looksLikePlist(peek[ws:], atEOF):
			f.MsgEnd, decided = f.MsgStart+n, true
			plistAt = f.MsgEnd + int64(ws)
		}
	}
	if !decided { // the count does not lead to a plist
		tailStart := max(f.MsgStart, size-tailWindow)
		tail := make([]byte, size-tailStart)
		if _, err := r.ReadAt(tail, tailStart); err != nil && err != io.EOF {
			return nil, &formats.MessageError{Pos: pos, Op: "read emlx", Err: err}
		}
		switch i := findPlist(tail); {
		case i >= 0:
			plistAt = tailStart + int64(i)
			f.MsgEnd = plistAt
			warnf("byte count %d is wrong: the plist starts after %d message bytes; using that", n, f.MsgEnd-f.MsgStart)
		case n <= avail:
			f.MsgEnd = f.MsgStart + n
			warnf("no plist after the %d-byte message (%d other bytes ignored): flags and received date unknown", n, avail-n)
		default:
			f.MsgEnd = size
			warnf("file truncated: byte count %d, but only %d bytes follow and there is no plist; taking what is there", n, avail)
		}
	}
	if plistAt < 0 {
		return f, nil
	}
	f.PlistStart = plistAt
	pl := make([]byte, min(size-plistAt, maxPlist))
	if _, err := r.ReadAt(pl, plistAt); err != nil && err != io.EOF {
		return nil, &formats.MessageError{Pos: pos, Op: "read emlx plist", Err: err}
	}
	p, off, rest, perr := parsePlist(pl)
	f.Plist = p
	switch {
	case errors.Is(perr, errTruncated):
		warnf("plist truncated at byte %d of the file; using the %d values read", plistAt+off, len(p.Values))
	case perr != nil:
		warnf("plist at byte %d: %v; using the %d values read", plistAt, perr, len(p.Values))
	case rest:
		warnf("%d bytes after the plist ignored", size-plistAt-off)
	}
	// A closing boundary "--b--" that lost its last '-' right before the
	// plist (https://github.com/qqilihq/partial-emlx-converter/issues/5).
	if f.MsgEnd == plistAt && f.MsgEnd > f.MsgStart {
		m := min(f.MsgEnd-f.MsgStart, lastLineMax)
		last := make([]byte, m)
		if _, err := r.ReadAt(last, f.MsgEnd-m); err == nil || err == io.EOF {
			if i := bytes.LastIndexByte(last, '\n'); i >= 0 || m == f.MsgEnd-f.MsgStart {
				line := last[i+1:]
				if len(line) > 3 && bytes.HasPrefix(line, []byte("--")) && line[len(line)-1] == '-' && line[len(line)-2] != '-' {
					f.AddDash = true
					warnf("closing boundary %q lost its last '-' before the plist; restored", line)
				}
			}
		}
	}
	return f, nil
}

// looksLikePlist reports whether b starts a plist: an XML declaration, a
// plist DOCTYPE or a <plist> element, or a cut-off prefix of one at the
// end of the file.
func looksLikePlist(b []byte, atEOF bool) bool {
	for _, m := range plistMarkers {
		if bytes.HasPrefix(b, m) {
			return true
		}
		if atEOF && len(b) > 0 && len(b) < len(m) && bytes.HasPrefix(m, b) {
			return true
		}
	}
	return false
}

var plistMarkers = [][]byte{[]byte("<?xml"), []byte("<!DOCTYPE plist"), []byte("<plist")}

// findPlist returns the offset in tail of the last plist document (its XML
// declaration or DOCTYPE when they directly precede <plist>), or -1. A
// candidate counts only when it runs to the end of tail: closed with only
// white space after it, or cut off by the end of the file.
func findPlist(tail []byte) int {
	p := lastElem(tail, "<plist")
	if p < 0 {
		// A plist cut off before its <plist> element: only a short prolog
		// remains at the very end.
		for _, m := range []string{"<!DOCTYPE plist", "<?xml"} {
			if i := bytes.LastIndex(tail, []byte(m)); i >= 0 && len(tail)-i < 512 {
				return prologStart(tail, i)
			}
		}
		return -1
	}
	if _, _, rest, err := parsePlist(tail[p:]); rest || (err != nil && !errors.Is(err, errTruncated)) {
		return -1
	}
	return prologStart(tail, p)
}

// lastElem finds the last "<name" followed by white space, '>' or the end.
func lastElem(b []byte, name string) int {
	for end := len(b); end > 0; {
		i := bytes.LastIndex(b[:end], []byte(name))
		if i < 0 {
			return -1
		}
		j := i + len(name)
		if j == len(b) || b[j] == '>' || b[j] == ' ' || b[j] == '\t' || b[j] == '\r' || b[j] == '\n' {
			return i
		}
		end = i
	}
	return -1
}

// prologStart moves back from i over a directly preceding DOCTYPE and XML
// declaration (and white space between them).
func prologStart(b []byte, i int) int {
	for {
		j := len(bytes.TrimRight(b[:i], " \t\r\n"))
		if j == 0 || b[j-1] != '>' {
			return i
		}
		moved := false
		for _, m := range []string{"<!DOCTYPE", "<?xml"} {
			k := bytes.LastIndex(b[:j], []byte(m))
			if k >= 0 && bytes.IndexByte(b[k+1:j], '<') < 0 && bytes.IndexByte(b[k:j-1], '>') < 0 {
				i, moved = k, true
				break
			}
		}
		if !moved {
			return i
		}
	}
}
