package mapi

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// Encapsulation says what an RTF body wraps ([MS-OXRTFEX] 2.1.3.1).
type Encapsulation int

// What an RTF document encapsulates.
const (
	EncapsulatesNothing Encapsulation = iota // genuine RTF
	EncapsulatesHTML                         // \fromhtml1: the original was HTML
	EncapsulatesText                         // \fromtext: the original was plain text
)

// maxRTFDepth bounds group nesting; deeper groups are read as skipped
// (real documents nest a few dozen levels at most).
const maxRTFDepth = 512

// Deencapsulate extracts the original HTML or plain text from an RTF
// body that encapsulates it ([MS-OXRTFEX] 2.4.3 and 2.4.4), as UTF-8.
// It returns EncapsulatesNothing and nil for RTF that wraps nothing.
//
// The original is recognised by \fromhtml1 or \fromtext among the
// control words of the RTF header. Then:
//   - the content of {\*\htmltagN ...} groups is the HTML's markup: it is
//     copied, with its numeric parameter dropped;
//   - text outside those groups is the original's text, except where
//     \htmlrtf (up to \htmlrtf0, scoped by groups) marks RTF that the
//     conversion added;
//   - \par and \line become CRLF, \tab a tab, \'hh a byte in the code
//     page of the current font (its \fcharset, else the document's
//     \ansicpg; inside htmltag groups always \ansicpg), \uN a Unicode
//     character (skipping the \ucN fallback characters after it), \{ \}
//     \\ the character itself, and the typographic control words
//     (\lquote, \emdash, ...) their characters;
//   - other destinations (font and colour tables, pictures, fields'
//     instructions, {\*\mhtmltag} groups and every other {\* ...}
//     group) are skipped.
//
// The output is bounded by a small multiple of the input; malformed RTF
// (unbalanced braces, a cut escape) is read as far as it goes.
func Deencapsulate(rtf []byte) (Encapsulation, []byte) {
	d := deencapsulator{in: rtf, ansiCP: DefaultCodepage, fonts: map[int]int{}}
	return d.run()
}

// RTFText extracts the text of any RTF document, as the de-encapsulation
// of \fromtext does (UTF-8, paragraphs as CRLF, destinations such as
// tables of fonts, pictures and field instructions left out): a plain
// rendering for a message whose only body is genuine RTF. Formatting,
// list numbers and embedded objects are lost.
func RTFText(rtf []byte) []byte {
	d := deencapsulator{in: rtf, ansiCP: DefaultCodepage, fonts: map[int]int{}, kind: EncapsulatesText}
	_, out := d.run()
	return out
}

type rtfGroup struct {
	skip    bool // a destination whose text is not the original's
	htmlTag bool // inside {\*\htmltag ...}
	htmlRTF bool // \htmlrtf is on
	fontTbl bool // inside the font table
	uc      int  // \ucN: fallback characters after \uN
	font    int  // current \fN
}

type deencapsulator struct {
	in     []byte
	pos    int
	kind   Encapsulation
	ansiCP int
	fonts  map[int]int // font number → code page, from the font table
	defFnt int         // \deffN

	stack []rtfGroup
	cur   rtfGroup
	body  bool // past the header: text or the first htmltag was seen

	out     bytes.Buffer
	pending []byte // 8-bit text not yet decoded
	pendCP  int
	high    rune // a UTF-16 high surrogate from \uN, waiting for its pair
	skipN   int  // fallback characters still to skip after \uN
	fontDef int  // the font being defined in the font table
}

func (d *deencapsulator) run() (Encapsulation, []byte) {
	d.cur.uc = 1
	d.fontDef = -1
	for d.pos < len(d.in) {
		c := d.in[d.pos]
		switch c {
		case '{':
			d.pos++
			d.skipN = 0
			if len(d.stack) >= maxRTFDepth {
				d.stack = append(d.stack, d.cur)
				d.cur.skip = true
				continue
			}
			d.stack = append(d.stack, d.cur)
			d.groupStart()
		case '}':
			d.pos++
			d.skipN = 0
			if len(d.stack) > 0 {
				if d.cur.fontTbl && !d.stack[len(d.stack)-1].fontTbl {
					d.fontDef = -1
				}
				d.cur = d.stack[len(d.stack)-1]
				d.stack = d.stack[:len(d.stack)-1]
			}
			if len(d.stack) == 0 && d.kind == EncapsulatesNothing {
				return EncapsulatesNothing, nil // the document ended: nothing found
			}
		case '\\':
			d.controlToken()
		case '\r', '\n':
			d.pos++ // line breaks in RTF source are not text
		default:
			d.pos++
			if d.skipFallback() {
				continue
			}
			if d.kind == EncapsulatesNothing && len(d.stack) == 1 && !d.cur.skip {
				d.body = true
			}
			if d.cur.fontTbl {
				continue // font names
			}
			d.text(c)
		}
		if d.body && d.kind == EncapsulatesNothing {
			return EncapsulatesNothing, nil
		}
		if d.out.Len() > 4*len(d.in)+1024 {
			break // cannot happen for sane input; a guard all the same
		}
	}
	if d.kind == EncapsulatesNothing {
		return EncapsulatesNothing, nil
	}
	d.flush()
	return d.kind, d.out.Bytes()
}

