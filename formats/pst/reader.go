package pst

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ndb"
)

// Reasons for skipping, besides a folder's "not mail: ..." reason.
const (
	// SkipUnreadable: the message's data in the file is damaged; a warning
	// says where and why.
	SkipUnreadable = "message could not be read from the Outlook file"
)

// Meta is what a conversion says about a message besides its bytes.
type Meta struct {
	// NotMail says the item is not mail (a contact in a mail folder): it
	// is skipped as formats.SkipNotMail and nothing was written.
	NotMail    bool
	Flags      []string
	Date       time.Time
	DateSource formats.DateSource
	// Notes say what could not be rebuilt exactly; those that mean a loss
	// make the message Incomplete.
	Notes mapi.Notes
}

// Converter writes a message as an Internet message (MIME, CRLF line
// endings) and returns its flags and received date. It must write the
// same bytes for the same message every time.
type Converter func(w io.Writer, m mapi.Message) (Meta, error)

// ConvertMIME is the default Converter: mapi.WriteMIME, with the flags,
// keywords and received date mapi derives from the properties. Items
// whose class is not mail are not written.
func ConvertMIME(w io.Writer, m mapi.Message) (Meta, error) {
	var meta Meta
	class, err := mapi.Class(m)
	if err != nil {
		return meta, err
	}
	if !mapi.IsMail(class) {
		meta.NotMail = true
		return meta, nil
	}
	var kwNotes mapi.Notes
	if meta.Flags, kwNotes, err = mapi.FlagsNoted(m); err != nil {
		return meta, err
	}
	if meta.Date, meta.DateSource, err = mapi.ReceivedDate(m); err != nil {
		return meta, err
	}
	// An attachment damaged in its middle is left out (noted) and the
	// message written again, when w can start over (the reader's spool).
	meta.Notes, err = mapi.WriteMIMESalvaging(w, m, mapi.WriteOptions{})
	meta.Notes = append(meta.Notes, kwNotes...)
	return meta, err
}

// Config holds the options of OpenWith.
type Config struct {
	formats.Options
	// Convert turns a message into MIME; nil means ConvertMIME.
	Convert Converter
}

// Reader reads one .pst or .ost file as a formats.Reader. It is not safe
// for concurrent use.
type Reader struct {
	cfg     Config
	store   *Store
	kind    string // "pst" or "ost"
	boxes   []*formats.Mailbox
	folders []folderState
	byNID   map[ndb.NID]int // folder NID → index in folders
	ipmPath []string        // the IPM subtree's names below the root folder

	fi      int       // current folder
	nids    []ndb.NID // its messages
	mi      int
	loaded  bool
	index   int       // messages yielded so far
	seen    []ndb.NID // messages listed by contents tables, for the orphan pass
	orphans []ndb.Node
	phase   int // 0: folders, 1: orphans, 2: done

	spool  *formats.Spool
	closed bool
}

type folderState struct {
	box *formats.Mailbox
	nid ndb.NID
}

// Open opens the .pst or .ost file at path; see OpenWith.
func Open(path string, opts formats.Options) (*Reader, error) {
	return OpenWith(path, Config{Options: opts})
}

// Detect reports whether path is a file that starts with the header of an
// Outlook data file of a known version: "!BDN", a .pst or .ost client
// signature and a wVer this package reads.
func Detect(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	head := make([]byte, 12)
	if _, err := io.ReadFull(fh, head); err != nil {
		return false
	}
	if _, ok := ndb.FormatOf(head); !ok {
		return false
	}
	client := uint16(head[8]) | uint16(head[9])<<8
	return client == ndb.ClientPST || client == ndb.ClientOST
}

// OpenWith opens the file at path and reads its folder tree, so that
// Mailboxes is complete. It fails when the file is not an Outlook data
// file or its message store or root folder cannot be read. Either way it
// reports the file through cfg.OnFile: the whole file is one store, read
// (its damaged messages are skipped one by one, with warnings) or not.
func OpenWith(path string, cfg Config) (*Reader, error) {
	r, err := openWith(path, cfg)
	cfg.ReportFile(path, err)
	return r, err
}

func openWith(path string, cfg Config) (*Reader, error) {
	s, err := OpenStore(path)
	if err != nil {
		return nil, err
	}
	return newReader(s, cfg)
}

