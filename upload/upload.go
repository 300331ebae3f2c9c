package upload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"mailferry/formats"
)

// Upload puts every message of r on the target server, then verifies the
// result. With no Options.Target it rehearses on an in-process server that
// keeps only headers (rehearsal_server.go) and reports what a real run would
// do.
//
// Every target folder is created (parents first) and subscribed. Before a
// folder gets any message, one FETCH learns what it holds; only the source
// messages not already there are appended (a folder is a multiset of
// Fingerprints), so a re-run uploads nothing new. Messages go with their
// flags, keywords and received date; a message the server refuses is
// quarantined and the run goes on; [OVERQUOTA] stops the run.
//
// The Report is always returned, also with an error. The error is nil when
// everything arrived and verified; ErrVerify, ErrIncomplete, ErrAuth,
// ErrConfig or ErrOverQuota wrapped with details; ctx.Err() unwrapped when
// ctx was cancelled; or another error that stopped the run. ExitCode maps
// it to the exit code.
func Upload(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	if opts.Target == nil {
		return rehearse(ctx, r, opts)
	}
	return upload(ctx, r, opts, *opts.Target)
}

func upload(parent context.Context, r formats.Reader, opts Options, target Target) (*Report, error) {
	return uploadWith(parent, r, opts, target, false)
}

func uploadWith(parent context.Context, r formats.Reader, opts Options, target Target, rehearsal bool) (*Report, error) {
	rn := newRun(opts)
	if rehearsal {
		rn.quar.off = true
	}
	rn.rep.Mode = ModeUpload
	rn.parent = parent
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	rn.cancel = cancel
	defer rn.connLife(ctx)()
	stale := false
	if !rehearsal && !opts.DryRun {
		var end func()
		stale, end = rn.startMarker(target)
		defer end()
	}

	cn, mailboxes, err := rn.prepare(ctx, r, target)
	if err == nil && stale {
		err = rn.settle(ctx, cn)
	}
	if err != nil {
		cn.close()
		rn.finish()
		return rn.rep, stopErr(parent, err)
	}
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
	if err != nil {
		cn.close()
		rn.finish()
		return rn.rep, stopErr(parent, err)
	}
	for _, f := range rn.plan.Folders {
		rn.stateOf(f)
	}
	workers := rn.newWorkers(cn)
	defer func() {
		for _, w := range workers {
			w.dropConn()
		}
	}()
	if err := rn.forEachFolder(ctx, workers, rn.prescan); err != nil {
		rn.fail(err)
		rn.finish()
		return rn.rep, stopErr(parent, rn.fatal())
	}

	if !opts.DryRun {
		if err := rn.connectAll(ctx, workers); err != nil {
			rn.fail(err)
			rn.finish()
			return rn.rep, stopErr(parent, rn.fatal())
		}
	}
	active := live(workers)
	rn.setLanes(active)
	rn.rep.Connections, rn.rep.ConnectionsAsked = len(active), len(workers)
	rn.log.Debug("upload", "connections", len(active))

	rn.progress(func(p *Progress) { p.Phase = "upload" })
	if err := rn.stream(ctx, r, active); err != nil && ctx.Err() == nil {
		rn.fail(err)
	}
	if rn.fatal() == nil && parent.Err() == nil && !opts.DryRun {
		rn.progress(func(p *Progress) { p.Phase = "verify" })
		if err := rn.forEachFolder(ctx, workers, rn.verifyFolder); err != nil && ctx.Err() == nil {
			rn.fail(err)
		}
		rn.rep.Verified = rn.fatal() == nil && parent.Err() == nil
	}
	rn.finish()
	return rn.rep, rn.result(parent)
}

// stopErr is the error of a run that stopped: the parent's cancellation
// unwrapped, or err.
func stopErr(parent context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	return err
}

func (rn *run) newWorkers(first *conn) []*worker {
	n := rn.opts.connections()
	ws := make([]*worker, n)
	for i := range ws {
		// Room for two MULTIAPPEND batches: a batch fills while one is
		// in flight.
		ws[i] = &worker{rn: rn, id: i, jobs: make(chan *job, max(4*rn.opts.pipeline(), 2*rn.opts.bulkOptions().MaxBatch))}
	}
	ws[0].cn = first
	return ws
}

