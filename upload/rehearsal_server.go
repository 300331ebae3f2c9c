package upload

// The rehearsal server: an in-process IMAP server whose memory does not
// grow with the size of the mail uploaded into it. Its structure follows
// go-imap's imapserver/imapmemserver (MIT licence, Copyright (c) 2013 The
// Go-IMAP Authors), which keeps every message's bytes in memory.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	gomessage "github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// rhServer is the rehearsal's IMAP server, running in-process on the
// loopback interface. It keeps per message only what upload and verify
// read back: the header block (in a temporary file, see rhHeaders), the
// exact size, flags and keywords, the internal date and the UID; the body
// is read and dropped. Its memory is a 48-byte record per message (in a
// growing slice per folder) plus the distinct flag sets and a few buffers
// per connection (64 KiB to find the header's end, up to rhInlineHeader to
// collect it), whatever the messages' sizes; its disk use is the header
// blocks, typically a few KiB per message.
//
// Compared with a real server:
//   - FETCH answers UID, FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE and
//     BODY[HEADER] (also .FIELDS, .FIELDS.NOT, partial, PEEK or not).
//     BODY[HEADER] holds the header lines as far as Fingerprint reads them,
//     plus the empty line ending the header, so the fingerprint of what it
//     returns is the fingerprint of the message appended. BODY[],
//     BODY[TEXT], BINARY and BODYSTRUCTURE are answered NO [CANNOT]: the
//     body is not kept. Nothing in upload asks for them (server.go fetches
//     RFC822.SIZE and BODY.PEEK[HEADER] only).
//   - SEARCH supports sequence and UID sets, flags, dates, sizes and header
//     fields; BODY and TEXT are answered NO [CANNOT].
//   - Its delimiter is '/'; INBOX exists from the start; CREATE of an
//     existing folder answers [ALREADYEXISTS]; it announces no SPECIAL-USE
//     folders (so special folders go to conventional names).
//   - PERMANENTFLAGS holds \*: every keyword is kept, with the spelling it
//     first arrived in; system flags in their canonical spelling.
//   - It announces LITERAL+ (APPENDs do not wait for a continuation),
//     UIDPLUS (APPENDUID, COPYUID), MOVE and NAMESPACE, and takes messages
//     up to 4 GiB. A literal cut short by a broken connection is refused,
//     as by a real server.
type rhServer struct {
	srv      *imapserver.Server
	ln       net.Listener
	b        *rhBackend
	target   Target
	password string
}

// startRehearsalServer starts a rehearsal server keeping its header file
// in dir ("" means os.TempDir()).
func startRehearsalServer(log *slog.Logger, dir string) (*rhServer, error) {
	var pw [12]byte
	_, _ = rand.Read(pw[:])
	rs := &rhServer{password: hex.EncodeToString(pw[:])}
	b, err := newRHBackend("rehearsal", rs.password, dir)
	if err != nil {
		return nil, err
	}
	rs.b = b
	rs.srv = imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return b.newSession(), nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1:   {},
			imap.CapUIDPlus:     {},
			imap.CapLiteralPlus: {},
			imap.CapMove:        {},
			imap.CapNamespace:   {},
		},
		InsecureAuth: true, // loopback, in-process
		Logger:       slogPrintf{log},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.close()
		return nil, fmt.Errorf("rehearsal server: %w", err)
	}
	rs.ln = ln
	go func() { _ = rs.srv.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	rs.target = Target{User: "rehearsal", Host: "127.0.0.1", Port: addr.Port, Security: plainTCP}
	return rs, nil
}

func (rs *rhServer) close() {
	_ = rs.srv.Close()
	_ = rs.ln.Close()
	rs.b.close()
}

const rhDelim = '/'

// rhBackend is the one account of the rehearsal server.
type rhBackend struct {
	user, password string
	headers        *rhHeaders

	mu              sync.Mutex // guards mailboxes, prevUIDValidity; taken before rhMailbox.mu
	mailboxes       map[string]*rhMailbox
	prevUIDValidity uint32

	flagMu sync.Mutex // guards spell and sets; a leaf lock
	spell  map[string]imap.Flag
	sets   map[string]*rhFlags
}

