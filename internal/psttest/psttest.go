// Package psttest writes small Outlook data files (.pst) for tests, from
// the published format ([MS-PST]): ANSI, Unicode or the 4 KiB-page
// layout of Outlook 2013's .ost files, with any of the three
// encodings of data blocks, an optional password, folders with their
// special roles, messages with recipients, attachments (of any size,
// streamed into data trees of one or two levels) and attached messages,
// and categories as the named property Keywords.
//
// It exists because the shared corpus lacks cases the reader must handle
// (an ANSI file with mail, the cyclic encoding, an encoded .ost with
// compressed blocks, XXBLOCK data trees, files larger than memory should
// hold) and because a reader tested only on the
// files it was written against can share their blind spots: the tests
// also read these files with readpst and pffexport, two independent
// readers, so that the writer is checked as well as the reader.
//
// The files hold what readers use, not everything Outlook writes: no
// allocation maps (fAMapValid is 0, which tells Outlook to rebuild them),
// no search folders, no hash buckets in the name-to-ID map, and every
// heap fits one block (larger values go to subnodes).
package psttest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"sort"
	"time"
	"unicode/utf16"

	"mailferry/formats/pst/pstcrypt"
)

// Format is the file's layout.
type Format int

// The layouts written.
const (
	ANSI    Format = iota + 1 // wVer 14: 32-bit identifiers and offsets
	Unicode                   // wVer 23: 64-bit
	// Unicode4K is the layout of Outlook 2013's .ost files (wVer 36), which
	// [MS-PST] leaves out: 4 KiB B-tree pages, blocks on 512-byte
	// boundaries with a 24-byte trailer, zlib-compressed block data. What
	// is written follows the real .ost of the corpus and libpff's
	// structures, and pffexport reads it: a data block is encoded first
	// and then compressed (libpff inflates, then decodes).
	Unicode4K
)

// Encodings of data blocks (bCryptMethod).
const (
	CryptNone    byte = 0x00
	CryptPermute byte = 0x01 // "compressible"
	CryptCyclic  byte = 0x02 // "high"
)

// Property types.
const (
	TypeInt16       uint16 = 0x0002
	TypeInt32       uint16 = 0x0003
	TypeBool        uint16 = 0x000B
	TypeObject      uint16 = 0x000D
	TypeInt64       uint16 = 0x0014
	TypeString8     uint16 = 0x001E
	TypeString      uint16 = 0x001F // written as TypeString8 in ANSI files
	TypeTime        uint16 = 0x0040
	TypeBinary      uint16 = 0x0102
	TypeMultiString uint16 = 0x101F // written as 0x101E in ANSI files
	TypeMultiBinary uint16 = 0x1102
)

// Prop is one property. Strings are given as UTF-8 and stored as the
// file's format wants them (UTF-16LE in Unicode files, Windows-1252 in
// ANSI files, where characters beyond it are not allowed).
type Prop struct {
	ID   uint16 // 0 with Name: a named property of PS_PUBLIC_STRINGS
	Name string
	Type uint16
	Data []byte   // the value (fixed-size types little-endian)
	Strs []string // TypeMultiString values
	// Size and Open give a large binary value streamed into a data tree,
	// never held in memory whole.
	Size int64
	Open func() io.Reader
}

// String is a string property.
func String(id uint16, s string) Prop { return Prop{ID: id, Type: TypeString, Data: []byte(s)} }

// Int32 is a 32-bit integer property.
func Int32(id uint16, v int32) Prop {
	return Prop{ID: id, Type: TypeInt32, Data: binary.LittleEndian.AppendUint32(nil, uint32(v))}
}

// Bool is a boolean property.
func Bool(id uint16, v bool) Prop {
	b := byte(0)
	if v {
		b = 1
	}
	return Prop{ID: id, Type: TypeBool, Data: []byte{b}}
}

// Time is a time property (FILETIME).
func Time(id uint16, t time.Time) Prop {
	ft := uint64(t.UnixNano()/100) + 116444736000000000
	return Prop{ID: id, Type: TypeTime, Data: binary.LittleEndian.AppendUint64(nil, ft)}
}

// Binary is a binary property.
func Binary(id uint16, b []byte) Prop { return Prop{ID: id, Type: TypeBinary, Data: b} }

// Stream is a binary property of size bytes that open produces, written
// block by block.
func Stream(id uint16, size int64, open func() io.Reader) Prop {
	return Prop{ID: id, Type: TypeBinary, Size: size, Open: open}
}

// Keywords is the named property Keywords (the categories of a message).
func Keywords(words ...string) Prop {
	return Prop{Name: "Keywords", Type: TypeMultiString, Strs: words}
}

// Message is a message: its properties, recipients (each a list of
// properties) and attachments.
type Message struct {
	Props       []Prop
	Recipients  [][]Prop
	Attachments []*Attachment
}

// Attachment is an attachment's properties; Message, when set, is an
// attached message (PidTagAttachMethod 5 is added).
type Attachment struct {
	Props   []Prop
	Message *Message
}

// Role is a folder's special role, recorded where Outlook records it.
type Role int

// Roles: the Inbox is named by the receive folder table, Sent Items,
// Deleted Items and Outbox by the message store, Drafts and Junk E-mail by
// the root folder.
const (
	RoleNone Role = iota
	RoleInbox
	RoleSent
	RoleDrafts
	RoleTrash
	RoleJunk
	RoleOutbox
)

