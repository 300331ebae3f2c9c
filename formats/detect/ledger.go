package detect

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"mailferry/formats"
	"mailferry/formats/thunderbird"
)

// ErrNotFinished is returned by Ledger before every message was read:
// the files not read yet would be listed as not read.
var ErrNotFinished = errors.New("the source was not read to the end")

// maxReaderErrors bounds the errors one store's reader may return in a
// row before it is taken to be stuck and reading of that store stops.
const maxReaderErrors = 10000

// fileTracker records what the readers did with the files of a source,
// and turns it into a formats.FileLedger at the end.
type fileTracker struct {
	root string
	next func(string, error) // the caller's own OnFile

	mu sync.Mutex
	// read holds a 64-bit hash of the path of every file read, not the
	// paths themselves: a Maildir of a million messages then costs 8 MB.
	// Two paths with the same FNV-1a hash would make a file not read count
	// as read; with a million files that chance is about 1 in 10^7.
	read        []uint64
	sorted      bool
	failed      map[string]error
	failedOrder []string
	outside     formats.FileCount
	hints       []hint
	stores      []Found
	scopes      []scope
	readers     int
	finished    int
}

// scope is a directory (or file) a store's reader reads: inside it,
// everything is searched. A Thunderbird profile's scopes are its Mail/,
// ImapMail/ and account directories, not the whole profile: other stores
// may lie beside them.
type scope struct {
	path  string
	store *Found
}

// setStores records the stores read and their scopes.
func (t *fileTracker) setStores(stores []Found) {
	t.stores = stores
	for i := range t.stores {
		f := &t.stores[i]
		if f.Kind == Thunderbird {
			if owned := thunderbirdOwned(f.Path); owned != nil {
				for d := range owned {
					t.scopes = append(t.scopes, scope{path: d, store: f})
				}
				continue
			}
		}
		t.scopes = append(t.scopes, scope{path: f.Path, store: f})
	}
}

// hint says why the mail-like files below dir were not read.
type hint struct {
	dir    string
	reason string
	advice string
	mail   bool // false: they hold no mail to upload (an RSS account)
}

func newFileTracker(root string, next func(string, error)) *fileTracker {
	return &fileTracker{root: root, next: next, failed: map[string]error{}}
}

func pathHash(p string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()
}

// record is the readers' OnFile.
func (t *fileTracker) record(path string, err error) {
	path = filepath.Clean(path)
	t.mu.Lock()
	switch {
	case err != nil:
		t.fail(path, err)
	case !within(path, t.root):
		t.outside.Files++
		if st, serr := os.Lstat(path); serr == nil {
			t.outside.Bytes += st.Size()
		}
	default:
		t.read = append(t.read, pathHash(path))
		t.sorted = false
	}
	t.mu.Unlock()
	if t.next != nil {
		t.next(path, err)
	}
}

// failStore records a store that could not be opened: the ledger lists
// it as not read, with the error.
func (t *fileTracker) failStore(path string, err error) {
	t.mu.Lock()
	t.fail(filepath.Clean(path), err)
	t.mu.Unlock()
}

// fail records a file that could not be read; t.mu is held.
func (t *fileTracker) fail(path string, err error) {
	if _, ok := t.failed[path]; !ok {
		t.failedOrder = append(t.failedOrder, path)
	}
	t.failed[path] = err
}

func (t *fileTracker) wasRead(path string) bool {
	if !t.sorted {
		slices.Sort(t.read)
		t.sorted = true
	}
	_, ok := slices.BinarySearch(t.read, pathHash(path))
	return ok
}

