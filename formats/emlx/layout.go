package emlx

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

// Store names in formats.Mailbox.Store.
const (
	StoreEmlx   = "emlx"             // Mail.app's own store: .emlx files
	StoreExport = "applemail-export" // "Export Mailbox…" bundle: <Name>.mbox/mbox
)

// box is one mailbox and where its messages are.
type box struct {
	mb       *formats.Mailbox
	dirs     []string // directories whose .emlx files belong to the mailbox
	files    []string // single .emlx files (a file given as the source)
	mboxFile string   // the mbox file of an export bundle
}

var versionDir = regexp.MustCompile(`^V([0-9]+)$`)

// walker discovers the mailboxes under a source.
type walker struct {
	opts  formats.Options
	boxes []*box
	byKey map[string]*box
}

func (w *walker) add(account string, path formats.Folder, special formats.Special, store, location string) *box {
	key := account + "\x00" + strings.Join(path, "\x00")
	if b, ok := w.byKey[key]; ok {
		if b.mb.Location == "" {
			b.mb.Location = location
		}
		return b
	}
	b := &box{mb: &formats.Mailbox{Account: account, Path: path, Special: special, Store: store, Location: location}}
	w.byKey[key] = b
	w.boxes = append(w.boxes, b)
	return b
}

// discover finds the mailboxes under source: ~/Library/Mail (the newest
// V<n> is used), a V<n> directory, an account directory, a .mbox directory
// (Mail.app's or an export bundle), a directory tree holding .emlx files,
// or a single .emlx file.
func discover(source string, opts formats.Options) ([]*box, error) {
	w := &walker{opts: opts, byKey: map[string]*box{}}
	st, err := os.Stat(source)
	if err != nil {
		return nil, access(source, fmt.Errorf("open apple mail source: %w", err))
	}
	if !st.IsDir() {
		parent := filepath.Base(filepath.Dir(source))
		if parent == "Messages" {
			parent = filepath.Base(filepath.Dir(filepath.Dir(source)))
		}
		// <Name>.mbox/<UUID>/Data/…/Messages/N.emlx: the mailbox's name.
		for d, i := filepath.Dir(source), 0; i < 10 && d != filepath.Dir(d); d, i = filepath.Dir(d), i+1 {
			if isMboxDir(filepath.Base(d)) {
				parent = filepath.Base(d)
				break
			}
		}
		b := w.add("", formats.Folder{folderName(parent)}, specialFor(parent), StoreEmlx, filepath.Dir(source))
		b.files = append(b.files, source)
		return w.boxes, nil
	}
	root := source
	if v := newestVersion(root); v != "" {
		root = v
	}
	switch {
	case isMailRoot(root):
		err = w.accounts(root)
	case isMboxDir(filepath.Base(root)):
		err = w.mailbox(root, nil, "")
	default:
		err = w.generic(root, nil, true)
	}
	return w.boxes, err
}

// newestVersion returns the V<n> directory with the largest n inside dir,
// or "" when there is none. Older ones can hold stale copies left by a
// macOS upgrade (msgvault PR #194), so only the newest is read.
func newestVersion(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	best, bestN := "", -1
	for _, e := range entries {
		m := versionDir.FindStringSubmatch(e.Name())
		if m == nil || !isDir(filepath.Join(dir, e.Name())) {
			continue
		}
		if n, _ := strconv.Atoi(m[1]); n > bestN {
			best, bestN = filepath.Join(dir, e.Name()), n
		}
	}
	return best
}

// isMailRoot reports whether dir is a Mail store root: V<n>, or a
// directory with MailData, Mailboxes or POP-/IMAP- account directories
// (the V1/V2-era ~/Library/Mail).
func isMailRoot(dir string) bool {
	if versionDir.MatchString(filepath.Base(dir)) {
		return true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() && (n == "MailData" || n == "Mailboxes" || strings.HasPrefix(n, "POP-") || strings.HasPrefix(n, "IMAP-")) {
			return true
		}
	}
	return false
}

func isMboxDir(name string) bool {
	return strings.HasSuffix(name, ".mbox") || strings.HasSuffix(name, ".imapmbox")
}

// skipDir names directories that never hold mailboxes.
func skipDir(name string) bool {
	return strings.HasPrefix(name, ".") || name == "MailData" || name == "Attachments" ||
		strings.HasSuffix(name, ".noindex")
}

