package upload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// maxTries is how often one message may be in flight when its connection
// breaks before it is quarantined (a server may drop the connection on a
// message it cannot take, as Gmail does on NUL bytes, or crash on it).
const maxTries = 5

// settleDelay is the pause between a broken connection and the check of
// what landed (see lost).
const settleDelay = 300 * time.Millisecond

// worker owns one connection (go-imap's, or the bulk client's while it
// appends: a worker holds one connection at a time, since servers limit
// connections per user). During the upload it takes the jobs of its lane,
// hands them to its appender, and acts on what comes back: it records
// outcomes, keeps the queue of jobs to send again, and reconnects and
// checks the server when the connection broke.
type worker struct {
	rn   *run
	id   int
	jobs chan *job
	cn   *conn     // go-imap: folders, pre-scan, checks, verify
	bc   *bulkConn // the bulk client's connection while appending
	app  appender
	redo []*job        // jobs to send (again) before new ones
	cur  *folderState  // the folder of the jobs in flight
	loss time.Duration // the pause before the next reconnect after a loss

	// lane is the worker's share of every folder (lanes.go); retired is
	// set when the server refused it a connection for the user's limit;
	// pass while it works through a pass that lets it retire.
	lane    int
	retired bool
	pass    *pass
}

func (rn *run) newWorkers(first *conn) []*worker {
	n := rn.opts.connections()
	ws := make([]*worker, n)
	for i := range ws {
		// Room for two MULTIAPPEND batches: a batch fills while one is
		// in flight.
		w := &worker{rn: rn, id: i, jobs: make(chan *job, max(4*rn.opts.pipeline(), 2*rn.opts.bulkOptions().MaxBatch))}
		if rn.opts.goIMAPAppend {
			w.app = newIMAPAppender(w)
		} else {
			w.app = newBulkAppender(w)
		}
		ws[i] = w
	}
	ws[0].cn = first
	return ws
}

// ensureConn (re)connects when the go-imap connection is gone.
func (w *worker) ensureConn(ctx context.Context) error {
	if w.cn.alive() {
		return nil
	}
	w.dropConn()
	if w.bc.alive() && (w.app == nil || w.app.pending() == 0) {
		// Carry on with the idle bulk connection (no new login).
		cn, err := w.rn.dial.toIMAP(ctx, w.bc)
		w.bc = nil
		if err == nil {
			w.cn = cn
			return nil
		}
	}
	w.dropBulk()
	cn, err := w.rn.dial.dial(ctx)
	if err != nil {
		return err
	}
	w.cn = cn
	return nil
}

func (w *worker) dropConn() {
	if w.cn != nil {
		w.cn.close()
		w.cn = nil
	}
}

// closeWorkers ends the run's connections, all at once: each idle one
// says LOGOUT without waiting for the answer (the run is over; a round
// trip per connection would only delay the report); one with commands in
// flight is reset (see bulkConn.close).
func closeWorkers(workers []*worker) {
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			if w.cn != nil {
				w.cn.closeNow()
				w.cn = nil
			}
			if w.bc != nil && (w.app == nil || w.app.pending() == 0) {
				w.bc.closeNow()
				w.bc = nil
			}
			w.dropBulk()
		})
	}
	wg.Wait()
}

// dropBulk closes the bulk connection with a reset (see bulkConn.close).
func (w *worker) dropBulk() {
	if w.bc != nil {
		w.bc.close(false)
		w.bc = nil
	}
}

// withConn runs f on a working go-imap connection, reconnecting with
// exponential backoff while the failure is a transport one (or the server
// asks to slow down), for at most RetryTimeout.
func (w *worker) withConn(ctx context.Context, f func(cn *conn) error) error {
	return w.rn.retry(ctx, fmt.Sprintf("worker %d", w.id), func() error {
		fresh := !w.cn.alive()
		if err := w.ensureConn(ctx); err != nil {
			if fresh && w.mayRetire(err) {
				return finalError{fmt.Errorf("%w: %w", errRetired, err)}
			}
			return err
		}
		return f(w.cn)
	}, func() bool { return w.cn.alive() }, w.dropConn)
}

// loop runs until the job channel is closed and every job is done.
func (w *worker) loop(ctx context.Context) {
	closed := false
	for {
		if ctx.Err() != nil {
			w.abandon(closed)
			return
		}
		var j *job
		switch {
		case len(w.redo) > 0:
			j, w.redo = w.redo[0], w.redo[1:]
		case closed:
			if w.app.pending() == 0 {
				if !w.keepForVerify(ctx) {
					w.app.close(true)
				}
				return
			}
			w.settle(ctx, w.app.wait(ctx))
			continue
		case w.app.pending() > 0:
			var got bool
			if j, got = w.idle(ctx); !got {
				continue
			}
		default:
			select {
			case j = <-w.jobs:
			case <-ctx.Done():
				continue
			}
		}
		if j == nil {
			closed = true
			continue
		}
		if w.app.pending() > 0 && w.cur != j.fs {
			// Finish the previous folder before selecting the next.
			w.redo = append([]*job{j}, w.redo...)
			for w.app.pending() > 0 && ctx.Err() == nil {
				w.settle(ctx, w.app.wait(ctx))
			}
			continue
		}
		if err := w.rn.thr.wait(ctx); err != nil {
			w.redo = append([]*job{j}, w.redo...)
			continue // the loop sees ctx ended
		}
		w.cur = j.fs
		if !w.rn.write("APPEND", j.fs.server, "pos", j.e.pos.String(), "size", j.size) {
			w.rn.end(j, outUploaded, Problem{})
			continue
		}
		w.settle(ctx, w.app.send(ctx, j))
	}
}

