package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"mailferry/internal/mutf7"
)

// Item is one message to append.
type Item struct {
	// Flags are system flags (\Seen, \Answered, \Flagged, \Draft,
	// \Deleted) and keywords ($Forwarded, any atom), sent as given.
	Flags []string
	// Date is the internal date; zero sends none (the server uses its
	// own clock).
	Date time.Time
	// Size is the exact number of bytes Open yields.
	Size int64
	// Open returns the message bytes (CRLF line endings). It is called when
	// the command is written (again for every command the item is sent
	// in); the reader is closed after the message went out.
	Open func() (io.ReadCloser, error)
}

// Command is an APPEND (one item) or MULTIAPPEND (several) on its way.
type Command struct {
	// Items is the number of messages in the command.
	Items int
	// Atomic is true for every APPEND command: its messages were stored
	// all together or not at all (RFC 3502 for MULTIAPPEND). After a
	// LostError with Sent set, either every message of the command is on
	// the server or none is: a recheck that finds one finds all.
	Atomic bool

	op          string
	tag         string
	c           *Client
	bytes       int64
	counted     bool // counts against MaxInFlight and MaxInFlightBytes
	sent        bool
	flushing    bool // its last bytes are being flushed (see write)
	waitingCont bool
	onTag       func(tag string) // called under c.mu when the tag is given
	done        chan struct{}
	resp        *response
	err         error
}

// Result is the server's answer to a successful APPEND command.
type Result struct {
	// UIDValidity and UIDs come from the APPENDUID response code (RFC 4315
	// UIDPLUS): one UID per item, in order. Both are zero/nil when the
	// server did not say.
	UIDValidity uint32
	UIDs        []uint32
}

// Sent reports whether the whole command was written to the connection.
func (cmd *Command) Sent() bool {
	cmd.c.mu.Lock()
	defer cmd.c.mu.Unlock()
	return cmd.sent
}

// Done is closed when the command has its answer (or its connection ended).
func (cmd *Command) Done() <-chan struct{} { return cmd.done }