// folderName is a directory name as a folder name: without .mbox, NFC
// (macOS file systems may hand out NFD names).
func folderName(dir string) string {
	dir = strings.TrimSuffix(strings.TrimSuffix(dir, ".mbox"), ".imapmbox")
	return norm.NFC.String(dir)
}

// specialFor maps Mail.app's top-level mailbox names to their roles.
func specialFor(dir string) formats.Special {
	switch strings.ToLower(folderName(dir)) {
	case "inbox":
		return formats.SpecialInbox
	case "sent messages", "sent":
		return formats.SpecialSent
	case "drafts":
		return formats.SpecialDrafts
	case "deleted messages", "trash":
		return formats.SpecialTrash
	case "junk":
		return formats.SpecialJunk
	case "archive":
		return formats.SpecialArchive
	case "outbox":
		return formats.SpecialOutbox
	}
	return formats.SpecialNone
}

// accounts walks a store root: one account per directory ("Mailboxes" is
// "On My Mac").
func (w *walker) accounts(root string) error {
	entries, err := os.ReadDir(root)
	if err != nil {
		return access(root, fmt.Errorf("read apple mail directory: %w", err))
	}
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(root, name)
		if skipDir(name) || !isDir(p) {
			continue
		}
		if isMboxDir(name) { // V1/V2: mailboxes right in ~/Library/Mail
			if err := w.mailbox(p, nil, ""); err != nil {
				return err
			}
			continue
		}
		if err := w.accountDir(p, accountName(p)); err != nil {
			return err
		}
	}
	return nil
}

// accountDir finds the .mbox directories of one account (at any depth:
// IMAP servers' hierarchies may sit in plain directories).
func (w *walker) accountDir(dir, account string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return access(dir, fmt.Errorf("read apple mail account: %w", err))
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if skipDir(e.Name()) || !isDir(p) {
			continue
		}
		if isMboxDir(e.Name()) {
			if err := w.mailbox(p, nil, account); err != nil {
				return err
			}
		}
	}
	return nil
}

var uuidName = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// accountName is a display name for an account directory: "On My Mac" for
// Mailboxes, user@host for POP-/IMAP- directories, a name from the
// directory's Info.plist when it has one (best effort), else the UUID.
// (The real mapping lives in ~/Library/Accounts, out of reach.)
func accountName(dir string) string {
	name := filepath.Base(dir)
	switch {
	case name == "Mailboxes":
		return "On My Mac"
	case strings.HasPrefix(name, "POP-"), strings.HasPrefix(name, "IMAP-"):
		_, rest, _ := strings.Cut(name, "-")
		return norm.NFC.String(rest)
	}
	if uuidName.MatchString(name) {
		if b, err := os.ReadFile(filepath.Join(dir, "Info.plist")); err == nil && len(b) < 1<<20 {
			if p, _, _, _ := parsePlist(b); p.Values != nil {
				for _, k := range []string{"AccountName", "DisplayName", "AccountDescription", "EmailAddress", "Username"} {
					if v := strings.TrimSpace(p.Values[k]); v != "" {
						return v
					}
				}
			}
		}
	}
	return norm.NFC.String(name)
}

// mailbox registers the .mbox directory dir under parent and finds its
// messages: Messages/ directories at any depth (<store-UUID>/Data/<d>/…/
// Messages), loose .emlx files, an export bundle's mbox file, and nested
// .mbox directories, which are child folders.
func (w *walker) mailbox(dir string, parent formats.Folder, account string) error {
	name := filepath.Base(dir)
	path := append(append(formats.Folder{}, parent...), folderName(name))
	special := formats.SpecialNone
	if len(parent) == 0 {
		special = specialFor(name)
	}
	store := StoreEmlx
	mboxFile := filepath.Join(dir, "mbox")
	isExport := isFile(mboxFile)
	if isExport {
		store = StoreExport
	}
	b := w.add(account, path, special, store, dir)
	if isExport {
		b.mboxFile = mboxFile
	}
	var children []string
	var scan func(d string, depth int) error
	scan = func(d string, depth int) error {
		entries, err := os.ReadDir(d)
		if err != nil {
			return access(d, fmt.Errorf("read mailbox %s: %w", path, err))
		}
		hasEmlx := false
		for _, e := range entries {
			n := e.Name()
			p := filepath.Join(d, n)
			if !isDir(p) {
				hasEmlx = hasEmlx || isEmlxName(n)
				continue
			}
			switch {
			case skipDir(n):
			case isMboxDir(n):
				children = append(children, p)
			case depth < 12:
				if err := scan(p, depth+1); err != nil {
					return err
				}
			}
		}
		if hasEmlx {
			b.dirs = append(b.dirs, d)
		}
		return nil
	}
	if err := scan(dir, 0); err != nil {
		return err
	}
	for _, c := range children {
		if err := w.mailbox(c, path, account); err != nil {
			return err
		}
	}
	return nil
}