// NewReader reads an Outlook data file of size bytes from ra; name is its
// path for messages and positions. Close does not close ra.
func NewReader(ra io.ReaderAt, size int64, name string, cfg Config) (*Reader, error) {
	s, err := newStore(ra, size, name, ndb.Open)
	if err != nil {
		return nil, err
	}
	return newReader(s, cfg)
}

func newReader(s *Store, cfg Config) (*Reader, error) {
	r := &Reader{cfg: cfg, store: s, kind: "pst", byNID: map[ndb.NID]int{}}
	if s.IsOST() {
		r.kind = "ost"
	}
	if err := s.NamesError(); err != nil {
		cfg.Warnf(formats.Pos{File: s.path}, "%v; categories and other named properties are not read", err)
	}
	if err := r.buildTree(); err != nil {
		s.Close()
		return nil, err
	}
	r.spool = formats.NewSpool(cfg.TempDir, cfg.MemLimit)
	return r, nil
}

// Store gives access to the file's message store (for tests and tools).
func (r *Reader) Store() *Store { return r.store }

// Mailboxes returns the folders of the IPM subtree (the user's folders),
// empty ones too, parents before children.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.boxes, nil
}

// Close closes the file and releases the spool. Next fails afterwards.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.spool.Close()
	if e := r.store.Close(); err == nil {
		err = e
	}
	return err
}

// Next returns the next message, folder by folder in the order of
// Mailboxes and each folder in the order of its contents table, or io.EOF.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.closed {
		return nil, errors.New("pst: Next on a closed reader")
	}
	for r.phase == 0 {
		if r.fi >= len(r.folders) {
			r.startOrphans()
			break
		}
		fs := &r.folders[r.fi]
		if !r.loaded {
			r.loaded, r.nids, r.mi = true, r.nids[:0], 0
			err := r.store.Contents(fs.nid, func(m ndb.NID) error {
				r.nids = append(r.nids, m)
				return nil
			})
			if err != nil {
				// The folder's list of messages is damaged: say so and go on
				// with what was read.
				r.cfg.Warnf(formats.Pos{File: r.store.path}, "folder %q: contents table: %v", fs.box.Path.String(), err)
			}
			r.seen = append(r.seen, r.nids...)
		}
		if r.mi >= len(r.nids) {
			r.fi++
			r.loaded = false
			continue
		}
		nid := r.nids[r.mi]
		r.mi++
		return r.message(fs.box, nid), nil
	}
	if r.phase == 1 && len(r.orphans) > 0 {
		n := r.orphans[0]
		r.orphans = r.orphans[1:]
		box := r.folders[r.byNID[n.Parent]].box
		m := r.message(box, n.NID)
		r.cfg.Warnf(m.Pos, "message %#x is in folder %q but not listed in its contents table", uint32(n.NID), box.Path.String())
		return m, nil
	}
	r.phase = 2
	return nil, io.EOF
}

// startOrphans looks for message nodes whose folder is known but whose
// folder's contents table does not list them (a damaged table): they are
// read too, with a warning, so that no message is lost.
func (r *Reader) startOrphans() {
	r.phase = 1
	slices.Sort(r.seen)
	skipped := 0
	err := r.store.f.Nodes(func(n ndb.Node) error {
		if n.NID.Type() != ndb.NIDTypeNormalMessage {
			return nil
		}
		if _, ok := slices.BinarySearch(r.seen, n.NID); ok {
			return nil
		}
		if _, ok := r.byNID[n.Parent]; ok {
			r.orphans = append(r.orphans, n)
		} else {
			skipped++
		}
		return nil
	})
	if err != nil {
		r.cfg.Warnf(formats.Pos{File: r.store.path}, "looking for messages missing from contents tables: %v", err)
	}
	if skipped > 0 {
		r.cfg.Warnf(formats.Pos{File: r.store.path}, "%d message nodes belong to no folder that is read (system folders or damaged links); not read", skipped)
	}
	r.seen = nil
}