func newRHBackend(user, password, dir string) (*rhBackend, error) {
	h, err := newRHHeaders(dir)
	if err != nil {
		return nil, err
	}
	b := &rhBackend{user: user, password: password, headers: h,
		mailboxes: map[string]*rhMailbox{}, spell: map[string]imap.Flag{}, sets: map[string]*rhFlags{}}
	if err := b.create("INBOX", nil); err != nil {
		h.close()
		return nil, err
	}
	return b, nil
}

func (b *rhBackend) close() { b.headers.close() }

func (b *rhBackend) newSession() *rhSession {
	return &rhSession{b: b, capture: newRHCapture(b.headers)}
}

// rhName is the key of a mailbox name: INBOX in any case is INBOX; a
// trailing delimiter is dropped.
func rhName(name string) string {
	if strings.EqualFold(name, "INBOX") {
		return "INBOX"
	}
	return strings.TrimRight(name, string(rhDelim))
}

var (
	rhNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}
	rhBodyless  = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot,
		Text: "The rehearsal server keeps only message headers: BODY[], BODY[TEXT], BINARY, BODYSTRUCTURE and SEARCH BODY/TEXT are not available"}
)

func (b *rhBackend) mailbox(name string) (*rhMailbox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if mb := b.mailboxes[rhName(name)]; mb != nil {
		return mb, nil
	}
	return nil, rhNoMailbox
}

func (b *rhBackend) create(name string, opts *imap.CreateOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	name = rhName(name)
	if name == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Empty mailbox name"}
	}
	if b.mailboxes[name] != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	// UIDVALIDITY changes when a mailbox is deleted and created again.
	b.prevUIDValidity++
	mb := &rhMailbox{tracker: imapserver.NewMailboxTracker(0), uidValidity: b.prevUIDValidity,
		name: name, uidNext: 1, flags: map[string]imap.Flag{}}
	if opts != nil {
		mb.specialUse = opts.SpecialUse
	}
	b.mailboxes[name] = mb
	return nil
}

// rhFlags is an interned set of flags: messages with the same flags share
// one.
type rhFlags struct {
	list          []imap.Flag // sorted case-insensitively
	seen, deleted bool
}

// flags interns a set of flags. System flags take their canonical
// spelling, keywords the spelling they first arrived in (flags compare
// case-insensitively); \Recent is dropped (no client may set it).
func (b *rhBackend) flags(in []imap.Flag) *rhFlags {
	b.flagMu.Lock()
	defer b.flagMu.Unlock()
	type kv struct {
		low  string
		flag imap.Flag
	}
	var l []kv
	seen := map[string]bool{}
	for _, f := range in {
		low := strings.ToLower(string(f))
		if low == `\recent` || low == `\*` || seen[low] {
			continue
		}
		seen[low] = true
		flag, ok := systemFlags[low]
		if !ok {
			if flag, ok = b.spell[low]; !ok {
				flag = f
				b.spell[low] = f
			}
		}
		l = append(l, kv{low, flag})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].low < l[j].low })
	keys := make([]string, len(l))
	for i, e := range l {
		keys[i] = e.low
	}
	key := strings.Join(keys, " ")
	if fs := b.sets[key]; fs != nil {
		return fs
	}
	fs := &rhFlags{seen: seen[`\seen`], deleted: seen[`\deleted`]}
	for _, e := range l {
		fs.list = append(fs.list, e.flag)
	}
	b.sets[key] = fs
	return fs
}

// store applies a STORE operation to a flag set.
func (b *rhBackend) store(fs *rhFlags, op *imap.StoreFlags) *rhFlags {
	var out []imap.Flag
	switch op.Op {
	case imap.StoreFlagsSet:
		out = op.Flags
	case imap.StoreFlagsAdd:
		out = append(append(out, fs.list...), op.Flags...)
	case imap.StoreFlagsDel:
		del := map[string]bool{}
		for _, f := range op.Flags {
			del[strings.ToLower(string(f))] = true
		}
		for _, f := range fs.list {
			if !del[strings.ToLower(string(f))] {
				out = append(out, f)
			}
		}
	default:
		return fs
	}
	return b.flags(out)
}

