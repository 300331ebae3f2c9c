package convert

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// nameRules are what one output format allows in a folder's file name.
type nameRules struct {
	// illegal are characters replaced by '_' in addition to the ones no
	// file system takes (see SafeName).
	illegal string
	// trimLast are characters that may not end a name, in addition to '.'
	// and ' ' (Windows drops those silently).
	trimLast string
	// maxBytes bounds the UTF-8 length; maxUTF16 (when > 0) the length in
	// UTF-16 code units (Thunderbird counts those).
	maxBytes, maxUTF16 int
	// badSuffixes are endings (lower case) that make a name look like a
	// store's own file; such names get a '_' appended.
	badSuffixes []string
	// badPrefixes likewise, for beginnings.
	badPrefixes []string
}

// rulesFor returns the name rules of an output format.
//
//   - mbox: Thunderbird hashes a folder name it cannot use as a file name
//     (NS_MsgHashIfNecessary): one with ';' or '#', the
//     Windows-illegal characters, a leading '.', a trailing '.', '~' or
//     ' ', or more than 55 UTF-16 code units. A file dropped into Local
//     Folders under such a name would not be found again under its own
//     name, so the names written are ones Thunderbird takes as they are.
//     Names ending like Thunderbird's own files (.msf summaries, .sbd
//     children, .dat, .tmp, nstmp compaction leftovers) would be taken for
//     those files.
//   - maildir: '.' separates levels in Maildir++ and cannot be escaped
//     without Dovecot's listescape plugin; Dovecot refuses names starting
//     with '~'. The element is later written in modified UTF-7 (see
//     maildirName), which may make it longer: 60 bytes leaves room for it
//     within the 255 bytes of one directory name.
//   - eml: a directory per folder; a name ending in .eml would look like a
//     message file.
func rulesFor(format string) nameRules {
	switch format {
	case FormatMbox:
		return nameRules{
			illegal:     ";#",
			trimLast:    "~",
			maxBytes:    200,
			maxUTF16:    55,
			badSuffixes: []string{".msf", ".sbd", ".dat", ".tmp", ".mozmsgs", ".json", ".html"},
			badPrefixes: []string{"nstmp"},
		}
	case FormatMaildir:
		return nameRules{illegal: ".", maxBytes: 60, badPrefixes: []string{"~"}}
	default:
		return nameRules{maxBytes: 100, badSuffixes: []string{".eml"}}
	}
}

// fsIllegal are the characters no common file system accepts in a name:
// the separators of Unix and Windows and the rest of Windows' reserved set.
// Control characters are handled apart.
const fsIllegal = `/\:*?"<>|`

// SafeName returns a version of one folder name that is a harmless single
// file-name element on Windows, macOS and Linux for the given output format
// (FormatMbox, FormatMaildir, FormatEML), or the name itself when it
// already is one. It is pure and idempotent: SafeName(f, SafeName(f, x))
// equals SafeName(f, x).
//
// It replaces with '_': invalid UTF-8, control characters (C0, DEL, C1),
// the path separators '/' and '\', the Windows-reserved `:*?"<>|`, a leading
// '.' (no hidden files, no "." or ".."), and characters the format
// reserves (see rulesFor). It drops trailing dots and spaces (Windows
// would), appends '_' to Windows device names (CON, PRN, AUX, NUL,
// COM0-9, LPT0-9 and their superscript forms, also with an extension:
// "con.txt" becomes "con_.txt") and to names that look like a store's own
// files, cuts names that are too long at a character boundary, and makes
// an empty result "_". Uniqueness among siblings is the caller's business
// (a namer).
func SafeName(format, name string) string {
	r := rulesFor(format)
	s := name
	for range 4 { // each step can only shorten or fix; stable after few rounds
		t := r.step(s)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func (r nameRules) step(s string) string {
	var b strings.Builder
	for i, c := range s {
		switch {
		case c == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteByte('_') // an invalid byte
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0):
			b.WriteByte('_')
		case strings.ContainsRune(fsIllegal, c) || strings.ContainsRune(r.illegal, c):
			b.WriteByte('_')
		default:
			b.WriteRune(c)
		}
	}
	s = b.String()
	s = strings.TrimRight(s, ". "+r.trimLast)
	if strings.HasPrefix(s, ".") {
		s = "_" + s[1:]
	}
	s = r.cut(s, 0)
	s = strings.TrimRight(s, ". "+r.trimLast)
	if isDeviceName(s) {
		base, ext, _ := strings.Cut(s, ".")
		base = strings.TrimRight(base, " ")
		if ext != "" {
			s = base + "_." + ext
		} else {
			s = base + "_"
		}
	}
	lower := strings.ToLower(s)
	for _, suf := range r.badSuffixes {
		if strings.HasSuffix(lower, suf) {
			s += "_"
			break
		}
	}
	for _, pre := range r.badPrefixes {
		if strings.HasPrefix(lower, pre) {
			s = "_" + s
			break
		}
	}
	if s == "" {
		s = "_"
	}
	return r.cut(s, 0)
}

// cut shortens s so that s plus reserve more bytes (and UTF-16 units)
// fit the limits, at a character boundary.
func (r nameRules) cut(s string, reserve int) string {
	for len(s)+reserve > r.maxBytes || (r.maxUTF16 > 0 && utf16Len(s)+reserve > r.maxUTF16) {
		_, size := utf8.DecodeLastRuneInString(s)
		if size == 0 {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, c := range s {
		n += utf16.RuneLen(c)
	}
	return n
}

// isDeviceName reports whether Windows reserves s as a device name: the
// part before the first dot, without trailing spaces, compared
// case-insensitively (learn.microsoft.com "Naming Files, Paths, and
// Namespaces": CON, PRN, AUX, NUL, COM0-9, LPT0-9, and the superscript
// digits ¹²³, "also avoid these names followed immediately by an
// extension").
func isDeviceName(s string) bool {
	base, _, _ := strings.Cut(s, ".")
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) >= 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// namer hands out names that are unique among the siblings of one
// directory, compared case-insensitively (macOS and Windows file systems
// fold case, and an output may be copied there).
type namer struct {
	taken map[string]bool
	rules nameRules
}

func newNamer(r nameRules) *namer { return &namer{taken: map[string]bool{}, rules: r} }

// reserve marks a name as taken without handing it out.
func (n *namer) reserve(name string) { n.taken[strings.ToLower(name)] = true }

// unique returns name, or name with "-2", "-3", ... appended (cutting name
// to stay within the limits), whichever is free first, and takes it.
// suffix (such as ".eml") stays at the end.
func (n *namer) unique(name, suffix string) string {
	for i := 1; ; i++ {
		tag := ""
		if i > 1 {
			tag = "-" + strconv.Itoa(i)
		}
		base := name
		if tag != "" || suffix != "" {
			base = strings.TrimRight(n.rules.cut(name, len(tag)+len(suffix)), ". ")
		}
		cand := base + tag + suffix
		if !n.taken[strings.ToLower(cand)] {
			n.taken[strings.ToLower(cand)] = true
			return cand
		}
	}
}
