package thunderbird

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Account is one mail account of a profile: a server entry of prefs.js, or
// a directory under Mail/ or ImapMail/ that prefs.js does not mention.
type Account struct {
	// Key is the server key in prefs.js ("server2"); "" for directories
	// found only on disk.
	Key string `json:"key,omitempty"`
	// AccountKey is the account using the server ("account1"), if any.
	AccountKey string `json:"account,omitempty"`
	// Type is the server type: "none" (Local Folders), "pop3", "imap",
	// "rss", "nntp", "movemail"…; "" when unknown.
	Type string `json:"type"`
	// Name is the display name: the name pref, else the host name, else
	// the directory name. Mailbox.Account carries it.
	Name     string `json:"name"`
	Hostname string `json:"hostname,omitempty"`
	UserName string `json:"user,omitempty"`
	Port     string `json:"port,omitempty"`
	// Dir is the account's store directory; "" when none was found.
	Dir string `json:"dir,omitempty"`
	// DirFrom says how Dir was found: "directory-rel", "directory",
	// "fallback" (prefs pointed elsewhere, e.g. another machine), "disk"
	// (not in prefs.js), or "" (not found).
	DirFrom string `json:"dir_from,omitempty"`
	// Maildir is set when the account uses Thunderbird's maildir store.
	Maildir bool `json:"maildir,omitempty"`
	// DeferredTo is the account key whose Inbox receives this POP3
	// account's mail ("Global Inbox").
	DeferredTo string `json:"deferred_to,omitempty"`
	// IMAPCache is set for ImapMail/ directories: an offline cache of an
	// IMAP account, read best effort.
	IMAPCache bool `json:"imap_cache,omitempty"`
	// Skip says why the account's folders are not read (RSS, news);
	// "" means they are.
	Skip string `json:"skip,omitempty"`
	// Note says what the user should know ("imap offline cache (best
	// effort)", "not in prefs.js").
	Note string `json:"note,omitempty"`
	// Profile is the profile directory.
	Profile string `json:"profile,omitempty"`
}

// Account notes and skip reasons.
const (
	NoteIMAPCache   = "imap offline cache (best effort)"
	NoteNotInPrefs  = "not in prefs.js (left over from an old account or a copied profile)"
	SkipRSS         = "RSS feeds, not mail"
	SkipNews        = "newsgroups, not mail"
	maildirStoreID  = "@mozilla.org/msgstore/maildirstore;1"
	profDirKey      = "[ProfD]"
	mailDirName     = "Mail"
	imapMailDirName = "ImapMail"
)

// ReadAccounts returns the accounts of the profile in dir: the servers of
// prefs.js in the order of mail.accountmanager.accounts (then Local
// Folders, then servers no account uses), then every directory under Mail/
// and ImapMail/ that no server claims. Problems (a prefs.js line that does
// not parse, a directory from another machine) are returned as warnings.
// A missing prefs.js is not an error: the directories are still listed.
func ReadAccounts(dir string) ([]*Account, []string, error) {
	var warns []string
	prefs := Prefs{}
	data, size, err := readPrefs(filepath.Join(dir, "prefs.js"))
	switch {
	case err == nil:
		if size > MaxPrefsBytes {
			warns = append(warns, fmt.Sprintf("%s: prefs.js holds %d bytes, more than the %d read (a real one holds well under a megabyte); accounts defined beyond that are taken from the directories under Mail/ and ImapMail/", dir, size, MaxPrefsBytes))
		}
		var problems []string
		prefs, problems = ParsePrefs(data)
		warns = append(warns, problems...)
	case errors.Is(err, fs.ErrNotExist):
		warns = append(warns, fmt.Sprintf("%s: no prefs.js; accounts are taken from the directories under Mail/ and ImapMail/", dir))
	default:
		return nil, nil, fmt.Errorf("read prefs.js: %w", err)
	}
	check := &dirCheck{profile: dir, rejected: map[string]bool{}}
	accts, w := AccountsFromPrefs(dir, prefs, check.usable)
	warns = append(warns, check.warns...)
	warns = append(warns, w...)
	claimed := map[string]bool{}
	for _, a := range accts {
		if a.Dir != "" {
			claimed[filepath.Clean(a.Dir)] = true
		}
	}
	for _, root := range []string{mailDirName, imapMailDirName} {
		ents, err := os.ReadDir(filepath.Join(dir, root))
		if err != nil {
			continue
		}
		for _, e := range ents {
			d := filepath.Join(dir, root, e.Name())
			// A symbolic link is never followed: it may lead out of the
			// profile (the file accounting lists it).
			if claimed[d] || !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			a := &Account{Name: e.Name(), Dir: d, DirFrom: "disk", Note: NoteNotInPrefs, Profile: dir}
			if root == imapMailDirName {
				a.Type, a.IMAPCache, a.Hostname = "imap", true, e.Name()
				a.Note = NoteIMAPCache + "; " + NoteNotInPrefs
			} else if e.Name() == "Local Folders" {
				a.Type = "none"
			}
			accts = append(accts, a)
		}
	}
	uniqueNames(accts)
	return accts, warns, nil
}