// Folder is a folder of the user's folder tree.
type Folder struct {
	Name     string
	Class    string // PidTagContainerClass; "" for none
	Role     Role
	Messages []*Message
	Folders  []*Folder
}

// Options say how the file is written.
type Options struct {
	Format Format
	Crypt  byte
	// Password, when set, is stored as Outlook stores it: its CRC-32 in
	// PidTagPstPassword. Nothing is encrypted with it.
	Password    string
	DisplayName string // the store's name; "Personal Folders" when empty
	// SubnodesPerBlock, when not 0, limits the entries of one SLBLOCK, so
	// that a node with more subnodes gets a subnode tree of two levels
	// (an SIBLOCK over SLBLOCKs) without thousands of attachments.
	SubnodesPerBlock int
}

// Fixed NIDs ([MS-PST] 2.4.1).
const (
	nidMessageStore  = 0x21
	nidNameToIDMap   = 0x61
	nidRootFolder    = 0x122
	nidReceiveFolder = 0x62B
	nidRecipients    = 0x692
	nidAttachments   = 0x671
)

// NID types.
const (
	nidTypeFolder     = 0x02
	nidTypeMessage    = 0x04
	nidTypeAttachment = 0x05
	nidTypeHierarchy  = 0x0D
	nidTypeContents   = 0x0E
	nidTypeAssoc      = 0x0F
	nidTypeLTP        = 0x1F
)

// maxHeapItem is the largest heap allocation ([MS-PST] 2.3.1.1).
const maxHeapItem = 3580

type bbtEntry struct {
	bid      uint64
	ib       int64
	cb       int // stored
	inflated int
}

type nbtEntry struct {
	nid          uint32
	data, sub    uint64
	parentFolder uint32
}

type subEntry struct {
	nid       uint32
	data, sub uint64
}

type writer struct {
	fh       *os.File
	opts     Options
	ansi     bool
	k4       bool
	idSize   int
	maxBlock int
	trailer  int
	align    int64
	pageSize int
	off      int64
	nextID   uint64 // index of the next BID
	bbt      []bbtEntry
	nbt      []nbtEntry
	names    []string // named properties, in ID order from 0x8000
	record   [16]byte
	nextNID  uint32
	err      error
}

