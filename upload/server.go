package upload

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
)

// serverFacts is what the run learns about the server before planning.
type serverFacts struct {
	info ServerInfo
	// existing maps the selectable folders on the server to true.
	existing map[string]bool
	caps     imap.CapSet
}

// Special-use attributes for folder roles (RFC 6154). Templates have none.
var specialAttrs = map[formats.Special]imap.MailboxAttr{
	formats.SpecialSent:    imap.MailboxAttrSent,
	formats.SpecialDrafts:  imap.MailboxAttrDrafts,
	formats.SpecialTrash:   imap.MailboxAttrTrash,
	formats.SpecialJunk:    imap.MailboxAttrJunk,
	formats.SpecialArchive: imap.MailboxAttrArchive,
}

// discover learns the delimiter (LIST "" ""), the existing folders and the
// special-use folders (LIST "" "*" RETURN (SPECIAL-USE) where supported;
// Dovecot also shows the attributes in a plain LIST).
func discover(cn *conn) (*serverFacts, error) {
	f := &serverFacts{existing: map[string]bool{}, caps: cn.caps}
	root, err := cn.c.List("", "", nil).Collect()
	if err != nil {
		return nil, fmt.Errorf("list hierarchy delimiter: %w", err)
	}
	f.info.Delimiter = '/'
	if len(root) > 0 {
		f.info.Delimiter = root[0].Delim
	}
	var opts *imap.ListOptions
	if cn.caps.Has(imap.CapSpecialUse) || cn.caps.Has(imap.CapListExtended) {
		opts = &imap.ListOptions{ReturnSpecialUse: true}
	}
	all, err := cn.c.List("", "*", opts).Collect()
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Mailbox < all[j].Mailbox })
	f.info.SpecialUse = map[formats.Special]string{}
	for _, d := range all {
		selectable := true
		for _, a := range d.Attrs {
			if a == imap.MailboxAttrNoSelect || a == imap.MailboxAttrNonExistent {
				selectable = false
			}
		}
		if selectable {
			f.existing[d.Mailbox] = true
		}
		for role, attr := range specialAttrs {
			for _, a := range d.Attrs {
				if strings.EqualFold(string(a), string(attr)) {
					if _, ok := f.info.SpecialUse[role]; !ok {
						f.info.SpecialUse[role] = d.Mailbox
					}
				}
			}
		}
	}
	return f, nil
}

