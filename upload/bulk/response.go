package bulk

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailferry/internal/imapguard"
)

// Limits on what the server may send in one response.
const (
	maxLine        = 64 << 10 // one line of a response, without literals
	maxResponse    = 8 << 20  // a whole response with its literals
	maxUIDSetItems = 1 << 20  // UIDs one APPENDUID may name
)

// ErrProtocol marks a response that breaks the IMAP grammar: the
// connection cannot be trusted any more.
var ErrProtocol = errors.New("IMAP protocol error")

// response is one server response, parsed as far as this client needs.
type response struct {
	// tag is "*" for untagged responses, "+" for a continuation request,
	// else the tag of the command it ends.
	tag string
	// kind is the status (OK, NO, BAD, BYE, PREAUTH), the untagged data
	// name (CAPABILITY, FLAGS, EXISTS, EXPUNGE, FETCH, ...), or "" for a
	// continuation request.
	kind string
	// num is the number before EXISTS, RECENT, EXPUNGE or FETCH.
	num uint32
	// code and args are the response code: "[APPENDUID 38505 3955]" has
	// code "APPENDUID" and args "38505 3955".
	code, args string
	// text is the human-readable rest (for CAPABILITY and FLAGS: the data).
	text string
}

// readResponse reads one response, with any literals it carries, from br.
// The returned bytes are the whole response with literals inline. A
// response longer than the limits fails with ErrProtocol and an
// *imapguard.LimitError naming the limit.
func readResponse(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := readLine(br)
		if err != nil {
			return nil, err
		}
		first := out == nil
		out = append(out, line...)
		n, ok := literalSize(line)
		if !ok || (first && isStatus(line)) {
			// A status response or a continuation request ends in text:
			// a "{5}" there is no literal.
			return bytes.TrimRight(out, "\r\n"), nil
		}
		if n > maxResponse || int64(len(out))+n > maxResponse {
			return nil, fmt.Errorf("%w: %w", ErrProtocol, &imapguard.LimitError{Limit: imapguard.ResponseLimit, Max: maxResponse, Got: int64(len(out)) + n})
		}
		start := len(out)
		out = append(out, make([]byte, n)...)
		if _, err := ioReadFull(br, out[start:]); err != nil {
			return nil, err
		}
	}
}

// readLine reads up to and including LF; a line longer than maxLine is a
// protocol error.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if err == nil {
			if line == nil {
				return frag, nil
			}
			if line = append(line, frag...); len(line) > maxLine {
				return nil, lineTooLong(len(line))
			}
			return line, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
		line = append(line, frag...)
		if len(line) > maxLine {
			return nil, lineTooLong(len(line))
		}
	}
}

func lineTooLong(n int) error {
	return fmt.Errorf("%w: %w", ErrProtocol, &imapguard.LimitError{Limit: imapguard.LineLimit, Max: maxLine, Got: int64(n)})
}

// isStatus reports whether line starts a continuation request or a status
// response (tagged, or untagged OK, NO, BAD, BYE, PREAUTH).
func isStatus(line []byte) bool {
	tag, rest, _ := bytes.Cut(line, []byte(" "))
	switch string(tag) {
	case "+":
		return true
	case "*":
	default:
		return true
	}
	word, rest, _ := bytes.Cut(rest, []byte(" "))
	if len(word) > 0 && word[0] >= '0' && word[0] <= '9' {
		word, _, _ = bytes.Cut(rest, []byte(" "))
	}
	word = bytes.TrimRight(word, "\r\n")
	for _, k := range []string{"OK", "NO", "BAD", "BYE", "PREAUTH"} {
		if bytes.EqualFold(word, []byte(k)) {
			return true
		}
	}
	return false
}