// Write writes a .pst at path whose IPM subtree ("Top of Personal
// Folders") holds folders.
func Write(path string, opts Options, folders []*Folder) error {
	if opts.Format != ANSI && opts.Format != Unicode && opts.Format != Unicode4K {
		return errors.New("psttest: format must be ANSI, Unicode or Unicode4K")
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &writer{fh: fh, opts: opts, ansi: opts.Format == ANSI, k4: opts.Format == Unicode4K, off: 0x4400, nextNID: 0x400, align: 64, pageSize: 512}
	// Keywords always has a name-to-ID entry: Outlook's map is never
	// empty, and libpff refuses one that is.
	w.names = []string{"Keywords"}
	w.idSize, w.maxBlock, w.trailer = 8, 8192-16, 16
	if w.ansi {
		w.idSize, w.maxBlock, w.trailer = 4, 8192-12, 12
	}
	if w.k4 {
		// Data trees keep the Unicode chunk size; blocks are compressed
		// below it.
		w.trailer, w.align, w.pageSize = 24, 512, 4096
	}
	copy(w.record[:], "psttest-record!!")
	w.writeAll(folders)
	if err := fh.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

func (w *writer) newNID(typ uint32) uint32 {
	w.nextNID++
	return w.nextNID<<5 | typ
}

func (w *writer) entryID(nid uint32) []byte {
	b := make([]byte, 4, 24)
	b = append(b, w.record[:]...)
	return binary.LittleEndian.AppendUint32(b, nid)
}

type placedFolder struct {
	f   *Folder
	nid uint32
}

func (w *writer) writeAll(folders []*Folder) {
	ipm := w.newNID(nidTypeFolder)
	roles := map[Role]uint32{}
	var inbox uint32

	// The user's folders, depth first.
	var place func(parent uint32, fs []*Folder) []placedFolder
	place = func(parent uint32, fs []*Folder) []placedFolder {
		var out []placedFolder
		for _, f := range fs {
			nid := w.newNID(nidTypeFolder)
			if f.Role != RoleNone {
				roles[f.Role] = nid
			}
			if f.Role == RoleInbox {
				inbox = nid
			}
			out = append(out, placedFolder{f, nid})
			children := place(nid, f.Folders)
			w.folder(nid, parent, f.Name, f.Class, nil, children, f.Messages)
		}
		return out
	}
	top := place(ipm, folders)
	w.folder(ipm, nidRootFolder, "Top of Personal Folders", "", nil, top, nil)

	var rootProps []Prop
	if nid, ok := roles[RoleDrafts]; ok {
		rootProps = append(rootProps, Binary(0x36D7, w.entryID(nid)))
	}
	if nid, ok := roles[RoleJunk]; ok {
		// PidTagAdditionalRenEntryIds: the fifth value is Junk E-mail.
		ren := make([][]byte, 5)
		for i := range ren {
			ren[i] = make([]byte, 0)
		}
		ren[4] = w.entryID(nid)
		rootProps = append(rootProps, Prop{ID: 0x36D8, Type: TypeMultiBinary, Data: multi(ren)})
	}
	w.folder(nidRootFolder, nidRootFolder, "", "", rootProps, []placedFolder{{&Folder{Name: "Top of Personal Folders"}, ipm}}, nil)

	// The message store.
	name := w.opts.DisplayName
	if name == "" {
		name = "Personal Folders"
	}
	store := []Prop{
		Binary(0x0FF9, w.record[:]),
		String(0x3001, name),
		Binary(0x35E0, w.entryID(ipm)),
	}
	for role, id := range map[Role]uint16{RoleOutbox: 0x35E2, RoleTrash: 0x35E3, RoleSent: 0x35E4} {
		if nid, ok := roles[role]; ok {
			store = append(store, Binary(id, w.entryID(nid)))
		}
	}
	if w.opts.Password != "" {
		store = append(store, Int32(0x67FF, int32(crc32.ChecksumIEEE([]byte(w.opts.Password)))))
	}
	w.pcNode(nidMessageStore, 0, store)

	// The receive folder table: the Inbox receives messages of every
	// class ("").
	if inbox != 0 {
		n := &node{w: w}
		rows := []row{{id: 1, props: []Prop{String(0x001A, ""), Int32(0x6605, int32(inbox))}}}
		data := n.table([]column{{0x001A, TypeString}, {0x6605, TypeInt32}}, rows)
		w.nbt = append(w.nbt, nbtEntry{nid: nidReceiveFolder, data: data, sub: n.subBlock()})
	}

	// The name-to-ID map, last: messages added the names.
	w.nameMap()
	w.finish()
}

func multi(items [][]byte) []byte {
	head := 4 + 4*len(items)
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(items)))
	off := head
	for _, it := range items {
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
		off += len(it)
	}
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// folder writes a folder's property context and its three tables.
func (w *writer) folder(nid, parent uint32, name, class string, extra []Prop, children []placedFolder, msgs []*Message) {
	props := []Prop{String(0x3001, name), Int32(0x3602, int32(len(msgs))), Int32(0x3603, 0), Bool(0x360A, len(children) > 0)}
	if class != "" {
		props = append(props, String(0x3613, class))
	}
	props = append(props, extra...)
	w.pcNode(nid, parent, props)

	var hier []row
	for _, c := range children {
		p := []Prop{String(0x3001, c.f.Name), Int32(0x3602, int32(len(c.f.Messages))), Int32(0x3603, 0), Bool(0x360A, len(c.f.Folders) > 0)}
		hier = append(hier, row{id: c.nid, props: p})
	}
	n := &node{w: w}
	data := n.table([]column{{0x3001, TypeString}, {0x3602, TypeInt32}, {0x3603, TypeInt32}, {0x360A, TypeBool}}, hier)
	w.nbt = append(w.nbt, nbtEntry{nid: nid&^0x1F | nidTypeHierarchy, data: data, sub: n.subBlock()})

	var contents []row
	for _, m := range msgs {
		mnid := w.newNID(nidTypeMessage)
		data, sub := w.message(m)
		w.nbt = append(w.nbt, nbtEntry{nid: mnid, data: data, sub: sub, parentFolder: nid})
		var p []Prop
		for _, q := range m.Props {
			if q.ID == 0x0037 || q.ID == 0x0E07 || q.ID == 0x001A {
				p = append(p, q)
			}
		}
		contents = append(contents, row{id: mnid, props: p})
	}
	n = &node{w: w}
	data = n.table([]column{{0x001A, TypeString}, {0x0037, TypeString}, {0x0E07, TypeInt32}}, contents)
	w.nbt = append(w.nbt, nbtEntry{nid: nid&^0x1F | nidTypeContents, data: data, sub: n.subBlock()})
	n = &node{w: w}
	data = n.table([]column{{0x001A, TypeString}}, nil)
	w.nbt = append(w.nbt, nbtEntry{nid: nid&^0x1F | nidTypeAssoc, data: data, sub: n.subBlock()})
}

// pcNode writes a node of the node B-tree that is a property context.
func (w *writer) pcNode(nid, parent uint32, props []Prop) {
	n := &node{w: w}
	data := n.pc(props)
	w.nbt = append(w.nbt, nbtEntry{nid: nid, data: data, sub: n.subBlock(), parentFolder: parent})
}

// message writes a message's property context and returns its data tree
// and subnode tree: recipient table, attachment table, attachments.
func (w *writer) message(m *Message) (data, sub uint64) {
	n := &node{w: w, next: 0x100}
	if len(m.Recipients) > 0 {
		var rows []row
		for i, r := range m.Recipients {
			rows = append(rows, row{id: uint32(i), props: r})
		}
		rn := &node{w: w}
		d := rn.table(columnsOf(m.Recipients), rows)
		n.subs = append(n.subs, subEntry{nid: nidRecipients, data: d, sub: rn.subBlock()})
	}
	if len(m.Attachments) > 0 {
		var rows []row
		var lists [][]Prop
		for _, a := range m.Attachments {
			props := slices.Clone(a.Props)
			an := &node{w: w, next: 0x100}
			if a.Message != nil {
				d, s := w.message(a.Message)
				enid := an.newSub(nidTypeMessage)
				an.subs = append(an.subs, subEntry{nid: enid, data: d, sub: s})
				obj := binary.LittleEndian.AppendUint32(nil, enid)
				obj = binary.LittleEndian.AppendUint32(obj, 0)
				props = append(props, Int32(0x3705, 5), Prop{ID: 0x3701, Type: TypeObject, Data: obj})
			}
			anid := n.newSub(nidTypeAttachment)
			d := an.pc(props)
			n.subs = append(n.subs, subEntry{nid: anid, data: d, sub: an.subBlock()})
			var tableProps []Prop
			for _, p := range props {
				if p.ID != 0x3701 && p.Open == nil {
					tableProps = append(tableProps, p)
				}
			}
			rows = append(rows, row{id: anid, props: tableProps})
			lists = append(lists, tableProps)
		}
		tn := &node{w: w}
		d := tn.table(columnsOf(lists), rows)
		n.subs = append(n.subs, subEntry{nid: nidAttachments, data: d, sub: tn.subBlock()})
	}
	data = n.pc(m.Props)
	return data, n.subBlock()
}

func columnsOf(lists [][]Prop) []column {
	seen := map[uint16]bool{}
	var cols []column
	for _, l := range lists {
		for _, p := range l {
			if p.ID == 0 || seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			cols = append(cols, column{p.ID, p.Type})
		}
	}
	return cols
}

// nameMap writes node 0x61: the named properties used, all string names
// of PS_PUBLIC_STRINGS ([MS-PST] 2.4.7).
func (w *writer) nameMap() {
	var entries, strs []byte
	for i, name := range w.names {
		off := len(strs)
		u := utf16le(name)
		strs = binary.LittleEndian.AppendUint32(strs, uint32(len(u)))
		strs = append(strs, u...)
		for len(strs)%4 != 0 {
			strs = append(strs, 0)
		}
		entries = binary.LittleEndian.AppendUint32(entries, uint32(off))
		entries = binary.LittleEndian.AppendUint16(entries, 2<<1|1) // PS_PUBLIC_STRINGS, a string name
		entries = binary.LittleEndian.AppendUint16(entries, uint16(i))
	}
	props := []Prop{Int32(0x0001, 251)}
	// One GUID (PSETID_Common) so that the stream is never empty.
	props = append(props, Binary(0x0002, []byte{0x08, 0x20, 0x06, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46}))
	props = append(props, Binary(0x0003, entries), Binary(0x0004, strs))
	w.pcNode(nidNameToIDMap, 0, props)
}

func (w *writer) namedID(name string) uint16 {
	i := slices.Index(w.names, name)
	if i < 0 {
		w.names = append(w.names, name)
		i = len(w.names) - 1
	}
	return 0x8000 + uint16(i)
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// value is a property's stored type and bytes in this file's format.
func (w *writer) value(p Prop) (uint16, []byte) {
	switch p.Type {
	case TypeString:
		if w.ansi {
			return TypeString8, w.ansiString(string(p.Data))
		}
		return TypeString, utf16le(string(p.Data))
	case TypeMultiString:
		var items [][]byte
		for _, s := range p.Strs {
			if w.ansi {
				items = append(items, w.ansiString(s))
			} else {
				items = append(items, utf16le(s))
			}
		}
		if w.ansi {
			return 0x101E, multi(items)
		}
		return TypeMultiString, multi(items)
	}
	return p.Type, p.Data
}

func (w *writer) ansiString(s string) []byte {
	var b []byte
	for _, r := range s {
		if r > 0xFF || (r >= 0x80 && r < 0xA0) {
			w.fail(fmt.Errorf("psttest: %q does not fit an ANSI file", s))
		}
		b = append(b, byte(r))
	}
	return b
}

func fixedSize(typ uint16) int {
	switch typ {
	case TypeInt16:
		return 2
	case TypeInt32:
		return 4
	case TypeBool:
		return 1
	case TypeInt64, TypeTime:
		return 8
	}
	return 0
}

// node builds one node's data (a heap) and its subnodes.
type node struct {
	w    *writer
	subs []subEntry
	next uint32
}

func (n *node) newSub(typ uint32) uint32 {
	n.next++
	return n.next<<5 | typ
}

// subBlock writes the node's subnode tree and returns its BID, 0 without
// subnodes: one SLBLOCK, or an SIBLOCK over SLBLOCKs when they do not fit
// one ([MS-PST] 2.2.2.8.3.3).
func (n *node) subBlock() uint64 {
	if len(n.subs) == 0 {
		return 0
	}
	w := n.w
	sort.Slice(n.subs, func(i, j int) bool { return n.subs[i].nid < n.subs[j].nid })
	head := func(level byte, count int) []byte {
		b := []byte{0x02, level}
		b = binary.LittleEndian.AppendUint16(b, uint16(count))
		if !w.ansi {
			b = append(b, 0, 0, 0, 0)
		}
		return b
	}
	per := (w.maxBlock - len(head(0, 0))) / (3 * w.idSize)
	if w.opts.SubnodesPerBlock > 0 {
		per = min(per, w.opts.SubnodesPerBlock)
	}
	type child struct {
		first uint32
		bid   uint64
	}
	var children []child
	for i := 0; i < len(n.subs); i += per {
		chunk := n.subs[i:min(len(n.subs), i+per)]
		b := head(0, len(chunk))
		for _, s := range chunk {
			b = w.appendID(b, uint64(s.nid))
			b = w.appendID(b, s.data)
			b = w.appendID(b, s.sub)
		}
		children = append(children, child{chunk[0].nid, w.block(b, true)})
	}
	if len(children) == 1 {
		return children[0].bid
	}
	b := head(1, len(children))
	for _, c := range children {
		b = w.appendID(b, uint64(c.first))
		b = w.appendID(b, c.bid)
	}
	if len(b) > w.maxBlock {
		w.fail(errors.New("psttest: too many subnodes for an SIBLOCK"))
	}
	return w.block(b, true)
}

func (w *writer) appendID(b []byte, v uint64) []byte {
	if w.ansi {
		return binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return binary.LittleEndian.AppendUint64(b, v)
}

// heap is a heap-on-node that fits one block.
type heap struct {
	items   [][]byte
	size    int
	reserve int
	max     int
}

func (h *heap) fits(n int) bool {
	return n <= maxHeapItem && 12+h.size+n+h.reserve+2*(len(h.items)+2)+6 <= h.max
}

func (h *heap) add(b []byte) uint32 {
	h.items = append(h.items, b)
	h.size += len(b)
	return uint32(len(h.items)) << 5
}

func (h *heap) bytes(clientSig byte, root uint32) []byte {
	b := make([]byte, 12, 12+h.size+8+2*len(h.items))
	b[2], b[3] = 0xEC, clientSig
	binary.LittleEndian.PutUint32(b[4:], root)
	offs := []int{12}
	for _, it := range h.items {
		b = append(b, it...)
		offs = append(offs, len(b))
	}
	if len(b)%2 != 0 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint16(b, uint16(len(b)))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h.items)))
	b = binary.LittleEndian.AppendUint16(b, 0)
	for _, o := range offs {
		b = binary.LittleEndian.AppendUint16(b, uint16(o))
	}
	return b
}