// rhMailbox is one folder.
type rhMailbox struct {
	tracker     *imapserver.MailboxTracker
	uidValidity uint32

	mu         sync.Mutex
	name       string
	subscribed bool
	specialUse []imap.MailboxAttr
	msgs       []rhMessage
	uidNext    imap.UID
	flags      map[string]imap.Flag // every flag used in the folder, for FLAGS
	size       int64
}

// rhMessage is what the server keeps of a message.
type rhMessage struct {
	size  int64 // RFC822.SIZE: every byte appended
	hoff  int64 // header block in rhHeaders
	date  int64 // internal date: Unix seconds
	hlen  uint32
	uid   imap.UID
	zone  int32 // internal date: zone offset in seconds
	flags *rhFlags
}

func (m *rhMessage) time() time.Time {
	return time.Unix(m.date, 0).In(time.FixedZone("", int(m.zone)))
}

// add appends a message; call with mb.mu held.
func (mb *rhMailbox) addLocked(m rhMessage) *imap.AppendData {
	m.uid = mb.uidNext
	mb.uidNext++
	mb.msgs = append(mb.msgs, m)
	mb.size += m.size
	mb.noteFlagsLocked(m.flags)
	mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
	return &imap.AppendData{UIDValidity: mb.uidValidity, UID: m.uid}
}

func (mb *rhMailbox) noteFlagsLocked(fs *rhFlags) {
	for _, f := range fs.list {
		mb.flags[strings.ToLower(string(f))] = f
	}
}

func (mb *rhMailbox) statusLocked(options *imap.StatusOptions) *imap.StatusData {
	data := &imap.StatusData{Mailbox: mb.name}
	num := uint32(len(mb.msgs))
	if options.NumMessages {
		data.NumMessages = &num
	}
	if options.UIDNext {
		data.UIDNext = mb.uidNext
	}
	if options.UIDValidity {
		data.UIDValidity = mb.uidValidity
	}
	if options.NumUnseen || options.NumDeleted {
		var unseen, deleted uint32
		for i := range mb.msgs {
			if !mb.msgs[i].flags.seen {
				unseen++
			}
			if mb.msgs[i].flags.deleted {
				deleted++
			}
		}
		if options.NumUnseen {
			data.NumUnseen = &unseen
		}
		if options.NumDeleted {
			data.NumDeleted = &deleted
		}
	}
	if options.Size {
		size := mb.size
		data.Size = &size
	}
	if options.NumRecent {
		var zero uint32
		data.NumRecent = &zero
	}
	if options.AppendLimit {
		limit := uint32(math.MaxUint32)
		data.AppendLimit = &limit
	}
	return data
}

func (mb *rhMailbox) listLocked(options *imap.ListOptions) *imap.ListData {
	if options.SelectSubscribed && !mb.subscribed {
		return nil
	}
	if options.SelectSpecialUse && len(mb.specialUse) == 0 {
		return nil
	}
	data := &imap.ListData{Mailbox: mb.name, Delim: rhDelim}
	if mb.subscribed {
		data.Attrs = append(data.Attrs, imap.MailboxAttrSubscribed)
	}
	if options.ReturnSpecialUse || options.SelectSpecialUse {
		data.Attrs = append(data.Attrs, mb.specialUse...)
	}
	if options.ReturnStatus != nil {
		data.Status = mb.statusLocked(options.ReturnStatus)
	}
	return data
}

// rhSession is one connection.
type rhSession struct {
	b       *rhBackend
	capture *rhCapture
	authed  bool

	mbox      *rhMailbox // selected, nil for none
	view      *imapserver.SessionTracker
	readOnly  bool
	searchRes imap.UIDSet
	copyBuf   []byte // FETCH's, reused from message to message
}

