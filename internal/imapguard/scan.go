package imapguard

import (
	"bytes"
	"fmt"
	"unicode"
)

// state is where the scanner is in the response grammar (RFC 3501 section
// 7 and 9, RFC 9051), read the way go-imap v2 beta.8's client reads it:
//
//   - "+" first: a continuation request, text to the end of the line;
//   - a tag, or "*" and an optional number, then a type word. A tagged
//     response, and an untagged OK, NO, BAD, BYE or PREAUTH, is a status:
//     an optional response code in brackets, then text to the end of the
//     line. go-imap reads that text as text, so a "{5}" at its end is no
//     literal;
//   - anything else is data: quoted strings with backslash escapes,
//     parentheses, and literals "{n}" ("{n+}", "~{n}") whose n bytes
//     follow the line break, after which the response goes on.
//
// Where the grammar leaves the guard unsure where the response goes on (a
// line break inside a quoted string or a response code, a "{" that starts
// no literal) it fails with ErrMalformed: go-imap would fail there too or
// read it differently, and a guard that frames responses unlike its client
// could be led past its limits.
type state uint8

const (
	stStart     state = iota // before the first byte of a response
	stTag                    // in the tag
	stStar                   // after "*": wants SP
	stType                   // in the type word (or the number before it)
	stStatus                 // right after a status type word
	stStatusSP               // after its SP: "[" opens a response code
	stCode                   // inside a response code, up to "]"
	stText                   // free text up to the end of the line
	stData                   // data
	stQuoted                 // inside a quoted string
	stQuotedEsc              // after a backslash in a quoted string
	stLitSize                // after "{": the size
	stLitPlus                // after "{n+": wants "}"
	stLitEnd                 // after "}": an optional SP, an optional CR, LF
	stLitSP                  // after "} ": an optional CR, LF
	stLitCR                  // after "}\r": LF
	stLiteral                // inside a literal
)

// scanner follows one response after another. Its zero value is at the
// start of a response.
type scanner struct {
	st      state
	tagged  bool // the response started with a tag
	numSeen bool // the untagged response had a number before its type
	word    [8]byte
	wordLen int   // bytes of the type word; more than len(word): no keyword
	digits  bool  // the type word so far is digits only
	line    int64 // bytes of the current line (outside literals)
	resp    int64 // bytes of the current response
	depth   int
	lit     int64 // the literal's size while it is announced, then the bytes left
	litLen  int   // digits of the literal size
}

// atStart reports whether the scanner is between two responses.
func (s *scanner) atStart() bool { return s.st == stStart }

// atomChar is go-imap's ATOM-CHAR: not "(){ %*\"\\]", not a control
// character (as unicode.IsControl sees the byte as a rune, so 0x80-0x9F
// are controls too).
var atomChar = func() (t [256]bool) {
	for i := range t {
		t[i] = !unicode.IsControl(rune(i)) && bytes.IndexByte([]byte(`(){ %*"\]`), byte(i)) < 0
	}
	return t
}()

// dataSpecial are the bytes the data state acts on.
var dataSpecial = func() (t [256]bool) {
	for _, c := range []byte("\"(){\n") {
		t[c] = true
	}
	return t
}()

// scan frames p: n is how many bytes of p belong to the current response
// (all of p, or up to and including the LF that ends it); ended says the
// response ended there, tagged whether it was a tagged one. An error means
// the bytes break a limit or cannot be framed; none of p should then be
// delivered.
func (s *scanner) scan(p []byte, l *Limits) (n int, ended, tagged bool, err error) {
	i := 0
	for i < len(p) {
		var k int
		switch s.st {
		case stLiteral:
			k = int(min(int64(len(p)-i), s.lit))
			s.lit -= int64(k)
			s.resp += int64(k) // checked when the literal was announced
			i += k
			if s.lit == 0 {
				s.st = stData
			}
			continue
		case stText:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				k = len(p) - i
			} else {
				k = j + 1
			}
		case stData:
			for k = 0; i+k < len(p) && !dataSpecial[p[i+k]]; k++ {
			}
			if k == 0 {
				k = 1 // the special byte itself, through step
			}
		default:
			k = 1
		}
		s.line += int64(k)
		s.resp += int64(k)
		if s.line > l.MaxLine {
			return 0, false, false, &LimitError{Limit: LineLimit, Max: l.MaxLine, Got: s.line}
		}
		if s.resp > l.MaxResponse {
			return 0, false, false, &LimitError{Limit: ResponseLimit, Max: l.MaxResponse, Got: s.resp}
		}
		last := p[i+k-1]
		i += k
		if (s.st == stText || s.st == stData) && k > 1 {
			// A run of plain bytes: only its last byte can be an LF
			// (text) or a special byte (data: never, the run stops
			// before one).
			if s.st == stText && last == '\n' {
				tagged = s.tagged
				s.reset()
				return i, true, tagged, nil
			}
			continue
		}
		end, err := s.step(last, l)
		if err != nil {
			return 0, false, false, err
		}
		if end {
			tagged = s.tagged
			s.reset()
			return i, true, tagged, nil
		}
	}
	return i, false, false, nil
}

func (s *scanner) reset() { *s = scanner{} }

