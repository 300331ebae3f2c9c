// Package plan maps source folders to server folder names. It is a pure
// function of the source's folder list, what the server is known to want
// (its namespace, delimiter, special-use folders, the characters and names
// it refuses) and the user's choices (--prefix, --include, --exclude): every
// command that shows or uses server names (upload, upload --dry-run,
// verify, scan, the guided run) computes them here, and a re-run computes
// the same names and so finds the folders it created.
//
// The rules:
//   - Every source inbox is the server's INBOX (case-insensitive, RFC 3501
//     5.1), and a folder below a source inbox is below INBOX.
//   - Sent, Drafts, Trash, Junk and Archives go to the server's folders for
//     them, wherever they live (RFC 6154 attributes, or an existing folder
//     of a conventional name; see upload's discovery), else to a folder of
//     the conventional name; a child of such a folder follows it.
//   - Every other folder keeps its path, inside the personal namespace
//     (RFC 2342: "INBOX." with "." on hosting panels, Courier and Cyrus;
//     "" elsewhere), joined with the server's delimiter.
//   - --prefix puts everything below one folder of the namespace instead;
//     inboxes and special folders then keep their source names there.
//   - A delimiter inside a name, a character the server refuses, or a
//     control character becomes a replacement character, the same on every
//     run; a whole name the server refused gets a fallback name. Every such
//     change is a Rename, listed in reports and in the plan shown to users.
package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

// Info is what the plan needs to know about the server.
type Info struct {
	// Prefix and Delimiter are the personal namespace (RFC 2342), as the
	// server announces it: Prefix "INBOX." with Delimiter '.' puts every
	// folder below INBOX; Prefix "" puts them at the top. Delimiter 0 means
	// the server has no hierarchy (a flat namespace).
	Prefix    string
	Delimiter rune
	// SpecialUse maps folder roles to the server's folders for them (full
	// names). Roles missing here get a folder of the conventional name
	// inside the namespace.
	SpecialUse map[formats.Special]string
	// Refused lists characters the server refuses in folder names, learned
	// from a CREATE answered "[CANNOT] Character not allowed in mailbox
	// name: '.'" (Dovecot with the Maildir++ layout), or by trying.
	Refused string
	// RefusedNames are full server names the server refused to create for
	// a reason it did not explain and that no single character explains;
	// such a folder gets a fallback name (see FallbackName).
	RefusedNames map[string]bool
}

// Options are the user's folder choices.
type Options struct {
	// Prefix, when not empty, puts every folder under this folder (inside
	// the server's personal namespace) instead of merging into the
	// server's tree; its levels are separated by '/' whatever the server's
	// delimiter. A first level naming the namespace itself ("INBOX" or
	// "INBOX." where the namespace is "INBOX.") is the namespace, not a
	// folder in it. Inboxes and special folders then keep their source
	// names under the prefix.
	Prefix string
	// Include and Exclude choose folders as formats.Selector does (the
	// one selector of every command): path.Match globs matched against
	// the folder as scan shows it and without its account, and against
	// their parents, so "Local Folders/Archive" and "Archive" select the
	// folder and everything below it. With no Include, every folder is
	// included.
	Include, Exclude []string
}

// ErrPattern is a bad --include or --exclude pattern.
var ErrPattern = errors.New("bad folder pattern")

// Plan maps the source mailboxes to server folders.
type Plan struct {
	// Folders are the server folders to fill, sorted by name. Several
	// source mailboxes may map to one (the inboxes of several accounts).
	Folders []*Folder
	// Excluded are the mailboxes left out by Include/Exclude.
	Excluded []*formats.Mailbox
	// NotMail are the mailboxes that hold no mail (Mailbox.Skip): nothing
	// is created for them; their items are counted as skipped.
	NotMail []*formats.Mailbox
	// Renames lists the source folders whose names had to change.
	Renames []Rename

	index map[*formats.Mailbox]*Folder
	byKey map[string]*Folder
}

