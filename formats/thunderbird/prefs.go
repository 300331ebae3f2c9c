package thunderbird

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Prefs are the preferences of a prefs.js (or user.js) file: name → value.
// String values are decoded JS string literals; numbers and booleans are
// kept as written ("42", "true").
type Prefs map[string]string

// ParsePrefs reads the user_pref("name", value); lines of a prefs.js file
// (also pref() and sticky_pref(), as in user.js). Values are JavaScript
// literals: strings with \\ \" \n \xXX \uXXXX escapes, numbers, true/false.
// Malformed statements are skipped and reported in the returned problems
// (with their line numbers); a later value for the same name wins.
func ParsePrefs(data []byte) (Prefs, []string) {
	p := &prefScanner{s: string(data), line: 1}
	prefs := Prefs{}
	var problems []string
	for {
		p.skipSpace()
		if p.eof() {
			break
		}
		start := p.line
		name, value, err := p.statement()
		if err != nil {
			problems = append(problems, fmt.Sprintf("prefs.js line %d: %v", start, err))
			p.skipStatement()
			continue
		}
		prefs[name] = value
	}
	return prefs, problems
}

type prefScanner struct {
	s    string
	i    int
	line int
}

func (p *prefScanner) eof() bool { return p.i >= len(p.s) }

func (p *prefScanner) advance(n int) {
	for k := 0; k < n && p.i < len(p.s); k++ {
		if p.s[p.i] == '\n' {
			p.line++
		}
		p.i++
	}
}

// skipSpace skips white space and comments (//, /* */ and # lines).
func (p *prefScanner) skipSpace() {
	for !p.eof() {
		c := p.s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v':
			p.advance(1)
		case c == '#' || strings.HasPrefix(p.s[p.i:], "//"):
			j := strings.IndexByte(p.s[p.i:], '\n')
			if j < 0 {
				p.advance(len(p.s) - p.i)
			} else {
				p.advance(j)
			}
		case strings.HasPrefix(p.s[p.i:], "/*"):
			j := strings.Index(p.s[p.i+2:], "*/")
			if j < 0 {
				p.advance(len(p.s) - p.i)
			} else {
				p.advance(j + 4)
			}
		case strings.HasPrefix(p.s[p.i:], "\xef\xbb\xbf"): // BOM
			p.advance(3)
		default:
			return
		}
	}
}

// skipStatement moves past the next ';' outside a string, or to the end.
func (p *prefScanner) skipStatement() {
	inStr := byte(0)
	for !p.eof() {
		c := p.s[p.i]
		p.advance(1)
		switch {
		case inStr != 0 && c == '\\':
			p.advance(1)
		case inStr != 0 && c == inStr:
			inStr = 0
		case inStr != 0:
		case c == '"' || c == '\'':
			inStr = c
		case c == ';' || c == '\n':
			return
		}
	}
}

func (p *prefScanner) expect(c byte) error {
	p.skipSpace()
	if p.eof() || p.s[p.i] != c {
		return fmt.Errorf("expected %q", c)
	}
	p.advance(1)
	return nil
}

func (p *prefScanner) statement() (name, value string, err error) {
	var fn string
	for _, f := range []string{"user_pref", "sticky_pref", "pref"} {
		if strings.HasPrefix(p.s[p.i:], f) {
			fn = f
			break
		}
	}
	if fn == "" {
		return "", "", fmt.Errorf("expected user_pref(")
	}
	p.advance(len(fn))
	if err := p.expect('('); err != nil {
		return "", "", err
	}
	p.skipSpace()
	name, err = p.stringLit()
	if err != nil {
		return "", "", fmt.Errorf("pref name: %w", err)
	}
	if err := p.expect(','); err != nil {
		return "", "", err
	}
	p.skipSpace()
	if p.eof() {
		return "", "", fmt.Errorf("pref %q: missing value", name)
	}
	switch c := p.s[p.i]; {
	case c == '"' || c == '\'':
		value, err = p.stringLit()
		if err != nil {
			return "", "", fmt.Errorf("pref %q: %w", name, err)
		}
	default:
		j := p.i
		for j < len(p.s) && (isWordChar(p.s[j]) || p.s[j] == '-' || p.s[j] == '+' || p.s[j] == '.') {
			j++
		}
		if j == p.i {
			return "", "", fmt.Errorf("pref %q: bad value", name)
		}
		value = p.s[p.i:j]
		p.advance(j - p.i)
	}
	p.skipSpace()
	if !p.eof() && p.s[p.i] == ',' { // pref("x", 1, locked) in some files
		p.advance(1)
		p.skipSpace()
		for !p.eof() && isWordChar(p.s[p.i]) {
			p.advance(1)
		}
	}
	if err := p.expect(')'); err != nil {
		return "", "", fmt.Errorf("pref %q: %w", name, err)
	}
	p.skipSpace()
	if !p.eof() && p.s[p.i] == ';' {
		p.advance(1)
	}
	return name, value, nil
}

func isWordChar(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// stringLit reads a JavaScript string literal at the current position.
func (p *prefScanner) stringLit() (string, error) {
	if p.eof() || (p.s[p.i] != '"' && p.s[p.i] != '\'') {
		return "", fmt.Errorf("expected a string")
	}
	quote := p.s[p.i]
	p.advance(1)
	var b strings.Builder
	var pendingHigh rune = -1 // a \uD8xx waiting for its low half
	flushHigh := func() {
		if pendingHigh >= 0 {
			b.WriteRune(utf8.RuneError)
			pendingHigh = -1
		}
	}
	for {
		if p.eof() {
			return "", fmt.Errorf("unterminated string")
		}
		c := p.s[p.i]
		if c == quote {
			p.advance(1)
			flushHigh()
			return b.String(), nil
		}
		if c == '\n' {
			return "", fmt.Errorf("line break in string")
		}
		if c != '\\' {
			flushHigh()
			b.WriteByte(c)
			p.advance(1)
			continue
		}
		if p.i+1 >= len(p.s) {
			return "", fmt.Errorf("unterminated string")
		}
		e := p.s[p.i+1]
		p.advance(2)
		switch e {
		case 'n':
			flushHigh()
			b.WriteByte('\n')
		case 't':
			flushHigh()
			b.WriteByte('\t')
		case 'r':
			flushHigh()
			b.WriteByte('\r')
		case 'b', 'f', 'v', '0':
			flushHigh()
			b.WriteByte(map[byte]byte{'b': '\b', 'f': '\f', 'v': '\v', '0': 0}[e])
		case 'x', 'u':
			n := 2
			if e == 'u' {
				n = 4
			}
			if p.i+n > len(p.s) {
				return "", fmt.Errorf("short \\%c escape", e)
			}
			v, err := strconv.ParseUint(p.s[p.i:p.i+n], 16, 32)
			if err != nil {
				return "", fmt.Errorf("bad \\%c escape %q", e, p.s[p.i:p.i+n])
			}
			p.advance(n)
			r := rune(v)
			switch {
			case pendingHigh >= 0 && r >= 0xDC00 && r < 0xE000:
				b.WriteRune(utf16.DecodeRune(pendingHigh, r))
				pendingHigh = -1
			case r >= 0xD800 && r < 0xDC00:
				flushHigh()
				pendingHigh = r
			default:
				flushHigh()
				b.WriteRune(r)
			}
		case '\n':
			flushHigh() // line continuation
		default:
			flushHigh()
			b.WriteByte(e) // \\ \" \' and anything else stand for themselves
		}
	}
}
