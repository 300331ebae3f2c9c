package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"mailferry/upload/bulk"
)

// The bulk path of a worker (issue 6): messages go through upload/bulk,
// pipelined with non-synchronizing literals, in MULTIAPPEND batches
// (RFC 3502) where the server offers them, else one APPEND per message.
// It keeps the appender contract of the go-imap path:
//
//   - OK: every message of the command is stored.
//   - A tagged NO or BAD (*bulk.StatusError): nothing of the command is
//     stored. A batch's messages are sent again one per command, so that
//     only the message the server refuses is quarantined; a single
//     message is judged by refused (quarantine, [OVERQUOTA] stops the
//     run) or throttled, as on the go-imap path.
//   - A broken connection (*bulk.LostError, or a Submit that failed): the
//     commands in flight went to the server wholly or not at all (a
//     MULTIAPPEND batch is atomic), so lost's check of what the folder
//     holds, then sending again exactly the messages not found, never
//     duplicates. The messages of a command whose sending broke count a
//     try; a message with a try behind it goes alone, so that one the
//     server keeps dropping the connection on is quarantined without its
//     batch.
//
// Memory: the messages are the jobs' spools (in memory up to MemLimit,
// else in a temporary file; the run's budget bounds them together), read
// again by Item.Open while the command is written.

// bulkBatch is one APPEND command in flight and its messages, in order.
type bulkBatch struct {
	jobs []*job
	cmd  *bulk.Command
}

// useBulk reports whether this worker appends through upload/bulk.
func (w *worker) useBulk() bool {
	return !w.noBulk && !w.rn.opts.goIMAPAppend
}

// batchLimits are the most messages and bytes of one command.
func (w *worker) batchLimits() (int, int64) {
	o := w.rn.opts.bulkOptions()
	if w.bc != nil && !w.bc.c.MultiAppend() {
		return 1, o.MaxBatchBytes
	}
	return o.MaxBatch, o.MaxBatchBytes
}

// maxInFlight is the most commands in flight: batches with MULTIAPPEND,
// else Pipeline single APPENDs.
func (w *worker) maxInFlight() int {
	if w.bc != nil && !w.bc.c.MultiAppend() {
		return w.rn.opts.pipeline()
	}
	return min(w.rn.opts.bulkOptions().MaxInFlight, w.rn.opts.pipeline())
}

// sendBulk adds a message to the batch being filled and sends the batch
// when it is full. A message that was in flight on a connection that broke
// goes alone.
func (w *worker) sendBulk(ctx context.Context, j *job) {
	if !w.rn.write("APPEND", j.fs.pf.Server, "pos", j.e.pos.String(), "size", j.size) {
		w.rn.done(j, outUploaded, "")
		return
	}
	maxN, maxBytes := w.batchLimits()
	if len(w.open) > 0 && (j.tries > 0 || w.open[0].tries > 0 || w.openBytes+j.size > maxBytes) {
		w.submitOpen(ctx)
	}
	w.open = append(w.open, j)
	w.openBytes += j.size
	if len(w.open) >= maxN || w.openBytes >= maxBytes || j.tries > 0 {
		w.submitOpen(ctx)
	}
}

// readyBulk makes sure the bulk connection works and has the folder
// selected. The worker's go-imap connection is closed first, so that a
// worker holds one connection at a time (servers limit connections per
// user: Dovecot 10 per IP by default, Gmail 15).
func (w *worker) readyBulk(ctx context.Context, fs *folderState) error {
	name := fs.pf.Server
	if w.bc.alive() && w.bc.selected == name {
		return nil
	}
	connect := func() error {
		if !w.bc.alive() {
			w.dropBulk()
			if w.cn.alive() {
				// Carry on with the worker's go-imap connection.
				life := w.rn.dial.life
				if life == nil {
					life = ctx
				}
				bc, ok, err := w.cn.takeOver(ctx, life, w.rn.opts.bulkOptions())
				if ok {
					w.cn = nil
					if err != nil {
						return err
					}
					w.bc = bc
				}
			}
			if w.bc == nil {
				w.dropConn()
				bc, err := w.rn.dial.dialBulk(ctx, w.rn.opts.bulkOptions())
				if err != nil {
					return err
				}
				w.bc = bc
			}
		}
		if w.bc.selected != name {
			w.bc.selected = ""
			if _, err := w.bc.c.Select(ctx, name); err != nil {
				return fmt.Errorf("select folder %q: %w", name, bulkErr(err))
			}
			w.bc.selected = name
		}
		return nil
	}
	return w.rn.retry(ctx, fmt.Sprintf("worker %d", w.id), func() error {
		err := connect()
		switch {
		case errors.Is(err, errNoBulk):
			err = finalError{err}
		case errors.Is(err, bulk.ErrProtocol):
			// A server the bulk client cannot follow: go-imap's APPEND
			// instead (it logged in through go-imap just before).
			err = finalError{fmt.Errorf("%w: %v", errNoBulk, err)}
		}
		return err
	}, func() bool { return w.bc.alive() }, w.dropBulk)
}

