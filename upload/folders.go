package upload

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
	"mailferry/upload/plan"
)

// createFolders creates the planned folders and their parents (parents
// first; "already exists" is success) and subscribes them all. A CREATE
// the server refuses teaches the run its rules for names (learnRefusal: a
// character, or the whole name) and the folders are planned again: the
// plan is a pure function of what was learned, so every re-run ends with
// the same names. A folder that cannot be created under any name is
// unusable: its messages are reported as not uploaded, and the other
// folders go on.
func (rn *run) createFolders(ctx context.Context, cn *conn, mailboxes []*formats.Mailbox) error {
	if rn.created == nil {
		rn.created = map[string]bool{}
		rn.empty = map[string]bool{}
		rn.unusable = map[string]string{}
		// The folders an earlier run created show what it learned about
		// names (as verify and dry runs read them): plan with that, so that
		// a re-run asks the server nothing again and creates no test
		// folders (Courier takes 2 s to delete one).
		info, err := inferRefused(mailboxes, rn.facts, rn.opts.Plan)
		if err != nil {
			return err
		}
		if info.Refused != rn.facts.info.Refused || len(info.RefusedNames) != len(rn.facts.info.RefusedNames) {
			rn.facts.info = info
			if rn.plan, err = makePlan(mailboxes, info, rn.opts.Plan); err != nil {
				return err
			}
		}
	}
	subscribed := map[string]bool{}
	tries := map[string]int{} // refusals per source folder
	for {
		restart, err := rn.createPlanned(ctx, cn, subscribed, tries)
		if err != nil || !restart {
			return err
		}
		p, err := makePlan(mailboxes, rn.facts.info, rn.opts.Plan)
		if err != nil {
			return err
		}
		rn.plan = p
	}
}

// maxNameTries bounds how often one folder's name is learned from and
// planned again before the folder counts as unusable.
const maxNameTries = 4

