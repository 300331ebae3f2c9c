package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"mailferry/upload/bulk"
)

// bulkAppender is the worker's fast path: messages go through upload/bulk,
// pipelined with non-synchronizing literals, in MULTIAPPEND batches
// (RFC 3502) where the server offers them, else one APPEND per message.
// What it hands back:
//
//   - OK: every message of the command is stored.
//   - A tagged NO or BAD (*bulk.StatusError): nothing of the command is
//     stored. A batch's messages go again one per command (their tries
//     say so), so that only the message the server refuses is refused; a
//     request to slow down refuses each of them, for the worker to pause
//     and send them again.
//   - A broken connection (*bulk.LostError, or a Submit that failed): the
//     commands in flight went to the server wholly or not at all (a
//     MULTIAPPEND batch is atomic), so the worker's check of what the
//     folder holds, then sending again exactly the messages not found,
//     never duplicates. A message with a try behind it goes alone, so
//     that one the server keeps dropping the connection on is quarantined
//     without its batch.
//
// Memory: the messages are the jobs' spools (in memory up to MemLimit,
// else in a temporary file; the run's budget bounds them together), read
// again by Item.Open while the command is written.
type bulkAppender struct {
	w         *worker
	open      []*job // the batch being filled
	openBytes int64
	batches   []*bulkBatch // commands in flight, oldest first
}

// bulkBatch is one APPEND command in flight and its messages, in order.
type bulkBatch struct {
	jobs []*job
	cmd  *bulk.Command
}

func newBulkAppender(w *worker) *bulkAppender { return &bulkAppender{w: w} }

func (a *bulkAppender) pending() int {
	n := len(a.open)
	for _, b := range a.batches {
		n += len(b.jobs)
	}
	return n
}

func (a *bulkAppender) flushable() bool { return len(a.open) > 0 && len(a.batches) == 0 }

func (a *bulkAppender) answered() <-chan struct{} {
	if len(a.batches) == 0 {
		return nil
	}
	return a.batches[0].cmd.Done()
}

// multi reports whether the connection takes MULTIAPPEND batches (before
// the first connection: assume so; the first Submit learns better).
func (a *bulkAppender) multi() bool {
	return a.w.bc == nil || a.w.bc.c.MultiAppend()
}

// limits are the most messages and bytes of one command.
func (a *bulkAppender) limits() (int, int64) {
	o := a.w.rn.opts.bulkOptions()
	if !a.multi() {
		return 1, o.MaxBatchBytes
	}
	return o.MaxBatch, o.MaxBatchBytes
}

// maxInFlight is the most commands in flight: batches with MULTIAPPEND,
// else Pipeline single APPENDs.
func (a *bulkAppender) maxInFlight() int {
	if !a.multi() {
		return a.w.rn.opts.pipeline()
	}
	return min(a.w.rn.opts.bulkOptions().MaxInFlight, a.w.rn.opts.pipeline())
}

// send adds a message to the batch being filled and sends the batch when
// it is full. A message that was in flight on a connection that broke
// goes alone.
func (a *bulkAppender) send(ctx context.Context, j *job) appendResult {
	var r appendResult
	maxN, maxBytes := a.limits()
	if len(a.open) > 0 && (j.tries > 0 || a.open[0].tries > 0 || a.openBytes+j.size > maxBytes) {
		r.add(a.flush(ctx))
	}
	a.open = append(a.open, j)
	a.openBytes += j.size
	if len(a.open) >= maxN || a.openBytes >= maxBytes || j.tries > 0 {
		r.add(a.flush(ctx))
	}
	return r
}

// broken hands back every job: those in flight as unknown, the batch
// being filled as not sent.
func (a *bulkAppender) broken(cause error, tried ...*job) appendResult {
	r := appendResult{lost: cause, tried: tried, again: a.open}
	for _, b := range a.batches {
		r.unknown = append(r.unknown, b.jobs...)
	}
	a.open, a.openBytes, a.batches = nil, 0, nil
	return r
}

