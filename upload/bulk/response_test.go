package bulk

import (
	"bufio"
	"errors"
	"slices"
	"strings"
	"testing"

	"mailferry/internal/imapguard"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want response
	}{
		{"continuation", "+ Ready for literal data", response{tag: "+", text: "Ready for literal data"}},
		{"bare continuation", "+", response{tag: "+"}},
		{"greeting with caps", "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] Dovecot ready.",
			response{tag: "*", kind: "OK", code: "CAPABILITY", args: "IMAP4rev1 LITERAL+ AUTH=PLAIN", text: "Dovecot ready."}},
		{"exists", "* 172 EXISTS", response{tag: "*", kind: "EXISTS", num: 172}},
		{"capability data", "* CAPABILITY IMAP4rev1 MULTIAPPEND", response{tag: "*", kind: "CAPABILITY", text: "IMAP4rev1 MULTIAPPEND"}},
		{"appenduid", "B7 OK [APPENDUID 1700000000 4:6] Append completed (0.001 + 0.000 secs).",
			response{tag: "B7", kind: "OK", code: "APPENDUID", args: "1700000000 4:6", text: "Append completed (0.001 + 0.000 secs)."}},
		{"limit", "B2 NO [LIMIT] Mail size is larger than the maximum size allowed by server configuration",
			response{tag: "B2", kind: "NO", code: "LIMIT", text: "Mail size is larger than the maximum size allowed by server configuration"}},
		{"overquota", "B3 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)",
			response{tag: "B3", kind: "NO", code: "OVERQUOTA", text: "Quota exceeded (mailbox for user is full)"}},
		{"trycreate", "B4 NO [TRYCREATE] Mailbox doesn't exist: Nope", response{tag: "B4", kind: "NO", code: "TRYCREATE", text: "Mailbox doesn't exist: Nope"}},
		{"cannot", "B5 NO [CANNOT] Character not allowed", response{tag: "B5", kind: "NO", code: "CANNOT", text: "Character not allowed"}},
		{"bad", "B6 BAD Error in IMAP command APPEND: Invalid arguments.", response{tag: "B6", kind: "BAD", text: "Error in IMAP command APPEND: Invalid arguments."}},
		{"bye", "* BYE Server shutting down.", response{tag: "*", kind: "BYE", text: "Server shutting down."}},
		{"permanentflags", `* OK [PERMANENTFLAGS (\Answered \Seen \*)] Flags permitted.`,
			response{tag: "*", kind: "OK", code: "PERMANENTFLAGS", args: `(\Answered \Seen \*)`, text: "Flags permitted."}},
		{"lower case", "b1 ok [read-write] Select completed", response{tag: "b1", kind: "OK", code: "READ-WRITE", text: "Select completed"}},
		{"fetch", `* 3 FETCH (FLAGS (\Seen))`, response{tag: "*", kind: "FETCH", num: 3, text: `(FLAGS (\Seen))`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseResponse([]byte(tc.in))
			if err != nil {
				t.Fatalf("parseResponse(%q): %v", tc.in, err)
			}
			if *got != tc.want {
				t.Errorf("parseResponse(%q) = %+v, want %+v", tc.in, *got, tc.want)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	for _, in := range []string{
		"", " OK x", "B1 BYE no", "B1 EXISTS", "* ", "* 99999999999 EXISTS", "B1 OK [APPENDUID 1 2",
		"B(1 OK x", "* OK [] x",
	} {
		if r, err := parseResponse([]byte(in)); !errors.Is(err, ErrProtocol) {
			t.Errorf("parseResponse(%q) = %+v, %v; want a protocol error", in, r, err)
		}
	}
}

func TestReadResponse(t *testing.T) {
	in := "* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n)\r\n" +
		"* OK fine\r\n" +
		"* OK text that ends like a literal {5}\r\n" +
		"+ go ahead {3}\r\n" +
		"* 7 ok {2}\r\n" +
		"B1 OK done {4}\r\n"
	br := bufio.NewReader(strings.NewReader(in))
	want := []string{"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n)", "* OK fine", "* OK text that ends like a literal {5}",
		"+ go ahead {3}", "* 7 ok {2}", "B1 OK done {4}"}
	for _, w := range want {
		b, err := readResponse(br)
		if err != nil {
			t.Fatalf("readResponse: %v", err)
		}
		if string(b) != w {
			t.Errorf("readResponse = %q, want %q", b, w)
		}
	}
	if _, err := readResponse(br); err == nil {
		t.Errorf("readResponse at the end: no error")
	}
	var le *imapguard.LimitError
	long := "* OK " + strings.Repeat("x", maxLine+10) + "\r\n"
	_, err := readResponse(bufio.NewReaderSize(strings.NewReader(long), 4096))
	if !errors.Is(err, ErrProtocol) || !errors.As(err, &le) || le.Limit != imapguard.LineLimit || le.Max != maxLine {
		t.Errorf("readResponse of a %d byte line: %v, want a protocol error and the line limit", len(long), err)
	}
	huge := "* 1 FETCH (BODY[] {999999999}\r\n"
	_, err = readResponse(bufio.NewReader(strings.NewReader(huge)))
	if !errors.Is(err, ErrProtocol) || !errors.As(err, &le) || le.Limit != imapguard.ResponseLimit || le.Got < 999999999 {
		t.Errorf("readResponse with a 1 GB literal: %v, want a protocol error and the response limit", err)
	}
}

func TestParseAppendUID(t *testing.T) {
	tests := []struct {
		args     string
		max      int
		validity uint32
		uids     []uint32
		ok       bool
	}{
		{"38505 3955", 1, 38505, []uint32{3955}, true},
		{"38505 101:103", 3, 38505, []uint32{101, 102, 103}, true},
		{"38505 103:101", 3, 38505, []uint32{101, 102, 103}, true},
		{"7 1,3:4,9", 4, 7, []uint32{1, 3, 4, 9}, true},
		{"7 1:4294967295", 50, 0, nil, false},
		{"7 0", 1, 0, nil, false},
		{"0 5", 1, 0, nil, false},
		{"7", 1, 0, nil, false},
		{"7 a:b", 1, 0, nil, false},
	}
	for _, tc := range tests {
		v, uids, err := parseAppendUID(tc.args, tc.max)
		if (err == nil) != tc.ok || v != tc.validity || !slices.Equal(uids, tc.uids) {
			t.Errorf("parseAppendUID(%q, %d) = %d, %v, %v; want %d, %v, ok %v", tc.args, tc.max, v, uids, err, tc.validity, tc.uids, tc.ok)
		}
	}
}

// FuzzResponse feeds arbitrary server output to the reader and parsers:
// no panic, and every error of a parsed response is a protocol error.
func FuzzResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND] ready\r\n",
		"B1 OK [APPENDUID 38505 101:150] done\r\n",
		"B2 NO [LIMIT] too big\r\nB3 NO [OVERQUOTA] full\r\n* BYE bye\r\n",
		"* 1 FETCH (BODY[] {5}\r\nhello)\r\n+ go ahead\r\n",
		"* 3 EXISTS\r\n* OK [PERMANENTFLAGS (\\Seen \\*)] ok\r\nB4 OK [READ-WRITE] x\r\n",
		"B5 OK [APPENDUID 7 1,3:4,9] x\r\n* 4294967295 EXISTS\r\n{3}\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		br := bufio.NewReader(strings.NewReader(string(b)))
		for range 100 {
			line, err := readResponse(br)
			if err != nil {
				return
			}
			r, err := parseResponse(line)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("parseResponse(%q): %v is not a protocol error", line, err)
				}
				continue
			}
			if r.code == "APPENDUID" {
				if _, uids, err := parseAppendUID(r.args, 64); err == nil && len(uids) > 64 {
					t.Fatalf("parseAppendUID(%q) gave %d UIDs, more than 64", r.args, len(uids))
				}
			}
			_ = parseList(r.args)
		}
	})
}