// hnid stores a variable-size value: in the heap when it fits, else in a
// subnode of its own.
func (n *node) hnid(h *heap, b []byte) uint32 {
	if len(b) == 0 {
		return 0
	}
	if h.fits(len(b)) {
		return h.add(b)
	}
	nid := n.newSub(nidTypeLTP)
	n.subs = append(n.subs, subEntry{nid: nid, data: n.w.tree(int64(len(b)), bytes.NewReader(b))})
	return nid
}

// pc returns the BID of the data of a property context holding props.
func (n *node) pc(props []Prop) uint64 {
	w := n.w
	h := &heap{max: w.maxBlock, reserve: 16 + 8*len(props)}
	type rec struct {
		id, typ uint16
		v       uint32
	}
	var recs []rec
	for _, p := range props {
		id := p.ID
		if p.Name != "" {
			id = w.namedID(p.Name)
		}
		if p.Open != nil {
			nid := n.newSub(nidTypeLTP)
			n.subs = append(n.subs, subEntry{nid: nid, data: w.tree(p.Size, p.Open())})
			recs = append(recs, rec{id, p.Type, nid})
			continue
		}
		typ, data := w.value(p)
		var v uint32
		if fs := fixedSize(typ); fs > 0 && fs <= 4 {
			var b [4]byte
			copy(b[:], data)
			v = binary.LittleEndian.Uint32(b[:])
		} else {
			v = n.hnid(h, data)
		}
		recs = append(recs, rec{id, typ, v})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].id < recs[j].id })
	var records []byte
	for _, r := range recs {
		records = binary.LittleEndian.AppendUint16(records, r.id)
		records = binary.LittleEndian.AppendUint16(records, r.typ)
		records = binary.LittleEndian.AppendUint32(records, r.v)
	}
	if len(records) > maxHeapItem {
		w.fail(errors.New("psttest: too many properties for one BTH leaf"))
	}
	var hidRecords uint32
	if len(records) > 0 {
		hidRecords = h.add(records)
	}
	hdr := []byte{0xB5, 2, 6, 0}
	hdr = binary.LittleEndian.AppendUint32(hdr, hidRecords)
	root := h.add(hdr)
	return w.tree0(h.bytes(0xBC, root))
}