// MaxPrefsBytes is how much of a prefs.js is read. Real ones hold a few
// hundred kilobytes at most; a larger file is cut at its last line break
// before the limit, and the accounts it defines beyond are found from
// their directories, so memory stays bounded whatever the file holds.
const MaxPrefsBytes = 8 << 20

// readPrefs reads up to MaxPrefsBytes of a prefs.js, cut at a line break,
// and returns the file's whole size.
func readPrefs(path string) ([]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPrefsBytes))
	if err != nil {
		return nil, 0, err
	}
	if st.Size() > MaxPrefsBytes {
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		}
	}
	return data, st.Size(), nil
}

// dirCheck decides whether a directory named in prefs.js may be read as
// an account's mail directory, and collects why it refused one.
type dirCheck struct {
	profile  string
	rejected map[string]bool
	warns    []string
}

// usable reports whether dir, named by prefs.js (or derived from it), is
// a mail directory to read. prefs.js is input like any other: a copied or
// hostile profile may name /proc, /dev, /etc or another user's mail. A
// directory is used only when it exists, lies on no special file system,
// and either is inside the profile without leaving it through a symbolic
// link, or, named outside the profile (mail kept on another disk), looks
// like Thunderbird mail folders: .msf summaries, filter rules, POP3
// state, an mbox with X-Mozilla-Status, a maildir-store folder, or
// nothing at all yet.
func (c *dirCheck) usable(dir string) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	reject := func(why string) bool {
		if !c.rejected[dir] {
			c.rejected[dir] = true
			c.warns = append(c.warns, fmt.Sprintf("prefs.js names %s as an account's mail directory; not read: %s", dir, why))
		}
		return false
	}
	if sys, why := systemDir(dir); sys {
		return reject(why)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return reject(err.Error())
	}
	realProfile, err := filepath.EvalSymlinks(c.profile)
	if err != nil {
		realProfile = c.profile
	}
	if sys, why := systemDir(real); sys {
		return reject(why)
	}
	switch {
	case real == realProfile:
		return reject("it is the profile directory itself, not an account's")
	case within(realProfile, real):
		return true
	case within(c.profile, dir):
		return reject(fmt.Sprintf("it is a symbolic link to %s, outside the profile (links that leave the source are not followed)", real))
	case looksLikeMailDir(real):
		return true
	}
	return reject("it holds no Thunderbird mail folders (no .msf summaries, no mbox files with X-Mozilla-Status)")
}

// looksLikeMailDir reports whether dir looks like an account's store:
// Thunderbird folders (looksLikeFolderDir), a maildir-store folder, or an
// empty directory (an account without mail yet).
func looksLikeMailDir(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	if len(ents) == 0 {
		return true
	}
	for _, e := range ents {
		if e.IsDir() && isMaildirFolder(filepath.Join(dir, e.Name())) {
			return true
		}
	}
	return looksLikeFolderDir(dir)
}

