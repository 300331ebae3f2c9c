package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
)

// maxTries is how often one message may be in flight when its connection
// breaks before it is quarantined (a server may drop the connection on a
// message it cannot take, as Gmail does on NUL bytes).
const maxTries = 5

// settleDelay is the pause between a broken connection and the check of
// what landed (see lost).
const settleDelay = 300 * time.Millisecond

// job is one message on its way to the server. It holds the message's
// bytes (in memory or spooled to a file) until the server answered.
type job struct {
	fs     *folderState
	e      *sourceEntry
	flags  []imap.Flag
	date   time.Time
	spool  *formats.Spool
	size   int64
	weight int64
	tries  int
	sent   time.Time   // when its APPEND was last sent
	key    Fingerprint // server-side key when found landed after a reconnect
	landed bool
}

// appender is the seam for the ways of sending messages into the selected
// folder of one connection: go-imap's pipelined one-message APPEND below
// (the fallback), and the bulk path (bulkappend.go: upload/bulk, LITERAL+,
// MULTIAPPEND batches, RFC 3502), the default. Both keep one contract: send may return before the server
// answers; complete waits for the oldest answer; every job ends in exactly
// one call of run.done, or is handed to worker.lost when the connection
// breaks so that a reconnect checks whether it landed before sending it
// again.
type appender interface {
	send(ctx context.Context, j *job)
	completeOldest(ctx context.Context)
	pending() int
}

var _ appender = (*worker)(nil)

// pendingAppend is an APPEND whose answer has not been read.
type pendingAppend struct {
	j   *job
	cmd *imapclient.AppendCommand
}

// worker owns one connection. It takes the jobs of the folders assigned to
// it and pipelines their APPENDs.
type worker struct {
	rn       *run
	id       int
	jobs     chan *job
	cn       *conn
	inflight []*pendingAppend
	redo     []*job
	cur      *folderState // the folder of the messages in flight

	// lane is the worker's share of every folder (lanes.go); retired is
	// set when the server refused it a connection for the user's limit;
	// pass while it works through a pass that lets it retire.
	lane    int
	retired bool
	pass    *pass

	// The bulk path (bulkappend.go): its connection, the batch being
	// filled and the commands in flight, oldest first.
	bc        *bulkConn
	noBulk    bool // go-imap's APPEND instead (Options or fallback)
	open      []*job
	openBytes int64
	batches   []*bulkBatch
}

func (w *worker) pending() int { return len(w.inflight) + len(w.open) + len(w.batches) }