type column struct {
	id, typ uint16
}

type row struct {
	id    uint32
	props []Prop
}

// table returns the BID of the data of a table context with the given
// columns (besides PidTagLtpRowId and PidTagLtpRowVer) and rows.
func (n *node) table(cols []column, rows []row) uint64 {
	w := n.w
	type placed struct {
		column
		stored uint16
		ib     int
		cb     int
		bit    int
	}
	all := []placed{{column: column{0x67F2, TypeInt32}, stored: TypeInt32, ib: 0, cb: 4, bit: 0}, {column: column{0x67F3, TypeInt32}, stored: TypeInt32, ib: 4, cb: 4, bit: 1}}
	for _, c := range cols {
		stored := c.typ
		if w.ansi && c.typ == TypeString {
			stored = TypeString8
		}
		if w.ansi && c.typ == TypeMultiString {
			stored = 0x101E
		}
		cb := fixedSize(stored)
		if cb == 0 {
			cb = 4 // an HNID
		}
		all = append(all, placed{column: c, stored: stored, cb: cb})
	}
	// 8- and 4-byte cells first, then 2-byte, then 1-byte, then the cell
	// existence bitmap ([MS-PST] 2.3.4.1).
	ib := 8
	var ends [3]int
	for gi, sizes := range [][]int{{8, 4}, {2}, {1}} {
		for _, size := range sizes {
			for i := 2; i < len(all); i++ {
				if all[i].cb == size {
					all[i].ib = ib
					ib += size
				}
			}
		}
		ends[gi] = ib
	}
	for i := range all {
		all[i].bit = i
	}
	rowSize := ib + (len(all)+7)/8

	h := &heap{max: w.maxBlock, reserve: 22 + 8*len(all) + 8 + 8*len(rows) + 16}
	matrix := make([]byte, 0, rowSize*len(rows))
	for i, r := range rows {
		cell := make([]byte, rowSize)
		binary.LittleEndian.PutUint32(cell, r.id)
		ceb := cell[ib:]
		ceb[0] |= 0xC0
		for _, c := range all[2:] {
			var p *Prop
			for k := range r.props {
				if r.props[k].ID == c.id {
					p = &r.props[k]
				}
			}
			if p == nil {
				continue
			}
			_, data := w.value(*p)
			if fixedSize(c.stored) > 0 {
				copy(cell[c.ib:c.ib+c.cb], data)
			} else {
				binary.LittleEndian.PutUint32(cell[c.ib:], n.hnid(h, data))
			}
			ceb[c.bit/8] |= 0x80 >> (c.bit % 8)
		}
		_ = i
		matrix = append(matrix, cell...)
	}

	// The row index: a BTH of row ID → row number.
	var index []byte
	idxSize := 4
	if w.ansi {
		idxSize = 2
	}
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return rows[order[a]].id < rows[order[b]].id })
	for _, i := range order {
		index = binary.LittleEndian.AppendUint32(index, rows[i].id)
		if idxSize == 4 {
			index = binary.LittleEndian.AppendUint32(index, uint32(i))
		} else {
			index = binary.LittleEndian.AppendUint16(index, uint16(i))
		}
	}
	if len(index) > maxHeapItem {
		w.fail(errors.New("psttest: too many rows for one BTH leaf"))
	}

	// The rows: in the heap when small, else a subnode whose blocks hold
	// whole rows only.
	var hnidRows uint32
	if len(matrix) > 0 {
		if h.fits(len(matrix)) {
			hnidRows = h.add(matrix)
		} else {
			perBlock := w.maxBlock / rowSize
			var padded []byte
			for i := 0; i < len(rows); i += perBlock {
				end := min(len(rows), i+perBlock)
				padded = append(padded, matrix[i*rowSize:end*rowSize]...)
				if end < len(rows) {
					padded = append(padded, make([]byte, w.maxBlock-perBlock*rowSize)...)
				}
			}
			hnidRows = n.newSub(nidTypeLTP)
			n.subs = append(n.subs, subEntry{nid: hnidRows, data: w.tree(int64(len(padded)), bytes.NewReader(padded))})
		}
	}
	var hidIndexRecords uint32
	if len(index) > 0 {
		hidIndexRecords = h.add(index)
	}
	bth := []byte{0xB5, 4, byte(idxSize), 0}
	bth = binary.LittleEndian.AppendUint32(bth, hidIndexRecords)
	hidIndex := h.add(bth)

	info := []byte{0x7C, byte(len(all))}
	info = binary.LittleEndian.AppendUint16(info, uint16(ends[0]))
	info = binary.LittleEndian.AppendUint16(info, uint16(ends[1]))
	info = binary.LittleEndian.AppendUint16(info, uint16(ends[2]))
	info = binary.LittleEndian.AppendUint16(info, uint16(rowSize))
	info = binary.LittleEndian.AppendUint32(info, hidIndex)
	info = binary.LittleEndian.AppendUint32(info, hnidRows)
	info = binary.LittleEndian.AppendUint32(info, 0)
	sorted := slices.Clone(all)
	sort.Slice(sorted, func(i, j int) bool {
		return uint32(sorted[i].id)<<16|uint32(sorted[i].stored) < uint32(sorted[j].id)<<16|uint32(sorted[j].stored)
	})
	for _, c := range sorted {
		info = binary.LittleEndian.AppendUint16(info, c.stored)
		info = binary.LittleEndian.AppendUint16(info, c.id)
		info = binary.LittleEndian.AppendUint16(info, uint16(c.ib))
		info = append(info, byte(c.cb), byte(c.bit))
	}
	root := h.add(info)
	return w.tree0(h.bytes(0x7C, root))
}

