package bulk

import (
	"context"
	"errors"
)

// Append and ItemResult send a list of messages and wait for all of them:
// a convenience for the tests of the pipelined API (Client.Send and
// Command.Wait), which the uploader drives itself.

// ItemResult is the outcome of one item of Append.
type ItemResult struct {
	// UID is the message's UID when the server said (UIDPLUS), else 0.
	UID uint32
	// Err is nil when the message was stored; a *StatusError when the
	// server refused it; a *LostError when the connection ended: with Sent
	// false it was not stored, with Sent true it may have been, together
	// with every item of the same Command (the same Batch number);
	// ctx.Err() when Append stopped waiting for the answer (outcome
	// unknown, as for a LostError with Sent set).
	Err error
	// Batch numbers the commands of one Append call, from 0; -1 for an
	// item that was never sent.
	Batch int
}

// Append appends the items to mailbox, in order: in MULTIAPPEND batches
// (MaxBatch messages or MaxBatchBytes) when the server offers it, else one
// APPEND per message, pipelined (MaxInFlight commands in flight). When a
// batch is refused, its messages are sent again one by one, so that only
// the message the server refuses is refused. The results are per item;
// the error is nil, or what ended the connection (the results then say
// which items may have landed), or ctx.Err().
func (c *Client) Append(ctx context.Context, mailbox string, items []Item) ([]ItemResult, error) {
	res := make([]ItemResult, len(items))
	type sent struct {
		cmd   *Command
		first int
	}
	var queue []sent
	var retry []int // items of refused batches, to send alone
	var fatal error
	batch := 0
	settle := func(s sent) error {
		r, err := s.cmd.Wait(ctx)
		var se *StatusError
		for k := range s.cmd.Items {
			i := s.first + k
			switch {
			case err == nil:
				if r.UIDs != nil {
					res[i].UID = r.UIDs[k]
				}
			case errors.As(err, &se) && s.cmd.Items > 1:
				retry = append(retry, i)
			default:
				res[i].Err = err
			}
		}
		var lost *LostError
		if errors.As(err, &lost) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
			return err
		}
		return nil
	}
	wait := func() {
		s := queue[0]
		queue = queue[1:]
		if err := settle(s); err != nil && fatal == nil {
			fatal = err
		}
	}
	type unit struct{ first, n int }
	var units []unit
	maxN := 1
	if c.MultiAppend() {
		maxN = c.opts.maxBatch()
	}
	for i := 0; i < len(items); {
		n, size := 0, int64(0)
		for i+n < len(items) && n < maxN && (n == 0 || size+items[i+n].Size <= c.opts.maxBatchBytes()) {
			size += items[i+n].Size
			n++
		}
		units = append(units, unit{i, n})
		i += n
	}
	// First the batches, then the messages of refused batches one by one.
	for len(units) > 0 {
		for _, u := range units {
			var cmd *Command
			err := fatal
			if err == nil {
				cmd, err = c.Submit(ctx, mailbox, items[u.first:u.first+u.n])
			}
			if err != nil {
				fatal = err
				for k := u.first; k < u.first+u.n; k++ {
					res[k].Err, res[k].Batch = notSent(err), -1
				}
				continue
			}
			for k := u.first; k < u.first+u.n; k++ {
				res[k].Batch = batch
			}
			batch++
			queue = append(queue, sent{cmd, u.first})
			for len(queue) > c.opts.maxInFlight() {
				wait()
			}
		}
		for len(queue) > 0 {
			wait()
		}
		units = units[:0]
		for _, i := range retry {
			units = append(units, unit{i, 1})
		}
		retry = nil
	}
	var lost *LostError
	if errors.As(fatal, &lost) {
		return res, lost.Err
	}
	return res, fatal
}

// notSent is the error of an item Append did not send because of err.
func notSent(err error) error {
	var lost *LostError
	if errors.As(err, &lost) {
		return &LostError{Sent: false, Err: lost.Err}
	}
	return &LostError{Sent: false, Err: err}
}