// stream reads the source and feeds the workers.
func (rn *run) stream(ctx context.Context, r formats.Reader, workers []*worker) error {
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	err := rn.readAll(ctx, r, workers)
	for _, w := range workers {
		close(w.jobs)
	}
	wg.Wait()
	return err
}

func (rn *run) readAll(ctx context.Context, r formats.Reader, workers []*worker) error {
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		m, err := r.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read source: %w", err)
		}
		if err := rn.handle(ctx, m, workers); err != nil {
			return err
		}
	}
}

// lookup finds the folder state of a message; nil with no error means the
// folder is excluded.
func (rn *run) lookup(m *formats.Message) (*folderState, error) {
	pf := rn.plan.Folder(m.Mailbox)
	if pf != nil {
		return rn.folders[pf], nil
	}
	for _, mb := range rn.plan.Excluded {
		if mb == m.Mailbox || (m.Mailbox != nil && mailboxKey(mb) == mailboxKey(m.Mailbox)) {
			rn.mu.Lock()
			rn.rep.Totals.Excluded++
			rn.mu.Unlock()
			return nil, nil
		}
	}
	name := "<none>"
	if m.Mailbox != nil {
		name = m.Mailbox.DisplayPath()
	}
	return nil, &formats.MessageError{Pos: m.Pos, Op: "plan folder", Err: fmt.Errorf("the reader did not list its folder %q", name)}
}

// count records a message found in the source; it returns the source
// entry (nil for skipped ones) or an error when the message cannot be read.
func (rn *run) count(fs *folderState, m *formats.Message) *sourceEntry {
	rn.mu.Lock()
	fs.rep.Found++
	rn.prog.Found++
	rn.prog.FoundBytes += m.Size
	rn.prog.Folder = fs.pf.Server
	if m.Incomplete != "" && m.Skip == "" {
		fs.rep.Incomplete = append(fs.rep.Incomplete, Problem{Pos: m.Pos.String(), Reason: m.Incomplete})
	}
	if m.Skip != "" {
		if fs.rep.Skipped == nil {
			fs.rep.Skipped = map[string]int{}
		}
		fs.rep.Skipped[m.Skip]++
		rn.progressLocked(func(p *Progress) { p.Done++; p.DoneBytes += m.Size })
		rn.mu.Unlock()
		return nil
	}
	rn.mu.Unlock()
	// Verify reads each message whole to apply Upload's NUL policy (Upload
	// finds NULs while it spools the message).
	fp, id, nul, err := fingerprintMessage(m, rn.verify)
	e := &sourceEntry{fp: fp, pos: m.Pos, msgID: id}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if err != nil {
		e.state = entryFailed
		fs.rep.Failed = append(fs.rep.Failed, Problem{Pos: m.Pos.String(), Reason: err.Error()})
		rn.progressLocked(func(p *Progress) { p.Done++; p.DoneBytes += m.Size })
		return nil
	}
	if nul {
		// Never uploaded: not missing, but not uploadable either, as the
		// upload reports it.
		e.state = entryQuarantined
		fs.rep.Quarantined = append(fs.rep.Quarantined, Problem{Pos: m.Pos.String(), MessageID: id, Reason: ReasonNotUploadable + ReasonNUL})
		fs.sources = append(fs.sources, e)
		rn.progressLocked(func(p *Progress) { p.Done++; p.DoneBytes += m.Size })
		return nil
	}
	if n := len(fs.rep.Incomplete); n > 0 && fs.rep.Incomplete[n-1].Pos == m.Pos.String() {
		fs.rep.Incomplete[n-1].MessageID = id
	}
	fs.sources = append(fs.sources, e)
	return e
}

