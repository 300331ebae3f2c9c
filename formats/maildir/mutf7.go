package maildir

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeMUTF7 decodes an IMAP modified UTF-7 mailbox name (RFC 3501
// section 5.1.3), as Dovecot stores folder names on disk unless told to use
// UTF-8 ("Entw&APw-rfe" is "Entwürfe"). go-imap v2 has such a decoder in
// internal/utf7, which cannot be imported.
//
// It reports false when s is not valid modified UTF-7: non-ASCII bytes (a
// UTF-8 name), a '&' that starts no valid shift ("Tom & Jerry"), bad
// base64, a shift that encodes printable ASCII, or broken UTF-16. Callers
// then keep s as it is. Valid mUTF-7 is rare by accident, so decoding every
// name that passes is safe.
func DecodeMUTF7(s string) (string, bool) {
	if !strings.Contains(s, "&") {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return s, false
			}
		}
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return s, false
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return s, false
		}
		enc := s[i+1 : i+1+end]
		i += end + 1 // at the '-'
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		runes, ok := decodeShift(enc)
		if !ok {
			return s, false
		}
		b.WriteString(string(runes))
	}
	return b.String(), true
}

// decodeShift decodes the modified base64 between '&' and '-' into
// characters, which must not be printable ASCII (RFC 3501: those are
// written as themselves).
func decodeShift(enc string) ([]rune, bool) {
	var units []uint16
	var bits, nbits uint32
	for i := 0; i < len(enc); i++ {
		v := b64value(enc[i])
		if v < 0 {
			return nil, false
		}
		bits = bits<<6 | uint32(v)
		nbits += 6
		if nbits >= 16 {
			nbits -= 16
			units = append(units, uint16(bits>>nbits))
			bits &= 1<<nbits - 1
		}
	}
	// Leftover bits are padding: fewer than 6 and all zero.
	if nbits >= 6 || bits != 0 || len(units) == 0 {
		return nil, false
	}
	var runes []rune
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case utf16.IsSurrogate(rune(u)):
			if i+1 >= len(units) {
				return nil, false
			}
			r := utf16.DecodeRune(rune(u), rune(units[i+1]))
			if r == utf8.RuneError {
				return nil, false
			}
			runes = append(runes, r)
			i++
		case u >= 0x20 && u <= 0x7e:
			return nil, false
		default:
			runes = append(runes, rune(u))
		}
	}
	return runes, true
}

func b64value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '+':
		return 62
	case c == ',':
		return 63
	}
	return -1
}
