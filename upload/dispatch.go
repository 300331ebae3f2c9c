package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
)

// The dispatch: the source's messages, read one after the other, each
// recorded in the ledger, matched against what its folder already held,
// and, when it must go, read into memory (or a temporary file) and handed
// to the worker of its lane. Upload and Verify both admit messages the
// same way; only Upload dispatches them.

// stream reads the source and feeds the workers until the source ends;
// then the workers finish what they hold.
func (rn *run) stream(ctx context.Context, r formats.Reader, workers []*worker) error {
	var wg sync.WaitGroup
	rn.appending.Store(int32(len(workers)))
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	err := rn.eachMessage(ctx, r, func(m *formats.Message) error {
		return rn.dispatch(ctx, m, workers)
	})
	for _, w := range workers {
		close(w.jobs)
	}
	wg.Wait()
	return err
}

// eachMessage calls f for every message of the source; a reader error
// ends it (ctx's error unwrapped).
func (rn *run) eachMessage(ctx context.Context, r formats.Reader, f func(m *formats.Message) error) error {
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
			return fmt.Errorf("%w: %w", errReadSource, err)
		}
		if err := f(m); err != nil {
			return err
		}
	}
}

// admit records a source message in the ledger. It returns the message's
// folder and entry when the message should be on the server; nil when it
// was skipped, excluded, could not be read or cannot be uploaded (each
// recorded with its reason). An error means the run cannot go on.
func (rn *run) admit(m *formats.Message) (*folderState, *sourceEntry, error) {
	fs, err := rn.folderOf(m)
	if err != nil || fs == nil {
		return nil, nil, err
	}
	switch {
	case m.Skip != "":
		rn.led.skipped(fs, m, m.Skip)
		return nil, nil, nil
	case fs.notMail:
		rn.led.skipped(fs, m, fs.rep.NotMail)
		return nil, nil, nil
	}
	if fs.unusable != "" {
		e := rn.led.found(fs, m, Identity{Fingerprint: Fingerprint{Size: m.Size}})
		rn.led.failed(fs, e, Problem{Code: ProblemFolderRefused, Reason: fs.unusable})
		return nil, nil, nil
	}
	if m.Quarantine != "" {
		rn.keepFromSource(fs, m)
		return nil, nil, nil
	}
	// Verify reads each message whole to apply Upload's NUL policy (Upload
	// finds NULs while it reads the message for sending).
	var full *[32]byte
	if rn.verify && rn.opts.FullVerify {
		full = new([32]byte)
	}
	id, nul, err := identify(m, rn.verify, full)
	if err != nil {
		rn.led.unreadable(fs, m, err)
		return nil, nil, nil
	}
	e := rn.led.found(fs, m, id)
	if full != nil {
		e.full = *full
	}
	if nul {
		// Never uploaded: not missing, but not uploadable either, as the
		// upload reports it.
		rn.led.quarantined(fs, e, Problem{Code: ProblemNUL, Reason: ReasonNotUploadable + ReasonNUL})
		return nil, nil, nil
	}
	return fs, e, nil
}

// keepFromSource quarantines bytes the reader found but that are not a
// message (Message.Quarantine): they are never sent.
func (rn *run) keepFromSource(fs *folderState, m *formats.Message) {
	e := rn.led.found(fs, m, Identity{Fingerprint: Fingerprint{Size: m.Size}})
	p := Problem{Code: ProblemNotMessage, Reason: m.Quarantine}
	if !rn.verify && m.Open != nil {
		if rc, err := m.Open(); err == nil {
			p = rn.keep(fs, m.Pos, p, rc)
			_ = rc.Close()
		} else {
			p.Reason += " (copy not written: " + err.Error() + ")"
		}
	}
	rn.led.quarantined(fs, e, p)
}