var (
	_ imapserver.SessionIMAP4rev2   = (*rhSession)(nil)
	_ imapserver.SessionAppendLimit = (*rhSession)(nil)
)

func (s *rhSession) Close() error {
	if s.view != nil {
		s.view.Close()
		s.view, s.mbox = nil, nil
	}
	return nil
}

func (s *rhSession) Login(username, password string) error {
	if username != s.b.user || subtle.ConstantTimeCompare([]byte(password), []byte(s.b.password)) != 1 {
		return imapserver.ErrAuthFailed
	}
	s.authed = true
	return nil
}

// AppendLimit is the largest literal an RFC822.SIZE can describe here.
func (s *rhSession) AppendLimit() uint32 { return math.MaxUint32 }

func (s *rhSession) Select(name string, options *imap.SelectOptions) (*imap.SelectData, error) {
	mb, err := s.b.mailbox(name)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	_ = s.Close()
	s.mbox, s.view, s.readOnly = mb, mb.tracker.NewSession(), options != nil && options.ReadOnly
	s.searchRes = nil
	flags := []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}
	var kws []imap.Flag
	for low, f := range mb.flags {
		if _, ok := systemFlags[low]; !ok {
			kws = append(kws, f)
		}
	}
	sort.Slice(kws, func(i, j int) bool { return kws[i] < kws[j] })
	flags = append(flags, kws...)
	data := &imap.SelectData{
		Flags:          flags,
		PermanentFlags: append(append([]imap.Flag(nil), flags...), imap.FlagWildcard),
		NumMessages:    uint32(len(mb.msgs)),
		UIDNext:        mb.uidNext,
		UIDValidity:    mb.uidValidity,
	}
	for i := range mb.msgs {
		if !mb.msgs[i].flags.seen {
			data.FirstUnseenSeqNum = uint32(i + 1)
			break
		}
	}
	return data, nil
}

func (s *rhSession) Unselect() error { return s.Close() }

func (s *rhSession) Create(name string, options *imap.CreateOptions) error {
	return s.b.create(name, options)
}

func (s *rhSession) Delete(name string) error {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	name = rhName(name)
	if name == "INBOX" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted"}
	}
	if b.mailboxes[name] == nil {
		return rhNoMailbox
	}
	delete(b.mailboxes, name)
	return nil
}

// Rename renames a folder and the folders below it. INBOX is not renamed
// (RFC 3501 moves its messages; nothing here needs that).
func (s *rhSession) Rename(oldName, newName string, options *imap.RenameOptions) error {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	oldName, newName = rhName(oldName), rhName(newName)
	if oldName == "INBOX" || newName == "" {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "The rehearsal server does not rename INBOX"}
	}
	if b.mailboxes[oldName] == nil {
		return rhNoMailbox
	}
	if b.mailboxes[newName] != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists"}
	}
	prefix := oldName + string(rhDelim)
	for name, mb := range b.mailboxes {
		if name != oldName && !strings.HasPrefix(name, prefix) {
			continue
		}
		to := newName + strings.TrimPrefix(name, oldName)
		mb.mu.Lock()
		mb.name = to
		mb.mu.Unlock()
		delete(b.mailboxes, name)
		b.mailboxes[to] = mb
	}
	return nil
}

func (s *rhSession) Subscribe(name string) error   { return s.subscribe(name, true) }
func (s *rhSession) Unsubscribe(name string) error { return s.subscribe(name, false) }

func (s *rhSession) subscribe(name string, on bool) error {
	mb, err := s.b.mailbox(name)
	if err != nil {
		return err
	}
	mb.mu.Lock()
	mb.subscribed = on
	mb.mu.Unlock()
	return nil
}