// thunderbirdHints explains the Thunderbird files that were not read:
// the profiles of a root other than the one read, and accounts that are
// not mail (RSS, news).
func (t *fileTracker) thunderbirdHints(f Found, tb *thunderbird.Reader) {
	read := map[string]bool{}
	for _, p := range tb.Profiles() {
		read[filepath.Clean(p.Dir)] = true
	}
	if tb.Kind() == thunderbird.KindRoot {
		all, _ := thunderbird.ReadRoot(f.Path)
		for _, p := range all {
			if !p.Missing && !read[filepath.Clean(p.Dir)] {
				t.hints = append(t.hints, hint{dir: filepath.Clean(p.Dir), mail: true,
					reason: fmt.Sprintf("in Thunderbird profile %q, which is not the default one (only the default profile of a Thunderbird folder is read; the others are mostly left over from old installations)", p.Name),
					advice: "to read it, point mailferry at " + p.Dir})
			}
		}
	}
	for _, a := range tb.Accounts() {
		if a.Skip != "" && a.Dir != "" {
			t.hints = append(t.hints, hint{dir: filepath.Clean(a.Dir), reason: fmt.Sprintf("account %q: %s", a.Name, a.Skip)})
		}
	}
}

// appleMailHints explains the older V<n> directories of ~/Library/Mail,
// which the Apple Mail reader leaves alone.
func (t *fileTracker) appleMailHints(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	var versions []string
	newest, newestN := "", -1
	for _, e := range ents {
		var n int
		if e.IsDir() && len(e.Name()) > 1 && e.Name()[0] == 'V' {
			if _, err := fmt.Sscanf(e.Name()[1:], "%d", &n); err == nil && fmt.Sprintf("V%d", n) == e.Name() {
				versions = append(versions, e.Name())
				if n > newestN {
					newest, newestN = e.Name(), n
				}
			}
		}
	}
	for _, v := range versions {
		if v != newest {
			d := filepath.Join(dir, v)
			t.hints = append(t.hints, hint{dir: d, mail: true,
				reason: fmt.Sprintf("in the older Apple Mail store %s (only the newest, %s, is read: older ones are usually copies left behind by a macOS upgrade)", v, newest),
				advice: "to read it anyway, point mailferry at " + d})
		}
	}
}

// hintFor returns the innermost hint whose directory holds path.
func (t *fileTracker) hintFor(path string) *hint {
	var best *hint
	for i := range t.hints {
		h := &t.hints[i]
		if within(path, h.dir) && (best == nil || len(h.dir) > len(best.dir)) {
			best = h
		}
	}
	return best
}

// trackedReader is one store's reader: it records the errors of files
// that could not be read and goes on with the next file, so that one bad
// file does not end a run.
type trackedReader struct {
	formats.Reader
	store   Found
	files   *fileTracker
	warn    func(formats.Warning)
	last    string
	inARow  int
	counted bool
	done    bool
}

func (r *trackedReader) Next(ctx context.Context) (*formats.Message, error) {
	if !r.counted {
		r.counted = true
		r.files.mu.Lock()
		r.files.readers++
		r.files.mu.Unlock()
	}
	for {
		if r.done {
			return nil, io.EOF
		}
		m, err := r.Reader.Next(ctx)
		var me *formats.MessageError
		switch {
		case err == nil:
			r.inARow = 0
			return m, nil
		case err == io.EOF:
			r.finish()
			return nil, io.EOF
		case ctx.Err() != nil || !errors.As(err, &me):
			return nil, err
		}
		path := r.resolve(me.Pos.File)
		key := me.Pos.String() + "\x00" + me.Op
		r.inARow++
		r.files.mu.Lock()
		if key == r.last || r.inARow > maxReaderErrors {
			// The reader does not move on: stop reading this store rather
			// than loop, and say so.
			r.files.fail(path, fmt.Errorf("reading of %s stopped here: %w", r.store.Path, err))
			r.files.mu.Unlock()
			r.finish()
			return nil, io.EOF
		}
		r.files.fail(path, err)
		r.files.mu.Unlock()
		r.last = key
		if r.warn != nil {
			r.warn(formats.Warning{Pos: me.Pos, Message: fmt.Sprintf("%s: %v; not read, going on with the rest", me.Op, me.Err)})
		}
	}
}

func (r *trackedReader) finish() {
	if r.done {
		return
	}
	r.done = true
	r.files.mu.Lock()
	r.files.finished++
	r.files.mu.Unlock()
}

// resolve makes a position's file absolute: the Thunderbird reader gives
// them relative to the store.
func (r *trackedReader) resolve(p string) string {
	if p == "" {
		return r.store.Path
	}
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	base := r.store.Path
	if !isDir(base) {
		base = filepath.Dir(base)
	}
	return filepath.Join(base, p)
}

