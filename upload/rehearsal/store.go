package rehearsal

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// account is the server's one account: its folders, the interned flag
// sets and the counters of the daily budget and the throttle.
type account struct {
	opts    *Options
	headers *headerFile
	delim   byte
	inbox   string // how INBOX is spelled

	mu              sync.Mutex // guards the fields below up to flagMu; never held with mailbox.mu
	mailboxes       map[string]*mailbox
	prevUIDValidity uint32
	budgetStart     time.Time
	budgetUsed      int64
	throttleStart   time.Time
	throttleCount   int
	failed          int // APPENDs refused as the server's own failure (FailAppends)

	flagMu sync.Mutex        // guards spell and sets; a leaf lock
	spell  map[string]string // keyword spelling, by lower case
	sets   map[string]*flagSet
}

func newAccount(opts *Options, h *headerFile) *account {
	a := &account{opts: opts, headers: h, delim: opts.Namespace.Delim, inbox: opts.InboxName,
		mailboxes: map[string]*mailbox{}, spell: map[string]string{}, sets: map[string]*flagSet{}}
	if a.delim == 0 {
		a.delim = '/'
	}
	if a.inbox == "" {
		a.inbox = "INBOX"
	}
	a.createLocked(a.inbox, "", false)
	for _, f := range opts.Folders {
		name := a.canon(f.Name)
		if a.mailboxes[name] == nil {
			a.createLocked(name, f.Attr, f.NoSelect)
		}
	}
	return a
}

// canon is the key of a mailbox name: INBOX in any case as the first level
// is the account's spelling of INBOX; a trailing delimiter is dropped.
func (a *account) canon(name string) string {
	name = strings.TrimSuffix(name, string(a.delim))
	first, rest, sub := strings.Cut(name, string(a.delim))
	if strings.EqualFold(first, "INBOX") {
		if sub {
			return a.inbox + string(a.delim) + rest
		}
		return a.inbox
	}
	return name
}

func (a *account) mailbox(name string) *mailbox {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mailboxes[a.canon(name)]
}

// create makes a folder and the missing folders above it (RFC 3501
// CREATE: "the server SHOULD create any superior hierarchical names").
func (a *account) create(name string) *Refusal {
	a.mu.Lock()
	defer a.mu.Unlock()
	name = a.canon(name)
	if r := a.checkName(name); r != nil {
		return r
	}
	if a.mailboxes[name] != nil {
		return &Refusal{Code: "ALREADYEXISTS", Text: "Mailbox already exists"}
	}
	levels := strings.Split(name, string(a.delim))
	for i := 1; i <= len(levels); i++ {
		parent := strings.Join(levels[:i], string(a.delim))
		if a.mailboxes[parent] == nil {
			a.createLocked(parent, "", false)
		}
	}
	return nil
}

// delete removes a folder that is empty, has no folders below it and is
// not selected by the asking session; INBOX stays.
func (a *account) delete(name string, selected *mailbox) *Refusal {
	a.mu.Lock()
	defer a.mu.Unlock()
	name = a.canon(name)
	mb := a.mailboxes[name]
	switch {
	case mb == nil:
		return &Refusal{Code: "NONEXISTENT", Text: "Mailbox doesn't exist"}
	case name == a.inbox:
		return &Refusal{Code: "CANNOT", Text: "INBOX can't be deleted"}
	case mb == selected:
		return &Refusal{Code: "INUSE", Text: "Mailbox is selected"}
	}
	for n := range a.mailboxes {
		if strings.HasPrefix(n, name+string(a.delim)) {
			return &Refusal{Code: "HASCHILDREN", Text: "Mailbox has children"}
		}
	}
	mb.mu.Lock()
	empty := len(mb.msgs) == 0
	mb.mu.Unlock()
	if !empty {
		return &Refusal{Code: "CANNOT", Text: "The rehearsal server deletes only empty folders"}
	}
	delete(a.mailboxes, name)
	return nil
}

// failAppend reports whether this APPEND is one of the first
// Options.FailAppends, refused as the server's own failure.
func (a *account) failAppend() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed >= a.opts.FailAppends {
		return false
	}
	a.failed++
	return true
}

// checkName applies the server's naming rules to a CREATE.
func (a *account) checkName(name string) *Refusal {
	o := a.opts
	d := string(a.delim)
	if name == "" || strings.HasPrefix(name, d) || strings.Contains(name, d+d) {
		return refusalOr(o.BadNameRefusal, Refusal{Code: "CANNOT", Text: "Invalid mailbox name"})
	}
	if p := o.Namespace.Prefix; p != "" && name != a.inbox && !strings.HasPrefix(name, p) {
		return refusalOr(o.OutsideNamespace, Refusal{Text: "Mailbox name is outside the personal namespace " + p})
	}
	for _, r := range o.Reserved {
		if strings.EqualFold(name, r) || len(name) > len(r) && strings.EqualFold(name[:len(r)+1], r+d) {
			return refusalOr(o.ReservedRefusal, Refusal{Code: "CANNOT", Text: "Reserved mailbox name"})
		}
	}
	if i := strings.IndexAny(name, o.ForbiddenChars); o.ForbiddenChars != "" && i >= 0 {
		r := refusalOr(o.ForbiddenCharRefusal, Refusal{Code: "CANNOT", Text: "Character not allowed in mailbox name: '%c'"})
		r.Text = strings.ReplaceAll(r.Text, "%c", name[i:i+1])
		return r
	}
	return nil
}

func refusalOr(r, def Refusal) *Refusal {
	if r.Text == "" && r.Code == "" {
		return &def
	}
	return &r
}

