// Package term renders untrusted text (folder and file names from a
// source, texts a server sends) safely for a terminal: nothing in it can
// move the cursor, clear the screen, start an escape sequence, reorder
// text or break a line of a table.
package term

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with every character that a terminal would act on
// instead of print replaced by a visible escape: \n, \r, \t, \x1b (ESC),
// \x00 and the other C0 and C1 controls and DEL as \xNN (or \n, \r, \t),
// bytes that are not UTF-8 as \xNN, and the Unicode format characters that
// reorder or hide text (bidirectional overrides and isolates, zero-width
// characters, the byte order mark) as \uNNNN. Printable text, spaces and
// backslashes are kept, so ordinary names and Windows paths read as they
// are; the result is for display, not meant to be parsed back.
func Escape(s string) string {
	if safe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// safe reports whether s needs no escaping (the common case, without
// allocating).
func safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return utf8.ValidString(s[i:]) && safeRunes(s[i:])
		}
	}
	return true
}

func safeRunes(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || hidden(r) {
			return false
		}
	}
	return true
}

// hidden reports the format characters that change how the text around
// them is shown (Unicode category Cf: U+202E RIGHT-TO-LEFT OVERRIDE, U+2066
// LEFT-TO-RIGHT ISOLATE, U+200B ZERO WIDTH SPACE, U+FEFF, ...), and the
// line and paragraph separators, which some terminals break lines at.
func hidden(r rune) bool {
	return unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// EscapeAll escapes each string of l.
func EscapeAll(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = Escape(s)
	}
	return out
}
