package main

import (
	mfterm "mailferry/internal/term"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// --- words -------------------------------------------------------------------------

// count renders n with thousands separators: 12,345.
func count(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// messages is "1 message" or "12,345 messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return count(n) + " messages"
}

// plainCounts renders skip reasons in words, largest first: "1 deleted
// in the source (…), 2 not a mail message".
func plainCounts(m map[string]int) string {
	reasons := make([]string, 0, len(m))
	for k := range m {
		reasons = append(reasons, k)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if m[reasons[i]] != m[reasons[j]] {
			return m[reasons[i]] > m[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = count(m[r]) + " " + mfterm.Escape(r)
	}
	return strings.Join(parts, ", ")
}

// expandHome expands a leading ~/ (users copy paths from help pages).
func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	}
	return p
}