// handle decides what to do with one source message.
func (rn *run) handle(ctx context.Context, m *formats.Message, workers []*worker) error {
	fs, err := rn.lookup(m)
	if err != nil {
		return err
	}
	if fs == nil {
		return nil
	}
	e := rn.count(fs, m)
	if e == nil {
		return nil
	}
	rn.mu.Lock()
	if key, ok := fs.available.take(e.fp); ok {
		fs.consumed[key]++
		fs.rep.Already++
		rn.progressLocked(func(p *Progress) { p.Done++; p.DoneBytes += m.Size })
		rn.mu.Unlock()
		return nil
	}
	flags := fs.appendFlags(m.Flags)
	rn.mu.Unlock()

	weight := min(m.Size, int64(rn.opts.memLimit())) + 512
	if err := rn.budget.acquire(ctx, weight); err != nil {
		rn.endEntry(fs, e, m.Size, outFailed, errStopped.Error(), "")
		return err
	}
	j := &job{fs: fs, e: e, flags: flags, date: m.Date, size: m.Size, weight: weight,
		spool: formats.NewSpool(rn.opts.TempDir, rn.opts.memLimit())}
	j.spool.Expect(m.Size)
	nul, err := copyMessage(j.spool, m)
	switch {
	case err != nil:
		rn.done(j, outFailed, err.Error())
		return nil
	case nul:
		rn.done(j, outQuarantined, ReasonNUL)
		return nil
	}
	w := rn.workerFor(e, workers)
	select {
	case w.jobs <- j:
		return nil
	case <-ctx.Done():
		rn.done(j, outFailed, errStopped.Error())
		return ctx.Err()
	}
}

// copyMessage reads a message into the spool, noting NUL bytes, and checks
// that the reader's Size was exact (APPEND declares it up front).
func copyMessage(sp *formats.Spool, m *formats.Message) (nul bool, err error) {
	rc, err := m.Open()
	if err != nil {
		return false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	nc := &nulCheck{w: sp}
	_, err = io.Copy(nc, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	if sp.Size() != m.Size {
		return false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: fmt.Errorf("the reader announced %d bytes but gave %d", m.Size, sp.Size())}
	}
	return nc.nul, nil
}

// workerFor picks the worker of a message: that of its lane (lanes.go).
func (rn *run) workerFor(e *sourceEntry, workers []*worker) *worker {
	return workers[rn.laneOf(e.fp)]
}

type outcome int

const (
	outUploaded outcome = iota
	outQuarantined
	outFailed
)

// done ends a job: it records the outcome, writes the quarantined copy,
// and frees the message's memory.
func (rn *run) done(j *job, o outcome, reason string) {
	file := ""
	if o == outQuarantined {
		if rc, err := j.spool.Open(); err == nil {
			f, qerr := rn.quar.save(j.fs.pf.Path, rc)
			_ = rc.Close()
			if qerr != nil {
				rn.log.Error("could not write quarantined message", "pos", j.e.pos.String(), "err", qerr)
				reason += " (copy not written: " + qerr.Error() + ")"
			}
			file = f
		}
	}
	if o == outUploaded {
		rn.thr.ok()
		rn.mu.Lock()
		key := j.e.fp
		if j.landed {
			key = j.key
		}
		j.fs.consumed[key]++
		j.fs.rep.Uploaded++
		j.fs.rep.Bytes += j.size
		if j.date.IsZero() {
			j.fs.rep.NoDate++
		}
		rn.progressLocked(func(p *Progress) {
			p.Done++
			p.DoneBytes += j.size
			p.Uploaded++
			p.UploadedBytes += j.size
		})
		rn.mu.Unlock()
	} else {
		rn.endEntry(j.fs, j.e, j.size, o, reason, file)
	}
	_ = j.spool.Close()
	rn.budget.release(j.weight)
}

// endEntry records a message that will not be on the server.
func (rn *run) endEntry(fs *folderState, e *sourceEntry, size int64, o outcome, reason, file string) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	p := Problem{Pos: e.pos.String(), MessageID: e.msgID, Reason: reason, File: file}
	if o == outQuarantined {
		e.state = entryQuarantined
		fs.rep.Quarantined = append(fs.rep.Quarantined, p)
		rn.log.Warn("message quarantined", "pos", p.Pos, "folder", fs.pf.Server, "reason", reason)
	} else {
		e.state = entryFailed
		fs.rep.Failed = append(fs.rep.Failed, p)
	}
	rn.progressLocked(func(p *Progress) { p.Done++; p.DoneBytes += size })
}

// hasNUL reports whether b holds a NUL byte.
func hasNUL(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
