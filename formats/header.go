package formats

import (
	"bytes"
	"strings"
	"time"
	"unsafe"
)

// HeaderField is one header field, its name as written and its value with
// folding removed (CR and LF dropped, leading whitespace kept as one space).
type HeaderField struct {
	Name  string
	Value string
}

// Header is a message's header fields in the order they appear.
type Header []HeaderField

// Get returns the value of the first field named name (case-insensitively),
// and whether there was one.
func (h Header) Get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// HeaderEnd returns the length of the header block at the start of b,
// including the blank line that ends it (LF or CRLF), or -1 when b holds no
// blank line.
func HeaderEnd(b []byte) int {
	i := 0
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		line := b[i : i+j]
		if len(line) == 0 || (len(line) == 1 && line[0] == '\r') {
			return i + j + 1
		}
		i += j + 1
	}
	return -1
}

// ParseHeader parses the header block at the start of b, stopping at the
// first blank line or at the first line that is neither a field nor a
// continuation. It never fails: malformed lines end the header.
//
// It makes one string of the header block and slices names and values
// from it, so that it costs a few allocations per header rather than
// several per field, and time linear in the header's size even for
// thousands of continuation lines.
func ParseHeader(b []byte) Header {
	// First pass: where the header ends, and how many fields it has.
	end, fields := 0, 0
	foldLen, fieldLen := 0, 0 // bound on the folded values' bytes; last field line's length
	for rest := b; len(rest) > 0; {
		j := bytes.IndexByte(rest, '\n')
		var line []byte
		n := len(rest)
		if j >= 0 {
			line, n = rest[:j], j+1
		} else {
			line = rest
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			colon := bytes.IndexByte(line, ':')
			if colon <= 0 || !isFieldName(line[:colon]) {
				break
			}
			fields++
			fieldLen = len(line)
		} else {
			foldLen += fieldLen + len(line) + 1
			fieldLen = 0
		}
		end += n
		rest = rest[n:]
	}
	if fields == 0 {
		return nil
	}
	// Second pass over one string: names and unfolded values are
	// substrings of it; folded values are built in one buffer, made a
	// string once at the end.
	s := string(b[:end])
	h := make(Header, 0, fields)
	type span struct{ field, start, end int }
	var (
		fold     []byte
		spansArr [16]span
		spans    = spansArr[:0]
		folding  = false
	)
	for len(s) > 0 {
		j := strings.IndexByte(s, '\n')
		var line string
		if j < 0 {
			line, s = s, ""
		} else {
			line, s = s[:j], s[j+1:]
		}
		line = strings.TrimSuffix(line, "\r")
		if line[0] == ' ' || line[0] == '\t' {
			if len(h) == 0 {
				continue // continuation without a field: ignore
			}
			if !folding {
				if fold == nil {
					fold = make([]byte, 0, foldLen)
				}
				spans = append(spans, span{len(h) - 1, len(fold), 0})
				fold = append(fold, h[len(h)-1].Value...)
				folding = true
			}
			fold = append(fold, ' ')
			fold = append(fold, strings.TrimSpace(line)...)
			spans[len(spans)-1].end = len(fold)
			continue
		}
		folding = false
		colon := strings.IndexByte(line, ':')
		h = append(h, HeaderField{
			Name:  strings.TrimRight(line[:colon], " \t"),
			Value: strings.TrimSpace(line[colon+1:]),
		})
	}
	if len(spans) > 0 {
		// fold is not written after this: share its bytes instead of
		// copying them into a new string.
		f := unsafe.String(unsafe.SliceData(fold), len(fold))
		for _, sp := range spans {
			h[sp.field].Value = f[sp.start:sp.end]
		}
	}
	return h
}

// IsHeaderLine reports whether line looks like a header field ("Name: ...",
// name characters 33-126 except ':', RFC 5322 section 2.2) or a folded
// continuation. Mbox splitters use it to tell a real From_ line from body
// text, as Thunderbird does (MboxMsgInputStream.cpp).
func IsHeaderLine(line []byte) bool {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) == 0 {
		return false
	}
	if line[0] == ' ' || line[0] == '\t' {
		return len(bytes.TrimSpace(line)) > 0
	}
	colon := bytes.IndexByte(line, ':')
	return colon > 0 && isFieldName(line[:colon])
}

func isFieldName(b []byte) bool {
	b = bytes.TrimRight(b, " \t") // obsolete syntax allows WSP before the colon
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < 33 || c > 126 || c == ':' {
			return false
		}
	}
	return true
}

// ReceivedDate returns the date of the top-most Received: field, the time
// the last server took the message in (RFC 5322 section 3.6.7: the date
// follows the last ';').
func (h Header) ReceivedDate() (time.Time, bool) {
	v, ok := h.Get("Received")
	if !ok {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return time.Time{}, false
	}
	return ParseDate(v[i+1:], time.UTC)
}

// Date returns the Date: field as a time.
func (h Header) Date() (time.Time, bool) {
	v, ok := h.Get("Date")
	if !ok {
		return time.Time{}, false
	}
	return ParseDate(v, time.UTC)
}