func ioReadFull(br *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := br.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// literalSize reports whether line ends with a literal announcement
// "{n}" (or "{n+}", "~{n}") before its CRLF, and n.
func literalSize(line []byte) (int64, bool) {
	l := bytes.TrimRight(line, "\r\n")
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(l, '{')
	if i < 0 {
		return 0, false
	}
	digits := bytes.TrimSuffix(l[i+1:len(l)-1], []byte("+"))
	if len(digits) == 0 || len(digits) > 10 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseResponse parses one response as readResponse returns it.
func parseResponse(b []byte) (*response, error) {
	s := string(b)
	tag, rest, _ := strings.Cut(s, " ")
	r := &response{tag: tag}
	switch {
	case tag == "+":
		r.text = rest
		return r, nil
	case tag == "":
		return nil, fmt.Errorf("%w: response without a tag: %q", ErrProtocol, clip(s))
	case tag != "*" && !validTag(tag):
		return nil, fmt.Errorf("%w: bad tag in %q", ErrProtocol, clip(s))
	}
	word, rest, _ := strings.Cut(rest, " ")
	if tag == "*" && word != "" && word[0] >= '0' && word[0] <= '9' {
		n, err := strconv.ParseUint(word, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: bad number in %q", ErrProtocol, clip(s))
		}
		r.num = uint32(n)
		word, rest, _ = strings.Cut(rest, " ")
	}
	r.kind = strings.ToUpper(word)
	if r.kind == "" {
		return nil, fmt.Errorf("%w: empty response %q", ErrProtocol, clip(s))
	}
	switch r.kind {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		if tag != "*" && (r.kind == "BYE" || r.kind == "PREAUTH") {
			return nil, fmt.Errorf("%w: tagged %s in %q", ErrProtocol, r.kind, clip(s))
		}
		if strings.HasPrefix(rest, "[") {
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, fmt.Errorf("%w: response code without ']' in %q", ErrProtocol, clip(s))
			}
			code := rest[1:end]
			r.code, r.args, _ = strings.Cut(code, " ")
			r.code = strings.ToUpper(r.code)
			if r.code == "" {
				return nil, fmt.Errorf("%w: empty response code in %q", ErrProtocol, clip(s))
			}
			rest = strings.TrimPrefix(rest[end+1:], " ")
		}
	default:
		if tag != "*" {
			return nil, fmt.Errorf("%w: tagged response %q is not OK, NO or BAD", ErrProtocol, clip(s))
		}
	}
	r.text = rest
	return r, nil
}

// validTag reports whether t is a tag: astring characters except "+".
func validTag(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\+`, c) >= 0 {
			return false
		}
	}
	return t != ""
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// parseAppendUID reads the arguments of an APPENDUID response code (RFC
// 4315): "uidvalidity uid-set". The set is expanded in order; it must not
// name more than max UIDs.
func parseAppendUID(args string, max int) (validity uint32, uids []uint32, err error) {
	v, set, ok := strings.Cut(args, " ")
	if !ok {
		return 0, nil, fmt.Errorf("%w: APPENDUID %q: want a UIDVALIDITY and UIDs", ErrProtocol, args)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == 0 {
		return 0, nil, fmt.Errorf("%w: APPENDUID %q: bad UIDVALIDITY", ErrProtocol, args)
	}
	uids, err = parseUIDSet(set, max)
	if err != nil {
		return 0, nil, fmt.Errorf("APPENDUID %q: %w", args, err)
	}
	return uint32(n), uids, nil
}

// parseUIDSet expands "4", "4:7", "7:4" (the same as 4:7) and
// comma-separated lists of those, in the order they are written.
func parseUIDSet(set string, max int) ([]uint32, error) {
	var uids []uint32
	for _, part := range strings.Split(set, ",") {
		lo, hi, isRange := strings.Cut(part, ":")
		a, err := parseUID(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parseUID(hi); err != nil {
				return nil, err
			}
		}
		if a > b {
			a, b = b, a
		}
		if int64(b-a)+1+int64(len(uids)) > int64(max) {
			return nil, fmt.Errorf("%w: UID set %q names more than %d UIDs", ErrProtocol, clip(set), max)
		}
		for u := a; ; u++ {
			uids = append(uids, u)
			if u == b {
				break
			}
		}
	}
	return uids, nil
}

func parseUID(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: bad UID %q", ErrProtocol, clip(s))
	}
	return uint32(n), nil
}

// parseList splits a parenthesized list of atoms "(\Seen \* $Forwarded)".
func parseList(s string) []string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "(")
	if i := strings.IndexByte(s, ')'); i >= 0 {
		s = s[:i]
	}
	return strings.Fields(s)
}
