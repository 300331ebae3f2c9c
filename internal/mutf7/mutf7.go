// Package mutf7 converts mailbox names between UTF-8 and IMAP's modified
// UTF-7 (RFC 3501 section 5.1.3): the IMAP client sends it to servers
// without UTF8=ACCEPT, Dovecot names Maildir++ folders with it on disk, and
// older Thunderbird named IMAP cache files with it. go-imap v2 has such a
// codec in its internal/utf7 package, which cannot be imported.
package mutf7

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// alphabet is modified base64: ',' instead of '/', no padding.
var alphabet = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// Encode returns a UTF-8 mailbox name in modified UTF-7: printable ASCII
// stays as it is except '&', which becomes "&-"; every run of other
// characters becomes '&', the modified base64 of its UTF-16 big-endian
// form, and '-' ("Entwürfe" is "Entw&APw-rfe"). Invalid UTF-8 is encoded
// as U+FFFD.
func Encode(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c > 0x7e || c == '&' {
			ascii = false
			break
		}
	}
	if ascii {
		return name
	}
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		raw := make([]byte, 2*len(u))
		for i, x := range u {
			raw[2*i], raw[2*i+1] = byte(x>>8), byte(x)
		}
		b.WriteByte('&')
		b.WriteString(alphabet.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range name {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			run = append(run, r) // an invalid byte comes as utf8.RuneError, U+FFFD
		}
	}
	flush()
	return b.String()
}

// Decode decodes an IMAP modified UTF-7 mailbox name (RFC 3501 section
// 5.1.3), as Dovecot stores folder names on disk unless told to use UTF-8
// and older Thunderbird named IMAP cache files ("Entw&APw-rfe" is
// "Entwürfe").
//
// It reports false when s is not valid modified UTF-7: non-ASCII bytes (a
// UTF-8 name), a '&' that starts no valid shift ("Tom & Jerry"), bad
// base64, a shift that encodes printable ASCII, or broken UTF-16. Callers
// then keep s as it is. Valid mUTF-7 is rare by accident, so decoding every
// name that passes is safe.
func Decode(s string) (string, bool) {
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
