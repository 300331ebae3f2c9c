package mbox

import (
	"strings"
	"time"

	"mailferry/formats"
)

// ParseFromLine splits "From sender date..." into sender and date; a date
// without a zone is in loc (nil means UTC). It accepts what writers really
// produce: asctime with a space- or zero-padded day,
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
	// Fast path: "From sender Www Mmm dd hh:mm:ss yyyy", as almost every
	// writer produces it, without allocating.
	if r := strings.TrimSpace(rest); len(r) >= 24 {
		if t, ok := parseAsctime(r[len(r)-24:], loc); ok {
			sender := strings.TrimSpace(r[:len(r)-24])
			if !strings.ContainsAny(sender, " \t") {
				return sender, t, true
			}
		}
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
	for _, w := range [...]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

func isMonth(s string) bool { return monthIndex(s) > 0 }

// parseAsctime parses exactly "Www Mmm dd hh:mm:ss yyyy" (C asctime; the
// day space- or zero-padded) in loc (nil: UTC), with the same limits as
// formats.ParseDate.
func parseAsctime(d string, loc *time.Location) (time.Time, bool) {
	if len(d) != 24 || d[3] != ' ' || d[7] != ' ' || d[10] != ' ' || d[13] != ':' || d[16] != ':' || d[19] != ' ' {
		return time.Time{}, false
	}
	if !isWeekday(d[0:3]) {
		return time.Time{}, false
	}
	month := monthIndex(d[4:7])
	day := digits(strings.TrimPrefix(d[8:10], " "))
	hh, mm, ss := digits(d[11:13]), digits(d[14:16]), digits(d[17:19])
	year := digits(d[20:24])
	if month < 1 || day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 || year < 1970 {
		return time.Time{}, false
	}
	if ss == 60 {
		ss = 59 // leap second
	}
	if loc == nil {
		loc = time.UTC
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // Feb 31
	}
	return t, true
}

// digits parses a short run of ASCII digits; -1 if s is empty or has
// anything else.
func digits(s string) int {
	if s == "" {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

var months = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func monthIndex(s string) int {
	for i, m := range months {
		if strings.EqualFold(s, m) {
			return i + 1
		}
	}
	return -1
}