// Folder is one server folder of the plan.
type Folder struct {
	// Server is the full server name in UTF-8 (go-imap encodes it in
	// modified UTF-7 on the wire); "INBOX" for inboxes.
	Server string
	// Path is Server split at the delimiter: the folder and its parents
	// (the namespace's own levels included).
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
// mailbox was excluded, holds no mail or is unknown to the plan.
func (p *Plan) Folder(mb *formats.Mailbox) *Folder {
	if mb == nil {
		return nil
	}
	if f, ok := p.index[mb]; ok {
		return f
	}
	return p.byKey[mailboxKey(mb)]
}

// IsExcluded reports whether --include/--exclude left a source mailbox out.
func (p *Plan) IsExcluded(mb *formats.Mailbox) bool { return contains(p.Excluded, mb) }

// IsNotMail reports whether a source mailbox holds no mail.
func (p *Plan) IsNotMail(mb *formats.Mailbox) bool { return contains(p.NotMail, mb) }

func contains(l []*formats.Mailbox, mb *formats.Mailbox) bool {
	for _, x := range l {
		if x == mb || mailboxKey(x) == mailboxKey(mb) {
			return true
		}
	}
	return false
}

func mailboxKey(mb *formats.Mailbox) string {
	return mb.Account + "\x00" + strings.Join(mb.Path, "\x00")
}

// ConventionalNames are the folder names for roles the server has no
// folder for.
var ConventionalNames = map[formats.Special]string{
	formats.SpecialSent:      "Sent",
	formats.SpecialDrafts:    "Drafts",
	formats.SpecialTrash:     "Trash",
	formats.SpecialJunk:      "Junk",
	formats.SpecialArchive:   "Archives",
	formats.SpecialTemplates: "Templates",
}

// NamespacePath is the namespace prefix as folder levels: {"INBOX"} for
// "INBOX.", nil for "".
func (info Info) NamespacePath() []string {
	p := info.Prefix
	if info.Delimiter != 0 {
		p = strings.TrimSuffix(p, string(info.Delimiter))
	}
	if p == "" {
		return nil
	}
	if info.Delimiter == 0 {
		return []string{p}
	}
	return strings.Split(p, string(info.Delimiter))
}

// Join joins folder levels with the server's delimiter (with a
// replacement character on a flat server).
func (info Info) Join(elems []string) string {
	if info.Delimiter == 0 {
		return strings.Join(elems, string(replacementFor(0, info.Refused)))
	}
	return strings.Join(elems, string(info.Delimiter))
}

// Split splits a full server name into its levels.
func (info Info) Split(name string) []string {
	if info.Delimiter == 0 {
		return []string{name}
	}
	return strings.Split(name, string(info.Delimiter))
}

// Canonical is the key under which a server name is compared: INBOX, as
// the first level, in any case is INBOX (RFC 3501 5.1; mox lists it as
// "Inbox" and its children as "Inbox/...").
func (info Info) Canonical(name string) string {
	head, rest, found := name, "", false
	if info.Delimiter != 0 {
		head, rest, found = strings.Cut(name, string(info.Delimiter))
	}
	if !strings.EqualFold(head, "INBOX") {
		return name
	}
	if !found {
		return "INBOX"
	}
	return "INBOX" + string(info.Delimiter) + rest
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
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
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

// maxElement is the longest folder level a fallback name keeps, in
// characters: long names are one reason servers refuse a name without
// saying why.
const maxElement = 100

// shortElement is the length up to which a refused fallback name is
// lengthened (with '_') rather than shortened.
const shortElement = 20

// FallbackName is the name a folder level gets when the server refused
// the whole name without saying why: spaces and dots at its ends removed
// (some servers refuse them) and at most maxElement characters; a name
// that this leaves as it was is halved when it is longer than
// shortElement characters (servers limit the length of a name as they
// store it: in modified UTF-7, 100 Cyrillic characters take 270 bytes),
// else gets a '_' added. So it always differs from e.
func FallbackName(e string) string {
	f := strings.Trim(e, " .\t")
	n := utf8.RuneCountInString(f)
	switch {
	case n > maxElement:
		f = strings.TrimRight(string([]rune(f)[:maxElement]), " .")
	case f == e && n > shortElement:
		f = strings.TrimRight(string([]rune(f)[:n/2]), " .")
	}
	if f == "" || f == e {
		f += "_"
	}
	return f
}

func appendOnce(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// Make computes the Plan. A bad pattern is ErrPattern.
func Make(mailboxes []*formats.Mailbox, info Info, opts Options) (*Plan, error) {
	sel, err := formats.NewSelector(opts.Include, opts.Exclude)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPattern, err)
	}
	p := &Plan{index: map[*formats.Mailbox]*Folder{}, byKey: map[string]*Folder{}}
	ns := info.NamespacePath()

	var prefix []string
	if opts.Prefix != "" {
		levels := strings.Split(strings.Trim(opts.Prefix, "/"), "/")
		// "--prefix INBOX." as a server's hint spells it, or "INBOX" where
		// the namespace is "INBOX.": the namespace, not a folder in it.
		if len(levels) > 0 && info.Delimiter != 0 {
			levels[0] = strings.TrimRight(levels[0], string(info.Delimiter))
		}
		for _, n := range ns {
			if len(levels) == 0 || !strings.EqualFold(levels[0], n) {
				break
			}
			levels = levels[1:]
		}
		for _, e := range levels {
			if e == "" {
				continue
			}
			c, _ := cleanElement(e, info.Delimiter, info.Refused)
			prefix = append(prefix, c)
		}
		if len(prefix) == 0 {
			prefix = nil // the prefix named only the namespace
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

	byServer := map[string]*Folder{}
	sourcesByServer := map[string]map[string]bool{}
	for _, mb := range mailboxes {
		if mb.Skip != "" {
			p.NotMail = append(p.NotMail, mb)
			continue
		}
		if !sel.Selected(mb) {
			p.Excluded = append(p.Excluded, mb)
			continue
		}
		var elems []string
		var special formats.Special
		var why []string
		rest := []string(mb.Path)
		head := append([]string(nil), ns...)
		if opts.Prefix == "" || prefix == nil {
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
				if h := headFor(role, info, ns); h != nil {
					head, special, rest = h, role, mb.Path[i:]
				}
				break
			}
		} else {
			head = append(head, prefix...)
		}
		elems = append(elems, head...)
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
		// A name the server refused gets its fallback name, and so do the
		// folders below it (they follow their parent). FallbackName always
		// changes a name, but its names may come round again (a name
		// lengthened, then halved): a name seen before ends the search, with
		// a name the server refuses, which makes the folder unusable.
		for i := len(head); i < len(elems); i++ {
			seen := map[string]bool{}
			for name := info.Join(elems[:i+1]); info.RefusedNames[name] && !seen[name]; name = info.Join(elems[:i+1]) {
				seen[name] = true
				elems[i] = FallbackName(elems[i])
				why = appendOnce(why, "the server refused the name")
			}
		}
		server := info.Join(elems)
		if info.Delimiter == 0 {
			elems = []string{server}
		}
		f := byServer[server]
		if f == nil {
			f = &Folder{Server: server, Path: elems, Special: special}
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
func headFor(role formats.Special, info Info, ns []string) []string {
	if role == formats.SpecialInbox {
		return []string{"INBOX"}
	}
	if name, ok := info.SpecialUse[role]; ok && name != "" {
		return info.Split(name)
	}
	if name, ok := ConventionalNames[role]; ok {
		return append(append([]string(nil), ns...), name)
	}
	return nil
}
