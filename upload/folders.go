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
				rn.log.Debug("created folder", "folder", name)
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
	rn.created = created
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

// prescan learns what a target folder holds before anything is
// appended, and the flags it keeps.
func (rn *run) prescan(ctx context.Context, w *worker, fs *folderState) error {
	return w.withConn(ctx, func(cn *conn) error {
		readOnly := rn.opts.DryRun || rn.verify
		set, data, err := cn.fetchSet(ctx, fs.pf.Server, readOnly, false)
		if err != nil {
			return err
		}
		rn.led.prescanned(fs, set, data, readOnly)
		return nil
	})
}