// keepForVerify keeps the worker's connection for the verify pass when
// one follows the upload (it reports true then): the pass goes on with
// the connections the upload used, instead of logging them out and
// opening new ones (each a handful of round trips: TCP, TLS, login,
// COMPRESS). While other workers are still appending, the connection is
// handed to go-imap at once (a round trip no one waits for); the last
// worker leaves its own as it is, and the pass hands it over only if it
// needs it (one folder needs one connection).
func (w *worker) keepForVerify(ctx context.Context) bool {
	last := w.rn.appending.Add(-1) == 0
	if !w.rn.keepConns || !w.bc.alive() || w.cn != nil || ctx.Err() != nil {
		return false
	}
	if last {
		return true
	}
	bc := w.bc
	w.bc = nil
	if cn, err := w.rn.dial.toIMAP(ctx, bc); err == nil {
		w.cn = cn
	}
	return true
}

// idle is called when messages are in flight: a job that is waiting is
// taken at once; else the appender sends what it collects when nothing is
// in flight (the server would be idle), or the worker waits for a job or
// the oldest answer, whichever comes first, so that a batch grows while
// the server works. got reports a job (nil: the channel was closed).
func (w *worker) idle(ctx context.Context) (j *job, got bool) {
	select {
	case j, ok := <-w.jobs:
		return j, ok || j == nil
	default:
	}
	if w.app.flushable() {
		w.settle(ctx, w.app.flush(ctx))
		return nil, false
	}
	answered := w.app.answered()
	if answered == nil {
		w.settle(ctx, w.app.wait(ctx))
		return nil, false
	}
	select {
	case j = <-w.jobs:
		return j, true
	case <-answered:
		w.settle(ctx, w.app.wait(ctx))
	case <-ctx.Done():
	}
	return nil, false
}

// settle acts on what the appender handed back.
func (w *worker) settle(ctx context.Context, r appendResult) {
	for _, j := range r.stored {
		w.rn.end(j, outUploaded, Problem{})
		w.loss = 0
	}
	for _, x := range r.failed {
		w.rn.end(x.j, outFailed, Problem{Code: ProblemUnsent, Reason: x.err.Error()})
	}
	for _, x := range r.refused {
		w.refused(ctx, x.j, x.err)
	}
	w.redo = append(r.again, w.redo...)
	if r.fatal != nil && ctx.Err() == nil {
		w.rn.fail(r.fatal)
	}
	if r.fallback != nil {
		w.rn.log.Warn("the fast APPEND path does not work with this server; using go-imap's APPEND", "worker", w.id, "err", r.fallback)
		w.app.close(false)
		w.dropBulk()
		w.app = newIMAPAppender(w)
	}
	if r.lost != nil {
		w.lost(ctx, r.lost, r.tried, r.unknown)
	}
}

// abandon ends every job not done when the run stops. The APPENDs in
// flight get a moment (stopGrace) to be answered, so that their outcome is
// known.
func (w *worker) abandon(closed bool) {
	r := w.app.stop()
	for _, j := range r.stored {
		w.rn.end(j, outUploaded, Problem{})
	}
	for _, j := range append(r.unknown, r.tried...) {
		w.rn.end(j, outFailed, Problem{Code: ProblemUnconfirmed, Reason: ReasonUnconfirmed})
	}
	for _, x := range r.refused {
		w.rn.end(x.j, outFailed, Problem{Code: ProblemStopped, Reason: ReasonStopped})
	}
	stopped := append(r.again, w.redo...)
	w.redo = nil
	if !closed {
		for j := range w.jobs {
			stopped = append(stopped, j)
		}
	}
	for _, j := range stopped {
		w.rn.end(j, outFailed, Problem{Code: ProblemStopped, Reason: ReasonStopped})
	}
	w.dropBulk()
}

// maxServerFailures bounds how often one message is sent again after the
// server refused it for a failure of its own.
const maxServerFailures = 2