// createPlanned goes through the plan once; restart says that it learned
// something and the plan must be made again.
//
// The folders go level by level, parents first: every CREATE and
// SUBSCRIBE of one level is sent in one flight and the answers are read
// in order, so a tree of folders costs one round trip per level, not two
// per folder (on a distant server, a hundred folders would otherwise
// wait seconds before the first message). A SUBSCRIBE follows its CREATE
// in the flight, before any child is created (see subscribe). A child is
// sent only once its parent's level was answered: a refused parent keeps
// its children from being tried under the refused name.
func (rn *run) createPlanned(ctx context.Context, cn *conn, subscribed map[string]bool, tries map[string]int) (restart bool, _ error) {
	info := rn.facts.info
	seen := map[string]bool{}
	for depth := 1; ; depth++ {
		var flight []*folderStep
		deeper, probe := false, rn.newFolder == nil
		for _, f := range rn.plan.Folders {
			if _, bad := rn.unusable[f.Server]; bad || len(f.Path) < depth {
				continue
			}
			deeper = true
			name := info.Join(f.Path[:depth])
			if seen[name] {
				continue
			}
			seen[name] = true
			switch {
			case depth < len(f.Path) && rn.facts.isParent(name):
				// A parent the server has; it holds no messages.
			case rn.facts.exists(name):
				flight = append(flight, &folderStep{f: f, name: rn.spelling(name)})
			case rn.write("CREATE", name):
				st := &folderStep{f: f, name: name, create: true}
				if probe && depth == len(f.Path) {
					// A folder messages go to: its SELECT in the same
					// flight says what a new folder keeps (see prescan).
					st.probe, probe = true, false
				}
				flight = append(flight, st)
			}
		}
		if !deeper {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		rn.sendFolderSteps(cn, flight, subscribed)
		for _, st := range flight {
			if !st.create {
				continue
			}
			if st.err == nil {
				// Created now: it holds nothing (ALREADYEXISTS below
				// may hold anything).
				rn.empty[st.name] = true
				if st.probe && st.selErr == nil && st.sel != nil {
					rn.newFolder = st.sel
					cn.selected, cn.readOnly = st.name, false
				}
			}
			if ie := serverError(st.err); ie != nil && ie.Code == imap.ResponseCodeAlreadyExists {
				st.err = nil
			}
			if st.err == nil {
				rn.facts.existing[info.Canonical(st.name)] = st.name
				rn.created[st.name] = true
				rn.log.Debug("created folder", "folder", st.name)
			}
		}
		for _, st := range flight {
			if st.err == nil {
				if err := rn.subscribed(ctx, cn, st, subscribed); err != nil {
					return false, err
				}
				continue
			}
			if retry, rerr := retryable(ctx, st.err, cn.alive()); retry || rerr != st.err {
				return false, fmt.Errorf("create folder %q: %w", st.name, rerr)
			}
			key := st.f.Sources[0].DisplayPath()
			tries[key]++
			if tries[key] <= maxNameTries {
				learned, lerr := rn.learnRefusal(ctx, cn, st.name, st.err)
				if lerr != nil {
					return false, fmt.Errorf("create folder %q: %w", st.name, lerr)
				}
				if learned {
					rn.log.Debug("the server refused a folder name; planning again", "folder", st.name, "answer", describe(st.err))
					return true, nil
				}
			}
			reason := fmt.Sprintf("the server refused to create the folder %q: %s", st.name, describe(st.err))
			rn.log.Warn("folder not created; its messages are not uploaded", "folder", st.name, "answer", describe(st.err))
			for _, g := range rn.plan.Folders {
				if g.Server == st.name || strings.HasPrefix(g.Server, st.name+string(info.Delimiter)) {
					rn.unusable[g.Server] = reason
				}
			}
		}
	}
}

// folderStep is one folder of a level's flight: CREATE (unless it
// exists) and SUBSCRIBE, and what the server answered.
type folderStep struct {
	f         *plan.Folder // the planned folder it is (a parent of)
	name      string
	create    bool
	err       error // the CREATE's answer
	subscribe bool  // a SUBSCRIBE was sent behind it
	subErr    error // its answer
	probe     bool  // a SELECT was sent behind them
	sel       *imap.SelectData
	selErr    error
}

// sendFolderSteps sends the flight's commands at once and waits for every
// answer, read in order (st.err, st.subErr, st.sel), so that the guard's
// count of answers is complete before the next command is sent.
func (rn *run) sendFolderSteps(cn *conn, flight []*folderStep, subscribed map[string]bool) {
	n := 0
	for _, st := range flight {
		st.subscribe = !subscribed[st.name] && rn.write("SUBSCRIBE", st.name)
		for _, sent := range []bool{st.create, st.subscribe, st.probe} {
			if sent {
				n++
			}
		}
	}
	if n == 0 {
		return
	}
	cn.expect(cn.smallFlight(n))
	creates := make([]*imapclient.Command, len(flight))
	subs := make([]*imapclient.Command, len(flight))
	var sel *imapclient.SelectCommand
	for i, st := range flight {
		if st.create {
			creates[i] = cn.c.Create(st.name, nil)
		}
		if st.subscribe {
			subs[i] = cn.c.Subscribe(st.name)
		}
		if st.probe {
			cn.selected = ""
			sel = cn.c.Select(st.name, nil)
		}
	}
	for i, st := range flight {
		if creates[i] != nil {
			st.err = creates[i].Wait()
		}
		if subs[i] != nil {
			st.subErr = subs[i].Wait()
		}
		if st.probe {
			st.sel, st.selErr = sel.Wait()
		}
	}
}

// subscribed completes the SUBSCRIBE of a folder that exists now: the one
// sent in the flight, or, when that one was refused, subscribe's own.
func (rn *run) subscribed(ctx context.Context, cn *conn, st *folderStep, done map[string]bool) error {
	if st.subscribe && st.subErr == nil {
		done[st.name] = true
		return nil
	}
	return rn.subscribe(ctx, cn, st.name, done)
}

// spelling is the server's own spelling of an existing folder (mox lists
// INBOX as "Inbox"), else name.
func (rn *run) spelling(name string) string {
	if s, ok := rn.facts.existing[rn.facts.info.Canonical(name)]; ok {
		return s
	}
	return name
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
	cn.expect(cn.small())
	err := cn.c.Subscribe(name).Wait()
	if serverError(err) != nil && !strings.EqualFold(name, "INBOX") {
		// A server listing a folder it has not created yet: create, retry.
		cn.expect(cn.small())
		cn.expect(cn.small())
		cerr := cn.c.Create(name, nil).Wait()
		if ie := serverError(cerr); cerr == nil || (ie != nil && ie.Code == imap.ResponseCodeAlreadyExists) {
			cn.expect(cn.small())
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

// prescan learns what a target folder holds before anything is
// appended, and the flags it keeps.
func (rn *run) prescan(ctx context.Context, w *worker, fs *folderState) error {
	readOnly := rn.opts.DryRun || rn.verify
	if readOnly && !rn.facts.exists(fs.server) {
		// Nothing was created: the folder is empty (and its name may be
		// one the server refuses, which SELECT would answer with NO).
		rn.led.prescanned(fs, newServerSet(), nil, readOnly)
		return nil
	}
	if !readOnly && rn.empty[fs.server] && rn.newFolder != nil {
		// Created by this run: nothing in it, and it keeps the flags a
		// new folder keeps (the SELECT sent with the CREATEs said so).
		rn.led.prescanned(fs, newServerSet(), rn.newFolder, readOnly)
		return nil
	}
	return w.withConn(ctx, func(cn *conn) error {
		set, data, err := cn.fetchSet(ctx, fs.server, readOnly, false)
		if err != nil {
			return err
		}
		rn.led.prescanned(fs, set, data, readOnly)
		return nil
	})
}