// Wait waits for the answer. Errors: *StatusError when the server refused
// (nothing of the command was stored), *LostError when the connection
// ended first, ctx.Err() unwrapped when ctx ended first (the command is
// still on its way; Wait may be called again).
func (cmd *Command) Wait(ctx context.Context) (*Result, error) {
	select {
	case <-cmd.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cmd.err != nil {
		return nil, cmd.err
	}
	r := cmd.resp
	if r.kind != "OK" {
		return nil, statusError(cmd.op, r)
	}
	res := &Result{}
	if r.code == "APPENDUID" && cmd.op == "APPEND" {
		v, uids, err := parseAppendUID(r.args, max(cmd.Items, 1))
		if err == nil && len(uids) == cmd.Items {
			res.UIDValidity, res.UIDs = v, uids
		}
	}
	return res, nil
}

// nonSync reports whether a literal of n bytes may be sent without
// waiting for the server's "+" (RFC 7888: LITERAL+ any size, LITERAL- up
// to 4096 bytes; IMAP4rev2 includes LITERAL-).
func (c *Client) nonSync(n int64) bool {
	if c.opts.NoLiteralPlus {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.caps["LITERAL+"] {
		return true
	}
	return n <= 4096 && (c.caps["LITERAL-"] || c.caps["IMAP4REV2"])
}

// dateTime formats an internal date (RFC 3501 date-time).
func dateTime(t time.Time) string {
	return t.Format(`"_2-Jan-2006 15:04:05 -0700"`)
}

// checkFlag refuses what cannot be sent as a flag: system flags are
// "\Atom", keywords atoms.
func checkFlag(f string) error {
	k := strings.TrimPrefix(f, `\`)
	if k == "" {
		return fmt.Errorf("flag %q is empty", f)
	}
	for i := 0; i < len(k); i++ {
		ch := k[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`(){%*"\]`, ch) >= 0 {
			return fmt.Errorf("flag %q is not an IMAP atom", f)
		}
	}
	return nil
}

// ErrNoMultiAppend is returned by Submit for several items when the
// server did not announce MULTIAPPEND (or it is turned off).
var ErrNoMultiAppend = errors.New("the server does not offer MULTIAPPEND")

// Submit writes one APPEND command with the items (several only with
// MULTIAPPEND) into mailbox (UTF-8; sent in modified UTF-7) and returns
// without waiting for the answer. It first waits while MaxInFlight
// commands or MaxInFlightBytes are unanswered. Message bodies are streamed
// from Item.Open as the command is written.
//
// An error means the command was not sent completely; the server stored
// nothing of it. Errors from Item.Open or a body shorter or longer than its
// Size end the connection (the command cannot be completed); commands in
// flight then end with a LostError.
func (c *Client) Submit(ctx context.Context, mailbox string, items []Item) (*Command, error) {
	if len(items) == 0 {
		return nil, errors.New("APPEND: no messages")
	}
	if len(items) > 1 && !c.MultiAppend() {
		return nil, ErrNoMultiAppend
	}
	name, ok := quoted(mutf7.Encode(mailbox))
	if !ok {
		return nil, fmt.Errorf("APPEND %q: name has characters IMAP cannot carry", mailbox)
	}
	cmd := &Command{Items: len(items), Atomic: true, op: "APPEND", counted: true, done: make(chan struct{})}
	for _, it := range items {
		if it.Size < 0 || it.Open == nil {
			return nil, errors.New("APPEND: an item without size or Open")
		}
		for _, f := range it.Flags {
			if err := checkFlag(f); err != nil {
				return nil, fmt.Errorf("APPEND: %w", err)
			}
		}
		cmd.bytes += it.Size
	}
	if err := c.waitRoom(ctx, cmd.bytes); err != nil {
		return nil, err
	}
	// Open every body first, so that a failing Open sends nothing.
	bodies := make([]io.ReadCloser, len(items))
	closeAll := func() {
		for _, rc := range bodies {
			if rc != nil {
				rc.Close()
			}
		}
	}
	defer closeAll()
	for i, it := range items {
		rc, err := it.Open()
		if err != nil {
			return nil, fmt.Errorf("APPEND: open message %d of %d: %w", i+1, len(items), err)
		}
		bodies[i] = rc
	}
	var num [24]byte
	err := c.write(ctx, cmd, func() error {
		c.bw.WriteString("APPEND ")
		c.bw.WriteString(name)
		for i, it := range items {
			if len(it.Flags) > 0 {
				c.bw.WriteString(" (")
				for j, f := range it.Flags {
					if j > 0 {
						c.bw.WriteByte(' ')
					}
					c.bw.WriteString(f)
				}
				c.bw.WriteByte(')')
			}
			if !it.Date.IsZero() {
				c.bw.WriteByte(' ')
				c.bw.WriteString(dateTime(it.Date))
			}
			c.bw.WriteString(" {")
			c.bw.Write(strconv.AppendInt(num[:0], it.Size, 10))
			if c.nonSync(it.Size) {
				c.bw.WriteString("+}\r\n")
			} else {
				c.bw.WriteString("}\r\n")
				if _, err := c.waitContinuation(ctx, cmd); err != nil {
					return err
				}
			}
			n, err := io.CopyN(c.bw, bodies[i], it.Size)
			if err != nil {
				if n < it.Size && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
					return fmt.Errorf("message %d of %d: body has %d bytes, Size said %d", i+1, len(items), n, it.Size)
				}
				return fmt.Errorf("message %d of %d: %w", i+1, len(items), err)
			}
			var one [1]byte
			if k, _ := bodies[i].Read(one[:]); k > 0 {
				return fmt.Errorf("message %d of %d: body is longer than its Size %d", i+1, len(items), it.Size)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

// waitRoom waits until a command of n bytes fits the in-flight bounds.
func (c *Client) waitRoom(ctx context.Context, n int64) error {
	for {
		c.mu.Lock()
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return &LostError{Err: err}
		}
		if len(c.inflight) == 0 || (len(c.inflight) < c.opts.maxInFlight() && c.inBytes+n <= c.opts.maxInFlightBytes()) {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
