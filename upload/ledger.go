package upload

import (
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
	"mailferry/upload/plan"
)

// The ledger owns the outcome of every source message of a run: found,
// skipped, already on the server, uploaded, quarantined or failed, and
// what the run believes each server folder holds. Everything that changes
// these goes through one of its methods, under its one lock, and every
// message ends in exactly one bucket (Report.CheckTotals). Progress is
// published outside the lock (see publisher), so that a slow terminal
// never holds up a worker.
type ledger struct {
	mu      sync.Mutex
	rep     *Report
	folders map[*plan.Folder]*folderState
	order   []*folderState
	prog    Progress
	pub     *publisher
}

// folderState is one server folder during a run.
type folderState struct {
	pf  *plan.Folder
	rep *FolderReport
	// server is the folder's name on the wire: the plan's, or the server's
	// own spelling of an existing folder (INBOX listed as "Inbox").
	server string

	exists bool
	// unusable says why the folder could not be created (its messages are
	// not uploaded); notMail that its source holds no mail. Neither is
	// pre-scanned or verified.
	unusable string
	notMail  bool
	// available are the server's messages not yet matched with a source
	// message; consumed counts the matched and the appended ones, by the
	// server-side key, so that a reconnect can tell what landed.
	available *serverSet
	consumed  map[Fingerprint]int

	// permanent is PERMANENTFLAGS from SELECT; nil means every flag.
	permanent []imap.Flag
	anyKW     bool
	dropped   map[string]map[string]bool // reason -> keywords not sent
	// refusedKW are keywords the server refused in a message of this
	// folder (lower case -> the server's answer): not sent again.
	refusedKW map[string]string

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
	id    Identity
	pos   formats.Pos
	msgID string
	size  int64
	state entryState
	// full is the SHA-256 of the whole message, for the full check
	// (fullcheck.go); zero when not computed.
	full [32]byte
}

func newLedger(rep *Report, onProgress func(Progress)) *ledger {
	return &ledger{rep: rep, folders: map[*plan.Folder]*folderState{}, pub: newPublisher(onProgress)}
}

// folder returns (creating) the state of a planned folder.
func (l *ledger) folder(pf *plan.Folder) *folderState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fs := l.folders[pf]; fs != nil {
		return fs
	}
	fr := &FolderReport{Server: pf.Server, ServerBefore: -1, ServerAfter: -1}
	for _, mb := range pf.Sources {
		fr.Sources = append(fr.Sources, mb.DisplayPath())
	}
	fs := &folderState{pf: pf, rep: fr, server: pf.Server, consumed: map[Fingerprint]int{}, available: newServerSet(), anyKW: true}
	l.folders[pf] = fs
	l.order = append(l.order, fs)
	l.rep.Folders = append(l.rep.Folders, fr)
	return fs
}

// lookup returns the state of a planned folder, nil when it has none.
func (l *ledger) lookup(pf *plan.Folder) *folderState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.folders[pf]
}

// serverFolders returns the folders to pre-scan and verify, in plan
// order: those that exist (or will) on the server.
func (l *ledger) serverFolders() []*folderState {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*folderState
	for _, fs := range l.order {
		if fs.unusable == "" && !fs.notMail {
			out = append(out, fs)
		}
	}
	return out
}

// phase publishes the start of a phase of the run.
func (l *ledger) phase(p Phase) {
	l.update(func(pr *Progress) { pr.Phase = p })
}

// update changes the progress and publishes it.
func (l *ledger) update(f func(*Progress)) {
	l.mu.Lock()
	f(&l.prog)
	snap := l.prog
	l.mu.Unlock()
	l.pub.publish(snap)
}

// locked runs f under the ledger's lock and publishes the progress after.
func (l *ledger) locked(f func()) {
	l.mu.Lock()
	f()
	snap := l.prog
	l.mu.Unlock()
	l.pub.publish(snap)
}

// excluded counts a message of a folder left out by --include/--exclude.
func (l *ledger) excluded() {
	l.locked(func() { l.rep.Totals.Excluded++ })
}