// Ledger accounts for every file under the source: read as mail,
// recognised as holding no mail, or not read (with the reason). Call it
// after the last message was read (Next returned io.EOF), else it
// returns ErrNotFinished. It walks the source once more without
// following links, reading only the first bytes of the files that no
// reader took and no name explains.
func (s *Source) Ledger() (*formats.FileLedger, error) {
	t := s.files
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.readers == 0 || t.finished < t.readers || t.readers < len(t.stores) {
		return nil, ErrNotFinished
	}
	return t.ledger()
}

// Ledger accounts for every file under a path that holds no store
// mailferry can read: the stores of other programs, and every other file,
// listed as Source.Ledger lists them (a saved message among them is mail
// not read), nothing being read as mail.
func (e *NoMailError) Ledger() (*formats.FileLedger, error) {
	t := newFileTracker(e.Path, nil)
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ledger()
}

// ledger walks the source for Ledger; t.mu is held.
func (t *fileTracker) ledger() (*formats.FileLedger, error) {
	a := &accountant{t: t, led: &formats.FileLedger{Root: t.root, NotRead: []formats.NotRead{}, NoMail: []formats.FileGroup{}},
		groups: map[string]*formats.FileGroup{}, seen: map[string]bool{}}
	st, err := os.Lstat(t.root)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		a.walkDir(t.root, nil, false, 0)
	} else {
		a.file(t.root, st, a.storeOf(t.root))
	}
	for _, p := range t.failedOrder {
		if !a.seen[p] {
			a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadError, Reason: t.failed[p].Error(), Mail: true})
		}
	}
	a.led.ReadOutside = t.outside
	for _, g := range a.groups {
		a.led.NoMail = append(a.led.NoMail, *g)
	}
	sort.Slice(a.led.NoMail, func(i, j int) bool { return a.led.NoMail[i].Reason < a.led.NoMail[j].Reason })
	sort.SliceStable(a.led.NotRead, func(i, j int) bool { return a.led.NotRead[i].Path < a.led.NotRead[j].Path })
	return a.led, nil
}

// accountant walks a source for the ledger.
type accountant struct {
	t      *fileTracker
	led    *formats.FileLedger
	groups map[string]*formats.FileGroup
	seen   map[string]bool // failed paths met by the walk
}

func (a *accountant) rel(p string) string {
	if r, err := filepath.Rel(a.t.root, p); err == nil && !strings.HasPrefix(r, "..") {
		if r == "." {
			return filepath.Base(p)
		}
		return filepath.ToSlash(r)
	}
	return p
}

// storeOf returns the store whose reader reads p (the innermost scope
// holding it), if any.
func (a *accountant) storeOf(p string) *Found {
	var best *scope
	for i := range a.t.scopes {
		sc := &a.t.scopes[i]
		if within(p, sc.path) && (best == nil || len(sc.path) > len(best.path)) {
			best = sc
		}
	}
	if best == nil {
		return nil
	}
	return best.store
}

func (a *accountant) noMail(p string, size int64, reason string) {
	g := a.groups[reason]
	if g == nil {
		g = &formats.FileGroup{Reason: reason, Paths: []string{}}
		a.groups[reason] = g
	}
	g.Files++
	g.Bytes += size
	if len(g.Paths) < formats.MaxGroupPaths {
		g.Paths = append(g.Paths, a.rel(p))
	}
}

func (a *accountant) notRead(n formats.NotRead) {
	a.led.NotRead = append(a.led.NotRead, n)
}

// count adds one file to the totals.
func (a *accountant) count(size int64) {
	a.led.Files++
	a.led.Bytes += size
}

