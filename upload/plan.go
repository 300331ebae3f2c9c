package upload

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

// ServerInfo is what the plan needs to know about the server.
type ServerInfo struct {
	// Delimiter is the hierarchy delimiter from LIST "" "" ('/' or '.');
	// 0 means the server has no hierarchy (a flat namespace).
	Delimiter rune
	// SpecialUse maps folder roles to the server's folders announced with
	// the matching RFC 6154 attribute (\Sent, \Drafts, \Trash, \Junk,
	// \Archive). Missing roles get a folder of the conventional name.
	SpecialUse map[formats.Special]string
	// Refused lists characters the server refuses in folder names, learned
	// from a CREATE answered "[CANNOT] Character not allowed in mailbox
	// name: '.'" (Dovecot with the Maildir++ layout).
	Refused string
}

// PlanOptions are the user's folder choices.
type PlanOptions struct {
	// Prefix, when not empty, puts every folder under this folder instead
	// of merging into the server's tree; its levels are separated by '/'
	// whatever the server's delimiter. Inboxes and special folders then
	// keep their source names under the prefix.
	Prefix string
	// Include and Exclude are path.Match globs matched against
	// Mailbox.DisplayPath() (as scan shows it) and against its parent
	// paths, so "Local Folders/Archive" selects the folder and everything
	// below it. With no Include, every folder is included.
	Include, Exclude []string
}

// Plan maps the source mailboxes to server folders. It is a pure function
// of the mailboxes, the ServerInfo and the PlanOptions: a re-run computes
// the same names and so finds the folders it created.
type Plan struct {
	// Folders are the server folders to fill, sorted by name. Several
	// source mailboxes may map to one (the inboxes of several accounts).
	Folders []*PlannedFolder
	// Excluded are the mailboxes left out by Include/Exclude.
	Excluded []*formats.Mailbox
	// Renames lists the source folders whose names had to change.
	Renames []Rename

	index map[*formats.Mailbox]*PlannedFolder
	byKey map[string]*PlannedFolder
}

// PlannedFolder is one server folder of the plan.
type PlannedFolder struct {
	// Server is the full server name in UTF-8 (go-imap encodes it in
	// modified UTF-7 on the wire); "INBOX" for inboxes.
	Server string
	// Path is Server split at the delimiter: the folder and its parents.
	Path []string
	// Sources are the source mailboxes mapped here.
	Sources []*formats.Mailbox
	// Special is the role that decided the name, if any.
	Special formats.Special
}

// Rename is a source folder whose server name differs from its path
// joined with the delimiter for a reason other than the special-folder
// mapping.
type Rename struct {
	Source string `json:"source"`
	Server string `json:"server"`
	Reason string `json:"reason"`
}

// Folder returns the planned folder of a source mailbox, or nil when the
// mailbox was excluded or is unknown to the plan.
func (p *Plan) Folder(mb *formats.Mailbox) *PlannedFolder {
	if mb == nil {
		return nil
	}
	if f, ok := p.index[mb]; ok {
		return f
	}
	return p.byKey[mailboxKey(mb)]
}

// IsExcluded reports whether --include/--exclude left a source mailbox out.
func (p *Plan) IsExcluded(mb *formats.Mailbox) bool {
	for _, x := range p.Excluded {
		if x == mb || mailboxKey(x) == mailboxKey(mb) {
			return true
		}
	}
	return false
}

func mailboxKey(mb *formats.Mailbox) string {
	return mb.Account + "\x00" + strings.Join(mb.Path, "\x00")
}

// Conventional folder names for roles the server has no special-use folder
// for.
var specialNames = map[formats.Special]string{
	formats.SpecialSent:      "Sent",
	formats.SpecialDrafts:    "Drafts",
	formats.SpecialTrash:     "Trash",
	formats.SpecialJunk:      "Junk",
	formats.SpecialArchive:   "Archives",
	formats.SpecialTemplates: "Templates",
}

// replacementFor is the character that replaces a delimiter or refused
// character inside a name.
func replacementFor(delim rune, refused string) rune {
	for _, r := range "_-~" {
		if r != delim && !strings.ContainsRune(refused, r) {
			return r
		}
	}
	return '_'
}

// cleanElement makes one folder name safe as one level on the server: NFC
// (macOS stores names decomposed), and the delimiter, refused characters
// and control characters replaced. It says why it changed the name.
func cleanElement(e string, delim rune, refused string) (string, string) {
	e = norm.NFC.String(e)
	repl := replacementFor(delim, refused)
	var why []string
	var b strings.Builder
	for _, r := range e {
		switch {
		case delim != 0 && r == delim:
			why = appendOnce(why, fmt.Sprintf("contains the server's hierarchy delimiter %q", delim))
			r = repl
		case strings.ContainsRune(refused, r):
			why = appendOnce(why, fmt.Sprintf("the server refuses %q in folder names", r))
			r = repl
		case r < 0x20 || r == 0x7f:
			why = appendOnce(why, "contains control characters")
			r = repl
		}
		b.WriteRune(r)
	}
	if b.Len() == 0 {
		return string(repl), "empty folder name"
	}
	return b.String(), strings.Join(why, "; ")
}

