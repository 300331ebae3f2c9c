package upload

import (
	"context"
	"errors"
	"sort"
	"sync"
)

// How the workers share the server.
//
// Connection limits. Servers allow a user a few connections (Dovecot's
// mail_max_userip_connections, 10 by default; Gmail 15; some providers 2)
// and refuse the one too many at login ("Maximum number of connections
// from user+IP exceeded"). The pre-scan and the verify pass use no more
// workers than there are folders, those holding a connection first, so
// that no worker dials while another holds an idle connection; the connect
// pass before the upload then opens the others. A worker refused a
// connection that way while others of its pass go on is retired: it hands
// its folder back, and the rest of the run uses the connections the server
// allowed
// (Report.Connections). During the upload the refusal is retried like any
// other failure (a connection of ours that just broke may still count on
// the server for a moment), and giving up suggests fewer connections.
//
// Lanes. The source's folders come one after another, so one folder at a
// time is being uploaded. Every folder's messages are spread over all the
// connections the server allows (a connect pass opens them first): a
// message's lane, its worker, is chosen by its size. This pays twice:
//   - On a server without LITERAL+ every APPEND of a message over 4 KiB
//     waits one round trip for the server's "+" (RFC 3501 synchronizing
//     literal), so one connection stores at most one such message per
//     round trip; n connections store n.
//   - Dovecot stores one command of one session at a time (read the
//     literal, write and fsync the file), and locks the folder only to
//     commit. Several sessions overlap that work, with MULTIAPPEND too
//     (README, Performance, has the measurements).
//
// Messages that could be taken for one another after a broken connection
// (the same Fingerprint, or the same size with a header the server returns
// empty, see serverSet.take) are the same size, so they always travel on
// the same connection, and a worker's check after a reconnect (reconcile)
// only judges its own lane: the other workers' messages in flight can
// neither be counted as its own nor be counted twice. Messages then arrive
// out of source order (UIDs; --connections 1 keeps it), which mail clients
// sort by date anyway (the internal date is the received date).

// errRetired is what a retired worker's task returns: its folder goes to
// another worker.
var errRetired = errors.New("the server allows this user no more connections")

// pass is a group of workers working through the same tasks; at least one
// of them must stay.
type pass struct {
	mu     sync.Mutex
	active int // workers not retired
}

// leave reports whether a worker may retire, and counts it out.
func (p *pass) leave() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active <= 1 {
		return false
	}
	p.active--
	return true
}

// isConnectionLimit reports a connection refused because the user has
// too many: a login refused so (see connectionLimit), or a connection the
// server closed right after it was opened (Courier's per-address limit
// resets it).
func isConnectionLimit(err error) bool {
	var te *throttleError
	var ce *ClosedAtConnectError
	return errors.As(err, &te) && connectionLimit.MatchString(te.Error()) || errors.As(err, &ce)
}

// mayRetire retires w when the server refused it a new connection for the
// user's limit and its pass lets it go.
func (w *worker) mayRetire(err error) bool {
	if w.pass == nil || !isConnectionLimit(err) || !w.pass.leave() {
		return false
	}
	w.retired = true
	w.rn.log.Warn("the server refused one more connection; going on with fewer", "worker", w.id, "answer", err)
	return true
}

// live returns the workers not retired, in order.
func live(workers []*worker) []*worker {
	var ws []*worker
	for _, w := range workers {
		if !w.retired {
			ws = append(ws, w)
		}
	}
	return ws
}

