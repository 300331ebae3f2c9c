package rehearsal

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Mailbox names travel in modified UTF-7 (RFC 3501 section 5.1.3):
// printable ASCII stands for itself ("&" is "&-"); anything else is the
// UTF-16 of a run of characters in base64 with "," for "/" and no padding,
// between "&" and "-".

var mutf7 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding).Strict()

var errMUTF7 = errors.New("invalid modified UTF-7")

// encodeMailbox turns a UTF-8 name into modified UTF-7.
func encodeMailbox(s string) string {
	var b strings.Builder
	var run []uint16
	flush := func() {
		if len(run) == 0 {
			return
		}
		buf := make([]byte, 0, 2*len(run))
		for _, u := range run {
			buf = append(buf, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(mutf7.EncodeToString(buf))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, r := range s {
		switch {
		case r == '&':
			flush()
			b.WriteString("&-")
		case r >= 0x20 && r <= 0x7e:
			flush()
			b.WriteRune(r)
		default:
			if r == utf8.RuneError {
				r = 0xfffd
			}
			run = utf16.AppendRune(run, r)
		}
	}
	flush()
	return b.String()
}

// decodeMailbox turns a modified UTF-7 name into UTF-8, refusing what a
// strict server refuses: bytes outside printable ASCII, a run that is not
// valid base64 of whole UTF-16 units, a run that encodes printable ASCII.
func decodeMailbox(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errMUTF7
		}
		if c != '&' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errMUTF7
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := mutf7.DecodeString(enc)
		if err != nil || len(raw)%2 != 0 {
			return "", errMUTF7
		}
		units := make([]uint16, len(raw)/2)
		for k := range units {
			units[k] = uint16(raw[2*k])<<8 | uint16(raw[2*k+1])
		}
		for k := 0; k < len(units); k++ {
			r := rune(units[k])
			if utf16.IsSurrogate(r) {
				if k+1 >= len(units) {
					return "", errMUTF7
				}
				r = utf16.DecodeRune(r, rune(units[k+1]))
				if r == utf8.RuneError {
					return "", errMUTF7
				}
				k++
			}
			if r >= 0x20 && r <= 0x7e {
				return "", errMUTF7 // printable ASCII must stand for itself
			}
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}
