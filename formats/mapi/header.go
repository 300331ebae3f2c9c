package mapi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Header lines are folded at this width where the value allows
// (RFC 5322 2.1.1: SHOULD be 78 characters or less) ...
const foldWidth = 78

// ... and never longer than this (RFC 5322 2.1.1: MUST be 998 or less).
const maxLine = 998

// foldField renders one header field, folded at spaces so that its lines
// stay within width octets where the value has spaces to fold at. A run
// without spaces longer than maxLine is cut (only raw headers from a
// store can have one; generated values are encoded in short words). The
// result ends in CRLF.
func foldField(name, value string, width int) (string, bool) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(":")
	line := len(name) + 1
	start := line
	cut := false
	// Each word is written after the space that preceded it (the first
	// after the one following the colon); a fold goes before that space.
	for _, w := range strings.Split(value, " ") {
		if w != "" && line > start && line+1+len(w) > width {
			b.WriteString("\r\n")
			line = 0
		}
		b.WriteByte(' ')
		line++
		for len(w) > maxLine-line {
			// No space to fold at: cut (the value changes, so the caller
			// notes it).
			n := max(maxLine-line, 1)
			b.WriteString(w[:n])
			b.WriteString("\r\n ")
			line = 1
			w = w[n:]
			cut = true
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\r\n")
	return b.String(), cut
}

// field renders a generated header field (folded at foldWidth).
func field(name, value string) string {
	s, _ := foldField(name, value, foldWidth)
	return s
}

// isPlainASCII reports whether s is printable ASCII (tabs allowed).
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c > 0x7E {
			return false
		}
	}
	return true
}

// cleanLine makes a property value usable in one header line: line
// breaks and other control characters become spaces, runs of them one.
func cleanLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7F {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// unstructured encodes an unstructured header value (Subject): as it is
// when it is ASCII with words that fit on a line, else as RFC 2047
// encoded words in UTF-8, which can be folded anywhere.
func unstructured(s string) string {
	s = cleanLine(s)
	if isPlainASCII(s) && !strings.Contains(s, "=?") {
		long := false
		for _, w := range strings.Fields(s) {
			if len(w) > foldWidth-12 {
				long = true
			}
		}
		if !long {
			return s
		}
	}
	return encodeWords(s)
}

// encodeWords encodes s as RFC 2047 encoded words of at most 75
// characters, separated by spaces so that the header can fold there.
// Q encoding keeps mostly-ASCII text readable; B is shorter otherwise.
func encodeWords(s string) string {
	enc := mime.QEncoding
	nonASCII := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			nonASCII++
		}
	}
	if nonASCII*3 > len(s) {
		enc = mime.BEncoding
	}
	if isPlainASCII(s) {
		// The standard encoder returns ASCII unchanged; long ASCII words
		// are split into encoded words by hand.
		var parts []string
		for len(s) > 0 {
			n := min(len(s), 40)
			parts = append(parts, "=?utf-8?q?"+qEncodeASCII(s[:n])+"?=")
			s = s[n:]
		}
		return strings.Join(parts, " ")
	}
	return enc.Encode("utf-8", s)
}

func qEncodeASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c == '=' || c == '?' || c == '_' || c < 0x20 || c > 0x7E:
			fmt.Fprintf(&b, "=%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// phrase encodes a display name (RFC 5322 3.2.5): atoms as they are, a
// quoted string when it has specials, encoded words when it is not ASCII.
func phrase(s string) string {
	s = cleanLine(s)
	if s == "" {
		return ""
	}
	if !isPlainASCII(s) {
		return encodeWords(s)
	}
	atoms := true
	for i := 0; i < len(s) && atoms; i++ {
		c := s[i]
		atoms = c == ' ' || isAtext(c)
	}
	if atoms && !strings.Contains(s, "=?") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// address is a sender or recipient as a header shows it.
type address struct {
	Name string
	Addr string // an addr-spec; "" when the store holds no e-mail address
}

// render writes the address as a mailbox, or, without an e-mail address,
// as an empty group named after the person (RFC 5322 3.4, allowed in
// From and Sender by RFC 6854), so that the name is kept and the field
// stays valid.
func (a address) render() string {
	if a.Addr == "" {
		name := phrase(a.Name)
		if name == "" {
			name = "undisclosed-recipients"
		}
		return name + ":;"
	}
	local, domain, ok := strings.Cut(a.Addr, "@")
	addr := a.Addr
	if ok && !dotAtom(local) {
		addr = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(local) + `"@` + domain
	}
	if name := phrase(a.Name); name != "" && !strings.EqualFold(a.Name, a.Addr) {
		return name + " <" + addr + ">"
	}
	return "<" + addr + ">"
}

func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '.' && !isAtext(s[i]) && s[i] < 0x80 {
			return false
		}
	}
	return true
}

// addressList renders addresses separated by ", ".
func addressList(as []address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.render()
	}
	return strings.Join(parts, ", ")
}

// plausibleAddr reports whether s can be written as an addr-spec: one @
// with something on both sides, no spaces, angle brackets or controls.
func plausibleAddr(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " <>\t\r\n,;\"()[]\\") || !utf8.ValidString(s) {
		return false
	}
	_, err := mail.ParseAddress("<" + s + ">")
	return err == nil
}

// formatDate renders a time for the Date: field (RFC 5322 3.3), in UTC
// as MAPI stores it.
func formatDate(t time.Time) string {
	return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700")
}

// oneOffProvider is the provider UID of one-off entry IDs ([MS-OXCDATA]
// 2.2.5.1): an address typed in rather than taken from an address book.
var oneOffProvider = []byte{0x81, 0x2B, 0x1F, 0xA4, 0xBE, 0xA3, 0x10, 0x19, 0x9D, 0x6E, 0x00, 0xDD, 0x01, 0x0F, 0x54, 0x02}