// tree0 writes a node's data that fits one block.
func (w *writer) tree0(b []byte) uint64 {
	if len(b) > w.maxBlock {
		w.fail(fmt.Errorf("psttest: heap of %d bytes does not fit a block", len(b)))
	}
	return w.block(b, false)
}

// tree writes size bytes from r as a data tree: one block, or data blocks
// under an XBLOCK, or XBLOCKs under an XXBLOCK ([MS-PST] 2.2.2.8.3.2).
func (w *writer) tree(size int64, r io.Reader) uint64 {
	if size <= int64(w.maxBlock) {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			w.fail(err)
		}
		return w.block(b, false)
	}
	var bids []uint64
	var sizes []int64
	buf := make([]byte, w.maxBlock)
	for left := size; left > 0; {
		n := min(left, int64(w.maxBlock))
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			w.fail(err)
			return 0
		}
		bids = append(bids, w.block(buf[:n], false))
		sizes = append(sizes, n)
		left -= n
	}
	per := (w.maxBlock - 8) / w.idSize
	xblock := func(level byte, ids []uint64, total int64) uint64 {
		b := []byte{0x01, level}
		b = binary.LittleEndian.AppendUint16(b, uint16(len(ids)))
		b = binary.LittleEndian.AppendUint32(b, uint32(total))
		for _, id := range ids {
			b = w.appendID(b, id)
		}
		return w.block(b, true)
	}
	if len(bids) <= per {
		return xblock(1, bids, size)
	}
	var xs []uint64
	for i := 0; i < len(bids); i += per {
		end := min(len(bids), i+per)
		var total int64
		for _, s := range sizes[i:end] {
			total += s
		}
		xs = append(xs, xblock(1, bids[i:end], total))
	}
	if len(xs) > per {
		w.fail(errors.New("psttest: value too large for an XXBLOCK"))
	}
	return xblock(2, xs, size)
}

