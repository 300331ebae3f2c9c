package maildir

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	gomaildir "github.com/emersion/go-maildir"

	"mailferry/formats"
)

// ParseName splits a maildir file name "<unique>[<sep>2,<flags>]" into its
// base (the unique part, with Dovecot's ",S=<size>" and ",W=<vsize>" fields
// removed: they are often wrong; docs/maildir.md, File names and flags)
// and its flag letters (commas removed, so "2,RDF," gives "RDF"). The
// separator may be ':' (the
// standard), ';' (go-maildir on Windows, stalwart) or '!' (mbsync on
// Windows), on every platform, because maildirs move between systems.
//
// ok reports whether the name has a "2," info part. Names without one are
// normal in new/ (and in Thunderbird's maildir store); base is then the
// name up to a ':' that starts some other info (":1,..."), or the whole
// name. ParseName never fails and never panics.
func ParseName(name string) (base, flags string, ok bool) {
	info := -1
	for i := len(name) - 3; i >= 0; i-- {
		if isInfoSep(name[i]) && name[i+1] == '2' && name[i+2] == ',' {
			info = i
			break
		}
	}
	switch {
	case info >= 0:
		base, flags, ok = name[:info], strings.ReplaceAll(name[info+3:], ",", ""), true
	case strings.LastIndexByte(name, ':') >= 0:
		base = name[:strings.LastIndexByte(name, ':')]
	default:
		base = name
	}
	return stripSizeFields(base), flags, ok
}

func isInfoSep(c byte) bool { return c == ':' || c == ';' || c == '!' }

// stripSizeFields removes ",S=..." and ",W=..." fields from a base name
// (Dovecot docs, "Maildir Mailbox Format", filename extensions).
func stripSizeFields(base string) string {
	if !strings.Contains(base, ",") {
		return base
	}
	parts := strings.Split(base, ",")
	out := parts[:1]
	for _, p := range parts[1:] {
		if strings.HasPrefix(p, "S=") || strings.HasPrefix(p, "W=") {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ",")
}

// flagTable is the one table from maildir info letters
// (cr.yp.to/proto/maildir.html) to IMAP flags. 'T' (trashed) is not here:
// it means the message is deleted and is skipped (formats.SkipDeleted).
// 'P' (passed: resent, forwarded or bounced) has no IMAP system flag;
// $Forwarded is the keyword clients use for it (mox ignores P).
// The letters are go-maildir's Flag constants: that is the only part of
// go-maildir this package uses (see the package comment).
var flagTable = []struct {
	Letter gomaildir.Flag
	Flag   string
}{
	{gomaildir.FlagPassed, "$Forwarded"},
	{gomaildir.FlagReplied, `\Answered`},
	{gomaildir.FlagSeen, `\Seen`},
	{gomaildir.FlagDraft, `\Draft`},
	{gomaildir.FlagFlagged, `\Flagged`},
}

// Keywords maps Dovecot's keyword letters to names: index 0 is 'a', 25 is
// 'z' (the dovecot-keywords file). An empty entry means "no keyword".
type Keywords [26]string

// ParseKeywords reads a dovecot-keywords file: one "<index> <name>" per
// line, index 0-25. It returns the problems it found (bad lines, indexes
// out of range, names that are not IMAP keywords) as text; those lines
// are ignored.
func ParseKeywords(r io.Reader) (Keywords, []string, error) {
	var kw Keywords
	var problems []string
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		idx, name, found := strings.Cut(text, " ")
		n, err := strconv.Atoi(idx)
		switch {
		case !found || err != nil:
			problems = append(problems, fmt.Sprintf("line %d: not \"<index> <keyword>\": %q", line, text))
		case n < 0 || n >= len(kw):
			problems = append(problems, fmt.Sprintf("line %d: index %d has no letter (0-25 are a-z)", line, n))
		case !formats.IsKeyword(name):
			problems = append(problems, fmt.Sprintf("line %d: %q is not an IMAP keyword", line, name))
		default:
			kw[n] = name
		}
	}
	if err := sc.Err(); err != nil {
		return kw, problems, fmt.Errorf("read dovecot-keywords: %w", err)
	}
	return kw, problems, nil
}

// MapFlags turns info letters into IMAP flags through flagTable and kw.
// deleted is true when 'T' is among them. unknown holds the letters that
// map to nothing: lower-case letters without a keyword, and letters no
// table knows. The result has no duplicates and keeps the letters' order.
func MapFlags(letters string, kw *Keywords) (flags []string, deleted bool, unknown string) {
	add := func(f string) {
		for _, g := range flags {
			if g == f {
				return
			}
		}
		flags = append(flags, f)
	}
next:
	for i := 0; i < len(letters); i++ {
		c := letters[i]
		if c == byte(gomaildir.FlagTrashed) {
			deleted = true
			continue
		}
		for _, e := range flagTable {
			if c == byte(e.Letter) {
				add(e.Flag)
				continue next
			}
		}
		if c >= 'a' && c <= 'z' && kw != nil && kw[c-'a'] != "" {
			add(kw[c-'a'])
			continue
		}
		if !strings.ContainsRune(unknown, rune(c)) {
			unknown += string(c)
		}
	}
	return flags, deleted, unknown
}

// NameTime returns the time in the leading "<seconds>." of a base name, the
// delivery time most delivery agents put there (mox uses it). It reports
// false for names without one or with an implausible value.
func NameTime(base string) (time.Time, bool) {
	secs, _, found := strings.Cut(base, ".")
	if !found || len(secs) < 9 || len(secs) > 10 {
		return time.Time{}, false
	}
	for i := 0; i < len(secs); i++ {
		if secs[i] < '0' || secs[i] > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || n < minNameTime {
		return time.Time{}, false
	}
	t := time.Unix(n, 0).UTC()
	if t.After(time.Now().Add(24 * time.Hour)) {
		return time.Time{}, false // a counter, not a time
	}
	return t, true
}

// minNameTime is 1990-01-01: maildir is from 1995; smaller numbers are
// counters, not times.
const minNameTime = 631152000