// parseOneOff reads a one-off entry ID: flags (4), provider UID (16),
// version (2), flags (2; 0x8000: strings are UTF-16LE), then the display
// name, address type and e-mail address, each NUL-terminated.
func parseOneOff(b []byte) (name, typ, addr string, ok bool) {
	if len(b) < 24 || !bytes.Equal(b[4:20], oneOffProvider) {
		return "", "", "", false
	}
	unicode := binary.LittleEndian.Uint16(b[22:])&0x8000 != 0
	rest := b[24:]
	var fields [3]string
	for i := range fields {
		var s string
		if unicode {
			end := -1
			for j := 0; j+1 < len(rest); j += 2 {
				if rest[j] == 0 && rest[j+1] == 0 {
					end = j
					break
				}
			}
			if end < 0 {
				return "", "", "", false
			}
			s, rest = utf16le(rest[:end]), rest[end+2:]
		} else {
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				return "", "", "", false
			}
			s, rest = Decode(rest[:end], DefaultCodepage), rest[end+1:]
		}
		fields[i] = s
	}
	return fields[0], fields[1], fields[2], true
}

// rawField is one field of a stored header, its lines as they were.
type rawField struct {
	name  string
	lines []string // without line endings; continuation lines start with WSP
}

// parseRawHeader splits a stored header (PidTagTransportMessageHeaders)
// into fields, up to the first empty line. Lines that are neither a field
// nor a continuation are dropped and counted; NUL bytes are removed.
func parseRawHeader(s string) (fields []rawField, dropped int) {
	s = strings.ReplaceAll(s, "\x00", "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(fields) > 0 {
				break
			}
			continue // leading blank lines
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(fields) == 0 {
				dropped++
				continue
			}
			f := &fields[len(fields)-1]
			f.lines = append(f.lines, line)
			continue
		}
		colon := strings.IndexByte(line, ':')
		if colon <= 0 || !isFieldName(line[:colon]) {
			dropped++
			continue
		}
		fields = append(fields, rawField{name: strings.TrimRight(line[:colon], " \t"), lines: []string{line}})
	}
	return fields, dropped
}

func isFieldName(s string) bool {
	s = strings.TrimRight(s, " \t")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 33 || c > 126 {
			return false
		}
	}
	return true
}

// render writes the field's lines with CRLF; a line over maxLine octets
// is refolded at its spaces (cut where it has none; cut is then true).
func (f rawField) render() (s string, cut bool) {
	var b strings.Builder
	for _, line := range f.lines {
		if len(line) <= maxLine {
			b.WriteString(line)
			b.WriteString("\r\n")
			continue
		}
		// Refold: split at the first colon for the first line, keep the
		// leading space of continuation lines.
		if name, value, ok := strings.Cut(line, ":"); ok && line[0] != ' ' && line[0] != '\t' {
			r, c := foldField(name, strings.TrimLeft(value, " "), maxLine)
			b.WriteString(r)
			cut = cut || c
		} else {
			r, c := foldField("X", strings.TrimLeft(line, " \t"), maxLine)
			b.WriteString(" " + strings.TrimPrefix(r, "X: "))
			cut = cut || c
		}
	}
	return b.String(), cut
}

// value is the field's unfolded value.
func (f rawField) value() string {
	v := strings.Join(f.lines, "")
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	return strings.TrimSpace(v)
}

// contentField reports whether a field describes the body's structure:
// the rebuilt body brings its own, so the stored ones are dropped.
func contentField(name string) bool {
	switch strings.ToLower(name) {
	case "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
		"content-id", "content-description", "content-location", "content-base",
		"content-md5", "content-length":
		return true
	}
	return false
}

// param renders one MIME parameter (RFC 2045 5.1): a token as it is, a
// quoted string for other ASCII, and for non-ASCII or long values RFC
// 2231 extended values in UTF-8, split into numbered sections that fit on
// a line. The result starts with "; " and may contain CRLF SP folds.
func param(name, value string) string {
	value = cleanLine(value)
	if isPlainASCII(value) && len(name)+len(value) < foldWidth-10 {
		if isToken(value) {
			return ";\r\n " + name + "=" + value
		}
		return ";\r\n " + name + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(value) + `"`
	}
	// RFC 2231 4: name*=utf-8''%XX..., continued as name*0*, name*1*, ...
	var sections []string
	var cur strings.Builder
	for _, r := range value {
		var enc string
		if r < 0x80 && isAttrChar(byte(r)) {
			enc = string(r)
		} else {
			var buf [4]byte
			n := utf8.EncodeRune(buf[:], r)
			for _, c := range buf[:n] {
				enc += fmt.Sprintf("%%%02X", c)
			}
		}
		if cur.Len()+len(enc) > 50 {
			sections = append(sections, cur.String())
			cur.Reset()
		}
		cur.WriteString(enc)
	}
	sections = append(sections, cur.String())
	if len(sections) == 1 {
		return ";\r\n " + name + "*=utf-8''" + sections[0]
	}
	var b strings.Builder
	for i, s := range sections {
		if i == 0 {
			s = "utf-8''" + s
		}
		fmt.Fprintf(&b, ";\r\n %s*%d*=%s", name, i, s)
	}
	return b.String()
}

// isToken reports whether s is an RFC 2045 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}

// isAttrChar reports whether c may appear unencoded in an RFC 2231
// extended value (attribute-char: a token character other than *, ', %).
func isAttrChar(c byte) bool {
	return isToken(string(c)) && c != '*' && c != '\'' && c != '%'
}