func (w *writer) newBID(internal bool) uint64 {
	w.nextID++
	bid := w.nextID << 2
	if internal {
		bid |= 2
	}
	return bid
}

// crc is the CRC of [MS-PST] 5.3: CRC-32 (reflected, polynomial
// 0xEDB88320) from 0, without final inversion.
func crc(b []byte) uint32 {
	var c uint32
	for _, x := range b {
		c = crc32.IEEETable[byte(c)^x] ^ c>>8
	}
	return c
}

// sig is wSig of [MS-PST] 5.5.
func sig(ib int64, bid uint64) uint16 {
	v := uint32(ib) ^ uint32(bid)
	return uint16(v>>16) ^ uint16(v)
}

func (w *writer) encode(b []byte, bid uint64) {
	switch w.opts.Crypt {
	case CryptPermute:
		pstcrypt.Permute(b)
	case CryptCyclic:
		pstcrypt.Cyclic(b, uint32(bid))
	}
}

// block writes one block (data blocks encoded) and records it in the
// block B-tree.
func (w *writer) block(data []byte, internal bool) uint64 {
	bid := w.newBID(internal)
	stored := bytes.Clone(data)
	if !internal {
		w.encode(stored, bid)
	}
	if w.k4 {
		var z bytes.Buffer
		zw := zlib.NewWriter(&z)
		zw.Write(stored)
		zw.Close()
		if z.Len() < len(stored) {
			stored = z.Bytes()
		}
	}
	total := (len(stored) + w.trailer + int(w.align) - 1) / int(w.align) * int(w.align)
	buf := make([]byte, total)
	copy(buf, stored)
	stored = buf[:len(stored)]
	t := buf[total-w.trailer:]
	le := binary.LittleEndian
	if w.k4 {
		le.PutUint16(t[18:], uint16(len(data)))
	}
	le.PutUint16(t, uint16(len(stored)))
	le.PutUint16(t[2:], sig(w.off, bid))
	if w.ansi {
		le.PutUint32(t[4:], uint32(bid))
		le.PutUint32(t[8:], crc(stored))
	} else {
		le.PutUint32(t[4:], crc(stored))
		le.PutUint64(t[8:], bid)
	}
	w.write(buf)
	w.bbt = append(w.bbt, bbtEntry{bid: bid, ib: w.off - int64(total), cb: len(stored), inflated: len(data)})
	return bid
}

func (w *writer) write(b []byte) {
	if _, err := w.fh.WriteAt(b, w.off); err != nil {
		w.fail(err)
	}
	w.off += int64(len(b))
}

// finish writes the node and block B-trees and the header.
func (w *writer) finish() {
	w.off = (w.off + int64(w.pageSize) - 1) / int64(w.pageSize) * int64(w.pageSize)
	sort.Slice(w.nbt, func(i, j int) bool { return w.nbt[i].nid < w.nbt[j].nid })
	for i := 1; i < len(w.nbt); i++ {
		if w.nbt[i].nid == w.nbt[i-1].nid {
			w.fail(fmt.Errorf("psttest: node %#x written twice", w.nbt[i].nid))
		}
	}
	var nbt [][]byte
	for _, e := range w.nbt {
		var b []byte
		b = w.appendID(b, uint64(e.nid))
		b = w.appendID(b, e.data)
		b = w.appendID(b, e.sub)
		b = binary.LittleEndian.AppendUint32(b, e.parentFolder)
		if !w.ansi {
			b = append(b, 0, 0, 0, 0)
		}
		nbt = append(nbt, b)
	}
	var bbt [][]byte
	sort.Slice(w.bbt, func(i, j int) bool { return w.bbt[i].bid < w.bbt[j].bid })
	for _, e := range w.bbt {
		var b []byte
		b = w.appendID(b, e.bid)
		b = w.appendID(b, uint64(e.ib))
		b = binary.LittleEndian.AppendUint16(b, uint16(e.cb))
		if w.k4 {
			b = binary.LittleEndian.AppendUint16(b, uint16(e.inflated))
			b = binary.LittleEndian.AppendUint16(b, 1) // cRef
			b = append(b, 0, 0)
		} else {
			b = binary.LittleEndian.AppendUint16(b, 1) // cRef
			if !w.ansi {
				b = append(b, 0, 0, 0, 0)
			}
		}
		bbt = append(bbt, b)
	}
	nbtRoot := w.btree(0x81, nbt)
	bbtRoot := w.btree(0x80, bbt)
	w.header(nbtRoot, bbtRoot)
}

