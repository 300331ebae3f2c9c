package upload

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/imapguard"
	"mailferry/upload/fingerprint"
)

// What verification proves, level by level:
//
//   - Always: every source message has a server message with the same
//     header block (SHA-256 of its lines) and exactly the same size, per
//     folder, counted as multisets (fingerprint.go). A server that changes
//     a body but keeps its size would pass this.
//   - After every upload, a random sample of the messages uploaded
//     (sampleSize, chosen as they are read: reservoir sampling) is fetched
//     back whole and compared byte for byte: a server that alters bodies
//     is caught with high probability when it alters many.
//   - With Options.FullVerify (verify --full, upload --full): every
//     message is fetched back whole and compared byte for byte (SHA-256 of
//     all its bytes on both sides, streamed: nothing is held in memory).
//
// A message the server changed in a known way as it stored it (8-bit
// header bytes replaced, a header added) is reported as changed by the
// server and not compared in full.

// sampleSize is how many uploaded messages an upload compares in full.
const sampleSize = 20

// checks chooses the messages an upload compares in full.
type checks struct {
	mu     sync.Mutex
	all    bool // Options.FullVerify: every message
	off    bool // none (a rehearsal: the server keeps no bodies)
	seen   int
	chosen []*sourceEntry
}

// choose says whether e's full hash is needed: always with FullVerify,
// else when e enters the sample (reservoir sampling: each of the n
// messages seen so far is in it with the same chance).
func (c *checks) choose(e *sourceEntry) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.off {
		return false
	}
	if c.all {
		return true
	}
	c.seen++
	if len(c.chosen) < sampleSize {
		c.chosen = append(c.chosen, e)
		return true
	}
	if i := rand.IntN(c.seen); i < sampleSize {
		c.chosen[i] = e
		return true
	}
	return false
}

// sampled returns the sampled entries of a folder.
func (c *checks) sampled(fs *folderState) []*sourceEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*sourceEntry
	for _, e := range c.chosen {
		for _, s := range fs.sources {
			if s == e {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// fetchWhole fetches the messages of the selected folder (all, or the
// UIDs given) whole, streamed, and calls f with each one's Identity and
// SHA-256. The guard's literal limit is raised to the largest message the
// caller expects.
func (cn *conn) fetchWhole(ctx context.Context, uids []imap.UID, largest int64, f func(id Identity, full [32]byte)) error {
	var set imap.NumSet = imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}
	if uids != nil {
		set = imap.UIDSetNum(uids...)
	}
	if cn.g != nil {
		lim := cn.g.Limits()
		defer cn.g.SetLimits(lim)
		big := lim
		big.MaxLiteral = max(largest+(1<<20), imapguard.DefaultMaxLiteral)
		big.MaxResponse = big.MaxLiteral + imapguard.DefaultMaxLine
		cn.g.SetLimits(big)
	}
	cn.expect(imapguard.Budget{MinRate: 4 << 10, Grace: max(cn.timeout, 10*time.Second)})
	cmd := cn.c.Fetch(set, &imap.FetchOptions{
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	})
	hh := fingerprint.NewHasher()
	h := sha256.New()
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if ctx.Err() != nil {
			break
		}
		hh.Reset()
		h.Reset()
		size := int64(-1)
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataRFC822Size:
				size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					// As collect: a literal that fails to read closes the
					// connection rather than letting go-imap drain it.
					if _, err := io.Copy(io.MultiWriter(hh, h), it.Literal); err != nil {
						_ = cn.raw.Close()
						return cn.guardErr(err)
					}
				}
			}
		}
		var sum [32]byte
		h.Sum(sum[:0])
		f(hh.Identity(size), sum)
	}
	if err := cmd.Close(); err != nil {
		return cn.guardErr(err)
	}
	return ctx.Err()
}

// fullSet is what a full fetch of a folder found: its multiset, and the
// whole messages' hashes by key.
type fullSet struct {
	set  *serverSet
	full map[Fingerprint][][32]byte
}

// fetchFull fetches a folder whole (FullVerify).
func (cn *conn) fetchFull(ctx context.Context, name string, largest int64) (*fullSet, error) {
	fs := &fullSet{set: newServerSet(), full: map[Fingerprint][][32]byte{}}
	fs.set.ids = map[Fingerprint]string{}
	data, exists, err := cn.selectFolder(name, true)
	if err != nil || !exists || data.NumMessages == 0 {
		return fs, err
	}
	err = cn.fetchWhole(ctx, nil, largest, func(id Identity, full [32]byte) {
		fs.set.add(id)
		fs.full[id.Fingerprint] = append(fs.full[id.Fingerprint], full)
	})
	if err != nil {
		return nil, fmt.Errorf("fetch messages of %q: %w", name, err)
	}
	if fs.set.total < int(data.NumMessages) {
		return nil, fmt.Errorf("fetch messages of %q: the server said it holds %d messages but returned %d", name, data.NumMessages, fs.set.total)
	}
	return fs, nil
}

// compareFull checks, for every source entry that should be on the server
// and has a full hash, that a server message with its key has the same
// bytes. full is consumed.
func compareFull(sources []*sourceEntry, full map[Fingerprint][][32]byte) (checked int, differ []Problem) {
	for _, e := range sources {
		if e.state != entryExpected || e.full == ([32]byte{}) {
			continue
		}
		hashes, ok := full[e.id.Fingerprint]
		if !ok {
			continue // missing, or changed by the server: reported as such
		}
		checked++
		found := false
		for i, h := range hashes {
			if h == e.full {
				full[e.id.Fingerprint] = append(hashes[:i:i], hashes[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			differ = append(differ, Problem{Code: ProblemBodyDiffers, Pos: e.pos.String(), MessageID: e.msgID,
				Reason: "on the server with the same header and size, but other bytes (the body differs)"})
		}
	}
	return checked, differ
}

// checkSample fetches the sampled messages of a folder whole and compares
// them; uids are the server's UIDs by key (from the verification's FETCH).
func (rn *run) checkSample(ctx context.Context, cn *conn, fs *folderState, uids map[Fingerprint][]imap.UID) (checked int, differ []Problem, err error) {
	sample := rn.checks.sampled(fs)
	want := map[Fingerprint]bool{}
	var largest int64
	var fetch []imap.UID
	for _, e := range sample {
		if e.state != entryExpected || want[e.id.Fingerprint] {
			continue
		}
		want[e.id.Fingerprint] = true
		largest = max(largest, e.size)
		// Every server copy with the key: one of them must be this one.
		fetch = append(fetch, uids[e.id.Fingerprint]...)
	}
	if len(fetch) == 0 {
		return 0, nil, nil
	}
	full := map[Fingerprint][][32]byte{}
	err = cn.fetchWhole(ctx, fetch, largest, func(id Identity, h [32]byte) {
		full[id.Fingerprint] = append(full[id.Fingerprint], h)
	})
	if ie := serverError(err); ie != nil && cn.alive() {
		// A server that will not send whole messages (one that keeps
		// only headers): nothing to compare, and nothing wrong with the
		// messages themselves.
		rn.log.Warn("the server refused to send whole messages; none was compared byte for byte", "folder", fs.server, "answer", describe(ie))
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("fetch sample of %q: %w", fs.server, err)
	}
	checked, differ = compareFull(sample, full)
	return checked, differ, nil
}