func appendOnce(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// PlanFolders computes the Plan. Errors (a bad glob) wrap ErrConfig.
func PlanFolders(mailboxes []*formats.Mailbox, info ServerInfo, opts PlanOptions) (*Plan, error) {
	for _, g := range append(append([]string(nil), opts.Include...), opts.Exclude...) {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("%w: folder pattern %q: %v", ErrConfig, g, err)
		}
	}
	p := &Plan{index: map[*formats.Mailbox]*PlannedFolder{}, byKey: map[string]*PlannedFolder{}}
	joiner := string(info.Delimiter)
	if info.Delimiter == 0 {
		joiner = string(replacementFor(0, info.Refused))
	}

	var prefix []string
	if opts.Prefix != "" {
		for _, e := range strings.Split(strings.Trim(opts.Prefix, "/"), "/") {
			c, _ := cleanElement(e, info.Delimiter, info.Refused)
			prefix = append(prefix, c)
		}
	}

	// Roles by (account, path), so that children of a special folder
	// follow it ("Archives/2019" under the server's \Archive folder).
	roles := map[string]formats.Special{}
	for _, mb := range mailboxes {
		if role := roleOf(mb); role != formats.SpecialNone {
			roles[mailboxKey(mb)] = role
		}
	}

	byServer := map[string]*PlannedFolder{}
	sourcesByServer := map[string]map[string]bool{}
	for _, mb := range mailboxes {
		if !selected(mb, opts) {
			p.Excluded = append(p.Excluded, mb)
			continue
		}
		var elems []string
		var special formats.Special
		var why []string
		rest := []string(mb.Path)
		if prefix == nil {
			// The longest ancestor-or-self with a role decides the head.
			for i := len(mb.Path); i >= 1; i-- {
				anc := &formats.Mailbox{Account: mb.Account, Path: mb.Path[:i]}
				role, ok := roles[mailboxKey(anc)]
				if !ok && i == 1 && strings.EqualFold(mb.Path[0], "INBOX") {
					role, ok = formats.SpecialInbox, true
				}
				if !ok {
					continue
				}
				if head := headFor(role, info); head != nil {
					elems, special, rest = head, role, mb.Path[i:]
				}
				break
			}
		} else {
			elems = append(elems, prefix...)
		}
		for _, e := range rest {
			c, w := cleanElement(e, info.Delimiter, info.Refused)
			if w != "" {
				why = appendOnce(why, w)
			}
			elems = append(elems, c)
		}
		if len(elems) == 0 {
			// An account root or an empty path: nothing to create.
			p.Excluded = append(p.Excluded, mb)
			continue
		}
		server := strings.Join(elems, joiner)
		f := byServer[server]
		if f == nil {
			f = &PlannedFolder{Server: server, Path: elems, Special: special}
			byServer[server] = f
			p.Folders = append(p.Folders, f)
		}
		f.Sources = append(f.Sources, mb)
		p.index[mb] = f
		p.byKey[mailboxKey(mb)] = f
		if sourcesByServer[server] == nil {
			sourcesByServer[server] = map[string]bool{}
		}
		sourcesByServer[server][mb.Path.String()] = true
		if len(why) > 0 {
			p.Renames = append(p.Renames, Rename{Source: mb.DisplayPath(), Server: server, Reason: strings.Join(why, "; ")})
		}
	}
	// A renamed folder that lands on the name of another source folder is
	// merged with it; say so.
	for i := range p.Renames {
		if len(sourcesByServer[p.Renames[i].Server]) > 1 {
			p.Renames[i].Reason += "; merged with another folder of the same server name"
		}
	}
	sort.Slice(p.Folders, func(i, j int) bool { return p.Folders[i].Server < p.Folders[j].Server })
	sort.Slice(p.Renames, func(i, j int) bool { return p.Renames[i].Source < p.Renames[j].Source })
	return p, nil
}

// roleOf is a mailbox's role; a top-level folder named Inbox counts as the
// inbox whatever the reader said (RFC 3501: INBOX is case-insensitive).
func roleOf(mb *formats.Mailbox) formats.Special {
	if mb.Special == formats.SpecialInbox || (len(mb.Path) == 1 && strings.EqualFold(mb.Path[0], "INBOX")) {
		return formats.SpecialInbox
	}
	return mb.Special
}

// headFor is the server path a role maps to, or nil when the role keeps
// its source name (outbox, none).
func headFor(role formats.Special, info ServerInfo) []string {
	if role == formats.SpecialInbox {
		return []string{"INBOX"}
	}
	if name, ok := info.SpecialUse[role]; ok && name != "" {
		if info.Delimiter == 0 {
			return []string{name}
		}
		return strings.Split(name, string(info.Delimiter))
	}
	if name, ok := specialNames[role]; ok {
		return []string{name}
	}
	return nil
}

// selected applies Include and Exclude to a mailbox and its parents.
func selected(mb *formats.Mailbox, opts PlanOptions) bool {
	paths := []string{}
	for i := len(mb.Path); i >= 1; i-- {
		anc := formats.Mailbox{Account: mb.Account, Path: mb.Path[:i]}
		paths = append(paths, anc.DisplayPath())
	}
	if mb.Account != "" {
		paths = append(paths, mb.Account)
	}
	match := func(globs []string) bool {
		for _, g := range globs {
			for _, p := range paths {
				if ok, _ := path.Match(g, p); ok {
					return true
				}
			}
		}
		return false
	}
	if len(opts.Include) > 0 && !match(opts.Include) {
		return false
	}
	return !match(opts.Exclude)
}