// ensureConn (re)connects when the connection is gone.
func (w *worker) ensureConn(ctx context.Context) error {
	if w.cn.alive() {
		return nil
	}
	w.dropConn()
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

// withConn runs f on a working connection, reconnecting with exponential
// backoff while the failure is a transport one (or the server asks to slow
// down), for at most RetryTimeout.
func (w *worker) withConn(ctx context.Context, f func(cn *conn) error) error {
	return w.rn.retry(ctx, fmt.Sprintf("worker %d", w.id), func() error {
		fresh := !w.cn.alive()
		if err := w.ensureConn(ctx); err != nil {
			if fresh && w.mayRetire(err) {
				return finalError{fmt.Errorf("%w: %v", errRetired, err)}
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
			if w.pending() == 0 {
				w.closeBulk()
				return
			}
			w.completeOldest(ctx)
			continue
		case w.pending() > 0:
			select {
			case j = <-w.jobs:
			default:
				var got bool
				if j, got = w.idle(ctx); !got {
					continue
				}
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
		if w.pending() > 0 && w.cur != j.fs {
			// Finish the previous folder before selecting the next.
			w.redo = append([]*job{j}, w.redo...)
			for w.pending() > 0 && ctx.Err() == nil {
				w.completeOldest(ctx)
			}
			continue
		}
		if err := w.rn.thr.wait(ctx); err != nil {
			w.redo = append([]*job{j}, w.redo...)
			continue // the loop sees ctx ended
		}
		w.cur = j.fs
		if w.useBulk() {
			w.sendBulk(ctx, j)
			continue
		}
		w.send(ctx, j)
	}
}

// idle is called when no job is waiting and messages are in flight: the
// go-imap path waits for the oldest answer; the bulk path sends the batch
// being filled when nothing else is in flight (the server would be idle),
// else waits for a job or the oldest answer, whichever comes first: while
// the server works, the batch grows. got reports a job (nil: the channel was
// closed).
func (w *worker) idle(ctx context.Context) (j *job, got bool) {
	if len(w.inflight) > 0 || len(w.batches) == 0 && len(w.open) == 0 {
		w.completeOldest(ctx)
		return nil, false
	}
	if len(w.open) > 0 && len(w.batches) == 0 {
		w.submitOpen(ctx)
		return nil, false
	}
	select {
	case j = <-w.jobs:
		return j, true
	case <-w.batches[0].cmd.Done():
		w.completeOldest(ctx)
	case <-ctx.Done():
	}
	return nil, false
}

// abandon ends every job not done when the run stops. The APPENDs in
// flight get a moment (stopGrace) to be answered, so that their outcome is
// known.
func (w *worker) abandon(closed bool) {
	w.abandonBulk()
	for _, p := range w.inflight {
		if _, err := p.cmd.Wait(); err == nil {
			w.rn.done(p.j, outUploaded, "")
			continue
		}
		w.rn.done(p.j, outFailed, ReasonUnconfirmed)
	}
	w.inflight = nil
	for _, j := range w.redo {
		w.rn.done(j, outFailed, errStopped.Error())
	}
	w.redo = nil
	if !closed {
		for j := range w.jobs {
			w.rn.done(j, outFailed, errStopped.Error())
		}
	}
}

// send starts the APPEND of one message into its folder.
func (w *worker) send(ctx context.Context, j *job) {
	name := j.fs.pf.Server
	if !w.rn.write("APPEND", name, "pos", j.e.pos.String(), "size", j.size) {
		w.rn.done(j, outUploaded, "")
		return
	}
	if err := w.ready(ctx, j.fs); err != nil {
		w.lost(ctx, err, j)
		return
	}
	opts := &imap.AppendOptions{Flags: j.flags, Time: j.date}
	j.sent = time.Now()
	cmd := w.cn.c.Append(name, j.size, opts)
	rc, err := j.spool.Open()
	var werr error
	if err == nil {
		_, werr = io.Copy(cmd, rc)
		_ = rc.Close()
	}
	if cerr := cmd.Close(); werr == nil {
		werr = cerr
	}
	if err != nil {
		// Our own spool failed: the command went out short and the
		// connection is unusable.
		w.rn.done(j, outFailed, fmt.Sprintf("read spooled message: %v", err))
		w.lost(ctx, err)
		return
	}
	if werr != nil {
		var te *throttleError
		if _, rerr := retryable(ctx, werr, false); errors.As(rerr, &te) && serverError(werr) != nil {
			// Refused before the literal: not stored. Try it again later;
			// go-imap closed the connection, so check the others.
			w.throttled(j, te)
			w.lost(ctx, werr)
			return
		}
		if ie := serverError(werr); ie != nil {
			// The server answered the literal's continuation with NO: this
			// message is refused. go-imap then closes the connection, so the
			// other APPENDs in flight are checked after a reconnect.
			w.refused(ctx, j, werr, true)
			w.lost(ctx, werr)
			return
		}
		w.lost(ctx, werr, j)
		return
	}
	w.inflight = append(w.inflight, &pendingAppend{j: j, cmd: cmd})
	if len(w.inflight) >= w.rn.opts.pipeline() {
		w.completeOldest(ctx)
	}
}

// ready makes sure the connection works and the folder is selected
// (Dovecot charges ~40% more per APPEND into a folder not selected).
func (w *worker) ready(ctx context.Context, fs *folderState) error {
	if err := w.ensureConn(ctx); err != nil {
		return err
	}
	if w.cn.selected == fs.pf.Server && !w.cn.readOnly {
		return nil
	}
	_, exists, err := w.cn.selectFolder(fs.pf.Server, false)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("folder %q does not exist on the server", fs.pf.Server)
	}
	return nil
}

// completeOldest waits for the answer to the oldest APPEND in flight.
func (w *worker) completeOldest(ctx context.Context) {
	if len(w.inflight) == 0 {
		w.completeBatch(ctx)
		return
	}
	p := w.inflight[0]
	w.inflight = w.inflight[1:]
	_, err := p.cmd.Wait()
	if err == nil {
		w.rn.done(p.j, outUploaded, "")
		return
	}
	alive := w.cn.alive()
	retry, rerr := retryable(ctx, err, alive)
	var te *throttleError
	if retry && alive && errors.As(rerr, &te) {
		// A tagged "not now" on a working connection: not stored.
		w.throttled(p.j, te)
		return
	}
	if retry {
		w.lost(ctx, err, p.j)
		return
	}
	w.refused(ctx, p.j, err, alive)
	if !alive {
		w.lost(ctx, err)
	}
}

// refused ends a message the server answered with NO or BAD: over quota
// stops the run; anything else quarantines the message.
func (w *worker) refused(ctx context.Context, j *job, err error, alive bool) {
	_, rerr := retryable(ctx, err, alive)
	switch {
	case errors.Is(rerr, ErrOverQuota):
		w.rn.done(j, outFailed, rerr.Error())
		w.rn.fail(rerr)
	case ctx.Err() != nil:
		w.rn.done(j, outFailed, errStopped.Error())
	default:
		w.rn.done(j, outQuarantined, "the server refused it: "+describe(err))
	}
}

// throttled queues a message the server did not take because it asked to
// slow down: every worker pauses (see throttle), then it is sent again.
// Asked for too long, the run gives up.
func (w *worker) throttled(j *job, te *throttleError) {
	if err := w.rn.thr.hit(te, j.sent, w.rn.opts.retryTimeout()); err != nil {
		w.rn.fail(err)
		w.rn.done(j, outFailed, err.Error())
		return
	}
	w.rn.log.Warn("the server asks to slow down; pausing", "worker", w.id, "pos", j.e.pos.String(), "answer", describe(te.err))
	w.redo = append(w.redo, j)
}

// describe renders a server's answer for a report: "[LIMIT] Message too
// large".
func describe(err error) string {
	if ie := serverError(err); ie != nil {
		if ie.Code != "" {
			return fmt.Sprintf("%s [%s] %s", ie.Type, ie.Code, ie.Text)
		}
		return fmt.Sprintf("%s %s", ie.Type, ie.Text)
	}
	return err.Error()
}

// lost handles a broken connection: the messages being sent (none, one,
// or a batch whose command was not sent completely) and every APPEND or
// batch in flight have an unknown outcome. It reconnects, looks at what
// the folders hold, counts what landed as uploaded and queues the rest to
// be sent again. The batch being filled was not sent: it is queued again
// as it is.
func (w *worker) lost(ctx context.Context, cause error, sending ...*job) {
	var unknown []*job
	for _, j := range sending {
		j.tries++
		if j.tries >= maxTries {
			w.rn.done(j, outQuarantined, fmt.Sprintf("the connection broke each of the %d times this message was sent (last: %v)", j.tries, cause))
		} else {
			unknown = append(unknown, j)
		}
	}
	for _, p := range w.inflight {
		unknown = append(unknown, p.j)
	}
	w.inflight = nil
	for _, b := range w.batches {
		unknown = append(unknown, b.jobs...)
	}
	w.batches = nil
	w.redo = append(w.open, w.redo...)
	w.open, w.openBytes = nil, 0
	w.dropConn()
	w.dropBulk()
	retry, rerr := retryable(ctx, cause, false)
	if !retry {
		if ctx.Err() == nil {
			w.rn.fail(rerr)
		}
		for _, u := range unknown {
			w.rn.done(u, outFailed, ReasonUnconfirmed)
		}
		return
	}
	w.rn.log.Warn("connection lost while appending; checking the server before sending again", "worker", w.id, "messages", len(unknown), "err", cause)
	if len(unknown) > 0 {
		// The server may still be storing a message whose literal it had
		// fully received when the connection broke: give it a moment, so
		// that the check below sees it.
		select {
		case <-time.After(settleDelay):
		case <-ctx.Done():
		}
	}
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
			set, _, err := cn.fetchSet(ctx, fs.pf.Server, false, false)
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
			w.rn.done(u, outFailed, ReasonUnconfirmed)
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
		landed, rest := w.rn.reconcile(fs, sets[i], mine, w.lane)
		for _, u := range landed {
			w.rn.done(u, outUploaded, "")
		}
		again = append(again, rest...)
	}
	w.redo = append(again, w.redo...)
}

// reconcile replaces what the run believes a folder holds by what the
// server says after a reconnect, and tells which of the jobs whose outcome
// was unknown landed: the server's multiset minus everything already
// matched or appended is what is left to match. Only the keys of the
// worker's lane (lanes.go) are judged and replaced: the other lanes'
// messages may be in flight on other connections. With one lane that is
// the whole folder.
func (rn *run) reconcile(fs *folderState, set *serverSet, unknown []*job, lane int) (landed, rest []*job) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	set.keep(func(k Fingerprint) bool { return rn.inLane(k, lane) })
	for k, n := range fs.consumed {
		if c := min(set.count[k], n); c > 0 {
			set.count[k] -= c
			set.total -= c
		}
	}
	for _, u := range unknown {
		if key, ok := set.take(u.e.fp); ok {
			set.total--
			u.key, u.landed = key, true
			landed = append(landed, u)
		} else {
			rest = append(rest, u)
		}
	}
	fs.available.keep(func(k Fingerprint) bool { return !rn.inLane(k, lane) })
	fs.available.merge(set)
	return landed, rest
}
