package imapguard

import (
	"errors"
	"strings"
	"testing"
)

// frames splits stream into responses with a scanner fed in pieces of
// size step (0: all at once); err is the scanner's error.
func frames(stream string, l Limits, step int) ([]string, error) {
	var s scanner
	lim := l.effective()
	var out []string
	var cur strings.Builder
	p := []byte(stream)
	for len(p) > 0 {
		piece := p
		if step > 0 && len(piece) > step {
			piece = piece[:step]
		}
		n, ended, _, err := s.scan(piece, &lim)
		if err != nil {
			return out, err
		}
		cur.Write(piece[:n])
		p = p[n:]
		if ended {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String()+"<unfinished>")
	}
	return out, nil
}

// TestScanFraming: the responses come out whole, one by one, whether the
// scanner sees them at once or byte by byte; literals (with the line
// breaks, quotes and parentheses of their content) are skipped; text after
// a status keeps its "{n}".
func TestScanFraming(t *testing.T) {
	tests := []struct {
		name string
		in   []string // the responses, concatenated as the stream
	}{
		{"greeting and tagged", []string{"* OK [CAPABILITY IMAP4rev1 LITERAL+] Dovecot ready.\r\n", "A1 OK done\r\n"}},
		{"continuation", []string{"+ \r\n", "+ go ahead {5}\r\n", "A2 NO [LIMIT] too big {99999999999}\r\n"}},
		{"status text with a literal-like end", []string{"* OK hello {12}\r\n", "* BYE later {3}\r\n"}},
		{"fetch with literals", []string{
			"* 1 FETCH (UID 7 BODY[] {17}\r\n(((\"x\r\n\r\n{3}\r\nabc) FLAGS (\\Seen))\r\n",
			"* 2 FETCH (BODY[HEADER] {0}\r\n)\r\n",
		}},
		{"literal8 and non-synchronizing", []string{"* 3 FETCH (BINARY[] ~{4}\r\n\x00\x01\r\n)\r\n", "* 4 FETCH (BODY[] {2+}\r\nhi)\r\n"}},
		{"go-imap's lenient line ends", []string{"* 5 FETCH (BODY[] {2} \r\nhi)\r\n", "* 6 FETCH (BODY[] {2}\nhi)\n"}},
		{"quoted strings", []string{`* LIST (\HasNoChildren) "/" "a \"(quoted)\" {5} name"` + "\r\n", `* LIST () "\\" "x\\"` + "\r\n"}},
		{"lower case status", []string{"* ok [ALERT] {1}\r\n", "a3 bad {9}\r\n"}},
		{"number then status-like data", []string{"* 12 EXISTS\r\n", "* 3 RECENT\r\n", "* 1 OK {3}\r\n"}},
		{"empty lines", []string{"\r\n", "\n", "* OK x\r\n"}},
	}
	for _, tc := range tests {
		for _, step := range []int{0, 1, 3} {
			got, err := frames(strings.Join(tc.in, ""), Limits{}, step)
			if err != nil {
				t.Errorf("%s (step %d): %v", tc.name, step, err)
				continue
			}
			if strings.Join(got, "|") != strings.Join(tc.in, "|") {
				t.Errorf("%s (step %d): responses\n%q\nwant\n%q", tc.name, step, got, tc.in)
			}
		}
	}
}

