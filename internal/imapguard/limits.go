package imapguard

import (
	"errors"
	"fmt"
	"time"
)

// Limits bound one response of the server. A zero field takes its
// default; a negative one turns that bound off.
type Limits struct {
	// MaxLine is the most bytes of one line outside literals, CRLF
	// included: the part of a response go-imap builds up in memory as
	// atoms, quoted strings and text.
	MaxLine int64
	// MaxLiteral is the largest literal ({n}, {n+}, ~{n}) one response may
	// announce. go-imap streams some literals (FETCH body sections) and
	// buffers the others (mailbox names, envelope fields).
	MaxLiteral int64
	// MaxResponse bounds one whole response, its lines and literals
	// together: a FETCH answer made of many short lines and literals is
	// held by go-imap as a whole.
	MaxResponse int64
	// MaxDepth is the deepest parenthesis nesting of one response: go-imap
	// parses body structures recursively, one stack frame per level.
	MaxDepth int
}

// Defaults of Limits: generous for what an IMAP client asks in everyday
// use (a SEARCH answer of a large mailbox is one long line, a message
// header or body one literal), small next to the memory of a machine.
const (
	DefaultMaxLine     = 1 << 20
	DefaultMaxLiteral  = 64 << 20
	DefaultMaxResponse = DefaultMaxLiteral + DefaultMaxLine
	DefaultMaxDepth    = 256
)

// effective returns the limits with defaults filled in; off bounds are
// the largest value.
func (l Limits) effective() Limits {
	pick := func(v, def int64) int64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 1<<63 - 1
		}
		return v
	}
	e := Limits{
		MaxLine:     pick(l.MaxLine, DefaultMaxLine),
		MaxLiteral:  pick(l.MaxLiteral, DefaultMaxLiteral),
		MaxResponse: pick(l.MaxResponse, DefaultMaxResponse),
		MaxDepth:    int(pick(int64(l.MaxDepth), DefaultMaxDepth)),
	}
	if e.MaxDepth < 0 { // an off depth on a 32-bit int
		e.MaxDepth = int(^uint(0) >> 1)
	}
	return e
}

// Limit names the bound a LimitError is about.
type Limit int

// The bounds. The first four are Limits, the others Budget.
const (
	LineLimit     Limit = iota + 1 // Limits.MaxLine (bytes)
	LiteralLimit                   // Limits.MaxLiteral (bytes)
	ResponseLimit                  // Limits.MaxResponse (bytes)
	DepthLimit                     // Limits.MaxDepth (levels)
	AnswerBytes                    // Budget.MaxBytes (bytes)
	AnswerTime                     // Budget.Within (nanoseconds)
	AnswerRate                     // Budget.MinRate (bytes per second)
)

func (l Limit) String() string {
	switch l {
	case LineLimit:
		return "line length"
	case LiteralLimit:
		return "literal size"
	case ResponseLimit:
		return "response size"
	case DepthLimit:
		return "nesting depth"
	case AnswerBytes:
		return "answer size"
	case AnswerTime:
		return "answer time"
	case AnswerRate:
		return "answer rate"
	}
	return fmt.Sprintf("Limit(%d)", int(l))
}

// LimitError is why a guard ended a connection: the server went past one
// of the bounds. For the size and depth limits Got is what the server had
// sent (or announced) when it was stopped, at least Max+1; for AnswerTime
// both are nanoseconds; for AnswerRate, Got is the rate it kept up and Max
// the minimum.
type LimitError struct {
	Limit    Limit
	Max, Got int64
}

func (e *LimitError) Error() string {
	switch e.Limit {
	case AnswerTime:
		return fmt.Sprintf("server exceeded the %s: answer not complete after %v (limit %v)", e.Limit, time.Duration(e.Got), time.Duration(e.Max))
	case AnswerRate:
		return fmt.Sprintf("server fell below the %s: %d bytes/s, want at least %d", e.Limit, e.Got, e.Max)
	case DepthLimit:
		return fmt.Sprintf("server exceeded the %s: %d levels of parentheses (limit %d)", e.Limit, e.Got, e.Max)
	}
	return fmt.Sprintf("server exceeded the %s: %d bytes (limit %d)", e.Limit, e.Got, e.Max)
}

// ErrMalformed marks a response the guard cannot frame (a line break
// inside a quoted string or a response code, a "{" that starts no
// literal): rather than guess where the next response starts, and so
// disagree with the client's parser, the guard ends the connection.
var ErrMalformed = errors.New("malformed IMAP response")

// ErrDetached is what the reader of a detached guard gets: the
// connection went on to another client (see Conn.Detach).
var ErrDetached = errors.New("imapguard: connection handed over to another client")
