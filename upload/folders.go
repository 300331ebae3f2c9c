package upload

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
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
func (rn *run) createPlanned(ctx context.Context, cn *conn, subscribed map[string]bool, tries map[string]int) (restart bool, _ error) {
	info := rn.facts.info
	seen := map[string]bool{}
	for _, f := range rn.plan.Folders {
		if _, bad := rn.unusable[f.Server]; bad {
			continue
		}
		for i := 1; i <= len(f.Path); i++ {
			name := info.Join(f.Path[:i])
			if seen[name] {
				continue
			}
			seen[name] = true
			if i < len(f.Path) && rn.facts.isParent(name) {
				continue // a parent the server has; it holds no messages
			}
			if rn.facts.exists(name) {
				if err := rn.subscribe(ctx, cn, rn.spelling(name), subscribed); err != nil {
					return false, err
				}
				continue
			}
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if !rn.write("CREATE", name) {
				continue
			}
			cn.expect(cn.small())
			err := cn.c.Create(name, nil).Wait()
			if ie := serverError(err); ie != nil && ie.Code == imap.ResponseCodeAlreadyExists {
				err = nil
			}
			if err == nil {
				rn.facts.existing[info.Canonical(name)] = name
				rn.created[name] = true
				rn.log.Debug("created folder", "folder", name)
				if err := rn.subscribe(ctx, cn, name, subscribed); err != nil {
					return false, err
				}
				continue
			}
			if retry, rerr := retryable(ctx, err, cn.alive()); retry || rerr != err {
				return false, fmt.Errorf("create folder %q: %w", name, rerr)
			}
			key := f.Sources[0].DisplayPath()
			tries[key]++
			if tries[key] <= maxNameTries {
				learned, lerr := rn.learnRefusal(ctx, cn, name, err)
				if lerr != nil {
					return false, fmt.Errorf("create folder %q: %w", name, lerr)
				}
				if learned {
					rn.log.Debug("the server refused a folder name; planning again", "folder", name, "answer", describe(err))
					return true, nil
				}
			}
			reason := fmt.Sprintf("the server refused to create the folder %q: %s", name, describe(err))
			rn.log.Warn("folder not created; its messages are not uploaded", "folder", name, "answer", describe(err))
			for _, g := range rn.plan.Folders {
				if g.Server == name || strings.HasPrefix(g.Server, name+string(info.Delimiter)) {
					rn.unusable[g.Server] = reason
				}
			}
			break
		}
	}
	return false, nil
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
	return w.withConn(ctx, func(cn *conn) error {
		set, data, err := cn.fetchSet(ctx, fs.server, readOnly, false)
		if err != nil {
			return err
		}
		rn.led.prescanned(fs, set, data, readOnly)
		return nil
	})
}