// TestScanLimits: each limit fails with its LimitError at the byte that
// breaks it, and allows exactly the limit.
func TestScanLimits(t *testing.T) {
	tests := []struct {
		name    string
		lim     Limits
		in      string
		limit   Limit // 0: passes
		max     int64
		atLeast int64 // Got at least
	}{
		{"line at the limit", Limits{MaxLine: 12}, "* OK 12345\r\n", 0, 0, 0},
		{"line over", Limits{MaxLine: 12}, "* OK 1234567\r\n", LineLimit, 12, 13},
		{"data line over", Limits{MaxLine: 10}, "* 1 FETCH (UID 12345)\r\n", LineLimit, 10, 11},
		{"line counted after a literal", Limits{MaxLine: 24}, "* 1 FETCH (BODY[] {30}\r\n" + strings.Repeat("x", 30) + " UID 1 FLAGS ())\r\n", 0, 0, 0},
		{"literal at the limit", Limits{MaxLiteral: 5}, "* 1 FETCH (BODY[] {5}\r\nabcde)\r\n", 0, 0, 0},
		{"literal over", Limits{MaxLiteral: 5}, "* 1 FETCH (BODY[] {6}\r\nabcdef)\r\n", LiteralLimit, 5, 6},
		{"literal size overflowing int64", Limits{MaxLiteral: -1}, "* 1 FETCH (BODY[] {99999999999999999999999}\r\n", LiteralLimit, 1<<63 - 1, 1},
		{"response over by a literal", Limits{MaxResponse: 40}, "* 1 FETCH (BODY[] {30}\r\n" + strings.Repeat("x", 30) + ")\r\n", ResponseLimit, 40, 41},
		{"response over by many lines", Limits{MaxResponse: 60}, "* 1 FETCH (ENVELOPE (" + strings.Repeat("{1}\r\nx ", 12) + "))\r\n", ResponseLimit, 60, 61},
		{"depth at the limit", Limits{MaxDepth: 3}, "* 1 FETCH (BODYSTRUCTURE ((\"a\")))\r\n", 0, 0, 0},
		{"depth over", Limits{MaxDepth: 3}, "* 1 FETCH (BODYSTRUCTURE (((\"a\"))))\r\n", DepthLimit, 3, 4},
		{"parentheses in quotes and literals do not count", Limits{MaxDepth: 1}, "* LIST () \"/\" \"((((\"\r\n* 1 FETCH (BODY[] {4}\r\n((((\r\n", 0, 0, 0},
		{"depth in status text does not count", Limits{MaxDepth: 1}, "* OK ((((((\r\n", 0, 0, 0},
	}
	for _, tc := range tests {
		for _, step := range []int{0, 1} {
			_, err := frames(tc.in, tc.lim, step)
			var le *LimitError
			switch {
			case tc.limit == 0 && err != nil:
				t.Errorf("%s (step %d): %v, want no error", tc.name, step, err)
			case tc.limit != 0 && !errors.As(err, &le):
				t.Errorf("%s (step %d): %v, want a LimitError", tc.name, step, err)
			case tc.limit != 0 && (le.Limit != tc.limit || le.Max != tc.max || le.Got < tc.atLeast):
				t.Errorf("%s (step %d): %+v, want %v with max %d, got >= %d", tc.name, step, le, tc.limit, tc.max, tc.atLeast)
			}
		}
	}
}

// TestScanMalformed: where the guard cannot be sure how the response goes
// on, it fails with ErrMalformed instead of guessing.
func TestScanMalformed(t *testing.T) {
	for _, in := range []string{
		"* LIST () \"/\" \"a\r\nb\"\r\n",
		"* LIST () \"/\" \"a\\\nb\"\r\n",
		"* OK [BADCHARSET (UTF-8\r\n)] x\r\n",
		"* 1 FETCH (BODY[] {x}\r\n",
		"* 1 FETCH (BODY[] {}\r\n",
		"* 1 FETCH (BODY[] {5}x\r\n",
		"* 1 FETCH (BODY[] {5+x}\r\n",
		"* 1 FETCH (BODY[] {5}\rx\n",
	} {
		_, err := frames(in, Limits{}, 0)
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", in, err)
		}
	}
}

// FuzzScan: the scanner never panics, never claims more bytes than it
// was given, and frames the same whether fed at once or byte by byte.
func FuzzScan(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1] hi\r\n",
		"* 1 FETCH (BODY[] {3}\r\nabc FLAGS (\\Seen))\r\n",
		"+ {5}\r\n",
		"A1 NO [x] \"y\r\n",
		`* LIST () "/" "\"a\""` + "\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxLine: 64, MaxLiteral: 64, MaxResponse: 256, MaxDepth: 8}
		whole, err1 := frames(string(b), lim, 0)
		byByte, err2 := frames(string(b), lim, 1)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("at once: %v, byte by byte: %v", err1, err2)
		}
		if err1 == nil && strings.Join(whole, "|") != strings.Join(byByte, "|") {
			t.Fatalf("framed differently:\n%q\n%q", whole, byByte)
		}
	})
}