// walkDir accounts for the entries of dir. inStore says dir lies inside a
// store found (everything there is searched); node is the hidden-path
// trie position outside stores.
func (a *accountant) walkDir(dir string, node *pathTrie, inStore bool, depth int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		a.notRead(formats.NotRead{Path: a.rel(dir), Kind: formats.NotReadUnreadable, Reason: "directory could not be listed: " + err.Error(), Mail: true})
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadUnreadable, Reason: err.Error(), Mail: true})
			continue
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			a.count(info.Size())
			a.link(p, info)
		case info.IsDir():
			a.dir(p, e.Name(), node, inStore || a.storeOf(p) != nil, depth)
		case info.Mode().IsRegular():
			a.file(p, info, a.storeOf(p))
		default:
			a.count(0)
			a.noMail(p, 0, reasonNotRegular)
		}
	}
}

func (a *accountant) dir(p, name string, node *pathTrie, inStore bool, depth int) {
	if depth >= maxWalkDepth {
		a.led.NotSearched = append(a.led.NotSearched, formats.NotSearched{Path: a.rel(p), Reason: reasonTooDeep})
		return
	}
	if inStore {
		a.walkDir(p, nil, true, depth+1)
		return
	}
	rule, next, why := ruleFor(p, name, node)
	switch rule {
	case ruleNotSearch:
		a.led.NotSearched = append(a.led.NotSearched, formats.NotSearched{Path: a.rel(p), Reason: why})
		return
	case rulePartial:
		a.walkPartial(p, next, depth+1)
		return
	}
	if o := otherStoreDir(p, name); o != nil {
		files, size := countTree(p, depth)
		a.led.Files += files
		a.led.Bytes += size
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadStore, Files: files, Size: size,
			Reason: fmt.Sprintf("%s (%s): mailferry cannot read it", o.what, o.program), Advice: o.advice, Mail: true})
		return
	}
	a.walkDir(p, nil, false, depth+1)
}

// walkPartial enters a hidden directory on the way to a mail path: only
// the directories on the path are searched; the rest is not searched.
func (a *accountant) walkPartial(dir string, node *pathTrie, depth int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		a.led.NotSearched = append(a.led.NotSearched, formats.NotSearched{Path: a.rel(dir), Reason: "directory could not be listed: " + err.Error()})
		return
	}
	skipped := 0
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() && node.children[e.Name()] != nil {
			a.dir(p, e.Name(), node, a.storeOf(p) != nil, depth)
			continue
		}
		skipped++
	}
	if skipped > 0 {
		a.led.NotSearched = append(a.led.NotSearched, formats.NotSearched{Path: a.rel(dir), Reason: fmt.Sprintf("%d other entries of a %s", skipped, reasonHiddenDir)})
	}
}

// countTree counts the files below dir without following links.
func countTree(dir string, depth int) (int, int64) {
	files, size := 0, int64(0)
	var walk func(string, int)
	walk = func(d string, depth int) {
		ents, err := os.ReadDir(d)
		if err != nil || depth >= maxWalkDepth {
			return
		}
		for _, e := range ents {
			if e.IsDir() {
				walk(filepath.Join(d, e.Name()), depth+1)
				continue
			}
			files++
			if info, err := e.Info(); err == nil {
				size += info.Size()
			}
		}
	}
	walk(dir, depth)
	return files, size
}

// link accounts for a symbolic link, which no reader follows.
func (a *accountant) link(p string, info fs.FileInfo) {
	target, _ := os.Readlink(p)
	real, err := filepath.EvalSymlinks(p)
	switch {
	case err != nil && errors.Is(err, fs.ErrNotExist):
		a.noMail(p, info.Size(), reasonLinkDangling)
	case err != nil:
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLink, Files: 1, Size: info.Size(),
			Reason: fmt.Sprintf("symbolic link to %s that loops: not followed", target)})
	case !within(real, a.t.root):
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLink, Files: 1, Size: info.Size(), Mail: true,
			Reason: fmt.Sprintf("symbolic link to %s, outside the source: not followed (in a copied or untrusted tree it may point at any file of this computer)", real),
			Advice: "if it holds mail of yours, point mailferry at " + real})
	case isDir(real) && within(filepath.Dir(p), real):
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLink, Files: 1, Size: info.Size(),
			Reason: fmt.Sprintf("symbolic link to %s, a directory that holds the link itself (a loop): not followed", target)})
	default:
		a.noMail(p, info.Size(), reasonLinkInside)
	}
}

