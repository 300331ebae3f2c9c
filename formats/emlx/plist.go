package emlx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Plist holds what mailferry uses from the property list that ends an emlx
// file (docs/applemail.md, The plist). Values are the top-level
// dictionary's scalar entries as text; nested arrays and dictionaries are
// skipped.
type Plist struct {
	Values map[string]string
}

// Flags returns the flags bit field and whether the plist has one. The
// value can exceed 32 bits; a negative integer is taken as its 64-bit
// two's complement.
func (p Plist) Flags() (uint64, bool) {
	v, ok := p.Values["flags"]
	if !ok {
		return 0, false
	}
	if u, err := strconv.ParseUint(v, 10, 64); err == nil {
		return u, true
	}
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		return uint64(i), true
	}
	return 0, false
}

// DateReceived is the plist's date-received: Unix epoch seconds, UTC. On
// every real file of the corpus it agrees with the top-most Received:
// header to the second, in several time zones, so no zone correction is
// applied (partial-emlx-converter's local-offset correction is wrong;
// docs/applemail.md, Dates).
func (p Plist) DateReceived() (time.Time, bool) { return p.epoch("date-received") }

// DateSent is the plist's date-sent, when present.
func (p Plist) DateSent() (time.Time, bool) { return p.epoch("date-sent") }

// RemoteID is the server's id of the message (POP UIDL or IMAP UID).
func (p Plist) RemoteID() string { return p.Values["remote-id"] }

func (p Plist) epoch(key string) (time.Time, bool) {
	v, ok := p.Values[key]
	if !ok {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil { // <date> element
		return t.UTC(), true
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// errTruncated says that the plist ended before </plist>.
var errTruncated = errors.New("plist truncated")

// parsePlist reads a plist document. It returns what it could read even on
// error; off is the byte offset (within b) where reading stopped, and rest
// says whether anything but white space follows the closing </plist>.
func parsePlist(b []byte) (p Plist, off int64, rest bool, err error) {
	p.Values = map[string]string{}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = false
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	depth := 0 // element depth; the top dict's entries are at depth 2
	inPlist := false
	var key string // pending key in the top dict
	for {
		tok, terr := d.Token()
		if terr != nil {
			off = d.InputOffset()
			return p, off, false, truncOr(terr, off)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			switch {
			case depth == 0 && name == "plist":
				inPlist = true
			case depth == 0 && name == "dict" && !inPlist:
				inPlist = true // a bare dict: be lenient
				depth++
			case depth == 1 && name == "dict":
			case depth == 2 && name == "key":
				var s string
				if err := d.DecodeElement(&s, &t); err != nil {
					off = d.InputOffset()
					return p, off, false, truncOr(err, off)
				}
				key = strings.TrimSpace(s)
				continue
			case depth == 2 && key != "":
				k := key
				key = ""
				switch name {
				case "true", "false":
					p.Values[k] = name
					if err := d.Skip(); err != nil {
						off = d.InputOffset()
						return p, off, false, truncOr(err, off)
					}
				case "array", "dict":
					if err := d.Skip(); err != nil {
						off = d.InputOffset()
						return p, off, false, truncOr(err, off)
					}
				default: // integer, real, string, date, data
					var s string
					if err := d.DecodeElement(&s, &t); err != nil {
						off = d.InputOffset()
						return p, off, false, truncOr(err, off)
					}
					p.Values[k] = strings.TrimSpace(s)
				}
				continue
			default:
				if err := d.Skip(); err != nil {
					off = d.InputOffset()
					return p, off, false, truncOr(err, off)
				}
				continue
			}
			depth++
		case xml.EndElement:
			depth--
			if depth <= 0 && (t.Name.Local == "plist" || t.Name.Local == "dict") {
				off = d.InputOffset()
				return p, off, len(bytes.TrimSpace(b[off:])) > 0, nil
			}
		}
	}
}

func truncOr(err error, off int64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errTruncated
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) && strings.Contains(se.Msg, "unexpected EOF") {
		return errTruncated
	}
	return fmt.Errorf("plist syntax at byte %d: %w", off, err)
}