// generic walks a directory that is not a Mail store: each directory with
// .emlx files is a folder named by its path below the source (files right
// in the source: the source's own name; a Messages directory belongs to
// its parent), .mbox directories are mailboxes.
func (w *walker) generic(dir string, path formats.Folder, isRoot bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return access(dir, fmt.Errorf("read directory: %w", err))
	}
	hasMessages := false
	for _, e := range entries {
		if e.Name() == "Messages" && isDir(filepath.Join(dir, e.Name())) {
			hasMessages = true
		}
	}
	hasEmlx := false
	for _, e := range entries {
		n := e.Name()
		p := filepath.Join(dir, n)
		if !isDir(p) {
			hasEmlx = hasEmlx || isEmlxName(n)
			continue
		}
		switch {
		case strings.HasPrefix(n, ".") || n == "MailData" || strings.HasSuffix(n, ".noindex"):
		case n == "Attachments" && hasMessages:
		case isMboxDir(n):
			if err := w.mailbox(p, path, ""); err != nil {
				return err
			}
		case n == "Messages":
			if err := w.generic(p, path, isRoot); err != nil {
				return err
			}
		default:
			if err := w.generic(p, append(append(formats.Folder{}, path...), folderName(n)), false); err != nil {
				return err
			}
		}
	}
	if hasEmlx {
		p := path
		if len(p) == 0 {
			name := filepath.Base(dir)
			if name == "Messages" {
				name = filepath.Base(filepath.Dir(dir))
			}
			p = formats.Folder{folderName(name)}
		}
		b := w.add("", p, formats.SpecialNone, StoreEmlx, dir)
		b.dirs = append(b.dirs, dir)
	}
	return nil
}

func isEmlxName(n string) bool { return strings.HasSuffix(strings.ToLower(n), ".emlx") }

var isDir, isFile = formats.IsDir, formats.IsFile

// msgFile is one message file of a mailbox.
type msgFile struct {
	path string
	id   int64 // numeric id, -1 when the name has none
}

// listMessages returns the .emlx files of a mailbox in id order. When both
// N.emlx and N.partial.emlx exist in a directory, the full one is used
// (msgvault PR #459).
func listMessages(b *box) ([]msgFile, error) {
	var out []msgFile
	for _, f := range b.files {
		out = append(out, msgFile{path: f, id: -1})
	}
	for _, d := range b.dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return out, access(d, fmt.Errorf("list messages of %s: %w", b.mb.DisplayPath(), err))
		}
		full := map[string]bool{}
		for _, e := range entries {
			if isEmlxName(e.Name()) && !IsPartial(e.Name()) {
				full[messageID(e.Name())] = true
			}
		}
		for _, e := range entries {
			n := e.Name()
			if !isEmlxName(n) || !e.Type().IsRegular() { // links are not followed
				continue
			}
			if IsPartial(n) && full[messageID(n)] {
				continue
			}
			id, err := strconv.ParseInt(messageID(n), 10, 64)
			if err != nil {
				id = -1
			}
			out = append(out, msgFile{path: filepath.Join(d, n), id: id})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].id != out[j].id {
			return out[i].id < out[j].id
		}
		return out[i].path < out[j].path
	})
	return out, nil
}

// looksLikeEmlx reports whether b (the start of a file) begins with an
// emlx byte-count line followed by something like a header field.
func looksLikeEmlx(b []byte) bool {
	nl := bytes.IndexByte(b, '\n')
	if nl <= 0 {
		return false
	}
	d := bytes.Trim(b[:nl], " \t\r")
	if len(d) == 0 || len(d) > 18 {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	rest := b[nl+1:]
	end := bytes.IndexByte(rest, '\n')
	if end < 0 {
		end = len(rest)
	}
	return end == 0 || formats.IsHeaderLine(rest[:end]) || len(rest) == 0
}
