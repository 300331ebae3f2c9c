package upload

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Following (issue 6): the verification needs the headers of every message
// of a folder, and fetching them all after the upload made the run wait
// for the server to read back what it had just stored (about 7% of a
// one-folder run against Dovecot). When a connection is to spare, a
// follower EXAMINEs the folders being uploaded on its own connection and
// fetches, by UID, what arrived since its last look, while the upload goes
// on: the server reads the new files from its page cache on the core that
// is idle while the uploading session waits for fsync.
//
// The verify pass then only catches up (catchUp): EXAMINE again, fetch the
// UIDs not seen yet, and compare the folder's message count with the
// messages collected. UIDs only grow (RFC 3501 2.3.1.1), so every message
// in the folder was either collected by an earlier look or is fetched now;
// the collection can only hold too many (messages expunged since), and then
// the counts differ. Equal counts (and an unchanged UIDVALIDITY) prove that
// the collection is exactly the folder; anything else, or any error, falls
// back to the full FETCH of the folder, as without a follower.

// followInterval is how often the follower looks for new messages.
const followInterval = 250 * time.Millisecond

// followed is what the follower collected of one folder.
type followed struct {
	set      *serverSet
	next     imap.UID // the lowest UID not collected yet
	validity uint32
}

// follower runs beside the workers during the upload.
type follower struct {
	rn   *run
	cn   *conn
	wake chan struct{}
	// folders it may follow, and which of them have started uploading
	mu      sync.Mutex
	started map[*folderState]bool
	// results, read after stop
	state    map[*folderState]*followed
	quit     chan struct{} // closed by finish or yield: stop after the current look
	quitOnce sync.Once
	done     chan struct{}
}

// startFollower starts a follower when the run has a connection to spare:
// fewer target folders than the connections the workers may use, and the
// folders not spread over them (lanes.go). It returns nil otherwise.
func (rn *run) startFollower(ctx context.Context, connections int) *follower {
	if rn.opts.DryRun || rn.verify || rn.lanes > 1 || len(rn.order) >= connections || rn.opts.noFollow {
		return nil
	}
	f := &follower{
		rn: rn, wake: make(chan struct{}, 1), started: map[*folderState]bool{},
		state: map[*folderState]*followed{}, quit: make(chan struct{}), done: make(chan struct{}),
	}
	go f.loop(ctx)
	return f
}

// uploading tells the follower that messages are being appended to fs.
func (f *follower) uploading(fs *folderState) {
	if f == nil {
		return
	}
	f.mu.Lock()
	first := !f.started[fs]
	f.started[fs] = true
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// finish stops the follower and returns what it collected per folder (nil
// for a nil follower). A look in progress is completed, not cut: a cut one
// would lose the folder's collection.
func (f *follower) finish() map[*folderState]*followed {
	if f == nil {
		return nil
	}
	f.yield()
	<-f.done
	return f.state
}

// yield makes the follower stop after its current look and log out. The
// workers call it when they cannot connect or the server asks to slow
// down: servers limit connections per user (some to fewer than
// --connections), and the follower must never hold one that the upload
// needs. What it collected so far stays usable.
func (f *follower) yield() {
	if f == nil {
		return
	}
	f.quitOnce.Do(func() { close(f.quit) })
}

func (f *follower) loop(ctx context.Context) {
	defer close(f.done)
	defer func() {
		if f.cn != nil {
			f.cn.close()
		}
	}()
	tick := time.NewTicker(f.rn.opts.followEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.quit:
			return
		case <-tick.C:
		case <-f.wake:
		}
		f.mu.Lock()
		var folders []*folderState
		for _, fs := range f.rn.order {
			if f.started[fs] {
				folders = append(folders, fs)
			}
		}
		f.mu.Unlock()
		for _, fs := range folders {
			if err := f.look(ctx, fs); err != nil {
				if ctx.Err() != nil {
					return
				}
				// Best effort only: the verify pass fetches this folder in
				// full.
				f.rn.log.Debug("following the upload stopped; verify fetches the folders it had not finished in full", "folder", fs.pf.Server, "err", err)
				return
			}
		}
		if h := f.rn.opts.onFollow; h != nil {
			n := 0
			for _, fl := range f.state {
				n += fl.set.total
			}
			h(n)
		}
	}
}

// look collects the messages of fs that arrived since the last look.
func (f *follower) look(ctx context.Context, fs *folderState) error {
	if f.cn == nil {
		cn, err := f.rn.dial.dial(ctx)
		if err != nil {
			return err
		}
		f.cn = cn
	}
	fl := f.state[fs]
	if fl == nil {
		fl = &followed{set: newServerSet(), next: 1}
		fl.set.ids = map[Fingerprint]string{}
		f.state[fs] = fl
	}
	if f.cn.selected != fs.pf.Server {
		data, exists, err := f.cn.selectFolder(fs.pf.Server, true)
		switch {
		case err == nil && !exists:
			err = fmt.Errorf("folder %q does not exist", fs.pf.Server)
		case err == nil && fl.validity == 0:
			fl.validity = data.UIDValidity
		case err == nil && data.UIDValidity != fl.validity:
			err = fmt.Errorf("folder %q: UIDVALIDITY changed", fs.pf.Server)
		}
		if err != nil {
			delete(f.state, fs)
			return err
		}
	}
	if err := f.cn.fetchFrom(ctx, fl); err != nil {
		// A FETCH cut short (also by the end of the upload) may have
		// collected messages without moving fl.next past them.
		delete(f.state, fs)
		return err
	}
	return nil
}

// fetchFrom adds the selected folder's messages from fl.next on to fl.
func (cn *conn) fetchFrom(ctx context.Context, fl *followed) error {
	cmd := cn.c.Fetch(imap.UIDSet{imap.UIDRange{Start: fl.next, Stop: 0}}, &imap.FetchOptions{
		UID:         true,
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{headerSection},
	})
	top, err := cn.collect(ctx, cmd, fl.set, fl.next)
	if err != nil {
		return err
	}
	if top >= fl.next {
		fl.next = top + 1
	}
	return nil
}

// catchUp completes what the follower collected of a folder and reports
// whether it is exactly the folder now (see Following). A false without an
// error means: fetch the folder in full.
func (cn *conn) catchUp(ctx context.Context, name string, fl *followed) (*serverSet, bool, error) {
	data, exists, err := cn.selectFolder(name, true)
	if err != nil || !exists || data.UIDValidity != fl.validity {
		return nil, false, err
	}
	if err := cn.fetchFrom(ctx, fl); err != nil {
		return nil, false, err
	}
	// The count after the FETCH: EXISTS and EXPUNGE answers update it.
	if err := cn.c.Noop().Wait(); err != nil {
		return nil, false, err
	}
	mb := cn.c.Mailbox()
	if mb == nil || int(mb.NumMessages) != fl.set.total {
		return nil, false, nil
	}
	return fl.set, true, nil
}
