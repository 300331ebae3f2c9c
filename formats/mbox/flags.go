package mbox

import (
	"strings"

	"mailferry/formats"
)

// statusLetters maps the letters of the mutt/Dovecot/UW-IMAP status fields
// to IMAP flags (Dovecot wiki MailboxFormat/mbox, "Dovecot's metadata";
// mutt's mbox.c). "O" (old, i.e. not \Recent) has no IMAP flag to carry;
// "D" in X-Status means deleted and makes the message skipped.
var statusLetters = []struct {
	field  string
	letter byte
	flag   string
}{
	{"Status", 'R', `\Seen`},
	{"X-Status", 'A', `\Answered`},
	{"X-Status", 'F', `\Flagged`},
	{"X-Status", 'T', `\Draft`},
}

// StatusFlags returns the IMAP flags and keywords that a message's Status,
// X-Status and X-Keywords fields carry, and whether X-Status marks it
// deleted. Keywords are split at commas and white space (mox writes
// "$NotJunk,$Forwarded", Dovecot "$Forwarded Junk"); ones that are not
// valid IMAP atoms are dropped with a warning through warn (may be nil).
func StatusFlags(h formats.Header, warn func(format string, args ...any)) (flags []string, deleted bool) {
	for _, l := range statusLetters {
		if v, ok := h.Get(l.field); ok && strings.IndexByte(v, l.letter) >= 0 {
			flags = append(flags, l.flag)
		}
	}
	if v, ok := h.Get("X-Status"); ok && strings.IndexByte(v, 'D') >= 0 {
		deleted = true
	}
	v, ok := h.Get("X-Keywords")
	if !ok {
		return flags, deleted
	}
	for _, k := range strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t'
	}) {
		if !formats.IsKeyword(k) {
			if warn != nil {
				warn("dropping X-Keywords entry %q: not a valid IMAP keyword", k)
			}
			continue
		}
		if !containsFold(flags, k) {
			flags = append(flags, k)
		}
	}
	return flags, deleted
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