// flush sends the batch being filled (waiting first while as many
// commands as allowed are in flight).
func (a *bulkAppender) flush(ctx context.Context) appendResult {
	var r appendResult
	for len(a.open) > 0 && len(a.batches) >= a.maxInFlight() {
		r.add(a.waitOldest(ctx))
		if r.lost != nil {
			return r
		}
	}
	if len(a.open) == 0 {
		return r
	}
	jobs := a.open
	a.open, a.openBytes = nil, 0
	fs := jobs[0].fs
	bc, err := a.w.bulkReady(ctx, fs)
	if err != nil {
		// Nothing of these was sent.
		r.again = append(r.again, jobs...)
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, errNoBulk):
			r.fallback = err
		default:
			// bulkReady retried for RetryTimeout already.
			r.fatal = fmt.Errorf("connect to %s: %w", a.w.rn.dial.target.Addr(), err)
		}
		return r
	}
	if len(jobs) > 1 && !bc.c.MultiAppend() {
		// Learned only now that the server has no MULTIAPPEND.
		r.again = append(r.again, jobs[1:]...)
		jobs = jobs[:1]
	}
	items := make([]bulk.Item, len(jobs))
	now := time.Now()
	for i, j := range jobs {
		flags := make([]string, len(j.flags))
		for k, f := range j.flags {
			flags[k] = string(f)
		}
		items[i] = bulk.Item{Flags: flags, Date: j.date, Size: j.size, Open: j.open}
		j.sent = now
	}
	cmd, err := bc.c.Submit(ctx, fs.server, items)
	var le *bulk.LostError
	switch {
	case err == nil:
		a.batches = append(a.batches, &bulkBatch{jobs: jobs, cmd: cmd})
		if hook := a.w.rn.opts.onSubmit; hook != nil {
			hook(a.w.id, fs.server, len(jobs))
		}
	case ctx.Err() != nil:
		// Not sent completely: nothing stored.
		r.again = append(r.again, jobs...)
	case errors.As(err, &le):
		r.add(a.broken(err, jobs...))
	case len(jobs) > 1:
		// Our side cannot send one of them (a spool that fails to read):
		// each on its own.
		a.w.rn.log.Debug("batch not sent; sending its messages one by one", "worker", a.w.id, "err", err)
		for _, j := range jobs {
			j.tries = max(j.tries, 1)
		}
		r.again = append(r.again, jobs...)
	default:
		r.failed = append(r.failed, refusal{j: jobs[0], err: fmt.Errorf("send: %w", err)})
		if !bc.alive() {
			r.add(a.broken(err))
		}
	}
	return r
}

// open reads the job's spooled message.
func (j *job) open() (io.ReadCloser, error) { return j.spool.Open() }

// wait sends the batch being filled if there is room, then waits for the
// oldest command's answer.
func (a *bulkAppender) wait(ctx context.Context) appendResult {
	var r appendResult
	if len(a.open) > 0 && len(a.batches) < a.maxInFlight() {
		r.add(a.flush(ctx))
		if r.lost != nil {
			return r
		}
	}
	if len(a.batches) > 0 {
		r.add(a.waitOldest(ctx))
	}
	return r
}

// waitOldest waits for the answer to the oldest command in flight.
func (a *bulkAppender) waitOldest(ctx context.Context) appendResult {
	b := a.batches[0]
	// The connection's life (stopGrace after a cancel) bounds the wait.
	_, err := b.cmd.Wait(a.w.rn.connCtx)
	var se *bulk.StatusError
	switch {
	case err == nil:
		a.batches = a.batches[1:]
		a.w.bc.sawAnswer()
		return appendResult{stored: b.jobs}
	case errors.As(err, &se):
		a.batches = a.batches[1:]
		a.w.bc.sawAnswer()
		return a.refusedBatch(ctx, b, imapError(err))
	case errors.Is(err, bulk.ErrProtocol) && (a.w.bc == nil || !a.w.bc.answered):
		// The server's first answers on this connection (its SELECT's,
		// sent just before) are ones the bulk client cannot follow:
		// go-imap's APPEND instead, once the worker has checked what
		// landed of the commands in flight.
		r := a.broken(err)
		r.fallback = fmt.Errorf("%w: %w", errNoBulk, err)
		return r
	default:
		// The connection broke: b and everything after it are unknown.
		return a.broken(err)
	}
}

