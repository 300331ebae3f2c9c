package convert

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
)

// mutf7Alphabet is modified base64 (RFC 3501 section 5.1.3): ',' instead
// of '/', no padding.
const mutf7Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// EncodeMUTF7 encodes a mailbox name in IMAP modified UTF-7 (RFC 3501
// section 5.1.3), as Dovecot names Maildir++ folders on disk by default
// ("Entwürfe" is "Entw&APw-rfe"): printable ASCII stays as it is except
// '&', which becomes "&-"; every run of other characters becomes '&', the
// modified base64 of its UTF-16 big-endian form, and '-'. Invalid UTF-8
// must have been replaced before (SafeName does).
func EncodeMUTF7(s string) string {
	enc := base64.NewEncoding(mutf7Alphabet).WithPadding(base64.NoPadding)
	var b strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		units := utf16.Encode(run)
		raw := make([]byte, 0, 2*len(units))
		for _, u := range units {
			raw = append(raw, byte(u>>8), byte(u))
		}
		b.WriteByte('&')
		b.WriteString(enc.EncodeToString(raw))
		b.WriteByte('-')
		run = run[:0]
	}
	for _, c := range s {
		if c >= 0x20 && c <= 0x7e {
			flush()
			if c == '&' {
				b.WriteString("&-")
			} else {
				b.WriteRune(c)
			}
			continue
		}
		run = append(run, c)
	}
	flush()
	return b.String()
}