// folderOf finds the folder state of a message; nil with no error means
// the folder is excluded (counted as such).
func (rn *run) folderOf(m *formats.Message) (*folderState, error) {
	if pf := rn.plan.Folder(m.Mailbox); pf != nil {
		if fs := rn.led.lookup(pf); fs != nil {
			return fs, nil
		}
	}
	if m.Mailbox != nil && rn.plan.IsNotMail(m.Mailbox) {
		if fs := rn.notMail[m.Mailbox.DisplayPath()]; fs != nil {
			return fs, nil
		}
	}
	if m.Mailbox != nil && rn.plan.IsExcluded(m.Mailbox) {
		rn.led.excluded()
		return nil, nil
	}
	name := "<none>"
	if m.Mailbox != nil {
		name = m.Mailbox.DisplayPath()
	}
	return nil, &formats.MessageError{Pos: m.Pos, Op: "plan folder", Err: fmt.Errorf("the reader did not list its folder %q", name)}
}

// dispatch decides what to do with one source message: nothing when it is
// on the server already, else read it and hand it to its lane's worker.
func (rn *run) dispatch(ctx context.Context, m *formats.Message, workers []*worker) error {
	fs, e, err := rn.admit(m)
	if err != nil || e == nil {
		return err
	}
	if rn.led.already(fs, e) {
		return nil
	}
	flags := rn.led.flagsFor(fs, m.Flags)
	weight := min(m.Size, int64(rn.opts.memLimit())) + 512
	if err := rn.budget.acquire(ctx, weight); err != nil {
		rn.led.failed(fs, e, Problem{Code: ProblemStopped, Reason: ReasonStopped})
		return err
	}
	j := &job{fs: fs, e: e, flags: flags, date: m.Date, size: m.Size, weight: weight,
		spool: formats.NewSpool(rn.opts.TempDir, rn.opts.memLimit())}
	j.spool.Expect(m.Size)
	var h hash.Hash
	if rn.checks.choose(e) {
		h = sha256.New()
	}
	nul, err := copyMessage(j.spool, m, h)
	if h != nil && err == nil {
		h.Sum(e.full[:0])
	}
	switch {
	case err != nil:
		rn.end(j, outFailed, Problem{Code: ProblemUnreadable, Reason: err.Error()})
		return nil
	case nul:
		rn.end(j, outQuarantined, Problem{Code: ProblemNUL, Reason: ReasonNUL})
		return nil
	}
	w := workers[rn.laneOf(e.id.Fingerprint)]
	select {
	case w.jobs <- j:
		return nil
	case <-ctx.Done():
		rn.end(j, outFailed, Problem{Code: ProblemStopped, Reason: ReasonStopped})
		return ctx.Err()
	}
}

// copyMessage reads a message into the spool (and h, when not nil),
// noting NUL bytes, and checks that the reader's Size was exact (APPEND
// declares it up front).
func copyMessage(sp *formats.Spool, m *formats.Message, h hash.Hash) (nul bool, err error) {
	rc, err := m.Open()
	if err != nil {
		return false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	var w io.Writer = sp
	if h != nil {
		w = io.MultiWriter(sp, h)
	}
	nc := &nulCheck{w: w}
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

// flagsFor turns a message's flags into what APPEND may send to the
// folder (see folderState.appendFlags).
func (l *ledger) flagsFor(fs *folderState, flags []string) []imap.Flag {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fs.appendFlags(flags)
}

// budget bounds the bytes of messages in flight. A message larger than the
// whole budget may still go when nothing else is in flight.
type budget struct {
	mu    sync.Mutex
	max   int64
	avail int64
	wake  chan struct{}
}

func newBudget(n int64) *budget { return &budget{max: n, avail: n, wake: make(chan struct{})} }

func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.avail >= n || b.avail == b.max {
			b.avail -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.avail += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// nulCheck passes bytes through and notes a NUL byte.
type nulCheck struct {
	w   io.Writer
	nul bool
}

func (n *nulCheck) Write(p []byte) (int, error) {
	if !n.nul && hasNUL(p) {
		n.nul = true
	}
	return n.w.Write(p)
}

// errReadSource marks a failure of the source's reader.
var errReadSource = errors.New("read source")

// hasNUL reports whether b holds a NUL byte.
func hasNUL(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 }
