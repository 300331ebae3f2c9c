package emlx

// The emlx flags bit field (docs/applemail.md, The flags bit field; jwz
// "emlx flags" 2005, as in cc:mailnews/import/src/nsEmlxHelperUtils.h,
// mikez/emlx and partial-emlx-converter). Bits not
// listed (encrypted, recent, initial, attachment count, priority, signed,
// font size, colours above bit 31) carry no IMAP meaning.
const (
	bitRead       = 0
	bitDeleted    = 1
	bitAnswered   = 2
	bitFlagged    = 4
	bitDraft      = 6
	bitForwarded  = 8
	bitRedirected = 9
	bitJunk       = 24
	bitNotJunk    = 25
)

// flagTable maps emlx flag bits to IMAP flags. It is the only place that
// knows this mapping. Redirected has no IMAP keyword of its own; it is
// uploaded as $Forwarded, which is what a server-side client shows for it.
var flagTable = []struct {
	bit  uint
	flag string
}{
	{bitRead, `\Seen`},
	{bitAnswered, `\Answered`},
	{bitFlagged, `\Flagged`},
	{bitDraft, `\Draft`},
	{bitForwarded, "$Forwarded"},
	{bitRedirected, "$Forwarded"},
	{bitJunk, "$Junk"},
	{bitNotJunk, "$NotJunk"},
}

// Flags turns an emlx flags value into IMAP flags (each at most once, in
// table order) and says whether the message is marked deleted (Mail.app has
// not purged it yet; readers skip it with formats.SkipDeleted).
func Flags(bits uint64) (flags []string, deleted bool) {
	for _, e := range flagTable {
		if bits&(1<<e.bit) == 0 {
			continue
		}
		dup := false
		for _, f := range flags {
			if f == e.flag {
				dup = true
				break
			}
		}
		if !dup {
			flags = append(flags, e.flag)
		}
	}
	return flags, bits&(1<<bitDeleted) != 0
}
