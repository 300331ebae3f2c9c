package cyrustest

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// decodeMUTF7 decodes a mailbox name in modified UTF-7 (RFC 3501 section
// 5.1.3), the form Cyrus keeps names in: printable ASCII stands for
// itself, "&-" for "&", and "&...-" holds UTF-16 in base64 with "," for
// "/".
func decodeMUTF7(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '&' {
			if c < 0x20 || c > 0x7e {
				return "", fmt.Errorf("modified UTF-7 %q: byte %#x at %d is not printable ASCII", s, c, i)
			}
			b.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", fmt.Errorf("modified UTF-7 %q: unterminated \"&\" at %d", s, i)
		}
		run := s[i+1 : i+1+end]
		i += end + 2
		if run == "" {
			b.WriteByte('&')
			continue
		}
		raw, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(run, ",", "/"))
		if err != nil || len(raw)%2 != 0 {
			return "", fmt.Errorf("modified UTF-7 %q: bad base64 run %q", s, run)
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = uint16(raw[2*j])<<8 | uint16(raw[2*j+1])
		}
		b.WriteString(string(utf16.Decode(units)))
	}
	return b.String(), nil
}
