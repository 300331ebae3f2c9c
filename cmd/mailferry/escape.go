package main

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escape renders text that comes from a server or a source file (a
// server's answer, a folder name, a Message-ID) safely for a terminal:
// control characters (ESC starts terminal commands, CR and LF fake lines)
// and invalid UTF-8 are shown as escapes (\x1b, \r, \n), everything else
// as it is.
func escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029 {
			return true
		}
		i += size
	}
	return false
}