// skipped records a source message not to upload, for the reason given
// (the reader's Message.Skip, or its folder's).
func (l *ledger) skipped(fs *folderState, m *formats.Message, reason string) {
	l.locked(func() {
		l.foundLocked(fs, m.Size)
		if fs.rep.Skipped == nil {
			fs.rep.Skipped = map[string]int{}
		}
		fs.rep.Skipped[reason]++
		l.doneLocked(m.Size)
	})
}

// found records a source message that should end on the server and
// returns its entry. A message incomplete in the source is noted.
func (l *ledger) found(fs *folderState, m *formats.Message, id Identity) *sourceEntry {
	e := &sourceEntry{id: id, pos: m.Pos, msgID: id.MessageID, size: m.Size}
	l.locked(func() {
		l.foundLocked(fs, m.Size)
		if m.Incomplete != "" {
			fs.rep.Incomplete = append(fs.rep.Incomplete, Problem{Code: ProblemIncomplete, Pos: m.Pos.String(), MessageID: id.MessageID, Reason: m.Incomplete})
		}
		fs.sources = append(fs.sources, e)
	})
	return e
}

// unreadable records a source message that could not be read.
func (l *ledger) unreadable(fs *folderState, m *formats.Message, err error) {
	l.locked(func() {
		l.foundLocked(fs, m.Size)
		fs.rep.Failed = append(fs.rep.Failed, Problem{Code: ProblemUnreadable, Pos: m.Pos.String(), Reason: err.Error()})
		l.doneLocked(m.Size)
	})
}

func (l *ledger) foundLocked(fs *folderState, size int64) {
	fs.rep.Found++
	l.prog.Found++
	l.prog.FoundBytes += size
	l.prog.Folder = fs.server
}

func (l *ledger) doneLocked(size int64) {
	l.prog.Done++
	l.prog.DoneBytes += size
}

// already takes a server message matching e from what the folder held
// before the run; it reports whether there was one.
func (l *ledger) already(fs *folderState, e *sourceEntry) bool {
	found := false
	l.locked(func() {
		key, how := fs.available.take(e.id, matchWeak)
		if how == matchNone {
			return
		}
		found = true
		fs.consumed[key]++
		fs.rep.Already++
		l.doneLocked(e.size)
	})
	return found
}

// uploaded records a message the server confirmed, or one found landed
// after a broken connection (under the server-side key it was found by).
func (l *ledger) uploaded(fs *folderState, e *sourceEntry, key Fingerprint, date time.Time) {
	l.locked(func() {
		fs.consumed[key]++
		fs.rep.Uploaded++
		fs.rep.Bytes += e.size
		if date.IsZero() {
			fs.rep.NoDate++
		}
		l.doneLocked(e.size)
		l.prog.Uploaded++
		l.prog.UploadedBytes += e.size
	})
}

// quarantined records a message that will not be on the server and whose
// bytes went to the quarantine folder (file, when written).
func (l *ledger) quarantined(fs *folderState, e *sourceEntry, p Problem) {
	l.locked(func() {
		e.state = entryQuarantined
		p.Pos, p.MessageID = e.pos.String(), e.msgID
		fs.rep.Quarantined = append(fs.rep.Quarantined, p)
		l.doneLocked(e.size)
	})
}

// failed records a message that is not on the server for a reason other
// than a refusal: the run stopped, or it could not be sent.
func (l *ledger) failed(fs *folderState, e *sourceEntry, p Problem) {
	l.locked(func() {
		e.state = entryFailed
		p.Pos, p.MessageID = e.pos.String(), e.msgID
		fs.rep.Failed = append(fs.rep.Failed, p)
		l.doneLocked(e.size)
	})
}

// prescanned records what a folder holds before anything is appended, and
// (unless readOnly) the flags it keeps.
func (l *ledger) prescanned(fs *folderState, set *serverSet, data *imap.SelectData, readOnly bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
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
}