// file accounts for one regular file.
func (a *accountant) file(p string, info fs.FileInfo, store *Found) {
	size := info.Size()
	a.count(size)
	name := filepath.Base(p)
	if err, ok := a.t.failed[p]; ok {
		a.seen[p] = true
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadError, Files: 1, Size: size, Reason: err.Error(), Mail: true})
		return
	}
	if a.t.wasRead(p) {
		a.led.Read.Files++
		a.led.Read.Bytes += size
		return
	}
	if o := otherStoreFile(p, name); o != nil {
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadStore, Files: 1, Size: size,
			Reason: fmt.Sprintf("%s (%s): mailferry cannot read it", o.what, o.program), Advice: o.advice, Mail: true})
		return
	}
	if r, advice := leftOutByName(name); r != "" {
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLeftOut, Files: 1, Size: size, Reason: r, Advice: advice})
		return
	}
	if r := knownNoMail(p, name); r != "" {
		a.noMail(p, size, r)
		return
	}
	parent := filepath.Dir(p)
	switch {
	case filepath.Base(parent) == "tmp" && isDir(filepath.Join(filepath.Dir(parent), "cur")):
		a.noMail(p, size, reasonMaildirTmp)
		return
	case store != nil && store.Kind == AppleMail && strings.Contains(filepath.ToSlash(p), "/Attachments/"):
		a.noMail(p, size, reasonAttachment)
		return
	case strings.HasSuffix(strings.ToLower(name), ".partial.emlx") && a.t.wasRead(filepath.Join(parent, name[:len(name)-len(".partial.emlx")]+".emlx")):
		a.noMail(p, size, reasonPartialCopy)
		return
	case archiveExt[strings.ToLower(filepath.Ext(name))]:
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadArchive, Files: 1, Size: size,
			Reason: "archive (not opened)", Advice: "if it holds mail, unpack it and point mailferry at the result"})
		return
	}
	sn, err := sniff(p)
	if err != nil {
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadUnreadable, Files: 1, Size: size,
			Reason: "could not be read: " + err.Error(), Mail: true})
		return
	}
	if !sn.mail {
		a.noMail(p, size, sn.reason)
		return
	}
	h := a.t.hintFor(p)
	switch {
	case h != nil && !h.mail:
		a.noMail(p, size, h.reason)
	case h != nil:
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLeftOut, Files: 1, Size: size,
			Reason: "looks like mail (" + sn.reason + ") " + h.reason, Advice: h.advice})
	case store != nil && a.hiddenInStore(p):
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadLeftOut, Files: 1, Size: size,
			Reason: fmt.Sprintf("looks like mail (%s), but it is hidden inside the %s store: mail programs ignore hidden files and directories, and so does mailferry", sn.reason, store.Kind.Title()),
			Advice: "if it is mail of yours, copy it to a name without the leading dot"})
	default:
		a.notRead(formats.NotRead{Path: a.rel(p), Kind: formats.NotReadMail, Files: 1, Size: size, Mail: true,
			Reason: "looks like mail (" + sn.reason + "), but no reader took it" + whyNotTaken(store),
			Advice: "if it is mail, put it in a folder of its own (an mbox file, or .eml files) and point mailferry at that"})
	}
}

// hiddenInStore reports whether a name on p's path below the scope of
// its store starts with a dot.
func (a *accountant) hiddenInStore(p string) bool {
	var best string
	for _, sc := range a.t.scopes {
		if within(p, sc.path) && len(sc.path) > len(best) {
			best = sc.path
		}
	}
	rel, err := filepath.Rel(best, p)
	if err != nil {
		return false
	}
	for _, e := range strings.Split(filepath.ToSlash(rel), "/") {
		if strings.HasPrefix(e, ".") && e != "." {
			return true
		}
	}
	return false
}

// whyNotTaken says what the reader of the store that holds a mail-like
// file makes of such files.
func whyNotTaken(store *Found) string {
	if store == nil {
		return " (it lies outside every mail store found)"
	}
	return fmt.Sprintf(" (the %s reader of %s does not take it as a folder or message)", store.Kind.Title(), store.Path)
}
