package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
)

// run is one Upload or Verify.
type run struct {
	opts   Options
	log    *slog.Logger
	dial   *dialer
	rep    *Report
	plan   *Plan
	facts  *serverFacts
	verify bool // a Verify run: nothing is uploaded

	folders map[*PlannedFolder]*folderState
	order   []*folderState
	// lanes is how many workers every folder is spread over (lanes.go).
	lanes int

	quar   *quarantine
	budget *budget
	thr    throttle

	connCtx context.Context // the connections' life, see connLife
	parent  context.Context // the caller's context: cancelled means interrupted

	mu       sync.Mutex // guards the report, folder states and progress
	prog     Progress
	fatalErr error
	cancel   context.CancelCauseFunc
}

// folderState is one server folder during a run.
type folderState struct {
	pf  *PlannedFolder
	rep *FolderReport

	exists bool
	// available are the server's messages not yet matched with a source
	// message; consumed counts the matched and the appended ones, by the
	// server-side key, so that a reconnect can tell what landed.
	available *serverSet
	consumed  map[Fingerprint]int

	// permanent is PERMANENTFLAGS from SELECT; nil means every flag.
	permanent []imap.Flag
	anyKW     bool
	dropped   map[string]map[string]bool // reason -> keywords not sent

	sources []*sourceEntry
}

type entryState int

const (
	entryExpected entryState = iota // should be on the server
	entryQuarantined
	entryFailed
)

// sourceEntry is one source message of a folder, for verification.
type sourceEntry struct {
	fp    Fingerprint
	pos   formats.Pos
	msgID string
	state entryState
}

func newRun(opts Options) *run {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &run{
		opts:    opts,
		log:     log,
		rep:     &Report{Started: time.Now(), DryRun: opts.DryRun},
		folders: map[*PlannedFolder]*folderState{},
		quar:    &quarantine{dir: opts.quarantineDir(), off: opts.DryRun},
		budget:  newBudget(opts.inFlightBytes()),
	}
}

// fail records the first fatal error and stops the run.
func (rn *run) fail(err error) {
	rn.mu.Lock()
	if rn.fatalErr == nil {
		rn.fatalErr = err
		rn.rep.Stopped = err.Error()
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
		rn.log.Info("dry run: not sending "+op, append([]any{"folder", folder}, attrs...)...)
		return false
	}
	return true
}

func (rn *run) progress(f func(p *Progress)) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.progressLocked(f)
}