// message builds the stream's message for the message node nid.
func (r *Reader) message(box *formats.Mailbox, nid ndb.NID) *formats.Message {
	r.index++
	m := &formats.Message{Mailbox: box, Pos: formats.Pos{File: r.store.path, Index: r.index}}
	if box.Skip != "" {
		m.Skip = box.Skip
		return m
	}
	if err := r.spool.Reset(); err != nil {
		r.cfg.Warnf(m.Pos, "message %#x in %q: %v", uint32(nid), box.Path.String(), err)
		m.Skip = SkipUnreadable
		return m
	}
	meta, size, err := r.convert(nid)
	if err != nil {
		r.cfg.Warnf(m.Pos, "message %#x in %q: %v", uint32(nid), box.Path.String(), err)
		m.Skip = SkipUnreadable
		return m
	}
	if meta.NotMail {
		m.Skip = formats.SkipNotMail
		return m
	}
	for _, w := range meta.Notes.Warnings() {
		r.cfg.Warnf(m.Pos, "message %#x in %q: %s", uint32(nid), box.Path.String(), w)
	}
	m.Incomplete = meta.Notes.Incomplete()
	m.Flags, m.Date, m.DateSource = meta.Flags, meta.Date, meta.DateSource
	switch {
	case m.Date.IsZero() || m.Date.After(time.Now().Add(24*time.Hour)):
		m.Date, m.DateSource = time.Time{}, formats.DateUnknown
	case m.DateSource == formats.DateUnknown:
		m.DateSource = formats.DateStore
	}
	m.Size = size
	if r.cfg.SizesOnly {
		m.Open = func() (io.ReadCloser, error) { return nil, formats.ErrNoBytes }
	} else {
		m.Open = r.spool.Open
	}
	return m
}

