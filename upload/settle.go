package upload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
)

// The settle guard closes a small duplicate window of resuming. When an
// upload process dies without ending cleanly (a crash, SIGKILL), the
// APPENDs it had written into the kernel's socket buffers still reach the
// server and are stored a moment later; a re-run that pre-scans before
// they land would send those messages again. So a real upload keeps a
// marker file in the user's cache directory while it runs; a run that
// finds the marker of an earlier run (which therefore did not end) polls
// STATUS of the target folders until their counts stop changing before it
// pre-scans. A clean end, also an interrupted or failed one, removes the
// marker. The guard never fails a run: without a cache directory there is
// simply no marker.

const (
	// settleQuiet is how long the message counts must stay unchanged.
	settleQuiet = 2 * time.Second
	// settleMax bounds the whole wait.
	settleMax = 30 * time.Second
	// settlePoll is the time between two rounds of STATUS.
	settlePoll = 250 * time.Millisecond
)

// markerPath is the marker file of uploads from sourceID into the target's
// account: named by a hash, so that it holds nothing about the account.
func markerPath(cacheDir string, t Target, sourceID string) string {
	h := sha256.New()
	for _, s := range []string{t.Host, strconv.Itoa(t.Port), t.User} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if sourceID != "" {
		h.Write([]byte(sourceID))
	}
	return filepath.Join(cacheDir, "mailferry", "upload-"+hex.EncodeToString(h.Sum(nil)[:16])+".running")
}

// startMarker creates the run's marker file. stale reports that the marker
// of an earlier run was there already; end removes the marker (it is never
// nil). Problems are logged at debug level only.
func (rn *run) startMarker(t Target) (stale bool, end func()) {
	dir := rn.opts.cacheDir
	if dir == "" {
		var err error
		if dir, err = os.UserCacheDir(); err != nil {
			rn.log.Debug("no cache directory for the run marker", "err", err)
			return false, func() {}
		}
	}
	path := markerPath(dir, t, rn.opts.SourceID)
	if _, err := os.Stat(path); err == nil {
		stale = true
	}
	content := fmt.Sprintf("mailferry upload\npid %d\nstarted %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	err := os.MkdirAll(filepath.Dir(path), 0o700)
	if err == nil {
		err = os.WriteFile(path, []byte(content), 0o600)
	}
	if err != nil {
		rn.log.Debug("could not write the run marker", "err", err)
		return stale, func() {}
	}
	return stale, func() {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			rn.log.Debug("could not remove the run marker", "err", err)
		}
	}
}

// settle waits, after an earlier run did not end, until the message counts
// (STATUS MESSAGES) of the planned folders that exist have been unchanged
// for settleQuiet, at most settleMax. It returns only ctx's error: a
// failing STATUS ends the wait and the run goes on (the next steps
// reconnect where needed).
func (rn *run) settle(ctx context.Context, cn *conn) error {
	var names []string
	seen := map[string]bool{}
	for _, f := range rn.plan.Folders {
		if !seen[f.Server] && rn.facts.exists(f.Server) {
			seen[f.Server] = true
			names = append(names, f.Server)
		}
	}
	if len(names) == 0 {
		return nil
	}
	rn.log.Info("the previous upload to this account did not finish; waiting for the server to settle before checking what it holds")
	start := time.Now()
	var last map[string]uint32
	stableSince := start
	for {
		counts, err := statusCounts(cn, names)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			rn.log.Warn("could not check whether the server has settled; going on", "err", err)
			return nil
		}
		now := time.Now()
		if !equalCounts(counts, last) {
			if last != nil {
				rn.log.Debug("messages still arriving", "counts", counts)
			}
			last, stableSince = counts, now
		}
		if now.Sub(stableSince) >= settleQuiet {
			rn.log.Debug("server settled", "waited", now.Sub(start).Round(time.Millisecond))
			return nil
		}
		if now.Sub(start) >= settleMax {
			rn.log.Warn("the server's folders are still changing; going on (messages of the previous upload that land later may be uploaded twice)", "waited", settleMax)
			return nil
		}
		t := time.NewTimer(settlePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// statusCounts asks the number of messages of each folder; a folder the
// server refuses STATUS for is left out.
func statusCounts(cn *conn, names []string) (map[string]uint32, error) {
	counts := map[string]uint32{}
	for _, name := range names {
		cn.expect(cn.small())
		data, err := cn.c.Status(name, &imap.StatusOptions{NumMessages: true}).Wait()
		if serverError(err) != nil {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("status of folder %q: %w", name, err)
		}
		if data.NumMessages != nil {
			counts[name] = *data.NumMessages
		}
	}
	return counts, nil
}

func equalCounts(a, b map[string]uint32) bool {
	if a == nil || b == nil || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