func (rn *run) progressLocked(f func(p *Progress)) {
	f(&rn.prog)
	if rn.opts.OnProgress != nil {
		rn.opts.OnProgress(rn.prog)
	}
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

// prepare opens the first connection and plans the folders.
func (rn *run) prepare(ctx context.Context, r formats.Reader, target Target) (*conn, []*formats.Mailbox, error) {
	rn.rep.Target = target.String()
	mailboxes, err := r.Mailboxes(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: read source folders: %v", ErrConfig, err)
	}
	d, err := newDialer(target, rn.opts.Password, &rn.opts, rn.log)
	if err != nil {
		return nil, nil, err
	}
	d.life = rn.connCtx
	rn.dial = d
	rn.progress(func(p *Progress) { p.Phase = "prepare" })
	var cn *conn
	var plan *Plan
	first := true
	err = rn.retry(ctx, "prepare", func() error {
		var err error
		if cn, err = d.dial(ctx); err != nil {
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
		facts, err := discover(cn)
		if err != nil {
			return err
		}
		rn.facts = facts
		info := facts.info
		if rn.opts.DryRun || rn.verify {
			if info, err = inferRefused(mailboxes, facts, rn.opts.Plan); err != nil {
				return err
			}
		}
		rn.facts.info = info
		plan, err = PlanFolders(mailboxes, info, rn.opts.Plan)
		return err
	}, func() bool { return cn.alive() }, func() { cn.close(); cn = nil })
	if err != nil {
		cn.close()
		return nil, nil, err
	}
	info := rn.facts.info
	rn.plan = plan
	rn.log.Debug("server", "delimiter", string(info.Delimiter), "special-use", info.SpecialUse, "folders", len(rn.facts.existing))
	return cn, mailboxes, nil
}

// createFolders creates the planned folders and their parents (parents
// first; "already exists" is success) and subscribes them all. A CREATE
// refused for a character ("[CANNOT] Character not allowed in mailbox
// name: '.'") adds the character to the refused set and plans again: the
// plan is a pure function of that set, so every re-run ends with the same
// names.
func (rn *run) createFolders(ctx context.Context, cn *conn, mailboxes []*formats.Mailbox) error {
	info := rn.facts.info
	created := map[string]bool{}
	subscribed := map[string]bool{}
	for {
		seen := map[string]bool{}
		restart := false
		for _, f := range rn.plan.Folders {
			for i := 1; i <= len(f.Path); i++ {
				name := strings.Join(f.Path[:i], string(info.Delimiter))
				if info.Delimiter == 0 {
					name = f.Server
					i = len(f.Path)
				}
				if seen[name] {
					continue
				}
				seen[name] = true
				if strings.EqualFold(name, "INBOX") || rn.facts.existing[name] {
					if err := rn.subscribe(ctx, cn, name, subscribed); err != nil {
						return err
					}
					continue
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if !rn.write("CREATE", name) {
					continue
				}
				err := cn.c.Create(name, nil).Wait()
				if ie := serverError(err); ie != nil && ie.Code == imap.ResponseCodeAlreadyExists {
					err = nil
				}
				if err != nil {
					if r, ok := refusedCharacter(err); ok && !strings.ContainsRune(info.Refused, r) && r != info.Delimiter {
						rn.log.Info("server refuses a character in folder names; planning again", "char", string(r), "folder", name)
						info.Refused += string(r)
						plan, perr := PlanFolders(mailboxes, info, rn.opts.Plan)
						if perr != nil {
							return perr
						}
						rn.plan, rn.facts.info = plan, info
						restart = true
						break
					}
					if retry, rerr := retryable(ctx, err, cn.alive()); retry || rerr != err {
						return fmt.Errorf("create folder %q: %w", name, rerr)
					}
					return fmt.Errorf("create folder %q: the server refused: %w", name, err)
				}
				rn.facts.existing[name] = true
				created[name] = true
				rn.log.Info("created folder", "folder", name)
				if err := rn.subscribe(ctx, cn, name, subscribed); err != nil {
					return err
				}
			}
			if restart {
				break
			}
		}
		if !restart {
			break
		}
	}
	for _, f := range rn.plan.Folders {
		if created[f.Server] {
			rn.stateOf(f).rep.Created = true
		}
	}
	return nil
}

// subscribe subscribes one folder, right after it was found or created
// and before its children are created: Dovecot refuses to subscribe an
// auto-created special-use folder ("Mailbox doesn't exist") once a child
// of it was created first.
func (rn *run) subscribe(ctx context.Context, cn *conn, name string, done map[string]bool) error {
	if done[name] || !rn.write("SUBSCRIBE", name) {
		return nil
	}
	done[name] = true
	err := cn.c.Subscribe(name).Wait()
	if serverError(err) != nil && !strings.EqualFold(name, "INBOX") {
		// A server listing a folder it has not created yet: create, retry.
		cerr := cn.c.Create(name, nil).Wait()
		if ie := serverError(cerr); cerr == nil || (ie != nil && ie.Code == imap.ResponseCodeAlreadyExists) {
			err = cn.c.Subscribe(name).Wait()
		}
	}
	if err != nil {
		if retry, rerr := retryable(ctx, err, cn.alive()); retry || rerr != err {
			return fmt.Errorf("subscribe folder %q: %w", name, rerr)
		}
		rn.log.Warn("could not subscribe folder; mail clients may not show it", "folder", name, "err", err)
	}
	return nil
}

// stateOf returns (creating) the state of a planned folder.
func (rn *run) stateOf(pf *PlannedFolder) *folderState {
	if fs := rn.folders[pf]; fs != nil {
		return fs
	}
	fr := &FolderReport{Server: pf.Server, ServerBefore: -1, ServerAfter: -1}
	for _, mb := range pf.Sources {
		fr.Sources = append(fr.Sources, mb.DisplayPath())
	}
	fs := &folderState{pf: pf, rep: fr, consumed: map[Fingerprint]int{}, available: newServerSet(), anyKW: true}
	rn.folders[pf] = fs
	rn.order = append(rn.order, fs)
	rn.rep.Folders = append(rn.rep.Folders, fr)
	return fs
}

// prescan learns what every target folder holds before anything is
// appended, and the flags it keeps.
func (rn *run) prescan(ctx context.Context, w *worker, fs *folderState) error {
	return w.withConn(ctx, func(cn *conn) error {
		readOnly := rn.opts.DryRun || rn.verify
		set, data, err := cn.fetchSet(ctx, fs.pf.Server, readOnly, false)
		if err != nil {
			return err
		}
		rn.mu.Lock()
		defer rn.mu.Unlock()
		fs.available = set
		fs.exists = data != nil
		fs.rep.ServerBefore = set.total
		if data != nil && !readOnly {
			fs.permanent = data.PermanentFlags
			fs.anyKW = data.PermanentFlags == nil
			for _, f := range data.PermanentFlags {
				if f == imap.FlagWildcard {
					fs.anyKW = true
				}
			}
		}
		return nil
	})
}

// finish completes the report.
func (rn *run) finish() {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.rep.Finished = time.Now()
	if rn.parent != nil && rn.parent.Err() != nil && rn.rep.Stopped == "" {
		rn.rep.Stopped = "interrupted"
	}
	for _, fs := range rn.order {
		for reason, kws := range fs.dropped {
			var l []string
			for k := range kws {
				l = append(l, k)
			}
			sort.Strings(l)
			rn.rep.KeywordWarnings = append(rn.rep.KeywordWarnings, KeywordWarning{Server: fs.pf.Server, Keywords: l, Reason: reason})
		}
	}
	if rn.plan != nil {
		rn.rep.Renames = rn.plan.Renames
		for _, mb := range rn.plan.Excluded {
			rn.rep.Excluded = append(rn.rep.Excluded, mb.DisplayPath())
		}
	}
	sort.Slice(rn.rep.Folders, func(i, j int) bool { return rn.rep.Folders[i].Server < rn.rep.Folders[j].Server })
	rn.rep.sum()
}

// result returns the error of a finished run: the context's error when it
// was cancelled (unwrapped), the fatal error, or the report's verdict.
func (rn *run) result(parent context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	if err := rn.fatal(); err != nil {
		return err
	}
	return rn.rep.Err()
}

// Keyword warnings.
const (
	reasonKeywordInvalid = "not a valid IMAP keyword (spaces, special or non-ASCII characters): not sent"
	reasonKeywordRefused = "the server keeps no new keywords in this folder (no \\* in PERMANENTFLAGS): not sent"
	reasonFlagUnknown    = "not a flag IMAP lets a client set: not sent"
)

var systemFlags = map[string]imap.Flag{
	`\seen`:     imap.FlagSeen,
	`\answered`: imap.FlagAnswered,
	`\flagged`:  imap.FlagFlagged,
	`\draft`:    imap.FlagDraft,
	`\deleted`:  imap.FlagDeleted,
}

// validKeyword reports whether s is an IMAP atom that servers accept as a
// keyword: printable ASCII without atom-specials (RFC 3501 flag-keyword;
// Dovecot refuses 8-bit atoms, go-imap fails the whole command on an
// invalid one).
func validKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// appendFlags turns a message's flags into what APPEND may send to this
// folder, recording (once per folder) what it leaves out. Call with rn.mu
// held.
func (fs *folderState) appendFlags(flags []string) []imap.Flag {
	var out []imap.Flag
	drop := func(reason, f string) {
		if fs.dropped == nil {
			fs.dropped = map[string]map[string]bool{}
		}
		if fs.dropped[reason] == nil {
			fs.dropped[reason] = map[string]bool{}
		}
		fs.dropped[reason][f] = true
	}
	seen := map[imap.Flag]bool{}
	for _, f := range flags {
		var flag imap.Flag
		switch {
		case strings.HasPrefix(f, `\`):
			sf, ok := systemFlags[strings.ToLower(f)]
			if !ok {
				drop(reasonFlagUnknown, f)
				continue
			}
			flag = sf
		case !validKeyword(f):
			drop(reasonKeywordInvalid, f)
			continue
		case !fs.anyKW && !hasFlag(fs.permanent, f):
			drop(reasonKeywordRefused, f)
			continue
		default:
			flag = imap.Flag(f)
		}
		key := imap.Flag(strings.ToLower(string(flag)))
		if !seen[key] {
			seen[key] = true
			out = append(out, flag)
		}
	}
	return out
}

func hasFlag(l []imap.Flag, f string) bool {
	for _, x := range l {
		if strings.EqualFold(string(x), f) {
			return true
		}
	}
	return false
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

var errStopped = errors.New(ReasonStopped)