// reconcile replaces what the run believes a folder holds by what the
// server says after a reconnect, and tells which of the jobs whose outcome
// was unknown landed: the server's multiset minus everything already
// matched or appended is what is left to match. Only the keys for which
// mine says yes (the worker's lane, lanes.go) are judged and replaced: the
// other lanes' messages may be in flight on other connections. With one
// lane that is the whole folder. A landed job's key is the server-side key
// it was found by.
func (l *ledger) reconcile(fs *folderState, set *serverSet, unknown []*job, mine func(Fingerprint) bool) (landed, rest []*job) {
	l.mu.Lock()
	defer l.mu.Unlock()
	set.keep(mine)
	for k, n := range fs.consumed {
		if c := min(set.count[k], n); c > 0 {
			set.count[k] -= c
			set.total -= c
		}
	}
	for _, u := range unknown {
		if key, how := set.take(u.e.id, matchLoose); how != matchNone {
			set.total--
			u.key = key
			landed = append(landed, u)
		} else {
			rest = append(rest, u)
		}
	}
	fs.available.keep(func(k Fingerprint) bool { return !mine(k) })
	fs.available.merge(set)
	return landed, rest
}

// verified records the comparison of a folder with the server (or the
// error that kept it from being checked).
func (l *ledger) verified(fs *folderState, set *serverSet, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		fs.rep.Verify = &FolderVerify{Status: StatusError, Error: err.Error()}
		return
	}
	fs.rep.ServerAfter = set.total
	fs.rep.Verify = compare(fs.sources, set)
}

// fullyChecked records the messages of a folder compared byte for byte,
// and those whose bytes differ.
func (l *ledger) fullyChecked(fs *folderState, checked int, differ []Problem) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rep.FullyChecked += checked
	if v := fs.rep.Verify; v != nil && len(differ) > 0 {
		v.BodyDiffers = append(v.BodyDiffers, differ...)
		v.Status = StatusMissing
	}
}

// close completes the report and waits until the last progress was
// published.
func (l *ledger) close(p *plan.Plan) {
	l.mu.Lock()
	for _, fs := range l.order {
		for reason, kws := range fs.dropped {
			var list []string
			for k := range kws {
				list = append(list, k)
			}
			sort.Strings(list)
			l.rep.KeywordWarnings = append(l.rep.KeywordWarnings, KeywordWarning{Server: fs.server, Keywords: list, Reason: reason})
		}
	}
	if p != nil {
		l.rep.Renames = p.Renames
		for _, mb := range p.Excluded {
			l.rep.Excluded = append(l.rep.Excluded, mb.DisplayPath())
		}
	}
	sort.Slice(l.rep.Folders, func(i, j int) bool { return l.rep.Folders[i].Server < l.rep.Folders[j].Server })
	l.rep.sum()
	l.mu.Unlock()
	l.pub.close()
}

// publisher hands progress snapshots to Options.OnProgress on a goroutine
// of its own, one call at a time and newest last: snapshots that arrive
// while one is being shown are merged, so that only the newest is shown
// next. A slow terminal so never holds up the run.
type publisher struct {
	f      func(Progress)
	mu     sync.Mutex
	latest Progress
	dirty  bool
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newPublisher(f func(Progress)) *publisher {
	p := &publisher{f: f, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if f == nil {
		close(p.done)
		return p
	}
	go p.loop()
	return p
}

func (p *publisher) publish(s Progress) {
	if p.f == nil {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.latest, p.dirty = s, true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *publisher) loop() {
	defer close(p.done)
	for range p.wake {
		for {
			p.mu.Lock()
			if !p.dirty {
				closed := p.closed
				p.mu.Unlock()
				if closed {
					return
				}
				break
			}
			s := p.latest
			p.dirty = false
			p.mu.Unlock()
			p.f(s)
		}
	}
}

// close publishes what is left and waits for it.
func (p *publisher) close() {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if p.f != nil && !already {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	<-p.done
}