// refusedBatch hands back a command the server answered with NO or BAD:
// nothing of it was stored.
func (a *bulkAppender) refusedBatch(ctx context.Context, b *bulkBatch, ie error) appendResult {
	var r appendResult
	retry, rerr := retryable(ctx, ie, true)
	var te *throttleError
	if len(b.jobs) > 1 && !(retry && errors.As(rerr, &te)) {
		// One message refused refuses its batch (RFC 3502): send them one
		// by one, so that only that message is refused (and, over quota,
		// what still fits is stored before the run stops).
		a.w.rn.log.Debug("batch refused; sending its messages one by one", "worker", a.w.id, "messages", len(b.jobs), "answer", describe(ie))
		for _, j := range b.jobs {
			j.tries = max(j.tries, 1)
		}
		r.again = b.jobs
		return r
	}
	for _, j := range b.jobs {
		r.refused = append(r.refused, refusal{j: j, err: ie})
	}
	return r
}

// stop waits for the commands in flight until the connection's end
// (stopGrace) and hands every job back.
func (a *bulkAppender) stop() appendResult {
	var r appendResult
	for _, b := range a.batches {
		if _, err := b.cmd.Wait(a.w.rn.connCtx); err == nil {
			r.stored = append(r.stored, b.jobs...)
		} else {
			r.unknown = append(r.unknown, b.jobs...)
		}
	}
	r.again = a.open
	a.open, a.openBytes, a.batches = nil, 0, nil
	return r
}

// close logs the bulk connection out at the end of the upload (politely),
// or resets it.
func (a *bulkAppender) close(polite bool) {
	if a.w.bc != nil {
		a.w.bc.close(polite)
		a.w.bc = nil
	}
}

// bulkReady makes sure the worker's bulk connection works and has the
// folder selected. The worker's go-imap connection is handed over (or
// closed first), so that a worker holds one connection at a time (servers
// limit connections per user: Dovecot 10 per IP by default, Gmail 15).
func (w *worker) bulkReady(ctx context.Context, fs *folderState) (*bulkConn, error) {
	name := fs.server
	if w.bc.alive() && w.bc.selected == name {
		return w.bc, nil
	}
	connect := func() error {
		if !w.bc.alive() {
			w.dropBulk()
			if w.cn.alive() {
				// Carry on with the worker's go-imap connection.
				bc, err := w.rn.dial.takeOver(ctx, w.cn)
				w.cn = nil
				if err != nil {
					return err
				}
				w.bc = bc
			}
			if w.bc == nil {
				w.dropConn()
				bc, err := w.rn.dial.dialBulk(ctx)
				if err != nil {
					return err
				}
				w.bc = bc
			}
		}
		if w.bc.selected != name {
			// The first APPEND goes out behind the SELECT without
			// waiting for its answer (see bulk.Client.SelectNoWait);
			// waitOldest reads what the answer said.
			w.bc.selected = ""
			if _, err := w.bc.c.SelectNoWait(ctx, name); err != nil {
				return fmt.Errorf("select folder %q: %w", name, bulkErr(err))
			}
			w.bc.selected = name
		}
		return nil
	}
	err := w.rn.retry(ctx, fmt.Sprintf("worker %d", w.id), func() error {
		err := connect()
		switch {
		case errors.Is(err, errNoBulk):
			err = finalError{err}
		case errors.Is(err, bulk.ErrProtocol):
			// A server the bulk client cannot follow: go-imap's APPEND
			// instead (it logged in through go-imap just before).
			err = finalError{fmt.Errorf("%w: %w", errNoBulk, err)}
		}
		return err
	}, func() bool { return w.bc.alive() }, w.dropBulk)
	if err != nil {
		return nil, err
	}
	return w.bc, nil
}
