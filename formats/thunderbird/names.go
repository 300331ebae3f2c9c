package thunderbird

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Profile-wide hints about folders: display names and folder flags from
// folderCache.json (or the older panacea.dat), and folder URIs from
// folderTree.json. The caches key folders by absolute paths of the machine
// that wrote them, so entries are matched by their tail relative to the
// profile ("Mail/Local Folders/Trash.msf"), never by the full path.

// cacheEntry is one folder of the folder cache.
type cacheEntry struct {
	tail       string // key with / separators
	folderName string
	onlineName string
	flags      uint32
	hasFlags   bool
}

type nameHints struct {
	entries []cacheEntry
	// pool holds every folder name the profile mentions anywhere, for
	// confirming hashed names by their hash.
	pool map[string]bool
}

func newNameHints() *nameHints { return &nameHints{pool: map[string]bool{}} }

// loadNameHints reads the caches of the profile in dir; missing or broken
// files only mean fewer hints.
func loadNameHints(dir string) *nameHints {
	h := newNameHints()
	if dir == "" {
		return h
	}
	if b, err := os.ReadFile(filepath.Join(dir, "folderCache.json")); err == nil {
		h.addFolderCache(b)
	} else if b, err := os.ReadFile(filepath.Join(dir, "panacea.dat")); err == nil {
		h.addPanacea(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "folderTree.json")); err == nil {
		h.addFolderTree(b)
	}
	return h
}

func (h *nameHints) addFolderCache(b []byte) {
	var m map[string]map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return
	}
	for key, fields := range m {
		e := cacheEntry{tail: strings.ReplaceAll(key, `\`, "/")}
		str := func(name string) string {
			var s string
			if raw, ok := fields[name]; ok && json.Unmarshal(raw, &s) == nil {
				return s
			}
			return ""
		}
		e.folderName = str("folderName")
		e.onlineName = str("onlineName")
		if raw, ok := fields["flags"]; ok {
			var n json.Number
			if json.Unmarshal(raw, &n) == nil {
				if v, err := strconv.ParseInt(string(n), 10, 64); err == nil {
					e.flags, e.hasFlags = uint32(v), true
				}
			}
		}
		h.add(e)
	}
}

// addPanacea reads the Mork folder cache of older Thunderbird: one row per
// folder, keyed by the summary file's path.
func (h *nameHints) addPanacea(b []byte) {
	db, err := parseMork(b)
	if err != nil && db == nil {
		return
	}
	for _, oid := range db.order {
		c := db.rows[oid].Cells
		key := c["key"]
		if key == "" {
			continue
		}
		e := cacheEntry{tail: strings.ReplaceAll(morkString(key), `\`, "/"), folderName: morkString(c["folderName"]), onlineName: morkString(c["onlineName"])}
		if v, err := strconv.ParseUint(c["flags"], 16, 32); err == nil {
			e.flags, e.hasFlags = uint32(v), true
		}
		h.add(e)
	}
}

func (h *nameHints) add(e cacheEntry) {
	h.entries = append(h.entries, e)
	h.addName(e.folderName)
	h.addOnline(e.onlineName)
}

func (h *nameHints) addName(n string) {
	if n != "" {
		h.pool[n] = true
	}
}

// addOnline adds an IMAP folder's server name and its last element under
// every likely hierarchy delimiter.
func (h *nameHints) addOnline(n string) {
	h.addName(n)
	for _, d := range []string{"/", ".", "^", `\`} {
		if i := strings.LastIndex(n, d); i >= 0 {
			h.addName(n[i+1:])
		}
	}
}

// addFolderTree collects the folder URIs anywhere in folderTree.json (keys
// and string values, e.g. "mailbox://nobody@Local%20Folders/a%2Fb"): each
// path element, unescaped, is a folder name.
func (h *nameHints) addFolderTree(b []byte) {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return
	}
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				h.addURI(k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			h.addURI(x)
		}
	}
	walk(v)
}

func (h *nameHints) addURI(s string) {
	_, rest, ok := strings.Cut(s, "://")
	if !ok {
		return
	}
	_, path, ok := strings.Cut(rest, "/") // drop user@host
	if !ok {
		return
	}
	for _, el := range strings.Split(path, "/") {
		if n, err := url.PathUnescape(el); err == nil {
			h.addName(n)
		}
	}
}

// lookup returns the cache entry for a summary file or account directory,
// given its path relative to the profile with / separators.
func (h *nameHints) lookup(rel string) *cacheEntry {
	if h == nil || rel == "" {
		return nil
	}
	for i := range h.entries {
		t := h.entries[i].tail
		if t == rel || strings.HasSuffix(t, "/"+rel) {
			return &h.entries[i]
		}
	}
	return nil
}

// recoverName returns the real name of a folder stored under the hashed
// file name disk, trying the candidates first (from the folder's own .msf
// and cache entry), then every name the profile mentions; a candidate is
// taken only when its hash confirms it.
func (h *nameHints) recoverName(disk string, candidates ...string) (string, bool) {
	for _, c := range candidates {
		if MatchesHashedName(disk, c) {
			return c, true
		}
	}
	if h == nil {
		return "", false
	}
	var found []string
	for c := range h.pool {
		if MatchesHashedName(disk, c) {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	// Several names with the same hash are all but impossible; be
	// deterministic anyway.
	best := found[0]
	for _, c := range found[1:] {
		if c < best {
			best = c
		}
	}
	return best, true
}
