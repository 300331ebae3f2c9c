package convert

import (
	"bytes"
	"io"
)

// fromQuoter writes a message body mboxrd-style (qmail
// mbox(5); Thunderbird's MboxMsgOutputStream since 2023): every line that
// matches "^>*From " gets one more '>' in front. Readers that unquote
// mboxrd (ours, Thunderbird 128+, mox) remove exactly that '>' again, so
// the message comes back byte for byte; mboxo readers (Python's mailbox,
// old Thunderbird) split correctly but show the added '>'.
//
// It works on a stream in O(1) memory: a line start that may still become
// "From " is held as a count of '>' and of matched letters, never as a
// buffer, so a line of a million '>' costs nothing.
type fromQuoter struct {
	w       io.Writer
	state   int // qStart, qPrefix or qMid
	gt      int // '>' seen at the start of the current line
	matched int // letters of "From " matched after them
	last    byte
	n       int64 // bytes written to w
	err     error
}

const (
	qStart  = iota // at the beginning of a line
	qPrefix        // inside a possible ">*From " prefix
	qMid           // inside a line that needs no quoting
)

var fromWord = []byte("From ")

// gtRun is written from, never to: runs of '>' are emitted in slices of it.
var gtRun = bytes.Repeat([]byte{'>'}, 256)

func newFromQuoter(w io.Writer) *fromQuoter { return &fromQuoter{w: w} }

func (q *fromQuoter) emit(p []byte) {
	if q.err != nil || len(p) == 0 {
		return
	}
	n, err := q.w.Write(p)
	q.n += int64(n)
	q.last = p[len(p)-1]
	q.err = err
}

// emitPrefix writes the held prefix, with the quoting '>' when quote.
func (q *fromQuoter) emitPrefix(quote bool) {
	if quote {
		q.emit(gtRun[:1])
	}
	for left := q.gt; left > 0; left -= len(gtRun) {
		q.emit(gtRun[:min(left, len(gtRun))])
	}
	q.emit(fromWord[:q.matched])
	q.gt, q.matched = 0, 0
}

func (q *fromQuoter) Write(p []byte) (int, error) {
	i := 0
	for i < len(p) && q.err == nil {
		switch q.state {
		case qMid:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				q.emit(p[i:])
				i = len(p)
				continue
			}
			q.emit(p[i : i+j+1])
			i += j + 1
			q.state = qStart
		case qStart, qPrefix:
			c := p[i]
			switch {
			case c == '>' && q.matched == 0:
				q.gt++
				q.state = qPrefix
				i++
			case c == fromWord[q.matched]:
				q.matched++
				q.state = qPrefix
				i++
				if q.matched == len(fromWord) {
					q.emitPrefix(true)
					q.state = qMid
				}
			default:
				q.emitPrefix(false)
				q.state = qMid // c is handled there, '\n' included
			}
		}
	}
	if q.err != nil {
		return i, q.err
	}
	return len(p), nil
}

// finish writes a held prefix (an incomplete "From" at the very end) and
// ends the message with CRLF when it did not end with a line break.
func (q *fromQuoter) finish() error {
	if q.state == qPrefix {
		q.emitPrefix(false)
	}
	if q.n > 0 && q.last != '\n' {
		q.emit([]byte("\r\n"))
	}
	q.state = qStart
	return q.err
}

// reset prepares the quoter for the next message.
func (q *fromQuoter) reset(w io.Writer) {
	*q = fromQuoter{w: w}
}