func (s *rhSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: rhDelim})
	}
	if options == nil {
		options = &imap.ListOptions{}
	}
	b := s.b
	b.mu.Lock()
	var l []imap.ListData
	for name, mb := range b.mailboxes {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, rhDelim, ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		mb.mu.Lock()
		data := mb.listLocked(options)
		mb.mu.Unlock()
		if data != nil {
			l = append(l, *data)
		}
	}
	b.mu.Unlock()
	sort.Slice(l, func(i, j int) bool { return l[i].Mailbox < l[j].Mailbox })
	for i := range l {
		if err := w.WriteList(&l[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *rhSession) Status(name string, options *imap.StatusOptions) (*imap.StatusData, error) {
	mb, err := s.b.mailbox(name)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.statusLocked(options), nil
}

// Append reads the message, keeps its header block, size, flags and date,
// and drops the body.
func (s *rhSession) Append(name string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	mb, err := s.b.mailbox(name)
	if err != nil {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	off, n, size, err := s.capture.read(r)
	if err != nil {
		return nil, err
	}
	if size != r.Size() {
		return nil, fmt.Errorf("literal cut short: %d of %d bytes", size, r.Size())
	}
	t := time.Now()
	var flags []imap.Flag
	if options != nil {
		flags = options.Flags
		if !options.Time.IsZero() {
			t = options.Time
		}
	}
	_, zone := t.Zone()
	m := rhMessage{size: size, hoff: off, hlen: n, date: t.Unix(), zone: int32(zone), flags: s.b.flags(flags)}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.addLocked(m), nil
}

func (s *rhSession) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.view == nil {
		return nil
	}
	return s.view.Poll(w, allowExpunge)
}

func (s *rhSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.view == nil {
		<-stop
		return nil
	}
	return s.view.Idle(w, stop)
}

func (s *rhSession) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Delim: rhDelim}}}, nil
}

// staticLocked turns "*" and "$" (SEARCHRES) into numbers.
func (s *rhSession) staticLocked(numSet imap.NumSet) imap.NumSet {
	if imap.IsSearchRes(numSet) {
		return s.searchRes
	}
	static := func(start, stop *uint32, max uint32) {
		dyn := *start == 0 || *stop == 0
		if *start == 0 {
			*start = max
		}
		if *stop == 0 {
			*stop = max
		}
		if dyn && *start > *stop {
			*start, *stop = *stop, *start
		}
	}
	switch set := numSet.(type) {
	case imap.SeqSet:
		out := append(imap.SeqSet(nil), set...)
		for i := range out {
			static(&out[i].Start, &out[i].Stop, uint32(len(s.mbox.msgs)))
		}
		return out
	case imap.UIDSet:
		out := append(imap.UIDSet(nil), set...)
		for i := range out {
			static((*uint32)(&out[i].Start), (*uint32)(&out[i].Stop), uint32(s.mbox.uidNext)-1)
		}
		return out
	}
	return numSet
}

// eachLocked calls f with the mailbox sequence number and index of every
// message in numSet, until f returns false. Call with s.mbox.mu held.
func (s *rhSession) eachLocked(numSet imap.NumSet, f func(seq uint32, i int) bool) {
	numSet = s.staticLocked(numSet)
	for i := range s.mbox.msgs {
		seq := uint32(i + 1)
		var in bool
		switch set := numSet.(type) {
		case imap.SeqSet:
			enc := s.view.EncodeSeqNum(seq)
			in = enc != 0 && set.Contains(enc)
		case imap.UIDSet:
			in = set.Contains(s.mbox.msgs[i].uid)
		}
		if in && !f(seq, i) {
			return
		}
	}
}

func (s *rhSession) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	if options.BodyStructure != nil || len(options.BinarySection) > 0 || len(options.BinarySectionSize) > 0 {
		return rhBodyless
	}
	markSeen := false
	for _, bs := range options.BodySection {
		if len(bs.Part) > 0 || bs.Specifier != imap.PartSpecifierHeader {
			return rhBodyless
		}
		markSeen = markSeen || !bs.Peek
	}
	markSeen = markSeen && !s.readOnly
	mb := s.mbox
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var err error
	s.eachLocked(numSet, func(seq uint32, i int) bool {
		m := &mb.msgs[i]
		if markSeen && !m.flags.seen {
			m.flags = s.b.flags(append(append([]imap.Flag(nil), m.flags.list...), imap.FlagSeen))
			mb.noteFlagsLocked(m.flags)
			mb.tracker.QueueMessageFlags(seq, m.uid, m.flags.list, nil)
		}
		err = s.fetchOne(w.CreateMessage(s.view.EncodeSeqNum(seq)), m, options)
		return err == nil
	})
	return err
}