// step moves the scanner over one byte outside literals; end reports that
// the byte ended the response.
func (s *scanner) step(c byte, l *Limits) (end bool, err error) {
	for {
		switch s.st {
		case stStart:
			switch {
			case c == '+':
				s.st = stText
			case c == '*':
				s.st = stStar
			case atomChar[c]:
				s.tagged = true
				s.st = stTag
			default:
				s.st = stData
				continue
			}
			return false, nil
		case stTag:
			if atomChar[c] {
				return false, nil
			}
			if c == ' ' {
				s.beginWord()
				return false, nil
			}
			s.st = stData
			continue
		case stStar:
			if c == ' ' {
				s.beginWord()
				return false, nil
			}
			s.st = stData
			continue
		case stType:
			if atomChar[c] {
				if s.wordLen < len(s.word) {
					s.word[s.wordLen] = c
				}
				s.wordLen++
				s.digits = s.digits && c >= '0' && c <= '9'
				return false, nil
			}
			if !s.tagged && !s.numSeen && s.digits && s.wordLen > 0 && c == ' ' {
				// "* 12 FETCH": the number, then the type.
				s.numSeen = true
				s.beginWord()
				return false, nil
			}
			// go-imap reads every tagged response as a status.
			if s.tagged || s.isStatus() {
				s.st = stStatus
			} else {
				s.st = stData
			}
			continue
		case stStatus:
			if c == ' ' {
				s.st = stStatusSP
				return false, nil
			}
			s.st = stText
			continue
		case stStatusSP:
			if c == '[' {
				s.st = stCode
				return false, nil
			}
			s.st = stText
			continue
		case stCode:
			switch c {
			case ']':
				s.st = stText
			case '\r', '\n':
				return false, fmt.Errorf("%w: line break inside a response code", ErrMalformed)
			}
			return false, nil
		case stText:
			return c == '\n', nil
		case stData:
			switch c {
			case '\n':
				return true, nil
			case '"':
				s.st = stQuoted
			case '(':
				s.depth++
				if s.depth > l.MaxDepth {
					return false, &LimitError{Limit: DepthLimit, Max: int64(l.MaxDepth), Got: int64(s.depth)}
				}
			case ')':
				if s.depth > 0 {
					s.depth--
				}
			case '{':
				s.st, s.lit, s.litLen = stLitSize, 0, 0
			}
			return false, nil
		case stQuoted:
			switch c {
			case '"':
				s.st = stData
			case '\\':
				s.st = stQuotedEsc
			case '\r', '\n':
				return false, fmt.Errorf("%w: line break inside a quoted string", ErrMalformed)
			}
			return false, nil
		case stQuotedEsc:
			if c == '\r' || c == '\n' {
				return false, fmt.Errorf("%w: line break inside a quoted string", ErrMalformed)
			}
			s.st = stQuoted
			return false, nil
		case stLitSize:
			switch {
			case c >= '0' && c <= '9':
				if s.lit > (1<<63-1-9)/10 {
					// Past any size (the digits so far in Got).
					return false, &LimitError{Limit: LiteralLimit, Max: l.MaxLiteral, Got: s.lit}
				}
				s.lit = s.lit*10 + int64(c-'0')
				s.litLen++
			case (c == '+' || c == '}') && s.litLen > 0:
				if s.lit > l.MaxLiteral {
					return false, &LimitError{Limit: LiteralLimit, Max: l.MaxLiteral, Got: s.lit}
				}
				s.st = stLitEnd
				if c == '+' {
					s.st = stLitPlus
				}
			default:
				return false, fmt.Errorf("%w: %q inside a literal's size", ErrMalformed, c)
			}
			return false, nil
		case stLitPlus:
			if c != '}' {
				return false, fmt.Errorf("%w: %q after a literal's \"+\"", ErrMalformed, c)
			}
			s.st = stLitEnd
			return false, nil
		case stLitEnd, stLitSP, stLitCR:
			switch {
			case c == ' ' && s.st == stLitEnd:
				s.st = stLitSP
			case c == '\r' && s.st != stLitCR:
				s.st = stLitCR
			case c == '\n':
				return false, s.startLiteral(l)
			default:
				return false, fmt.Errorf("%w: %q after a literal's size", ErrMalformed, c)
			}
			return false, nil
		}
		panic(fmt.Sprintf("imapguard: scanner in unknown state %d", s.st))
	}
}

func (s *scanner) beginWord() {
	s.st, s.wordLen, s.digits = stType, 0, true
}

// isStatus reports whether the type word is OK, NO, BAD, BYE or PREAUTH
// (any case).
func (s *scanner) isStatus() bool {
	if s.wordLen > len(s.word) {
		return false
	}
	w := s.word[:s.wordLen]
	for _, k := range []string{"OK", "NO", "BAD", "BYE", "PREAUTH"} {
		if bytes.EqualFold(w, []byte(k)) {
			return true
		}
	}
	return false
}

// startLiteral begins the literal just announced.
func (s *scanner) startLiteral(l *Limits) error {
	if s.resp+s.lit > l.MaxResponse {
		return &LimitError{Limit: ResponseLimit, Max: l.MaxResponse, Got: s.resp + s.lit}
	}
	s.line = 0
	if s.lit == 0 {
		s.st = stData
	} else {
		s.st = stLiteral
	}
	return nil
}
