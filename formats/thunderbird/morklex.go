package thunderbird

import (
	"bytes"
	"fmt"
)

// The byte-level side of the Mork parser: reading bytes, skipping white
// space, comments and line continuations, and the tokens (hex ids, names,
// object ids, escaped values) the structures in mork.go are made of.

func (p *morkParser) getc() int {
	if p.i >= len(p.b) {
		p.i = len(p.b) + 1 // so that ungetc after EOF is harmless
		return morkEOF
	}
	c := p.b[p.i]
	p.i++
	return int(c)
}

func (p *morkParser) ungetc() {
	if p.i > 0 && p.i <= len(p.b) {
		p.i--
	}
}

func (p *morkParser) problem(what string) error {
	p.problems++
	if p.problems > maxMorkProblems {
		return fmt.Errorf("mork: too many errors, last at byte %d: %s", p.i, what)
	}
	return nil
}

// eatLineBreak consumes the rest of a CR, LF, CRLF or LFCR line break
// whose first byte c was just read.
func (p *morkParser) eatLineBreak(c int) {
	n := p.getc()
	if (n == '\r' || n == '\n') && n != c {
		return
	}
	if n != morkEOF {
		p.ungetc()
	}
}

// next returns the next byte that is not white space, a comment or a line
// continuation.
func (p *morkParser) next() int {
	for {
		c := p.getc()
		switch c {
		case ' ', '\t', '\f', '\v':
		case '\r', '\n':
			p.eatLineBreak(c)
		case '\\':
			n := p.getc()
			if n == '\r' || n == '\n' {
				p.eatLineBreak(n)
			} else if n != morkEOF {
				p.ungetc()
				return c
			}
		case '/':
			n := p.getc()
			switch n {
			case '/':
				for c = p.getc(); c != morkEOF && c != '\n' && c != '\r'; c = p.getc() {
				}
			case '*':
				depth := 1
				for depth > 0 {
					c = p.getc()
					switch {
					case c == morkEOF:
						return morkEOF
					case c == '*' && p.peek() == '/':
						p.getc()
						depth--
					case c == '/' && p.peek() == '*':
						p.getc()
						depth++
					}
				}
			default:
				if n != morkEOF {
					p.ungetc()
				}
				return '/'
			}
		default:
			return c
		}
	}
}

func (p *morkParser) peek() int {
	if p.i >= len(p.b) {
		return morkEOF
	}
	return int(p.b[p.i])
}

func isHex(c int) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// readHex reads hex digits starting with first (already read) and returns
// the value; the byte after them is left unread.
func (p *morkParser) readHex(first int) (uint64, bool) {
	if !isHex(first) {
		return 0, false
	}
	v := uint64(hexVal(first))
	for {
		c := p.getc()
		if !isHex(c) {
			if c != morkEOF {
				p.ungetc()
			}
			return v, true
		}
		v = v<<4 | uint64(hexVal(c))
	}
}

func isNameChar(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c == '!' || c == '?' || c == '+'
}

// readName reads a naked name whose first byte was just read.
func (p *morkParser) readName() string {
	start := p.i - 1
	for {
		c := p.getc()
		if !isNameChar(c) {
			if c != morkEOF {
				p.ungetc()
			}
			return string(p.b[start:min(p.i, len(p.b))])
		}
	}
}

// colName resolves a column (or scope) token: ids below 0x80 are the
// single characters themselves, others come from the column dictionary.
func (p *morkParser) colName(id uint64) string {
	if id < 0x80 {
		return string(rune(id))
	}
	if s, ok := p.db.cols[id]; ok {
		return s
	}
	return fmt.Sprintf("#%X", id)
}

// readMid reads "hex[:scope]" where scope is "^hex" or a name; the first
// byte is already read.
func (p *morkParser) readMid(first int, defScope string) (morkOID, bool) {
	id, ok := p.readHex(first)
	if !ok {
		return morkOID{}, false
	}
	oid := morkOID{Scope: defScope, ID: id}
	if p.peek() != ':' {
		return oid, true
	}
	p.getc()
	c := p.getc()
	switch {
	case c == '^':
		s, ok := p.readHex(p.getc())
		if !ok {
			return oid, false
		}
		oid.Scope = p.colName(s)
	case isNameChar(c):
		oid.Scope = p.readName()
	default:
		return oid, false
	}
	return oid, true
}

// readValue reads a value after '=' up to the closing ')', undoing the
// escapes: "\" quotes the next byte, "\" before a line break continues the
// line, "$xx" is a byte in hex.
func (p *morkParser) readValue() (string, bool) {
	var out []byte
	for {
		c := p.getc()
		switch c {
		case morkEOF:
			return string(out), false
		case ')':
			return string(out), true
		case '\\':
			n := p.getc()
			switch n {
			case morkEOF:
				return string(out), false
			case '\r', '\n':
				p.eatLineBreak(n)
			default:
				out = append(out, byte(n))
			}
		case '$':
			a, b := p.getc(), p.getc()
			if !isHex(a) || !isHex(b) {
				if a == morkEOF || b == morkEOF {
					return string(out), false
				}
				out = append(out, '$', byte(a), byte(b)) // not an escape after all
				continue
			}
			out = append(out, byte(hexVal(a)<<4|hexVal(b)))
		default:
			out = append(out, byte(c))
		}
	}
}

func (p *morkParser) skipTo(end byte) {
	j := bytes.IndexByte(p.b[min(p.i, len(p.b)):], end)
	if j < 0 {
		p.i = len(p.b)
		return
	}
	p.i += j + 1
}