// fetchOne writes one message's FETCH response; it always closes rw, so
// that the connection stays usable after an error reading the header
// file.
func (s *rhSession) fetchOne(rw *imapserver.FetchResponseWriter, m *rhMessage, options *imap.FetchOptions) error {
	var firstErr error
	note := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	rw.WriteUID(m.uid)
	if options.Flags {
		rw.WriteFlags(m.flags.list)
	}
	if options.InternalDate {
		rw.WriteInternalDate(m.time())
	}
	if options.RFC822Size {
		rw.WriteRFC822Size(m.size)
	}
	var header []byte // read at most once, for the items that parse it
	parsed := func() []byte {
		if header == nil {
			b, err := s.b.headers.read(m.hoff, m.hlen)
			note(err)
			header = rhTerminated(b)
		}
		return header
	}
	if options.Envelope {
		var env *imap.Envelope
		if h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(parsed()))); err == nil {
			env = imapserver.ExtractEnvelope(h)
		}
		rw.WriteEnvelope(env)
	}
	for _, bs := range options.BodySection {
		var r io.Reader
		var n int64
		if len(bs.HeaderFields) == 0 && len(bs.HeaderFieldsNot) == 0 {
			// The stored bytes as they are: no parsing, no re-serializing.
			start, end := int64(0), int64(m.hlen)
			if p := bs.Partial; p != nil {
				start = min(p.Offset, end)
				end = min(start+p.Size, end)
			}
			r, n = io.NewSectionReader(s.b.headers.f, m.hoff+start, end-start), end-start
		} else {
			b := imapserver.ExtractBodySection(bytes.NewReader(parsed()), bs)
			r, n = bytes.NewReader(b), int64(len(b))
		}
		wc := rw.WriteBodySection(bs, n)
		if s.copyBuf == nil {
			s.copyBuf = make([]byte, 32<<10)
		}
		k, err := io.CopyBuffer(wc, r, s.copyBuf)
		if err != nil {
			note(fmt.Errorf("rehearsal server: read header: %w", err))
			// Keep the protocol in step: fill the announced literal.
			_, _ = io.CopyN(wc, rhSpaces{}, n-k)
		}
		if err := wc.Close(); err != nil {
			note(err)
		}
	}
	if err := rw.Close(); err != nil {
		note(err)
	}
	return firstErr
}

// rhTerminated returns a header block ending in an empty line, for parsers
// that need one.
func rhTerminated(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")), bytes.HasSuffix(b, []byte("\n\n")), bytes.Equal(b, []byte("\r\n")):
		return b
	case len(b) == 0:
		return []byte("\r\n")
	case bytes.HasSuffix(b, []byte("\n")):
		return append(b, '\r', '\n')
	}
	return append(b, "\r\n\r\n"...)
}

type rhSpaces struct{}