// AccountsFromPrefs resolves the servers of prefs into accounts of the
// profile in profile; exists tells whether a directory exists (isDir, or a
// fake in tests). It does not look for unlisted directories.
func AccountsFromPrefs(profile string, prefs Prefs, exists func(string) bool) ([]*Account, []string) {
	var warns []string
	var keys []string
	seen := map[string]bool{}
	serverOf := map[string]string{} // server key → account key
	add := func(server, account string) {
		if server == "" || seen[server] {
			return
		}
		if _, ok := prefs["mail.server."+server+".type"]; !ok {
			if _, ok := prefs["mail.server."+server+".hostname"]; !ok {
				return
			}
		}
		seen[server] = true
		keys = append(keys, server)
		if account != "" {
			serverOf[server] = account
		}
	}
	for _, acct := range splitList(prefs["mail.accountmanager.accounts"]) {
		add(prefs["mail.account."+acct+".server"], acct)
	}
	add(prefs["mail.accountmanager.localfoldersserver"], "")
	var orphans []string
	for name := range prefs {
		if s, ok := strings.CutPrefix(name, "mail.server."); ok {
			if key, field, ok := strings.Cut(s, "."); ok && field == "type" && !seen[key] {
				orphans = append(orphans, key)
			}
		}
	}
	sort.Strings(orphans)
	for _, key := range orphans {
		add(key, "")
	}
	defaultStore := prefs["mail.serverDefaultStoreContractID"]
	var out []*Account
	for _, key := range keys {
		get := func(f string) string { return prefs["mail.server."+key+"."+f] }
		a := &Account{
			Key:        key,
			AccountKey: serverOf[key],
			Type:       get("type"),
			Hostname:   get("hostname"),
			UserName:   get("userName"),
			Port:       get("port"),
			DeferredTo: get("deferred_to_account"),
			Profile:    profile,
		}
		a.Name = get("name")
		if a.Name == "" {
			a.Name = a.Hostname
		}
		store := get("storeContractID")
		if store == "" {
			store = defaultStore
		}
		a.Maildir = store == maildirStoreID
		var notes []string
		if a.AccountKey == "" && key != prefs["mail.accountmanager.localfoldersserver"] {
			notes = append(notes, "no account in prefs.js uses this server")
		}
		switch a.Type {
		case "rss":
			a.Skip = SkipRSS
		case "nntp":
			a.Skip = SkipNews
		case "imap":
			a.IMAPCache = true
			notes = append(notes, NoteIMAPCache)
		}
		if a.DeferredTo != "" {
			notes = append(notes, "mail goes to the Inbox of "+a.DeferredTo)
		}
		dir, from, warn := resolveServerDir(profile, a, get("directory-rel"), get("directory"), exists)
		a.Dir, a.DirFrom = dir, from
		if warn != "" {
			warns = append(warns, warn)
		}
		if a.Name == "" && a.Dir != "" {
			a.Name = filepath.Base(a.Dir)
		}
		if a.Name == "" {
			a.Name = key
		}
		a.Note = strings.Join(notes, "; ")
		out = append(out, a)
	}
	return out, warns
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// resolveServerDir finds a server's store directory: directory-rel
// ("[ProfD]Mail/x", / or \) first, then directory (an absolute native
// path), then, when those point elsewhere (a profile copied from another
// machine), the same Mail/… or ImapMail/… tail inside this profile, then
// Mail/<hostname> or ImapMail/<hostname>
// (docs/thunderbird.md, prefs.js and accounts).
func resolveServerDir(profile string, a *Account, rel, abs string, exists func(string) bool) (dir, from, warn string) {
	if r, ok := strings.CutPrefix(rel, profDirKey); ok {
		d := filepath.Join(profile, filepath.FromSlash(strings.ReplaceAll(r, `\`, "/")))
		if exists(d) {
			return d, "directory-rel", ""
		}
	}
	if abs != "" && filepath.IsAbs(abs) && exists(abs) {
		return abs, "directory", ""
	}
	stated := abs
	if stated == "" {
		stated = rel
	}
	var tries []string
	for _, p := range []string{rel, abs} {
		if t := mailTail(p); t != "" {
			tries = append(tries, filepath.Join(profile, filepath.FromSlash(t)))
		}
	}
	root, host := mailDirName, a.Hostname
	if a.Type == "imap" {
		root = imapMailDirName
	}
	if a.Type == "none" {
		host = "Local Folders"
	}
	if host != "" {
		tries = append(tries, filepath.Join(profile, root, host))
	}
	for _, d := range tries {
		if !exists(d) {
			// Windows, where the profile may come from, ignores case:
			// prefs.js may say "mail\local folders" for Mail/Local Folders.
			if r, err := filepath.Rel(profile, d); err == nil {
				if f := foldPath(profile, r); f != "" {
					d = f
				}
			}
		}
		if exists(d) {
			if stated == "" {
				return d, "fallback", ""
			}
			return d, "fallback", fmt.Sprintf("account %q: its directory \"%s\" does not exist here (profile copied from another machine?); using %s", a.displayKey(), stated, d)
		}
	}
	if a.Type == "rss" || a.Type == "nntp" {
		return "", "", ""
	}
	return "", "", fmt.Sprintf("account %q: no mail directory found (prefs.js says \"%s\")", a.displayKey(), stated)
}

func (a *Account) displayKey() string {
	if a.Name != "" {
		return a.Name
	}
	if a.Hostname != "" {
		return a.Hostname
	}
	return a.Key
}

// mailTail returns the part of a store path from its last "Mail" or
// "ImapMail" element on ("Mail/pop.example.com"), written with /.
func mailTail(p string) string {
	// Windows paths (and [ProfD] paths, which Windows writes too) may use
	// any case: Windows does not care, so neither do we there.
	anyCase := strings.Contains(p, `\`) || strings.HasPrefix(p, profDirKey)
	same := func(a, b string) bool { return a == b || anyCase && strings.EqualFold(a, b) }
	p = strings.ReplaceAll(p, `\`, "/")
	p = strings.TrimPrefix(p, profDirKey)
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i := len(parts) - 2; i >= 0; i-- {
		if same(parts[i], mailDirName) || same(parts[i], imapMailDirName) {
			return strings.Join(parts[i:], "/")
		}
	}
	return ""
}

// uniqueNames makes account display names unique by adding the directory
// name (or server key) to later duplicates.
func uniqueNames(accts []*Account) {
	seen := map[string]int{}
	for _, a := range accts {
		seen[a.Name]++
	}
	used := map[string]bool{}
	for _, a := range accts {
		if seen[a.Name] > 1 && used[a.Name] {
			suffix := a.Key
			if a.Dir != "" {
				suffix = filepath.Base(filepath.Dir(a.Dir)) + "/" + filepath.Base(a.Dir)
			}
			a.Name = fmt.Sprintf("%s (%s)", a.Name, suffix)
		}
		used[a.Name] = true
	}
}

// foldPath finds rel below base, matching each path element without regard
// to case as Windows does, and returns the path as it is on disk, or ""
// when some element has no match.
func foldPath(base, rel string) string {
	dir := base
	for _, elem := range strings.Split(filepath.ToSlash(rel), "/") {
		if elem == "" || elem == "." {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return ""
		}
		match := ""
		for _, e := range entries {
			if e.Name() == elem {
				match = elem
				break
			}
			if match == "" && strings.EqualFold(e.Name(), elem) {
				match = e.Name()
			}
		}
		if match == "" {
			return ""
		}
		dir = filepath.Join(dir, match)
	}
	return dir
}
