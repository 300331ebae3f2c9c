package formats

import (
	"os"
	"strings"
)

// atomSpecials are the printable ASCII characters an IMAP atom may not
// hold (RFC 9051 section 9, atom-specials less space and controls, which
// are refused by range). The backslash keeps a keyword from being taken
// for a system flag.
const atomSpecials = `(){%*"\]`

// IsKeyword reports whether k can be sent as an IMAP keyword: an atom
// (printable ASCII without atom-specials, no 8-bit bytes) that is not a
// system flag (those start with a backslash, which atoms cannot hold).
func IsKeyword(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !atomChar(k[i]) {
			return false
		}
	}
	return true
}

// SanitizeKeyword makes a tag into an IMAP keyword, replacing every
// character an atom cannot hold (per character, also multi-byte ones)
// with '_'. changed reports that the tag had to be altered.
func SanitizeKeyword(k string) (out string, changed bool) {
	var b strings.Builder
	for _, r := range k {
		if r >= 0x80 || !atomChar(byte(r)) {
			b.WriteByte('_')
			changed = true
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), changed
}

func atomChar(c byte) bool {
	return c > ' ' && c < 0x7f && strings.IndexByte(atomSpecials, c) < 0
}

// IsDir reports whether p is a directory. A symbolic link at p is not
// followed: readers never follow links below SOURCE, since a link in a
// copied or hostile tree may loop ("Loop -> .") or point anywhere on this
// computer (detect resolves a SOURCE that is itself a link).
func IsDir(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

// IsFile reports whether p is a regular file, not following a symbolic
// link at p (see IsDir).
func IsFile(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.Mode().IsRegular()
}