// refused ends a message the server answered with NO or BAD: over quota
// stops the run; a request to slow down, or a failure the server names as
// its own (at most maxServerFailures times), sends it again; a refused
// keyword sends it without that keyword; anything else quarantines the
// message.
func (w *worker) refused(ctx context.Context, j *job, err error) {
	retry, rerr := retryable(ctx, err, true)
	var te *throttleError
	switch {
	case retry && errors.As(rerr, &te):
		w.throttled(j, te)
	case errors.Is(rerr, ErrOverQuota):
		w.rn.end(j, outFailed, Problem{Code: ProblemStopped, Reason: rerr.Error()})
		w.rn.fail(rerr)
	case ctx.Err() != nil:
		w.rn.end(j, outFailed, Problem{Code: ProblemStopped, Reason: ReasonStopped})
	case serverFailure(err) && j.failures < maxServerFailures:
		// NO means not stored: sending it again cannot duplicate it.
		j.failures++
		w.rn.log.Warn("the server failed to store a message; sending it again", "pos", j.e.pos.String(), "answer", describe(err))
		w.redo = append(w.redo, j)
	case keywordRefusal.MatchString(describe(err)) && w.rn.led.dropKeyword(j, describe(err)):
		// The message is fine: it goes again without the keyword.
		w.rn.log.Debug("the server refused a keyword; sending the message without it", "pos", j.e.pos.String(), "answer", describe(err))
		w.redo = append(w.redo, j)
	default:
		w.rn.end(j, outQuarantined, Problem{Code: ProblemRefused, Reason: "the server refused it: " + describe(err)})
	}
}

// throttled queues a message the server did not take because it asked to
// slow down: every worker pauses (see throttle), then it is sent again.
// Asked for too long, the run gives up.
func (w *worker) throttled(j *job, te *throttleError) {
	if err := w.rn.thr.hit(te, j.sent, w.rn.opts.retryTimeout()); err != nil {
		w.rn.fail(err)
		w.rn.end(j, outFailed, Problem{Code: ProblemStopped, Reason: err.Error()})
		return
	}
	w.rn.log.Warn("the server asks to slow down; pausing", "worker", w.id, "pos", j.e.pos.String(), "answer", describe(te.err))
	w.redo = append(w.redo, j)
}

// lost handles a broken connection. The jobs being sent (tried) and those
// in flight (unknown) have an unknown outcome: the worker reconnects,
// looks at what their folders hold, counts what landed as uploaded and
// queues the rest to be sent again. Every job that did not land counts a
// try, and goes alone from then on (see bulkAppender.send); one that broke
// the connection maxTries times is quarantined, so that a message the
// server cannot take (it drops the connection or crashes on it) is tried a
// bounded number of times and the run goes on. Reconnects after losses in
// a row wait longer each time.
func (w *worker) lost(ctx context.Context, cause error, tried, unknown []*job) {
	w.dropConn()
	w.dropBulk()
	unknown = append(unknown, tried...)
	retry, rerr := retryable(ctx, cause, false)
	if !retry {
		if ctx.Err() == nil {
			w.rn.fail(rerr)
		}
		for _, u := range unknown {
			w.rn.end(u, outFailed, Problem{Code: ProblemUnconfirmed, Reason: ReasonUnconfirmed})
		}
		return
	}
	w.rn.log.Warn("connection lost while appending; checking the server before sending again", "worker", w.id, "messages", len(unknown), "err", cause)
	pause := max(w.loss, settleDelay)
	if len(unknown) == 0 {
		pause = w.loss
	}
	// The server may still be storing a message whose literal it had
	// fully received when the connection broke: give it a moment, so that
	// the check below sees it.
	select {
	case <-time.After(pause):
	case <-ctx.Done():
	}
	w.loss = min(max(2*w.loss, firstDelay), maxDelay)
	// Group by folder, keeping the order.
	var folders []*folderState
	seen := map[*folderState]bool{}
	for _, u := range unknown {
		if !seen[u.fs] {
			seen[u.fs] = true
			folders = append(folders, u.fs)
		}
	}
	sets := make([]*serverSet, len(folders))
	err := w.withConn(ctx, func(cn *conn) error {
		for i, fs := range folders {
			set, _, err := cn.fetchSet(ctx, fs.server, false, false)
			if err != nil {
				return err
			}
			sets[i] = set
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			w.rn.fail(fmt.Errorf("reconnect to %s: %w", w.rn.dial.target.Addr(), err))
		}
		for _, u := range unknown {
			w.rn.end(u, outFailed, Problem{Code: ProblemUnconfirmed, Reason: ReasonUnconfirmed})
		}
		return
	}
	var again []*job
	for i, fs := range folders {
		var mine []*job
		for _, u := range unknown {
			if u.fs == fs {
				mine = append(mine, u)
			}
		}
		landed, rest := w.rn.led.reconcile(fs, sets[i], mine, w.rn.laneFilter(w.lane))
		for _, u := range landed {
			u.landed = true
			w.rn.end(u, outUploaded, Problem{})
		}
		for _, u := range rest {
			u.tries++
			if u.tries >= maxTries {
				w.rn.end(u, outQuarantined, Problem{Code: ProblemConnection,
					Reason: fmt.Sprintf("the connection broke each of the %d times this message was sent (last: %v)", u.tries, cause)})
				continue
			}
			again = append(again, u)
		}
	}
	w.redo = append(again, w.redo...)
}