// forEachFolder runs f on every folder, spread over the live workers'
// connections, and returns the first error that is not about one folder.
// It uses no more workers than folders, those holding a connection first;
// a worker that retires (errRetired) hands its folder to the others.
func (rn *run) forEachFolder(ctx context.Context, workers []*worker, f func(ctx context.Context, w *worker, fs *folderState) error) error {
	ws := live(workers)
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].cn.alive() && !ws[j].cn.alive() })
	folders := rn.led.serverFolders()
	ws = ws[:min(len(ws), len(folders))]
	q := &folderQueue{todo: folders}
	q.cond = sync.NewCond(&q.mu)
	p := &pass{active: len(ws)}
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, w := range ws {
		w.pass = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				fs := q.take(ctx)
				if fs == nil {
					return
				}
				err := f(ctx, w, fs)
				retired := errors.Is(err, errRetired)
				q.finish(fs, retired)
				if retired {
					return
				}
				if err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	wg.Wait()
	for _, w := range ws {
		w.pass = nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// folderQueue hands out folders; one handed back goes out again.
type folderQueue struct {
	mu   sync.Mutex
	cond *sync.Cond
	todo []*folderState
	busy int // handed out, not finished
}

// take returns the next folder, waiting while others are being worked on
// (one may come back); nil when none is left or ctx ended.
func (q *folderQueue) take(ctx context.Context) *folderState {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.todo) == 0 && q.busy > 0 && ctx.Err() == nil {
		q.cond.Wait()
	}
	if len(q.todo) == 0 || ctx.Err() != nil {
		return nil
	}
	fs := q.todo[0]
	q.todo = q.todo[1:]
	q.busy++
	return fs
}

func (q *folderQueue) finish(fs *folderState, handBack bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.busy--
	if handBack {
		q.todo = append([]*folderState{fs}, q.todo...)
	}
	q.cond.Broadcast()
}

// connectAll opens a connection for every live worker that has none (of
// either client), all at once; workers the server refuses for the user's
// limit retire (never the last), so the lanes are the connections the
// server allows.
func (rn *run) connectAll(ctx context.Context, workers []*worker) error {
	ws := live(workers)
	p := &pass{active: len(ws)}
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		if w.cn.alive() || w.bc.alive() {
			// Connected (a spare is kept for the bulk path as it is:
			// handing it to go-imap and back would cost round trips).
			continue
		}
		w.pass = p
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.withConn(ctx, func(*conn) error { return nil })
		}()
	}
	wg.Wait()
	for _, w := range ws {
		w.pass = nil
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, errRetired) {
			return err
		}
	}
	return ctx.Err()
}

// setLanes spreads the folders over the workers: one lane each.
func (rn *run) setLanes(workers []*worker) {
	rn.lanes = len(workers)
	for i, w := range workers {
		w.lane = i
	}
}

// laneOf is the lane of a message with fingerprint fp (0 without lanes).
func (rn *run) laneOf(fp Fingerprint) int {
	if rn.lanes <= 1 {
		return 0
	}
	// Fibonacci hashing: sizes that differ in any bits spread evenly (a
	// plain modulo would put all even sizes into the even lanes).
	return int((uint64(fp.Size) * 0x9E3779B97F4A7C15 >> 32) % uint64(rn.lanes))
}

// laneFilter reports whether a server key belongs to lane (always
// without lanes).
func (rn *run) laneFilter(lane int) func(Fingerprint) bool {
	return func(k Fingerprint) bool { return rn.lanes <= 1 || rn.laneOf(k) == lane }
}

// spares are connections opened while the first one learns the server,
// creates the folders and pre-scans: each costs several round trips (TCP,
// TLS, greeting, login, COMPRESS), which on a distant server add up to a
// noticeable wait when they are opened only once the upload is about to
// start. They are opened as soon as the first login succeeded
// (run.prepare), so a wrong password is tried once, not once per
// connection. A spare the server refuses (its limit of connections per
// user) is dropped without a word: the connect pass that follows meets
// the limit again and says so.
type spares struct {
	ch chan *bulkConn
	n  int
}

// openSpares starts opening n connections.
func (rn *run) openSpares(ctx context.Context, n int) *spares {
	s := &spares{ch: make(chan *bulkConn, max(n, 0)), n: max(n, 0)}
	for range s.n {
		go func() {
			bc, err := rn.dial.open(ctx)
			if err != nil {
				rn.log.Debug("spare connection not opened", "error", err)
				bc = nil
			}
			s.ch <- bc
		}()
	}
	return s
}

// hand waits for the spares and gives each that opened to a worker
// without a connection; the rest are closed. It returns how many were
// given.
func (s *spares) hand(workers []*worker) (given int) {
	if s == nil {
		return 0
	}
	for range s.n {
		bc := <-s.ch
		if bc == nil {
			continue
		}
		for _, w := range workers {
			if w.cn == nil && w.bc == nil && !w.retired {
				w.bc, bc = bc, nil
				given++
				break
			}
		}
		bc.close(false)
	}
	s.n = 0
	return given
}

// close waits for the spares and closes them (the run stopped before it
// needed them).
func (s *spares) close() { s.hand(nil) }
