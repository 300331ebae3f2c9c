package upload

import (
	"context"

	"mailferry/formats"
)

// Upload puts every message of r on the target server, then verifies the
// result. With no Options.Target it rehearses on an in-process server that
// keeps only headers (package rehearsal) and reports what a real run would
// do.
//
// Every target folder is created (parents first) and subscribed. Before a
// folder that was there gets any message, one FETCH learns what it holds
// (one the run created holds nothing); only the source messages not
// already there are appended (a folder is a multiset of Fingerprints), so
// a re-run uploads nothing new. Messages go with their flags, keywords
// and received date; a message the server refuses is quarantined and the
// run goes on; [OVERQUOTA] stops the run.
//
// The Report is always returned, also with an error. The error is nil when
// everything arrived and verified; ErrVerify, ErrIncomplete, ErrAuth,
// ErrConfig or ErrOverQuota wrapped with details; ctx.Err() unwrapped when
// ctx was cancelled; or another error that stopped the run.
func Upload(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	if opts.Target == nil {
		return rehearse(ctx, r, opts)
	}
	return upload(ctx, r, opts, *opts.Target, false)
}

// upload runs the phases of an upload: prepare (connect, learn the
// server, plan; the other connections open meanwhile), create the
// folders, pre-scan those that were there, connect every worker, stream
// the source through the workers, verify on the same connections.
func upload(parent context.Context, r formats.Reader, opts Options, target Target, rehearsal bool) (*Report, error) {
	rn := newRun(opts, ModeUpload)
	if rehearsal {
		// The rehearsal server keeps headers only: quarantine files are
		// not written, and no message can be compared in full.
		rn.quar.off = true
		rn.checks.off = true
		rn.led.rep.FullCheck = ""
	}
	ctx, end := rn.start(parent)
	defer end()
	stale := false
	if !rehearsal && !opts.DryRun {
		var endMarker func()
		stale, endMarker = rn.startMarker(target)
		defer endMarker()
	}

	if !opts.DryRun {
		rn.wantSpares = opts.connections() - 1
	}
	cn, mailboxes, err := rn.prepare(ctx, r, target)
	more := rn.spares
	if err == nil && stale {
		err = rn.settle(ctx, cn)
	}
	if err == nil {
		err = rn.retry(ctx, "create folders", func() error {
			if !cn.alive() {
				cn.close()
				var err error
				if cn, err = rn.dial.dial(ctx); err != nil {
					return err
				}
			}
			return rn.createFolders(ctx, cn, mailboxes)
		}, func() bool { return cn.alive() }, func() {})
	}
	if err != nil {
		cn.close()
		more.close()
		return rn.stopped(err)
	}
	// Creating folders may have planned again (a refused character): the
	// plan is final now.
	rn.track()
	workers := rn.newWorkers(cn)
	defer closeWorkers(workers)
	if given := more.hand(workers); opts.onSpares != nil {
		opts.onSpares(given)
	}
	if err := rn.forEachFolder(ctx, workers, rn.prescan); err != nil {
		return rn.stopped(err)
	}
	if !opts.DryRun {
		if err := rn.connectAll(ctx, workers); err != nil {
			return rn.stopped(err)
		}
	}
	active := live(workers)
	rn.setLanes(active)
	rn.led.rep.Connections, rn.led.rep.ConnectionsAsked = len(active), len(workers)
	rn.log.Debug("upload", "connections", len(active))

	rn.led.phase(PhaseUpload)
	rn.keepConns = !opts.DryRun
	if err := rn.stream(ctx, r, active); err != nil && ctx.Err() == nil {
		rn.fail(err)
	}
	if rn.fatal() == nil && parent.Err() == nil && !opts.DryRun {
		rn.led.phase(PhaseVerify)
		if err := rn.forEachFolder(ctx, workers, rn.verifyFolder); err != nil && ctx.Err() == nil {
			rn.fail(err)
		}
		rn.led.rep.Verified = rn.fatal() == nil && parent.Err() == nil
	}
	rn.finish()
	return rn.led.rep, rn.result()
}