// groupStart handles the first tokens of a group: {\* dest ...} and the
// destinations that are never the original's text.
func (d *deencapsulator) groupStart() {
	rest := d.in[d.pos:]
	if bytes.HasPrefix(rest, []byte(`\*`)) {
		d.pos += 2
		// The tag's numeric parameter (where in the HTML it was) is not
		// needed to rebuild the HTML ([MS-OXRTFEX] 2.4.3: SHOULD ignore).
		word, _, _, n := readControlWord(d.in[d.pos:])
		if word == "htmltag" {
			d.pos += n
			d.cur.htmlTag = true
			d.cur.skip = false
			d.body = true
			return
		}
		d.cur.skip = true // \*\mhtmltag and every other optional destination
		return
	}
	word, _, _, _ := readControlWord(rest)
	switch word {
	case "fonttbl":
		d.cur.fontTbl = true
		d.cur.skip = true
	case "colortbl", "stylesheet", "info", "pict", "object", "header", "footer",
		"headerl", "headerr", "headerf", "footerl", "footerr", "footerf",
		"footnote", "listtable", "listoverridetable", "revtbl", "rsidtbl",
		"xmlnstbl", "fldinst", "themedata", "colorschememapping", "latentstyles",
		"datastore", "pntext", "pntxta", "pntxtb", "filetbl", "private":
		d.cur.skip = true
	}
}

// readControlWord reads a control word at the start of b (which starts
// with the backslash): its letters, its numeric parameter, and the number
// of bytes it takes including a delimiting space. word is "" when b does
// not start with a control word.
func readControlWord(b []byte) (word string, param int, hasParam bool, n int) {
	if len(b) < 2 || b[0] != '\\' || !isLetter(b[1]) {
		return "", 0, false, 0
	}
	i := 1
	for i < len(b) && isLetter(b[i]) && i < 33 {
		i++
	}
	word = string(b[1:i])
	neg := false
	if i < len(b) && b[i] == '-' && i+1 < len(b) && isDigit(b[i+1]) {
		neg = true
		i++
	}
	digits := 0
	for i < len(b) && isDigit(b[i]) {
		if digits < 10 {
			param = param*10 + int(b[i]-'0')
		}
		digits++
		i++
	}
	hasParam = digits > 0
	if neg {
		param = -param
	}
	if i < len(b) && b[i] == ' ' {
		i++
	}
	return word, param, hasParam, i
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }

func (d *deencapsulator) controlToken() {
	b := d.in[d.pos:]
	if len(b) < 2 {
		d.pos = len(d.in)
		return
	}
	switch c := b[1]; {
	case isLetter(c):
		word, param, hasParam, n := readControlWord(b)
		d.pos += n
		d.controlWord(word, param, hasParam)
	case c == '\'':
		d.pos += 2
		if len(d.in)-d.pos < 2 {
			d.pos = len(d.in)
			return
		}
		hi, ok1 := unhex(d.in[d.pos])
		lo, ok2 := unhex(d.in[d.pos+1])
		d.pos += 2
		if !ok1 || !ok2 || d.skipFallback() || d.cur.fontTbl {
			return
		}
		d.text(hi<<4 | lo)
	case c == '\r' || c == '\n':
		// A backslash before a line break is a paragraph mark.
		d.pos += 2
		if !d.skipFallback() {
			d.emitString("\r\n")
		}
	default:
		d.pos += 2
		if d.skipFallback() {
			return
		}
		switch c {
		case '\\', '{', '}':
			d.text(c)
		case '~':
			d.emitRune('\u00A0')
		case '_':
			d.emitRune('\u2011')
		case '-', '*':
			// optional hyphen: invisible; a stray \* outside a group start
		case '|', ':':
			// formulas and index entries: nothing to emit
		}
	}
}

// codepageOfCharset maps RTF's \fcharsetN to a Windows code page
// ([MSFT-RTF], "Font table"); 0 means "the document's \ansicpg".
var codepageOfCharset = map[int]int{
	77: 10000, 128: 932, 129: 949, 134: 936, 136: 950, 161: 1253, 162: 1254,
	163: 1258, 177: 1255, 178: 1256, 186: 1257, 204: 1251, 222: 874, 238: 1250,
	254: 437, 255: 850,
}

