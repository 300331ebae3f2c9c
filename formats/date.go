package formats

import (
	"strconv"
	"strings"
	"time"
)

// ParseDate parses a date as real mail carries it, leniently: RFC 5322 and
// its obsolete forms (RFC 5322 section 4.3: two-digit years, zones such as
// "EST" or military letters, comments, missing seconds or weekday), "-0000",
// and C ctime/asctime as in mbox From_ lines ("Sat Jan  3 01:05:34 1996",
// with an optional zone before or after the year). A date without a zone is
// taken in loc (UTC when nil). It reports false for anything it cannot make
// into a real calendar date; it never guesses "now".
func ParseDate(s string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	toks := dateTokens(s)
	var (
		day, month, year = -1, -1, -1
		yearDigits       int
		hh, mm, ss       = -1, -1, 0
		zone             *time.Location
		haveZone         bool
	)
	for _, t := range toks {
		switch {
		case strings.Contains(t, ":") && hh < 0:
			parts := strings.Split(t, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return time.Time{}, false
			}
			var err error
			if hh, err = strconv.Atoi(parts[0]); err != nil {
				return time.Time{}, false
			}
			if mm, err = strconv.Atoi(parts[1]); err != nil {
				return time.Time{}, false
			}
			if len(parts) == 3 {
				// fractional seconds appear in some generated dates
				sec, _, _ := strings.Cut(parts[2], ".")
				if ss, err = strconv.Atoi(sec); err != nil {
					return time.Time{}, false
				}
			}
		case (t[0] == '+' || t[0] == '-') && len(t) == 5 && isDigits(t[1:]) && hh >= 0:
			h, _ := strconv.Atoi(t[1:3])
			m, _ := strconv.Atoi(t[3:5])
			off := h*3600 + m*60
			if t[0] == '-' {
				off = -off
			}
			// RFC 5322: "-0000" means the local zone is unknown; the time is UTC.
			zone, haveZone = time.FixedZone("", off), true
		case isDigits(t):
			n, _ := strconv.Atoi(t)
			switch {
			case day < 0 && len(t) <= 2 && month < 0 && year < 0:
				day = n
			case day < 0 && len(t) <= 2 && month >= 0 && year < 0:
				day = n // "Jan 3 ..." (ctime)
			case year < 0 && (len(t) == 4 || len(t) == 2 || len(t) == 3) && (day >= 0 || hh >= 0):
				year, yearDigits = n, len(t)
			default:
				return time.Time{}, false
			}
		default:
			lower := strings.ToLower(t)
			if m, ok := monthNames[lower]; ok && month < 0 {
				month = m
				continue
			}
			if len(lower) >= 3 {
				if m, ok := monthNames[lower[:3]]; ok && month < 0 && strings.HasPrefix(fullMonths[m-1], lower) {
					month = m
					continue
				}
			}
			if _, ok := weekdays[lower]; ok {
				continue
			}
			if len(lower) > 3 {
				if _, ok := weekdays[lower[:3]]; ok {
					continue // "Tuesday"
				}
			}
			if off, ok := zoneNames[lower]; ok && hh >= 0 {
				zone, haveZone = time.FixedZone(strings.ToUpper(t), off), true
				continue
			}
			if len(lower) == 1 && hh >= 0 && !haveZone {
				// Military zones: RFC 5322 4.3 says treat them as "-0000".
				zone, haveZone = time.UTC, true
				continue
			}
			if hh >= 0 && !haveZone && isZoneish(lower) {
				zone, haveZone = time.UTC, true // unknown zone name: better than dropping the date
				continue
			}
			return time.Time{}, false
		}
	}
	if day < 1 || month < 1 || year < 0 || hh < 0 {
		return time.Time{}, false
	}
	switch yearDigits { // RFC 5322 4.3
	case 2:
		if year < 50 {
			year += 2000
		} else {
			year += 1900
		}
	case 3:
		year += 1900
	}
	if hh > 23 || mm > 59 || ss > 60 || year < 1970 || year > 9999 {
		return time.Time{}, false
	}
	if ss == 60 {
		ss = 59 // leap second
	}
	if !haveZone {
		zone = loc
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, zone)
	if t.Day() != day { // 35 Aug, 31 Feb
		return time.Time{}, false
	}
	return t, true
}

// dateTokens splits a date into words, dropping comments in parentheses and
// the punctuation that separates words.
func dateTokens(s string) []string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
			b.WriteByte(' ')
		case r == ')':
			if depth > 0 {
				depth--
			}
			b.WriteByte(' ')
		case depth > 0:
		case r == ',' || r == '\t' || r == '\r' || r == '\n':
			b.WriteByte(' ')
		case r == '-' || r == '+':
			// "-0000" or "+0100" is a zone, but "3-Jan-2024" (IMAP style) separates.
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	var out []string
	for _, f := range strings.Fields(b.String()) {
		if (f[0] != '+' && f[0] != '-') && strings.Contains(f, "-") {
			for _, p := range strings.Split(f, "-") {
				if p != "" {
					out = append(out, p)
				}
			}
			continue
		}
		out = append(out, f)
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isZoneish(s string) bool {
	if len(s) < 2 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

var fullMonths = []string{"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

var monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12, "sept": 9}

var weekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true,
	"sat": true, "sun": true}

// zoneNames are the obsolete zones of RFC 5322 section 4.3 plus a few common
// in the wild, as offsets in seconds.
var zoneNames = map[string]int{
	"ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0, "bst": 3600, "cet": 3600, "met": 3600,
	"mez": 3600, "cest": 7200, "mest": 7200, "mesz": 7200, "eet": 7200, "eest": 10800,
	"est": -5 * 3600, "edt": -4 * 3600, "cst": -6 * 3600, "cdt": -5 * 3600,
	"mst": -7 * 3600, "mdt": -6 * 3600, "pst": -8 * 3600, "pdt": -7 * 3600,
	"jst": 9 * 3600, "ist": 5*3600 + 1800, "hkt": 8 * 3600, "aest": 10 * 3600,
}
