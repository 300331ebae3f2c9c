package upload

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"mailferry/formats"
)

// Verify compares the source with the server without uploading anything:
// per planned folder, the multiset of source Fingerprints against the
// server's (one FETCH of sizes and headers per folder). It needs
// Options.Target and uses the same folder plan as Upload (characters the
// server refused are inferred from the folders a previous upload created).
//
// In the Report, Already counts the source messages found on the server and
// Verify.Missing lists the others with their position and Message-ID;
// messages the server holds beyond the source are counted as extra, which
// is not an error. The error is ErrVerify (wrapped) when a folder is
// missing messages or could not be checked.
func Verify(ctx context.Context, r formats.Reader, opts Options) (*Report, error) {
	if opts.Target == nil {
		return nil, fmt.Errorf("%w: verify needs a target server (--to)", ErrConfig)
	}
	rn := newRun(opts, ModeVerify)
	ctx, end := rn.start(ctx)
	defer end()

	cn, _, err := rn.prepare(ctx, r, *opts.Target)
	if err != nil {
		return rn.stopped(err)
	}
	rn.track()
	workers := rn.newWorkers(cn)
	defer closeWorkers(workers)
	rn.led.phase(PhaseVerify)
	err = rn.eachMessage(ctx, r, func(m *formats.Message) error {
		_, _, err := rn.admit(m)
		return err
	})
	if err != nil {
		return rn.stopped(err)
	}
	if err := rn.forEachFolder(ctx, workers, rn.verifyFolder); err != nil && ctx.Err() == nil {
		rn.fail(err)
	}
	rn.led.rep.Verified = rn.fatal() == nil && rn.parent.Err() == nil
	rn.led.locked(func() {
		for _, fs := range rn.led.order {
			if v := fs.rep.Verify; v != nil {
				fs.rep.Already = v.Expected - len(v.Missing)
			}
		}
	})
	rn.finish()
	return rn.led.rep, rn.result()
}

// verifyFolder fetches what the server holds in one folder and compares it
// with the folder's source messages.
func (rn *run) verifyFolder(ctx context.Context, w *worker, fs *folderState) error {
	if rn.verify && !rn.facts.exists(fs.server) {
		rn.led.verified(fs, newServerSet(), nil) // not on the server at all
		return nil
	}
	var set *serverSet
	var checked int
	var differ []Problem
	err := w.withConn(ctx, func(cn *conn) error {
		if rn.opts.FullVerify {
			var largest int64
			for _, e := range fs.sources {
				largest = max(largest, e.size)
			}
			fset, err := cn.fetchFull(ctx, fs.server, largest)
			if err != nil {
				return err
			}
			set = fset.set
			checked, differ = compareFull(fs.sources, fset.full)
			return nil
		}
		var err error
		if set, _, err = cn.fetchSet(ctx, fs.server, true, true); err != nil {
			return err
		}
		if !rn.verify {
			checked, differ, err = rn.checkSample(ctx, cn, fs, set.uids)
		}
		return err
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, errRetired) {
		return err // another worker verifies the folder
	}
	rn.led.verified(fs, set, err)
	if err == nil {
		rn.led.fullyChecked(fs, checked, differ)
	}
	return nil
}

// compare matches the source messages of a folder with the server's
// multiset. Expected messages must be there; quarantined or failed ones
// need not be, but when the server has them anyway they are not extra.
func compare(sources []*sourceEntry, set *serverSet) *FolderVerify {
	v := &FolderVerify{OnServer: set.total}
	for _, e := range sources {
		if e.state != entryExpected {
			continue
		}
		v.Expected++
		key, how := set.take(e.id, matchWeak)
		switch how {
		case matchNone:
			v.Missing = append(v.Missing, Problem{Code: ProblemMissing, Pos: e.pos.String(), MessageID: e.msgID, Reason: "not on the server"})
		case matchLoose, matchWeak:
			v.Changed = append(v.Changed, Problem{Code: ProblemChanged, Pos: e.pos.String(), MessageID: e.msgID, Reason: how.changed(e.id.Fingerprint, key)})
		}
	}
	for _, e := range sources {
		if e.state != entryExpected {
			set.take(e.id, matchWeak)
		}
	}
	// What is left and has the key of a source message that should be on
	// the server is a copy beyond the source's count: a duplicate, never
	// "other mail". (Copies of a message the upload quarantined cannot be
	// its duplicates.)
	for _, e := range sources {
		for e.state == entryExpected && set.count[e.id.Fingerprint] > 0 {
			set.count[e.id.Fingerprint]--
			set.total--
			v.Duplicates++
		}
	}
	v.Extra = set.remaining()
	if v.Extra > 0 && set.ids != nil {
		for fp, n := range set.count {
			if n > 0 {
				if id := set.ids[fp]; id != "" {
					v.ExtraIDs = append(v.ExtraIDs, id)
				}
			}
		}
		sort.Strings(v.ExtraIDs)
		if len(v.ExtraIDs) > maxExtraIDs {
			v.ExtraIDs = v.ExtraIDs[:maxExtraIDs]
		}
	}
	switch {
	case len(v.Missing) > 0:
		v.Status = StatusMissing
	case v.Duplicates > 0:
		v.Status = StatusDuplicates
	case v.Extra > 0:
		v.Status = StatusExtra
	default:
		v.Status = StatusMatch
	}
	return v
}