func (d *deencapsulator) controlWord(word string, param int, hasParam bool) {
	switch word {
	case "fromhtml":
		if !d.body && d.kind == EncapsulatesNothing {
			d.kind = EncapsulatesHTML
		}
		return
	case "fromtext":
		if !d.body && d.kind == EncapsulatesNothing {
			d.kind = EncapsulatesText
		}
		return
	case "ansicpg":
		if KnownCodepage(param) {
			d.ansiCP = param
		}
		return
	case "deff":
		d.defFnt = param
		return
	case "htmlrtf":
		d.cur.htmlRTF = !hasParam || param != 0
		return
	case "uc":
		if param >= 0 && param < 10 {
			d.cur.uc = param
		}
		return
	case "bin":
		// Binary data: skip it whole, never read it as text.
		if param > 0 && param <= len(d.in)-d.pos {
			d.pos += param
		}
		return
	case "pard", "plain", "par", "line", "sect", "page":
		if d.kind == EncapsulatesNothing && len(d.stack) == 1 && !d.cur.skip {
			d.body = true // the document's body starts: the header is over
		}
	}
	if d.cur.fontTbl {
		switch word {
		case "f":
			d.fontDef = param
		case "fcharset":
			if cp, ok := codepageOfCharset[param]; ok && d.fontDef >= 0 {
				d.fonts[d.fontDef] = cp
			}
		case "cpg":
			if KnownCodepage(param) && d.fontDef >= 0 {
				d.fonts[d.fontDef] = param
			}
		}
		return
	}
	if word == "f" {
		d.cur.font = param
		return
	}
	if d.skipFallback() {
		return
	}
	switch word {
	case "par", "line":
		d.emitString("\r\n")
	case "tab":
		d.emitRune('\t')
	case "lquote":
		d.emitRune('\u2018')
	case "rquote":
		d.emitRune('\u2019')
	case "ldblquote":
		d.emitRune('\u201C')
	case "rdblquote":
		d.emitRune('\u201D')
	case "bullet":
		d.emitRune('\u2022')
	case "endash":
		d.emitRune('\u2013')
	case "emdash":
		d.emitRune('\u2014')
	case "enspace":
		d.emitRune('\u2002')
	case "emspace":
		d.emitRune('\u2003')
	case "u":
		if !hasParam {
			return
		}
		if param < 0 {
			param += 0x10000
		}
		d.emitUnicode(rune(param))
		d.skipN = d.cur.uc
	}
}

// skipFallback consumes one fallback character after \uN; it reports
// whether the current token was one.
func (d *deencapsulator) skipFallback() bool {
	if d.skipN > 0 {
		d.skipN--
		return true
	}
	return false
}

// copying reports whether text here belongs to the original.
func (d *deencapsulator) copying() bool {
	if d.kind == EncapsulatesNothing {
		return false
	}
	if d.cur.skip {
		return false
	}
	return d.cur.htmlTag || !d.cur.htmlRTF
}

// text takes one 8-bit character (literal or \'hh) in the current code
// page.
func (d *deencapsulator) text(c byte) {
	if !d.copying() {
		return
	}
	cp := d.ansiCP
	if !d.cur.htmlTag {
		font := d.cur.font
		if fcp, ok := d.fonts[font]; ok {
			cp = fcp
		}
	}
	if len(d.pending) > 0 && d.pendCP != cp {
		d.flush()
	}
	d.pendCP = cp
	d.pending = append(d.pending, c)
}

func (d *deencapsulator) flush() {
	d.flushSurrogate()
	if len(d.pending) == 0 {
		return
	}
	d.writePending()
}

// writePending decodes the pending 8-bit text; ASCII (most of it: HTML
// markup) needs no decoder.
func (d *deencapsulator) writePending() {
	ascii := true
	for _, c := range d.pending {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		d.out.Write(d.pending)
	} else {
		d.out.WriteString(Decode(d.pending, d.pendCP))
	}
	d.pending = d.pending[:0]
}

func (d *deencapsulator) flushSurrogate() {
	if d.high != 0 {
		d.out.WriteRune(utf8.RuneError)
		d.high = 0
	}
}

func (d *deencapsulator) emitString(s string) {
	if !d.copying() {
		return
	}
	d.flush()
	d.out.WriteString(s)
}

func (d *deencapsulator) emitRune(r rune) {
	if !d.copying() {
		return
	}
	d.flush()
	d.out.WriteRune(r)
}

// emitUnicode writes a \uN character, pairing UTF-16 surrogates.
func (d *deencapsulator) emitUnicode(r rune) {
	if !d.copying() {
		return
	}
	if len(d.pending) > 0 {
		d.writePending()
	}
	switch {
	case utf16.IsSurrogate(r) && r < 0xDC00:
		d.flushSurrogate()
		d.high = r
	case utf16.IsSurrogate(r):
		if d.high != 0 {
			d.out.WriteRune(utf16.DecodeRune(d.high, r))
			d.high = 0
		} else {
			d.out.WriteRune(utf8.RuneError)
		}
	default:
		d.flushSurrogate()
		d.out.WriteRune(r)
	}
}