func (rhSpaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func (s *rhSession) Store(w *imapserver.FetchWriter, numSet imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	if s.readOnly {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Mailbox is read-only"}
	}
	mb := s.mbox
	mb.mu.Lock()
	defer mb.mu.Unlock()
	var err error
	s.eachLocked(numSet, func(seq uint32, i int) bool {
		m := &mb.msgs[i]
		m.flags = s.b.store(m.flags, flags)
		mb.noteFlagsLocked(m.flags)
		mb.tracker.QueueMessageFlags(seq, m.uid, m.flags.list, s.view)
		if !flags.Silent {
			err = s.fetchOne(w.CreateMessage(s.view.EncodeSeqNum(seq)), m, &imap.FetchOptions{Flags: true})
		}
		return err == nil
	})
	return err
}

// Expunge removes the messages flagged \Deleted (among uids, when given).
func (s *rhSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	mb := s.mbox
	mb.mu.Lock()
	defer mb.mu.Unlock()
	mb.expungeLocked(func(m *rhMessage) bool {
		return m.flags.deleted && (uids == nil || uids.Contains(m.uid))
	})
	return nil
}

// expungeLocked removes the messages gone says and returns their sequence
// numbers, highest first.
func (mb *rhMailbox) expungeLocked(gone func(m *rhMessage) bool) (seqs []uint32) {
	for i := len(mb.msgs) - 1; i >= 0; i-- {
		if gone(&mb.msgs[i]) {
			seqs = append(seqs, uint32(i+1))
			mb.tracker.QueueExpunge(uint32(i + 1))
		}
	}
	if len(seqs) == 0 {
		return nil
	}
	kept := mb.msgs[:0]
	for i := range mb.msgs {
		if !gone(&mb.msgs[i]) {
			kept = append(kept, mb.msgs[i])
		} else {
			mb.size -= mb.msgs[i].size
		}
	}
	clear(mb.msgs[len(kept):])
	mb.msgs = kept
	return seqs
}

func (s *rhSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	data, _, err := s.copy(numSet, dest, false)
	return data, err
}

func (s *rhSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	data, seqs, err := s.copy(numSet, dest, true)
	if err != nil {
		return err
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	for _, seq := range seqs {
		if err := w.WriteExpunge(s.view.EncodeSeqNum(seq)); err != nil {
			return err
		}
	}
	return nil
}

// copy copies (the header blocks are shared: they never change) and, for
// a move, expunges the originals.
func (s *rhSession) copy(numSet imap.NumSet, destName string, move bool) (*imap.CopyData, []uint32, error) {
	dest, err := s.b.mailbox(destName)
	if err != nil {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "No such mailbox"}
	}
	mb := s.mbox
	if dest == mb {
		return nil, nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Source and destination mailboxes are identical"}
	}
	mb.mu.Lock()
	var picked []rhMessage
	moved := map[imap.UID]bool{}
	s.eachLocked(numSet, func(seq uint32, i int) bool {
		picked = append(picked, mb.msgs[i])
		moved[mb.msgs[i].uid] = true
		return true
	})
	var seqs []uint32
	if move {
		seqs = mb.expungeLocked(func(m *rhMessage) bool { return moved[m.uid] })
	}
	mb.mu.Unlock()
	data := &imap.CopyData{UIDValidity: dest.uidValidity}
	dest.mu.Lock()
	for _, m := range picked {
		data.SourceUIDs.AddNum(m.uid)
		data.DestUIDs.AddNum(dest.addLocked(m).UID)
	}
	dest.mu.Unlock()
	return data, seqs, nil
}

func (s *rhSession) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	if rhSearchesBody(criteria) {
		return nil, rhBodyless
	}
	mb := s.mbox
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s.staticCriteriaLocked(criteria)
	var (
		data   imap.SearchData
		seqSet imap.SeqSet
		uidSet imap.UIDSet
	)
	for i := range mb.msgs {
		m := &mb.msgs[i]
		seq := s.view.EncodeSeqNum(uint32(i + 1))
		ok, err := s.match(seq, m, criteria)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		uidSet.AddNum(m.uid)
		var num uint32
		switch kind {
		case imapserver.NumKindSeq:
			if seq == 0 {
				continue
			}
			seqSet.AddNum(seq)
			num = seq
		case imapserver.NumKindUID:
			num = uint32(m.uid)
		}
		if data.Min == 0 || num < data.Min {
			data.Min = num
		}
		if num > data.Max {
			data.Max = num
		}
		data.Count++
	}
	if kind == imapserver.NumKindSeq {
		data.All = seqSet
	} else {
		data.All = uidSet
	}
	if options != nil && options.ReturnSave {
		s.searchRes = uidSet
	}
	return &data, nil
}