func (a *account) createLocked(name, attr string, noSelect bool) {
	// UIDVALIDITY differs from folder to folder and from a deleted folder
	// to its successor.
	a.prevUIDValidity++
	a.mailboxes[name] = &mailbox{name: name, uidValidity: a.prevUIDValidity, uidNext: 1,
		attr: attr, noSelect: noSelect, keywords: map[string]string{}}
}

// names returns the folder names, sorted.
func (a *account) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := make([]string, 0, len(a.mailboxes))
	for name := range a.mailboxes {
		l = append(l, name)
	}
	sort.Strings(l)
	return l
}

// hasChildren reports whether a folder has folders below it.
func (a *account) hasChildren(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := name + string(a.delim)
	for n := range a.mailboxes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// systemFlags are the flags a client may set, in their canonical spelling.
var systemFlags = map[string]string{
	`\seen`:     `\Seen`,
	`\answered`: `\Answered`,
	`\flagged`:  `\Flagged`,
	`\draft`:    `\Draft`,
	`\deleted`:  `\Deleted`,
}

// flagSet is an interned set of flags: messages with the same flags share
// one.
type flagSet struct {
	list []string // sorted case-insensitively
	seen bool
}

// flags interns a set of flags. System flags take their canonical
// spelling, keywords the spelling they first arrived in (flags compare
// case-insensitively); with NoKeywords, keywords are dropped.
func (a *account) flags(in []string) *flagSet {
	a.flagMu.Lock()
	defer a.flagMu.Unlock()
	type kv struct{ low, flag string }
	var l []kv
	seen := map[string]bool{}
	for _, f := range in {
		low := strings.ToLower(f)
		if seen[low] {
			continue
		}
		flag, ok := systemFlags[low]
		if !ok {
			if strings.HasPrefix(f, `\`) || a.opts.NoKeywords {
				continue
			}
			if flag, ok = a.spell[low]; !ok {
				flag = f
				a.spell[low] = f
			}
		}
		seen[low] = true
		l = append(l, kv{low, flag})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].low < l[j].low })
	keys := make([]string, len(l))
	for i, e := range l {
		keys[i] = e.low
	}
	key := strings.Join(keys, " ")
	if fs := a.sets[key]; fs != nil {
		return fs
	}
	fs := &flagSet{seen: seen[`\seen`]}
	for _, e := range l {
		fs.list = append(fs.list, e.flag)
	}
	a.sets[key] = fs
	return fs
}

// withSeen returns the set plus \Seen.
func (a *account) withSeen(fs *flagSet) *flagSet {
	if fs.seen {
		return fs
	}
	return a.flags(append(append([]string(nil), fs.list...), `\Seen`))
}

// chargeBudget counts n bytes against the daily upload budget; false means
// the budget is spent (nothing is counted then).
func (a *account) chargeBudget(n int64, now time.Time) bool {
	if a.opts.DailyUploadBytes <= 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.budgetStart.IsZero() || !now.Before(a.budgetStart.Add(24*time.Hour)) {
		a.budgetStart, a.budgetUsed = now, 0
	}
	if a.budgetUsed+n > a.opts.DailyUploadBytes {
		return false
	}
	a.budgetUsed += n
	return true
}

// throttled counts an APPEND against the throttle and reports whether it
// is beyond the rate, and how long until the window ends.
func (a *account) throttled(now time.Time) (bool, time.Duration) {
	t := a.opts.Throttle
	if t == nil || t.Window <= 0 || t.Appends <= 0 {
		return false, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.throttleStart.IsZero() || !now.Before(a.throttleStart.Add(t.Window)) {
		a.throttleStart, a.throttleCount = now, 0
	}
	a.throttleCount++
	return a.throttleCount > t.Appends, a.throttleStart.Add(t.Window).Sub(now)
}

// mailbox is one folder. Its first fields never change.
type mailbox struct {
	name        string
	uidValidity uint32
	attr        string
	noSelect    bool

	mu         sync.Mutex
	subscribed bool
	msgs       []message
	uidNext    uint32
	keywords   map[string]string // every keyword used, by lower case, for FLAGS
	size       int64
}

// message is what the server keeps of a message: 48 bytes, whatever its
// size.
type message struct {
	size  int64 // RFC822.SIZE: every byte stored
	hoff  int64 // header block in the header file
	date  int64 // internal date: Unix seconds
	hlen  uint32
	uid   uint32
	zone  int32 // internal date: zone offset in seconds
	flags *flagSet
}

func (m *message) time() time.Time {
	return time.Unix(m.date, 0).In(time.FixedZone("", int(m.zone)))
}

// addLocked appends messages with consecutive UIDs and returns the first
// UID; call with mb.mu held.
func (mb *mailbox) addLocked(ms []message) uint32 {
	first := mb.uidNext
	for _, m := range ms {
		m.uid = mb.uidNext
		mb.uidNext++
		mb.msgs = append(mb.msgs, m)
		mb.size += m.size
		mb.noteFlagsLocked(m.flags)
	}
	return first
}

func (mb *mailbox) noteFlagsLocked(fs *flagSet) {
	for _, f := range fs.list {
		if _, ok := systemFlags[strings.ToLower(f)]; !ok {
			mb.keywords[strings.ToLower(f)] = f
		}
	}
}

// keywordListLocked returns the folder's keywords, sorted.
func (mb *mailbox) keywordListLocked() []string {
	l := make([]string, 0, len(mb.keywords))
	for _, f := range mb.keywords {
		l = append(l, f)
	}
	sort.Strings(l)
	return l
}