// inferRefused guesses the characters the server refuses from the folders
// a previous upload created: when a planned folder is missing but would
// exist with one more character refused, that character is. Used where
// nothing may be created (dry run, verify); Upload learns the same set from
// the server's CREATE answer.
func inferRefused(mailboxes []*formats.Mailbox, facts *serverFacts, opts PlanOptions) (ServerInfo, error) {
	info := facts.info
	for {
		plan, err := PlanFolders(mailboxes, info, opts)
		if err != nil {
			return info, err
		}
		learned := false
		for _, f := range plan.Folders {
			if facts.existing[f.Server] || strings.EqualFold(f.Server, "INBOX") {
				continue
			}
			for _, r := range f.Server {
				if r == info.Delimiter || strings.ContainsRune(info.Refused, r) || !isPunct(r) {
					continue
				}
				try := info
				try.Refused += string(r)
				p2, err := PlanFolders(mailboxes, try, opts)
				if err != nil {
					return info, err
				}
				if pf := p2.Folder(f.Sources[0]); pf != nil && facts.existing[pf.Server] {
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

// serverSet is the multiset of fingerprints of one server folder.
type serverSet struct {
	count map[Fingerprint]int
	ids   map[Fingerprint]string // a Message-ID per fingerprint, for reports
	total int
}

func newServerSet() *serverSet {
	return &serverSet{count: map[Fingerprint]int{}}
}

func (s *serverSet) add(fp Fingerprint, id string) {
	s.count[fp]++
	s.total++
	if id != "" && s.ids != nil {
		if _, ok := s.ids[fp]; !ok {
			s.ids[fp] = id
		}
	}
}

// take removes one server message matching fp and returns its key: an
// exact match, or else a message of the same size whose header the server
// returned empty (see Fingerprint).
func (s *serverSet) take(fp Fingerprint) (Fingerprint, bool) {
	if s.count[fp] > 0 {
		s.count[fp]--
		return fp, true
	}
	weak := Fingerprint{Header: fingerprint.EmptyHeader, Size: fp.Size}
	if s.count[weak] > 0 {
		s.count[weak]--
		return weak, true
	}
	return Fingerprint{}, false
}

// keep removes the messages whose key is not kept.
func (s *serverSet) keep(kept func(Fingerprint) bool) {
	for k, c := range s.count {
		if !kept(k) {
			delete(s.count, k)
			s.total -= c
		}
	}
}

// merge adds the messages of o.
func (s *serverSet) merge(o *serverSet) {
	for k, c := range o.count {
		if c > 0 {
			s.count[k] += c
			s.total += c
		}
	}
}

// remaining is the number of messages not taken.
func (s *serverSet) remaining() int {
	n := 0
	for _, c := range s.count {
		n += c
	}
	return n
}

// selectFolder selects (or, read-only, examines) a folder. A folder that
// does not exist gives exists false and no error.
func (cn *conn) selectFolder(name string, readOnly bool) (data *imap.SelectData, exists bool, err error) {
	cn.selected = "" // a failed SELECT leaves nothing selected
	data, err = cn.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
	if err != nil {
		if ie := serverError(err); ie != nil && ie.Type == imap.StatusResponseTypeNo && (ie.Code == imap.ResponseCodeNonExistent ||
			strings.Contains(strings.ToLower(ie.Text), "exist") || strings.Contains(strings.ToLower(ie.Text), "no such")) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("select folder %q: %w", name, err)
	}
	cn.selected, cn.readOnly = name, readOnly
	return data, true, nil
}

var headerSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}

// fetchSet learns what a folder holds: one FETCH 1:* (RFC822.SIZE
// BODY.PEEK[HEADER]) hashed as it streams in; no message body is ever
// fetched. withIDs keeps a Message-ID per fingerprint for reports.
func (cn *conn) fetchSet(ctx context.Context, name string, readOnly, withIDs bool) (*serverSet, *imap.SelectData, error) {
	set := newServerSet()
	if withIDs {
		set.ids = map[Fingerprint]string{}
	}
	data, exists, err := cn.selectFolder(name, readOnly)
	if err != nil || !exists || data.NumMessages == 0 {
		return set, data, err
	}
	cmd := cn.c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		RFC822Size:  true,
		BodySection: []*imap.FetchItemBodySection{headerSection},
	})
	if err := cn.collect(ctx, cmd, set); err != nil {
		if ctx.Err() != nil {
			return nil, data, ctx.Err()
		}
		return nil, data, fmt.Errorf("fetch headers of %q: %w", name, err)
	}
	return set, data, nil
}

// collect adds the fingerprints of a FETCH (RFC822.SIZE BODY.PEEK[HEADER])
// to set. It closes cmd, or, when a header fails to read, the connection.
func (cn *conn) collect(ctx context.Context, cmd *imapclient.FetchCommand, set *serverSet) error {
	hh := fingerprint.NewHasher()
	// A header that fails to read (the connection broke or stalled) is
	// left alone, and so is cmd: go-imap v2 beta.8's Next and Close would
	// drain the literal again from the buffer that the client's reader
	// goroutine reads too once the literal has failed (a data race, seen
	// under -race after a stall). The connection is closed instead; the
	// reader stops on its own and the caller reconnects.
	broken := func(err error) error {
		if cn.raw != nil {
			_ = cn.raw.Close()
		}
		return err
	}
	for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
		if ctx.Err() != nil {
			break
		}
		hh.Reset()
		size := int64(-1)
		for item := msg.Next(); item != nil; item = msg.Next() {
			switch it := item.(type) {
			case imapclient.FetchItemDataRFC822Size:
				size = it.Size
			case imapclient.FetchItemDataBodySection:
				if it.Literal != nil {
					if _, err := hh.ReadFrom(it.Literal); err != nil {
						return broken(err)
					}
					if _, err := io.Copy(io.Discard, it.Literal); err != nil {
						return broken(err)
					}
				}
			}
		}
		h, id := hh.Sum()
		set.add(Fingerprint{Header: h, Size: size}, id)
	}
	if err := cmd.Close(); err != nil {
		return err
	}
	return ctx.Err()
}
