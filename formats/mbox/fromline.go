package mbox

import (
	"strings"
	"time"

	"mailferry/formats"
)

// ParseFromLine splits "From sender date..." into sender and date; a date
// without a zone is in loc (nil means UTC). It accepts what writers really
// produce (FORMATS.md 1.6, 4.1): asctime with a space- or zero-padded day,
// a zone before or after the year, "-" or an address or nothing as the
// sender, and trailing words such as UUCP's "remote from host". The sender
// is returned as written even when there is no date; ok reports whether a
// date was found.
func ParseFromLine(line string, loc *time.Location) (sender string, t time.Time, ok bool) {
	line = strings.TrimRight(line, "\r\n")
	rest, found := strings.CutPrefix(line, "From ")
	if !found {
		return "", time.Time{}, false
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return "", time.Time{}, false
	}
	if len(f) > 1 && isWeekday(f[0]) && isMonth(f[1]) {
		// No sender at all: "From Fri Aug 24 11:55:47 2018".
		t, ok = fromDate(f, loc)
		return "", t, ok
	}
	t, ok = fromDate(f[1:], loc)
	return f[0], t, ok
}

// fromDate parses the longest prefix of f (at most 7 words, at least 4)
// that is a date.
func fromDate(f []string, loc *time.Location) (time.Time, bool) {
	n := min(len(f), 7)
	for ; n >= 4; n-- {
		if t, ok := formats.ParseDate(strings.Join(f[:n], " "), loc); ok {
			return t, true
		}
	}
	return time.Time{}, false
}

func isWeekday(s string) bool {
	switch strings.ToLower(s) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun":
		return true
	}
	return false
}

func isMonth(s string) bool {
	switch strings.ToLower(s) {
	case "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec":
		return true
	}
	return false
}
