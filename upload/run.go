package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
	"mailferry/upload/plan"
)

// run is one Upload or Verify: what both share from start to end. Its
// setup (connLife, prepare) and teardown (finish, result) are the same for
// both; the ledger owns every message's outcome; the workers own the
// connections.
type run struct {
	opts   Options
	log    *slog.Logger
	dial   *dialer
	plan   *plan.Plan
	facts  *serverFacts
	led    *ledger
	verify bool // a Verify run: nothing is uploaded

	// lanes is how many workers every folder is spread over (lanes.go).
	lanes int
	// created are the server folders this run created; unusable those it
	// could not create under any name, with the reason.
	created  map[string]bool
	unusable map[string]string
	// empty are the folders this run's CREATE made (not found there);
	// newFolder is the SELECT answer of one of them: what a new folder
	// keeps (PERMANENTFLAGS), for the pre-scan of the others.
	empty     map[string]bool
	newFolder *imap.SelectData
	// notMail are the states of source folders that hold no mail, by
	// their display path.
	notMail map[string]*folderState

	// wantSpares is how many connections prepare opens (spares) as soon
	// as the first one logged in.
	wantSpares int
	spares     *spares

	// keepConns keeps the upload's connections open for the verify pass
	// that follows it (worker.keepForVerify); appending counts the
	// workers that have not finished their jobs.
	keepConns bool
	appending atomic.Int32

	quar   *quarantine
	budget *budget
	thr    throttle
	checks *checks // the messages compared in full (fullcheck.go)

	connCtx context.Context // the connections' life, see connLife
	parent  context.Context // the caller's context: cancelled means interrupted
	cancel  context.CancelCauseFunc

	mu       sync.Mutex // guards fatalErr
	fatalErr error
}

func newRun(opts Options, mode Mode) *run {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := &Report{Mode: mode, Started: time.Now(), DryRun: opts.DryRun}
	switch {
	case opts.FullVerify:
		rep.FullCheck = "all"
	case mode == ModeUpload:
		rep.FullCheck = "sample"
	}
	return &run{
		opts:   opts,
		log:    log,
		led:    newLedger(rep, opts.OnProgress),
		verify: mode == ModeVerify,
		quar:   newQuarantine(&opts),
		checks: &checks{all: opts.FullVerify},
		budget: newBudget(opts.inFlightBytes()),
	}
}

// start ties the run to the caller's context: it returns the context the
// run works in (cancelled by the first fatal error too) and the function
// that ends it.
func (rn *run) start(parent context.Context) (context.Context, func()) {
	rn.parent = parent
	ctx, cancel := context.WithCancelCause(parent)
	rn.cancel = cancel
	endLife := rn.connLife(ctx)
	return ctx, func() {
		endLife()
		cancel(nil)
	}
}

// fail records the first fatal error and stops the run.
func (rn *run) fail(err error) {
	rn.mu.Lock()
	if rn.fatalErr == nil {
		rn.fatalErr = err
	}
	rn.mu.Unlock()
	if rn.cancel != nil {
		rn.cancel(err)
	}
}

func (rn *run) fatal() error {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.fatalErr
}

// write is the one function that decides whether the run changes anything
// on the server (CREATE, SUBSCRIBE, APPEND): in a dry run it logs what it
// skips and says no.
func (rn *run) write(op, folder string, attrs ...any) bool {
	if rn.opts.DryRun {
		rn.log.Debug("dry run: not sending "+op, append([]any{"folder", folder}, attrs...)...)
		return false
	}
	return true
}

// stopGrace is how long the APPENDs in flight may take to finish after a
// run was cancelled or stopped, so that their outcome is known (and a
// re-run right away does not race with the server still storing them).
const stopGrace = 3 * time.Second

// connLife makes the context the run's connections live in: it ends
// stopGrace after ctx, or when the returned function is called at the end
// of the run.
func (rn *run) connLife(ctx context.Context) (end func()) {
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rn.connCtx = life
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(stopGrace, cancel) })
	return func() {
		stop()
		cancel()
	}
}

