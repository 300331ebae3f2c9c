package upload

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
	"mailferry/upload/bulk"
	"mailferry/upload/plan"
)

// serverFacts is what the run learns about the server before planning.
type serverFacts struct {
	info plan.Info
	// existing maps the selectable folders on the server, by their
	// canonical name (plan.Info.Canonical), to the server's spelling.
	existing map[string]string
	// parents are the folders the server lists but that hold no
	// messages (\Noselect: Gmail's "[Gmail]", a Cyrus or Courier
	// hierarchy node): usable as parents, never created again.
	parents map[string]bool
	caps    imap.CapSet
	// learned says, in plain words, what the run learned about the
	// server's rules for folder names and how (for the report).
	learned []string
	// undecodable are the server's folders whose names could not be
	// decoded: left alone, and named in the report.
	undecodable []string
}

// isParent reports whether the server lists this name as a folder that
// holds no messages but may hold folders.
func (f *serverFacts) isParent(name string) bool {
	return f.parents[f.info.Canonical(name)]
}

// exists reports whether the server has a selectable folder of this name.
func (f *serverFacts) exists(name string) bool {
	_, ok := f.existing[f.info.Canonical(name)]
	return ok || strings.EqualFold(name, "INBOX")
}

// Special-use attributes for folder roles (RFC 6154). Templates have none.
var specialAttrs = map[formats.Special]imap.MailboxAttr{
	formats.SpecialSent:    imap.MailboxAttrSent,
	formats.SpecialDrafts:  imap.MailboxAttrDrafts,
	formats.SpecialTrash:   imap.MailboxAttrTrash,
	formats.SpecialJunk:    imap.MailboxAttrJunk,
	formats.SpecialArchive: imap.MailboxAttrArchive,
}

// conventionalNames are names servers and mail programs give the special
// folders (English and the common European languages), for servers that
// announce no special-use attributes (Courier): an existing folder of one
// of these names, at the top of the personal namespace, is that role's
// folder.
var conventionalNames = map[formats.Special][]string{
	formats.SpecialSent: {"Sent", "Sent Items", "Sent Messages", "Sent Mail", "Gesendet", "Gesendete Objekte",
		"Gesendete Elemente", "Envoyés", "Éléments envoyés", "Enviados", "Elementos enviados", "Posta inviata", "Inviata", "Verzonden", "Verzonden items"},
	formats.SpecialDrafts: {"Drafts", "Entwürfe", "Brouillons", "Borradores", "Bozze", "Concepten"},
	formats.SpecialTrash: {"Trash", "Deleted Items", "Deleted Messages", "Bin", "Papierkorb", "Gelöschte Objekte",
		"Gelöschte Elemente", "Corbeille", "Éléments supprimés", "Papelera", "Elementos eliminados", "Cestino", "Prullenbak"},
	formats.SpecialJunk: {"Junk", "Spam", "Junk E-mail", "Junk Email", "Junk-E-Mail", "Bulk Mail", "Courrier indésirable",
		"Correo no deseado", "Posta indesiderata", "Ongewenste e-mail"},
	formats.SpecialArchive: {"Archive", "Archives", "Archiv"},
}