func rhSearchesBody(c *imap.SearchCriteria) bool {
	if len(c.Body) > 0 || len(c.Text) > 0 {
		return true
	}
	for i := range c.Not {
		if rhSearchesBody(&c.Not[i]) {
			return true
		}
	}
	for i := range c.Or {
		if rhSearchesBody(&c.Or[i][0]) || rhSearchesBody(&c.Or[i][1]) {
			return true
		}
	}
	return false
}

func (s *rhSession) staticCriteriaLocked(c *imap.SearchCriteria) {
	seqs := make([]imap.SeqSet, 0, len(c.SeqNum))
	for _, set := range c.SeqNum {
		switch st := s.staticLocked(set).(type) {
		case imap.SeqSet:
			seqs = append(seqs, st)
		case imap.UIDSet: // SEARCHRES
			c.UID = append(c.UID, st)
		}
	}
	c.SeqNum = seqs
	for i, set := range c.UID {
		c.UID[i] = s.staticLocked(set).(imap.UIDSet)
	}
	for i := range c.Not {
		s.staticCriteriaLocked(&c.Not[i])
	}
	for i := range c.Or {
		s.staticCriteriaLocked(&c.Or[i][0])
		s.staticCriteriaLocked(&c.Or[i][1])
	}
}

func (s *rhSession) match(seq uint32, m *rhMessage, c *imap.SearchCriteria) (bool, error) {
	for _, set := range c.SeqNum {
		if seq == 0 || !set.Contains(seq) {
			return false, nil
		}
	}
	for _, set := range c.UID {
		if !set.Contains(m.uid) {
			return false, nil
		}
	}
	if !rhMatchDate(m.time(), c.Since, c.Before) {
		return false, nil
	}
	has := func(f imap.Flag) bool {
		for _, g := range m.flags.list {
			if strings.EqualFold(string(f), string(g)) {
				return true
			}
		}
		return false
	}
	for _, f := range c.Flag {
		if !has(f) {
			return false, nil
		}
	}
	for _, f := range c.NotFlag {
		if has(f) {
			return false, nil
		}
	}
	if (c.Larger != 0 && m.size <= c.Larger) || (c.Smaller != 0 && m.size >= c.Smaller) {
		return false, nil
	}
	if len(c.Header) > 0 || !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
		b, err := s.b.headers.read(m.hoff, m.hlen)
		if err != nil {
			return false, err
		}
		th, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(rhTerminated(b))))
		h := gomail.Header{Header: gomessage.Header{Header: th}}
		for _, fc := range c.Header {
			if !rhMatchField(h, fc.Key, fc.Value) {
				return false, nil
			}
		}
		if !c.SentSince.IsZero() || !c.SentBefore.IsZero() {
			t, err := h.Date()
			if err != nil || !rhMatchDate(t, c.SentSince, c.SentBefore) {
				return false, nil
			}
		}
	}
	for i := range c.Not {
		ok, err := s.match(seq, m, &c.Not[i])
		if err != nil || ok {
			return false, err
		}
	}
	for i := range c.Or {
		a, err := s.match(seq, m, &c.Or[i][0])
		if err != nil {
			return false, err
		}
		b, err := s.match(seq, m, &c.Or[i][1])
		if err != nil {
			return false, err
		}
		if !a && !b {
			return false, nil
		}
	}
	return true, nil
}

// rhMatchDate compares dates without time and zone (RFC 3501 SEARCH).
func rhMatchDate(t, since, before time.Time) bool {
	t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return (since.IsZero() || !t.Before(since)) && (before.IsZero() || t.Before(before))
}

func rhMatchField(h gomail.Header, key, pattern string) bool {
	fields := h.FieldsByKey(key)
	if pattern == "" {
		return fields.Len() > 0
	}
	pattern = strings.ToLower(pattern)
	for fields.Next() {
		v, _ := fields.Text()
		if strings.Contains(strings.ToLower(v), pattern) {
			return true
		}
	}
	return false
}