// prepare opens the first connection, learns the server and plans the
// folders; every planned folder gets its state in the ledger.
func (rn *run) prepare(ctx context.Context, r formats.Reader, target Target) (*conn, []*formats.Mailbox, error) {
	rn.led.rep.Target = target.String()
	mailboxes, err := r.Mailboxes(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: read source folders: %w", ErrConfig, err)
	}
	d, err := newDialer(target, rn.opts.Password, &rn.opts, rn.log)
	if err != nil {
		return nil, nil, err
	}
	d.life = rn.connCtx
	rn.dial = d
	rn.led.phase(PhasePrepare)
	var cn *conn
	var p *plan.Plan
	first := true
	err = rn.retry(ctx, "prepare", func() error {
		bc, err := d.open(ctx)
		if err != nil {
			var op *net.OpError
			if first && errors.As(err, &op) && op.Op == "dial" {
				// A server that cannot be reached at all is reported at
				// once (a wrong host or port, nothing listening), not
				// retried; a connection that breaks after it was made is.
				return finalError{err}
			}
			return err
		}
		first = false
		if rn.spares == nil && rn.wantSpares > 0 {
			rn.spares = rn.openSpares(ctx, rn.wantSpares)
		}
		facts, c, err := discover(ctx, d, bc)
		if err != nil {
			return err
		}
		cn = c
		rn.facts = facts
		info := facts.info
		if rn.opts.DryRun || rn.verify {
			if info, err = inferRefused(mailboxes, facts, rn.opts.Plan); err != nil {
				return err
			}
		}
		rn.facts.info = info
		if p, err = makePlan(mailboxes, info, rn.opts.Plan); err != nil {
			return err
		}
		if !rn.opts.DryRun && !rn.verify {
			return nil
		}
		// Nothing may be created: learn what can be learned without.
		for range maxNameTries {
			learned, err := rn.learnByStatus(cn, p)
			if err != nil || !learned {
				return err
			}
			if p, err = makePlan(mailboxes, rn.facts.info, rn.opts.Plan); err != nil {
				return err
			}
		}
		return nil
	}, func() bool { return cn.alive() }, func() { cn.close(); cn = nil })
	if err != nil {
		cn.close()
		return nil, nil, err
	}
	rn.plan = p
	info := rn.facts.info
	rn.log.Debug("server", "delimiter", string(info.Delimiter), "special-use", info.SpecialUse, "folders", len(rn.facts.existing))
	return cn, mailboxes, nil
}

// track gives every planned folder its state in the ledger, and every
// source folder that holds no mail one of its own (so that its items are
// counted).
func (rn *run) track() {
	for _, f := range rn.plan.Folders {
		fs := rn.led.folder(f)
		fs.server = rn.spelling(f.Server)
		fs.rep.Server = fs.server
		fs.rep.Created = rn.created[f.Server]
		if reason := rn.unusable[f.Server]; reason != "" {
			fs.unusable, fs.rep.Error = reason, reason
		}
	}
	rn.notMail = map[string]*folderState{}
	for _, mb := range rn.plan.NotMail {
		fs := rn.led.folder(&plan.Folder{Sources: []*formats.Mailbox{mb}})
		fs.notMail, fs.rep.NotMail = true, mb.Skip
		rn.notMail[mb.DisplayPath()] = fs
	}
}

// finish completes the report; the run is over.
func (rn *run) finish() *Report {
	rep := rn.led.rep
	rep.Finished = time.Now()
	if rn.parent != nil && rn.parent.Err() != nil {
		rep.Stopped, rep.StopReason = "interrupted", StopInterrupted
	} else if err := rn.fatal(); err != nil {
		rep.Stopped, rep.StopReason = err.Error(), stopReason(err)
	}
	if rn.facts != nil {
		rep.NameRules = rn.facts.learned
		rep.UndecodableFolders = rn.facts.undecodable
	}
	rn.led.close(rn.plan)
	return rep
}

// result returns the error of a finished run: the context's error when it
// was cancelled (unwrapped), the fatal error, or the report's verdict.
func (rn *run) result() error {
	if err := rn.parent.Err(); err != nil {
		return err
	}
	if err := rn.fatal(); err != nil {
		return err
	}
	return rn.led.rep.Err()
}

// stopped ends a run that could not go on: the report is completed and
// the error is the parent's cancellation (unwrapped) or err.
func (rn *run) stopped(err error) (*Report, error) {
	if rn.parent.Err() == nil && err != nil {
		rn.fail(err)
	}
	rep := rn.finish()
	if rn.parent.Err() != nil {
		return rep, rn.parent.Err()
	}
	return rep, rn.fatal()
}

type outcome int

const (
	outUploaded outcome = iota
	outQuarantined
	outFailed
)

// end ends a job: it records the outcome in the ledger, writes the
// quarantined copy, and frees the message's memory.
func (rn *run) end(j *job, o outcome, p Problem) {
	switch o {
	case outUploaded:
		rn.thr.ok()
		key := j.e.id.Fingerprint
		if j.landed {
			key = j.key
		}
		rn.led.uploaded(j.fs, j.e, key, j.date)
	case outQuarantined:
		if rc, err := j.spool.Open(); err == nil {
			p = rn.keep(j.fs, j.e.pos, p, rc)
			_ = rc.Close()
		}
		rn.led.quarantined(j.fs, j.e, p)
		rn.log.Warn("message quarantined", "pos", j.e.pos.String(), "folder", j.fs.server, "reason", p.Reason)
	default:
		rn.led.failed(j.fs, j.e, p)
	}
	_ = j.spool.Close()
	rn.budget.release(j.weight)
}

// keep writes a quarantined message's bytes to the quarantine folder and
// returns the problem with the file named (or why it was not written).
func (rn *run) keep(fs *folderState, pos formats.Pos, p Problem, r interface{ Read([]byte) (int, error) }) Problem {
	f, err := rn.quar.save(fs.pf.Path, r)
	if err != nil {
		rn.log.Error("could not write quarantined message", "pos", pos.String(), "err", err)
		p.Reason += " (copy not written: " + err.Error() + ")"
	}
	p.File = f
	return p
}