// discover learns the personal namespace (NAMESPACE, RFC 2342; else the
// delimiter from LIST "" ""), the existing folders and the folders for
// the special roles: announced with RFC 6154 attributes (LIST "" "*"
// RETURN (SPECIAL-USE) where supported; Dovecot also shows them in a plain
// LIST), else an existing folder of a conventional name. It runs on the
// bulk client, whose LIST leaves out (and reports) a name that is not
// valid modified UTF-7 instead of failing on it, and then hands the
// connection to go-imap (dialer.toIMAP): NAMESPACE, LIST and the
// hand-over's own command go in one flight, one round trip for all.
func discover(ctx context.Context, d *dialer, bc *bulkConn) (*serverFacts, *conn, error) {
	c := bc.c
	f := &serverFacts{existing: map[string]string{}, parents: map[string]bool{}, caps: imap.CapSet{}}
	for _, cp := range c.Caps() {
		f.caps[imap.Cap(cp)] = struct{}{}
	}
	f.info.Delimiter = '/'
	fail := func(err error) (*serverFacts, *conn, error) {
		bc.close(false)
		return nil, nil, err
	}
	hasNamespace := c.Has("NAMESPACE")
	if !hasNamespace {
		root, _, err := c.List(ctx, "", "", false)
		if err != nil {
			return fail(fmt.Errorf("list hierarchy delimiter: %w", bulkErr(err)))
		}
		if len(root) > 0 {
			f.info.Delimiter = root[0].Delim
		}
	}
	var ns *bulk.NamespaceCommand
	if hasNamespace {
		var err error
		if ns, err = c.StartNamespace(ctx); err != nil {
			return fail(fmt.Errorf("namespace: %w", err))
		}
	}
	list, err := c.StartList(ctx, "", "*", c.Has("SPECIAL-USE") || c.Has("LIST-EXTENDED"))
	if err != nil {
		return fail(fmt.Errorf("list folders: %w", bulkErr(err)))
	}
	cn, err := d.toIMAP(ctx, bc)
	if err != nil {
		return nil, nil, err
	}
	failed := func(err error) (*serverFacts, *conn, error) {
		cn.close()
		return nil, nil, err
	}
	namespaced := false
	if ns != nil {
		prefix, delim, ok, err := ns.Wait(ctx)
		if err != nil && imapError(err) == nil {
			return failed(fmt.Errorf("namespace: %w", err))
		}
		if err == nil && ok {
			f.info.Prefix, f.info.Delimiter = prefix, delim
			namespaced = true
		}
	}
	all, bad, err := list.Wait(ctx)
	if err != nil {
		return failed(fmt.Errorf("list folders: %w", bulkErr(err)))
	}
	if hasNamespace && !namespaced {
		// NAMESPACE refused or empty: the folders show the delimiter
		// (LIST "" "" would, one round trip later).
		for _, fd := range all {
			if fd.Delim != 0 {
				f.info.Delimiter = fd.Delim
				break
			}
		}
	}
	for _, u := range bad {
		f.undecodable = append(f.undecodable, fmt.Sprintf("%q: %s", u.Raw, u.Reason))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	f.info.SpecialUse = map[formats.Special]string{}
	for _, d := range all {
		selectable := true
		for _, a := range d.Attrs {
			if strings.EqualFold(a, string(imap.MailboxAttrNoSelect)) || strings.EqualFold(a, string(imap.MailboxAttrNonExistent)) {
				selectable = false
			}
		}
		if selectable {
			f.existing[f.info.Canonical(d.Name)] = d.Name
		} else {
			f.parents[f.info.Canonical(d.Name)] = true
		}
		for role, attr := range specialAttrs {
			for _, a := range d.Attrs {
				// Cyrus spells the attributes in lower case (\sent).
				if strings.EqualFold(a, string(attr)) && selectable {
					if _, ok := f.info.SpecialUse[role]; !ok {
						f.info.SpecialUse[role] = d.Name
					}
				}
			}
		}
	}
	f.conventionalFolders()
	return f, cn, nil
}

// conventionalFolders finds, for each role without a special-use folder,
// an existing folder of a conventional name at the top of the personal
// namespace (Courier: INBOX.Sent, INBOX.Trash, INBOX.Drafts).
func (f *serverFacts) conventionalFolders() {
	lower := map[string]string{}
	for _, name := range f.existing {
		lower[strings.ToLower(name)] = name
	}
	for role, names := range conventionalNames {
		if _, ok := f.info.SpecialUse[role]; ok {
			continue
		}
		for _, n := range names {
			if name, ok := lower[strings.ToLower(f.info.Prefix+n)]; ok {
				f.info.SpecialUse[role] = name
				break
			}
		}
	}
}

// makePlan plans the folders; a bad pattern is a configuration error.
func makePlan(mailboxes []*formats.Mailbox, info plan.Info, opts plan.Options) (*plan.Plan, error) {
	p, err := plan.Make(mailboxes, info, opts)
	if errors.Is(err, plan.ErrPattern) {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return p, err
}

// inferRefused guesses the characters and names the server refuses from
// the folders a previous upload created: when a planned folder is missing
// but would exist with one more character refused, or with a fallback
// name of a refused name (or of its refused fallback names), that is what
// the server refuses. Dry runs and verify use it because they may create
// nothing; an upload uses it before it creates anything, and learns what
// is new from the server's CREATE answers.
func inferRefused(mailboxes []*formats.Mailbox, facts *serverFacts, opts plan.Options) (plan.Info, error) {
	info := facts.info
	for {
		p, err := makePlan(mailboxes, info, opts)
		if err != nil {
			return info, err
		}
		learned := false
		for _, f := range p.Folders {
			if facts.exists(f.Server) {
				continue
			}
			var tries []plan.Info
			for _, r := range f.Server {
				if r == info.Delimiter || strings.ContainsRune(info.Refused, r) || !isPunct(r) {
					continue
				}
				try := info
				try.Refused += string(r)
				tries = append(tries, try)
			}
			// The name refused, then its fallback refused too, and so on,
			// as an upload learns them one refusal at a time.
			chain, name := info, f.Server
			for range maxNameTries {
				chain.RefusedNames = withName(chain.RefusedNames, name)
				tries = append(tries, chain)
				p2, err := makePlan(mailboxes, chain, opts)
				if err != nil {
					return info, err
				}
				pf := p2.Folder(f.Sources[0])
				if pf == nil || pf.Server == name {
					break
				}
				name = pf.Server
			}
			for _, try := range tries {
				p2, err := makePlan(mailboxes, try, opts)
				if err != nil {
					return info, err
				}
				if pf := p2.Folder(f.Sources[0]); pf != nil && facts.exists(pf.Server) {
					info, learned = try, true
					break
				}
			}
			if learned {
				break
			}
		}
		if !learned {
			return info, nil
		}
	}
}

// withName returns a copy of names with one more name.
func withName(names map[string]bool, name string) map[string]bool {
	out := map[string]bool{name: true}
	for n := range names {
		out[n] = true
	}
	return out
}

func isPunct(r rune) bool {
	return r < 0x80 && r > ' ' && !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}

// refusedChar matches the ways Dovecot names a character it refuses in a
// mailbox name: "Character not allowed in mailbox name: '.'" (Maildir++
// with '/' as delimiter) and "Invalid mailbox name: Name must not have '/'
// characters" (a '/' inside a name with '.' as delimiter).
var refusedChar = regexp.MustCompile(`(?i)(?:not allowed|must not (?:have|contain)).*'(.)'`)

// refusedCharacter returns the character a CREATE error refuses, if it says.
func refusedCharacter(err error) (rune, bool) {
	ie := serverError(err)
	if ie == nil {
		return 0, false
	}
	m := refusedChar.FindStringSubmatch(ie.Text)
	if m == nil || (ie.Code != "" && ie.Code != imap.ResponseCodeCannot) {
		return 0, false
	}
	r := []rune(m[1])
	return r[0], true
}

// probePrefix starts the names of the test folders created and deleted
// again to learn which characters a server refuses. Each name also holds
// a random tag: Cyrus keeps a deleted folder for a while under its name
// and the second it was deleted, and refuses to delete a folder of the
// same name again within that second.
const probePrefix = "mailferry-test-"

// maxSuspects bounds the characters of one refused name that are tried
// (the first ones); a name with more odd characters than this gets the
// fallback name when the ones tried do not explain the refusal.
const maxSuspects = 16

// learnRefusal learns why the server refused to create a folder: from its
// answer when it names a character; else, since a bare NO teaches nothing,
// by trying. The suspects are the characters of the refused level that
// are not ASCII letters or digits. A test folder named with all of them,
// beside the refused one, is created and deleted again: when the server
// takes it, no character is to blame (the name is too long, or refused
// as a whole). Else each suspect is tried alone the same way, and those
// that cannot be created are refused. When no character explains the
// refusal, the name itself is refused (the plan gives it its fallback
// name). It reports whether the plan must change; an error is a
// transport failure.
func (rn *run) learnRefusal(ctx context.Context, cn *conn, name string, refusal error) (bool, error) {
	info := &rn.facts.info
	if r, ok := refusedCharacter(refusal); ok {
		if r == info.Delimiter || strings.ContainsRune(info.Refused, r) {
			return false, nil
		}
		info.Refused += string(r)
		rn.facts.learned = append(rn.facts.learned, fmt.Sprintf("the server refuses %q in folder names (it said so)", r))
		return true, nil
	}
	levels := info.Split(name)
	parent, level := levels[:len(levels)-1], levels[len(levels)-1]
	var suspects []rune
	for _, r := range level {
		if r == info.Delimiter || strings.ContainsRune(info.Refused, r) || r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) ||
			slices.Contains(suspects, r) {
			continue
		}
		if suspects = append(suspects, r); len(suspects) == maxSuspects {
			break
		}
	}
	var refused []rune
	if len(suspects) > 0 {
		// All suspects at once first: one test folder for the common case
		// of a name refused as a whole.
		taken, named, err := rn.tryFolder(ctx, cn, parent, string(suspects))
		if err != nil {
			return false, err
		}
		if !taken {
			refused = addRune(refused, named)
			if len(suspects) == 1 {
				refused = addRune(refused, suspects[0]) // tried alone already
			} else {
				for _, r := range suspects {
					taken, named, err := rn.tryFolder(ctx, cn, parent, string(r))
					if err != nil {
						return false, err
					}
					refused = addRune(refused, named)
					if !taken {
						refused = addRune(refused, r)
					}
				}
			}
		}
	}
	learned := false
	for _, r := range refused {
		if r != info.Delimiter && !strings.ContainsRune(info.Refused, r) {
			info.Refused += string(r)
			rn.facts.learned = append(rn.facts.learned, fmt.Sprintf("the server refuses %q in folder names (learned by creating a test folder)", r))
			learned = true
		}
	}
	if learned {
		return true, nil
	}
	if info.RefusedNames[name] {
		return false, nil
	}
	info.RefusedNames = withName(info.RefusedNames, name)
	rn.facts.learned = append(rn.facts.learned, fmt.Sprintf("the server refused the folder name %q without saying why (%s); it gets another name", name, describe(refusal)))
	return true, nil
}

// addRune adds r to l once; 0 is none.
func addRune(l []rune, r rune) []rune {
	if r == 0 || slices.Contains(l, r) {
		return l
	}
	return append(l, r)
}

// tryFolder creates a test folder below parent whose name holds chars,
// and deletes it again. It reports whether the server took it, and the
// character its refusal names, if it names one; an error is a transport
// failure.
func (rn *run) tryFolder(ctx context.Context, cn *conn, parent []string, chars string) (taken bool, named rune, _ error) {
	if ctx.Err() != nil {
		return false, 0, ctx.Err()
	}
	probe := rn.facts.info.Join(append(slices.Clone(parent), fmt.Sprintf("%s%04x-%sx", probePrefix, rand.Uint32()&0xffff, chars)))
	cn.expect(cn.small())
	err := cn.c.Create(probe, nil).Wait()
	if err == nil {
		cn.expect(cn.small())
		if derr := cn.c.Delete(probe).Wait(); derr != nil {
			if retry, _ := retryable(ctx, derr, cn.alive()); retry {
				return false, 0, derr
			}
			rn.log.Warn("could not delete a test folder; delete it by hand", "folder", probe, "err", derr)
		}
		return true, 0, nil
	}
	if retry, _ := retryable(ctx, err, cn.alive()); retry {
		return false, 0, err
	}
	if r, ok := refusedCharacter(err); ok && strings.ContainsRune(chars, r) {
		named = r
	}
	return false, named, nil
}

// learnByStatus learns, without creating anything (dry run, verify), the
// characters the server refuses in the names of planned folders that do
// not exist yet: Dovecot answers STATUS of such a name with the same
// "[CANNOT] Character not allowed" as CREATE (not so a name too long,
// which STATUS answers as any missing folder). It reports whether the
// plan must change.
func (rn *run) learnByStatus(cn *conn, p *plan.Plan) (bool, error) {
	learned := false
	for _, f := range p.Folders {
		if rn.facts.exists(f.Server) {
			continue
		}
		cn.expect(cn.small())
		_, err := cn.c.Status(f.Server, &imap.StatusOptions{NumMessages: true}).Wait()
		if err == nil || serverError(err) == nil {
			if err != nil {
				return learned, err
			}
			continue
		}
		if r, ok := refusedCharacter(err); ok && r != rn.facts.info.Delimiter && !strings.ContainsRune(rn.facts.info.Refused, r) {
			rn.facts.info.Refused += string(r)
			rn.facts.learned = append(rn.facts.learned, fmt.Sprintf("the server refuses %q in folder names (it said so)", r))
			learned = true
		}
	}
	return learned, nil
}