// submitOpen sends the batch being filled (waiting first while as many
// commands as allowed are in flight).
func (w *worker) submitOpen(ctx context.Context) {
	for len(w.open) > 0 && len(w.batches) >= w.maxInFlight() {
		w.waitBatch(ctx)
	}
	if len(w.open) == 0 {
		return
	}
	jobs := w.open
	w.open, w.openBytes = nil, 0
	fs := jobs[0].fs
	if err := w.readyBulk(ctx, fs); err != nil {
		switch {
		case ctx.Err() != nil:
		case errors.Is(err, errNoBulk):
			w.rn.log.Warn("the fast APPEND path does not work with this server; using go-imap's APPEND", "worker", w.id, "err", err)
			w.noBulk = true
			w.dropBulk()
		default:
			w.rn.fail(fmt.Errorf("connect to %s: %w", w.rn.dial.target.Addr(), err))
		}
		// Nothing of these was sent: they go again (or, when the run
		// stops, are reported as not done).
		w.redo = append(jobs, w.redo...)
		return
	}
	if len(jobs) > 1 && !w.bc.c.MultiAppend() {
		// Learned only now that the server has no MULTIAPPEND.
		w.redo = append(jobs[1:], w.redo...)
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
	cmd, err := w.bc.c.Submit(ctx, fs.pf.Server, items)
	var le *bulk.LostError
	switch {
	case err == nil:
		w.batches = append(w.batches, &bulkBatch{jobs: jobs, cmd: cmd})
		if w.rn.opts.onSubmit != nil {
			w.rn.opts.onSubmit(w.id, fs.pf.Server, len(jobs))
		}
	case ctx.Err() != nil:
		// Not sent completely: nothing stored.
		w.redo = append(jobs, w.redo...)
	case errors.As(err, &le):
		w.lost(ctx, err, jobs...)
	case len(jobs) > 1:
		// Our side cannot send one of them (a spool that fails to read):
		// each on its own.
		w.rn.log.Debug("batch not sent; sending its messages one by one", "worker", w.id, "err", err)
		for _, j := range jobs {
			j.tries = max(j.tries, 1)
		}
		w.redo = append(jobs, w.redo...)
	default:
		w.rn.done(jobs[0], outFailed, fmt.Sprintf("send: %v", err))
		if !w.bc.alive() {
			w.lost(ctx, err)
		}
	}
}

// open reads the job's spooled message.
func (j *job) open() (io.ReadCloser, error) { return j.spool.Open() }

// completeBatch sends the batch being filled if there is room, then waits
// for the oldest command's answer.
func (w *worker) completeBatch(ctx context.Context) {
	if len(w.open) > 0 && len(w.batches) < w.maxInFlight() {
		w.submitOpen(ctx)
	}
	if len(w.batches) == 0 {
		if len(w.open) > 0 {
			w.submitOpen(ctx)
		}
		return
	}
	w.waitBatch(ctx)
}

// waitBatch waits for the answer to the oldest command in flight and ends
// its messages.
func (w *worker) waitBatch(ctx context.Context) {
	b := w.batches[0]
	// The connection's life (stopGrace after a cancel) bounds the wait.
	_, err := b.cmd.Wait(w.rn.connCtx)
	var se *bulk.StatusError
	switch {
	case err == nil:
		w.batches = w.batches[1:]
		for _, j := range b.jobs {
			w.rn.done(j, outUploaded, "")
		}
	case errors.As(err, &se):
		w.batches = w.batches[1:]
		w.refusedBatch(ctx, b, imapError(err))
	default:
		// The connection broke: b and everything after it are unknown.
		w.lost(ctx, err)
	}
}

// refusedBatch ends a command the server answered with NO or BAD: nothing
// of it was stored.
func (w *worker) refusedBatch(ctx context.Context, b *bulkBatch, ie error) {
	retry, rerr := retryable(ctx, ie, true)
	var te *throttleError
	switch {
	case retry && errors.As(rerr, &te):
		for _, j := range b.jobs {
			w.throttled(j, te)
		}
	case len(b.jobs) > 1:
		// One message refused refuses its batch (RFC 3502): send them one
		// by one, so that only that message is refused (and, over quota,
		// what still fits is stored before the run stops).
		w.rn.log.Debug("batch refused; sending its messages one by one", "worker", w.id, "messages", len(b.jobs), "answer", describe(ie))
		for _, j := range b.jobs {
			j.tries = max(j.tries, 1)
		}
		w.redo = append(b.jobs, w.redo...)
	default:
		for _, j := range b.jobs {
			w.refused(ctx, j, ie, true)
		}
	}
}

// abandonBulk ends the bulk path's jobs when the run stops: the commands
// in flight get until the connection's end (stopGrace) to be answered.
func (w *worker) abandonBulk() {
	for _, b := range w.batches {
		_, err := b.cmd.Wait(w.rn.connCtx)
		for _, j := range b.jobs {
			if err == nil {
				w.rn.done(j, outUploaded, "")
			} else {
				w.rn.done(j, outFailed, ReasonUnconfirmed)
			}
		}
	}
	w.batches = nil
	for _, j := range w.open {
		w.rn.done(j, outFailed, errStopped.Error())
	}
	w.open, w.openBytes = nil, 0
	w.dropBulk()
}

// dropBulk closes the bulk connection with a reset (see bulkConn.close).
func (w *worker) dropBulk() {
	if w.bc != nil {
		w.bc.close(false)
		w.bc = nil
	}
}

// closeBulk logs the bulk connection out at the end of the upload.
func (w *worker) closeBulk() {
	if w.bc != nil {
		w.bc.close(true)
		w.bc = nil
	}
}
