package emlx

import (
	"encoding/base64"
	"io"
)

// The encoders that put an attachment file back into its MIME part with
// the part's Content-Transfer-Encoding. Neither adds a line break after
// its last line: the line break before the next boundary belongs to the
// delimiter (RFC 2046 5.1.1), and the rebuilder keeps the original one.

// lineLen is the longest encoded line (RFC 2045 6.7 and 6.8: 76).
const lineLen = 76

// newBase64Encoder returns a writer that base64-encodes into w in lines of
// 76 characters separated by CRLF. Close flushes it.
func newBase64Encoder(w io.Writer) io.WriteCloser {
	return base64.NewEncoder(base64.StdEncoding, &lineBreaker{w: w})
}

// lineBreaker inserts CRLF before every 77th character of a line.
type lineBreaker struct {
	w   io.Writer
	col int
}

func (l *lineBreaker) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if l.col == lineLen {
			if _, err := l.w.Write([]byte("\r\n")); err != nil {
				return n, err
			}
			l.col = 0
		}
		k := min(len(p), lineLen-l.col)
		m, err := l.w.Write(p[:k])
		n += m
		l.col += m
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}

// qpEncoder writes quoted-printable (RFC 2045 6.7) the way Apple Mail
// does, since Mail.app made the messages that are rebuilt: words are
// wrapped after a space, and a soft-broken line holds at most 73
// characters before its "=" (76 with the CRLF). A line without a space is
// cut at the limit, never inside an =XX escape or a UTF-8 sequence. On the
// corpus this reproduces the original text part byte for byte.
//
// In text mode (text/* parts) LF and CRLF are line breaks; otherwise CR
// and LF are escaped so that binary data survives exactly.
type qpEncoder struct {
	w      io.Writer
	text   bool
	cur    []byte // the output line being filled
	bp     int    // len(cur) just after its last space; 0 if none
	unit   []byte // the encoding of one character (a UTF-8 sequence stays whole)
	unitWS bool   // the unit is a plain space or tab
	held   int    // the last input byte, held until the next is known; -1 if none
	err    error
}

// qpSoftMax is the longest content of a soft-broken line, before its '='.
const qpSoftMax = 73

func newQPEncoder(w io.Writer, text bool) *qpEncoder {
	return &qpEncoder{w: w, text: text, held: -1}
}

const hexUpper = "0123456789ABCDEF"

func (e *qpEncoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	for _, c := range p {
		if e.held >= 0 {
			e.byte(byte(e.held), c, false)
		}
		e.held = int(c)
	}
	return len(p), e.err
}

// Close encodes the held byte and writes the last line, without a line
// break.
func (e *qpEncoder) Close() error {
	if e.held >= 0 {
		e.byte(byte(e.held), 0, true)
		e.held = -1
	}
	e.flushUnit()
	e.write(e.cur)
	e.cur = e.cur[:0]
	return e.err
}

// byte encodes c, given the byte after it (atEnd: none).
func (e *qpEncoder) byte(c, next byte, atEnd bool) {
	if e.text && c == '\n' {
		e.flushUnit()
		e.write(e.cur)
		e.write([]byte("\r\n"))
		e.cur, e.bp = e.cur[:0], 0
		return
	}
	if e.text && c == '\r' && !atEnd && next == '\n' {
		return // the LF makes the line break
	}
	ws := c == ' ' || c == '\t'
	plain := c >= 0x20 && c <= 0x7e && c != '=' || c == '\t'
	// White space at the end of a line would be lost in transport.
	if ws && (atEnd || e.text && (next == '\n' || next == '\r')) {
		plain = false
	}
	if c&0xc0 != 0x80 || len(e.unit) == 0 { // not a UTF-8 continuation byte
		e.flushUnit()
	}
	if plain {
		e.unit = append(e.unit, c)
	} else {
		e.unit = append(e.unit, '=', hexUpper[c>>4], hexUpper[c&15])
	}
	e.unitWS = ws && plain
}

// flushUnit moves the pending unit into the line, breaking the line first
// when the unit does not fit.
func (e *qpEncoder) flushUnit() {
	if len(e.unit) == 0 {
		return
	}
	for len(e.cur)+len(e.unit) > qpSoftMax && len(e.cur) > 0 {
		cut := len(e.cur)
		if e.bp > 0 {
			cut = e.bp
		}
		e.write(e.cur[:cut])
		e.write([]byte("=\r\n"))
		e.cur = append(e.cur[:0], e.cur[cut:]...)
		e.bp = 0
	}
	e.cur = append(e.cur, e.unit...)
	if e.unitWS {
		e.bp = len(e.cur)
	}
	e.unit = e.unit[:0]
}

func (e *qpEncoder) write(b []byte) {
	if e.err == nil && len(b) > 0 {
		_, e.err = e.w.Write(b)
	}
}