type bref struct {
	bid uint64
	ib  int64
}

// btree writes the pages of a B-tree over leaf entries (sorted) and
// returns its root.
func (w *writer) btree(ptype byte, entries [][]byte) bref {
	meta := 488
	if w.ansi {
		meta = 496
	}
	if w.k4 {
		meta = 4056
	}
	level := 0
	for {
		size := len(entries[0])
		per := min(meta/size, 255)
		var parents [][]byte
		for i := 0; i < len(entries); i += per {
			end := min(len(entries), i+per)
			p := make([]byte, w.pageSize)
			for j, e := range entries[i:end] {
				copy(p[j*size:], e)
			}
			if w.k4 {
				// cEnt and cEntMax are 16-bit here.
				binary.LittleEndian.PutUint16(p[meta:], uint16(end-i))
				binary.LittleEndian.PutUint16(p[meta+2:], uint16(per))
				p[meta+4], p[meta+5] = byte(size), byte(level)
			} else {
				p[meta], p[meta+1], p[meta+2], p[meta+3] = byte(end-i), byte(per), byte(size), byte(level)
			}
			ref := w.page(ptype, p)
			var parent []byte
			parent = append(parent, entries[i][:w.idSize]...) // the first key
			parent = w.appendID(parent, ref.bid)
			parent = w.appendID(parent, uint64(ref.ib))
			parents = append(parents, parent)
			if len(entries) <= per {
				return ref
			}
		}
		entries = parents
		level++
	}
}

func (w *writer) page(ptype byte, p []byte) bref {
	bid := w.newBID(false)
	end := w.pageSize - w.trailer
	t := p[end:]
	le := binary.LittleEndian
	t[0], t[1] = ptype, ptype
	le.PutUint16(t[2:], sig(w.off, bid))
	if w.ansi {
		le.PutUint32(t[4:], uint32(bid))
		le.PutUint32(t[8:], crc(p[:end]))
	} else {
		le.PutUint32(t[4:], crc(p[:end]))
		le.PutUint64(t[8:], bid)
	}
	ref := bref{bid, w.off}
	w.write(p)
	return ref
}

// header writes the file header ([MS-PST] 2.2.2.6).
func (w *writer) header(nbt, bbt bref) {
	le := binary.LittleEndian
	h := make([]byte, 564)
	copy(h, "!BDN")
	le.PutUint16(h[8:], 0x4D53) // "SM": a .pst
	le.PutUint16(h[12:], 19)    // wVerClient
	h[14], h[15] = 0x01, 0x01   // platforms
	eof := w.off
	if w.ansi {
		le.PutUint16(h[10:], 14)
		le.PutUint32(h[24:], uint32(w.newBID(false))) // bidNextB
		le.PutUint32(h[28:], uint32(w.newBID(false))) // bidNextP
		le.PutUint32(h[32:], 1)                       // dwUnique
		for i := range 32 {
			le.PutUint32(h[36+4*i:], 0x10000)
		}
		le.PutUint32(h[168:], uint32(eof))
		le.PutUint32(h[172:], 0x4400) // ibAMapLast
		le.PutUint32(h[184:], uint32(nbt.bid))
		le.PutUint32(h[188:], uint32(nbt.ib))
		le.PutUint32(h[192:], uint32(bbt.bid))
		le.PutUint32(h[196:], uint32(bbt.ib))
		for i := 204; i < 460; i++ {
			h[i] = 0xFF // rgbFM, rgbFP
		}
		h[460] = 0x80 // bSentinel
		h[461] = w.opts.Crypt
		le.PutUint32(h[4:], crc(h[8:8+471]))
		h = h[:512]
	} else {
		le.PutUint16(h[10:], 23)
		if w.k4 {
			le.PutUint16(h[8:], 0x4F53) // "SO": an .ost
			le.PutUint16(h[10:], 36)
		}
		le.PutUint64(h[32:], w.newBID(false)) // bidNextP
		le.PutUint32(h[40:], 1)               // dwUnique
		for i := range 32 {
			le.PutUint32(h[44+4*i:], 0x10000)
		}
		le.PutUint64(h[184:], uint64(eof))
		le.PutUint64(h[192:], 0x4400) // ibAMapLast
		le.PutUint64(h[216:], nbt.bid)
		le.PutUint64(h[224:], uint64(nbt.ib))
		le.PutUint64(h[232:], bbt.bid)
		le.PutUint64(h[240:], uint64(bbt.ib))
		for i := 256; i < 512; i++ {
			h[i] = 0xFF // rgbFM, rgbFP
		}
		h[512] = 0x80 // bSentinel
		h[513] = w.opts.Crypt
		le.PutUint64(h[516:], w.newBID(false)) // bidNextB
		le.PutUint32(h[4:], crc(h[8:8+471]))
		le.PutUint32(h[524:], crc(h[8:8+516]))
	}
	if _, err := w.fh.WriteAt(h, 0); err != nil {
		w.fail(err)
	}
	// The space between the header and the first block.
	if _, err := w.fh.WriteAt(make([]byte, 0x4400-len(h)), int64(len(h))); err != nil {
		w.fail(err)
	}
}