// convert opens and converts message nid into the spool (or, for
// SizesOnly, only counts its bytes).
func (r *Reader) convert(nid ndb.NID) (Meta, int64, error) {
	msg, err := r.store.Message(nid)
	if err != nil {
		return Meta{}, 0, fmt.Errorf("open: %w", err)
	}
	conv := r.cfg.Convert
	if conv == nil {
		conv = ConvertMIME
	}
	var w io.Writer = r.spool
	var counted countWriter
	if r.cfg.SizesOnly {
		w = &counted
	}
	meta, err := conv(w, msg)
	if err != nil {
		return Meta{}, 0, fmt.Errorf("convert to MIME: %w", err)
	}
	if r.cfg.SizesOnly {
		return meta, counted.n, nil
	}
	return meta, r.spool.Size(), nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Reset starts the count over (mapi.WriteMIMESalvaging).
func (c *countWriter) Reset() error { c.n = 0; return nil }

// maxFolderDepth bounds the folder tree, so that a hierarchy table that
// lists an ancestor ends.
const maxFolderDepth = 64

// treeFolder is a folder found while walking the hierarchy.
type treeFolder struct {
	nid    ndb.NID
	info   *FolderInfo
	path   []string // names below the root folder
	parent int      // index in the walk, -1 for the root
}

// buildTree walks the folder hierarchy from the root folder and makes the
// mailboxes.
func (r *Reader) buildTree() error {
	s := r.store
	var all []treeFolder
	seen := map[ndb.NID]bool{}
	ids := &entryIDs{s: s}
	var walk func(nid ndb.NID, path []string, parent, depth int) error
	walk = func(nid ndb.NID, path []string, parent, depth int) error {
		if seen[nid] {
			r.cfg.Warnf(formats.Pos{File: s.path}, "folder %#x listed twice in the folder tree; read once", uint32(nid))
			return nil
		}
		seen[nid] = true
		fi, err := s.Folder(nid)
		if err != nil && parent < 0 {
			// The root folder's own record is damaged: it has no name to
			// lose, and its subfolders are nodes of their own.
			r.cfg.Warnf(formats.Pos{File: s.path}, "root folder: %v; its subfolders read without it", err)
			fi, err = &FolderInfo{NID: nid, Props: &row{store: s}}, nil
		}
		if err != nil {
			// The folder's own record is damaged: what its parent's folder
			// list says of it (its name) is enough to read its messages and
			// subfolders, whose nodes are apart.
			salvaged, err2 := s.FolderFromParent(all[parent].nid, nid)
			if err2 != nil {
				r.cfg.Warnf(formats.Pos{File: s.path}, "folder in %q: %v; its messages are not read", strings.Join(path, "/"), err)
				return nil
			}
			r.cfg.Warnf(formats.Pos{File: s.path}, "folder %q in %q: %v; read with what its parent's folder list says of it (its name)", salvaged.Name, strings.Join(path, "/"), err)
			fi = salvaged
		}
		ids.addFolder(nid, fi.Props)
		name := fi.Name
		if name == "" {
			name = fmt.Sprintf("folder-%x", uint32(nid))
		}
		if parent >= 0 {
			path = append(slices.Clone(path), name)
		}
		all = append(all, treeFolder{nid: nid, info: fi, path: path, parent: parent})
		me := len(all) - 1
		if depth >= maxFolderDepth {
			r.cfg.Warnf(formats.Pos{File: s.path}, "folders nested deeper than %d levels under %q not read", maxFolderDepth, strings.Join(path, "/"))
			return nil
		}
		subs, err := s.Subfolders(nid)
		if err != nil {
			// The folder's list of subfolders is damaged: the node B-tree
			// also knows each folder's parent.
			more, err2 := s.ChildFolders(nid)
			for _, c := range more {
				if !slices.Contains(subs, c) {
					subs = append(subs, c)
				}
			}
			if err2 == nil {
				r.cfg.Warnf(formats.Pos{File: s.path}, "folder %q: hierarchy table: %v; its subfolders found through the node index instead", strings.Join(path, "/"), err)
			} else {
				r.cfg.Warnf(formats.Pos{File: s.path}, "folder %q: hierarchy table: %v", strings.Join(path, "/"), err)
			}
		}
		for _, c := range subs {
			if err := walk(c, path, me, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(nidRootFolder, nil, -1, 0); err != nil {
		return err
	}
	ipm := r.ipmSubtree(all, ids)
	roles := r.specialFolders(all, ids, ipm)

	for _, f := range all {
		if f.nid == ipm {
			r.ipmPath = f.path
		}
	}
	// The store's display name ("Personal Folders", or an address), else
	// the file's name (an .ost often has no display name).
	account := stringProp(s.props, propDisplayName)
	if account == "" {
		account = strings.TrimSuffix(filepath.Base(s.path), filepath.Ext(s.path))
	}
	under := func(i int) (rel []string, ok bool) {
		for j := i; j >= 0; j = all[j].parent {
			if all[j].nid == ipm {
				return all[i].path[len(all[j].path):], true
			}
		}
		return nil, false
	}
	for i, f := range all {
		if f.nid.Type() != ndb.NIDTypeNormalFolder {
			continue // search folders only show messages kept elsewhere
		}
		rel, inIPM := under(i)
		box := &formats.Mailbox{Account: account, Store: r.kind, Location: s.path}
		switch {
		case inIPM && len(rel) > 0:
			box.Path = rel
			box.Skip = notMail(f.info.Class)
			box.Special = roles[f.nid]
		case inIPM || i == 0:
			// The IPM subtree's or the root's own messages, if any.
			if n, _ := s.ContentsLen(f.nid); n == 0 {
				continue
			}
			box.Path = formats.Folder{f.info.Name}
			if i == 0 || f.info.Name == "" {
				box.Path = formats.Folder{fmt.Sprintf("folder-%x", uint32(f.nid))}
			}
		default:
			// Outside the IPM subtree: Outlook's own folders (views, reminders,
			// free/busy data). Listed only when they hold messages, as skipped.
			if n, _ := s.ContentsLen(f.nid); n == 0 {
				continue
			}
			box.Path = f.path
			box.Skip = SkipSystemFolder
		}
		r.byNID[f.nid] = len(r.folders)
		r.folders = append(r.folders, folderState{box: box, nid: f.nid})
		r.boxes = append(r.boxes, box)
	}
	return nil
}

// SkipSystemFolder is the reason for folders outside the user's folder
// tree (the IPM subtree) that hold items: Outlook's own data.
const SkipSystemFolder = "not mail: Outlook system folder"

// notMail returns why a folder of this container class is not mail, or ""
// for mail folders: no class (older files) and IPF.Note and its
// sub-classes.
func notMail(class string) string {
	c := strings.ToLower(class)
	switch {
	case c == "" || c == "ipf.note" || strings.HasPrefix(c, "ipf.note."):
		return ""
	case strings.HasPrefix(c, "ipf.appointment"):
		return "not mail: calendar"
	case strings.HasPrefix(c, "ipf.contact"):
		return "not mail: contacts"
	case strings.HasPrefix(c, "ipf.task"):
		return "not mail: tasks"
	case strings.HasPrefix(c, "ipf.stickynote"):
		return "not mail: notes"
	case strings.HasPrefix(c, "ipf.journal"):
		return "not mail: journal"
	case strings.HasPrefix(c, "ipf.configuration"):
		return "not mail: settings"
	}
	return "not mail: folder of class " + class
}

// ipmSubtree finds the root of the user's folders: the message store's
// PidTagIpmSubTreeEntryId, else the parent of the receive folder (the
// Inbox), else a child of the root named as Outlook names it, else the
// root folder itself.
func (r *Reader) ipmSubtree(all []treeFolder, ids *entryIDs) ndb.NID {
	known := func(nid ndb.NID) bool {
		for _, f := range all {
			if f.nid == nid {
				return true
			}
		}
		return false
	}
	if nid, ok := ids.resolve(binaryProp(r.store.props, propIpmSubtreeEntryID)); ok && known(nid) {
		return nid
	}
	if inbox, ok := r.store.receiveFolder(); ok {
		for _, f := range all {
			if f.nid == inbox && f.parent >= 0 {
				return all[f.parent].nid
			}
		}
	}
	for _, f := range all {
		if len(f.path) <= 2 && (f.info.Name == "Top of Personal Folders" || f.info.Name == "IPM_SUBTREE" || f.info.Name == "Top of Outlook data file") {
			return f.nid
		}
	}
	return nidRootFolder
}

// specialFolders gives the special folders their roles: from the store's
// entry IDs (message store, root folder, IPM subtree and Inbox) and the
// receive folder table, then, for roles still unassigned, from the names
// of the IPM subtree's top-level folders.
func (r *Reader) specialFolders(all []treeFolder, ids *entryIDs, ipm ndb.NID) map[ndb.NID]formats.Special {
	roles := map[ndb.NID]formats.Special{}
	taken := map[formats.Special]bool{}
	assign := func(nid ndb.NID, sp formats.Special) {
		if nid == 0 || taken[sp] || roles[nid] != formats.SpecialNone {
			return
		}
		roles[nid], taken[sp] = sp, true
	}
	byID := func(p mapi.Properties, id mapi.PropID, sp formats.Special) {
		if nid, ok := ids.resolve(binaryProp(p, id)); ok {
			assign(nid, sp)
		}
	}
	inbox, hasInbox := r.store.receiveFolder()
	if hasInbox {
		assign(inbox, formats.SpecialInbox)
	}
	byID(r.store.props, propIpmWastebasketEntryID, formats.SpecialTrash)
	byID(r.store.props, propIpmSentMailEntryID, formats.SpecialSent)
	byID(r.store.props, propIpmOutboxEntryID, formats.SpecialOutbox)
	// Drafts and Junk E-mail are named by the root folder and the Inbox
	// ([MS-OXOSFLD] 2.2.4, 2.2.5).
	for _, f := range all {
		if f.nid != nidRootFolder && f.nid != ipm && !(hasInbox && f.nid == inbox) {
			continue
		}
		byID(f.info.Props, propIpmDraftsEntryID, formats.SpecialDrafts)
		if v, ok, err := f.info.Props.Get(propAdditionalRenEntryIDs); err == nil && ok {
			if ren, err := mapi.MultiValues(v); err == nil && v.Type == mapi.TypeBinary|mapi.MultipleFlag && len(ren) > 4 {
				if nid, ok := ids.resolve(ren[4]); ok {
					assign(nid, formats.SpecialJunk)
				}
			}
		}
	}
	for _, f := range all {
		if f.parent < 0 || all[f.parent].nid != ipm || notMail(f.info.Class) != "" {
			continue
		}
		if sp := specialByName(f.info.Name); sp != formats.SpecialNone {
			assign(f.nid, sp)
		}
	}
	return roles
}
