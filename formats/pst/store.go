package pst

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
	"mailferry/formats/pst/internal/ndb"
)

// Properties the reader uses ([MS-OXPROPS]).
const (
	propMessageClass          mapi.PropID = 0x001A
	propSubject               mapi.PropID = 0x0037
	propClientSubmitTime      mapi.PropID = 0x0039
	propTransportHeaders      mapi.PropID = 0x007D
	propMessageDeliveryTime   mapi.PropID = 0x0E06
	propMessageFlags          mapi.PropID = 0x0E07
	propInternetMessageID     mapi.PropID = 0x1035
	propAttrHidden            mapi.PropID = 0x10F4
	propDisplayName           mapi.PropID = 0x3001
	propIpmSubtreeEntryID     mapi.PropID = 0x35E0
	propIpmOutboxEntryID      mapi.PropID = 0x35E2
	propIpmWastebasketEntryID mapi.PropID = 0x35E3
	propIpmSentMailEntryID    mapi.PropID = 0x35E4
	propContentCount          mapi.PropID = 0x3602
	propContainerClass        mapi.PropID = 0x3613
	propIpmDraftsEntryID      mapi.PropID = 0x36D7
	propAdditionalRenEntryIDs mapi.PropID = 0x36D8
	propAttachDataObject      mapi.PropID = 0x3701
	propAttachMethod          mapi.PropID = 0x3705
	propPstPassword           mapi.PropID = 0x67FF
)

// Special nodes ([MS-PST] 2.4.1).
const (
	nidMessageStore ndb.NID = 0x21
	nidNameToIDMap  ndb.NID = 0x61
	nidRootFolder   ndb.NID = 0x122
)

// Store is an open .pst or .ost file at the messaging layer: the message
// store, its named properties and its folders.
type Store struct {
	path  string
	fh    *os.File
	f     *ndb.File
	props *object // the message store's property context
	names *nameMap
	// namesErr says why the name-to-ID map could not be read (NamesError).
	namesErr error
	record   []byte // PidTagRecordKey: the store's UID in entry IDs
}

// OpenStore opens the file at path and reads its message store and
// name-to-ID map.
func OpenStore(path string) (*Store, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open outlook data file: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("open outlook data file: %w", err)
	}
	s, err := newStore(fh, st.Size(), path, ndb.Open)
	if err != nil {
		fh.Close()
		return nil, err
	}
	s.fh = fh
	return s, nil
}

// opener opens the node database: ndb.Open, or ndb.OpenUnchecked when
// fuzzing.
type opener func(r io.ReaderAt, size int64, name string) (*ndb.File, error)

func newStore(r io.ReaderAt, size int64, path string, open opener) (*Store, error) {
	f, err := open(r, size, path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, f: f, names: &nameMap{}}
	pc, err := s.nodePC(nidMessageStore)
	if err != nil {
		return nil, fmt.Errorf("message store: %w", err)
	}
	s.props = &object{store: s, pc: pc}
	if v, ok, _ := s.props.Get(0x0FF9); ok && len(v.Data) == 16 { // PidTagRecordKey
		s.record = v.Data
	}
	// A damaged name-to-ID map costs the named properties (categories,
	// some flags), not the file: it is kept as NamesError and the map
	// left empty.
	pc, err = s.nodePC(nidNameToIDMap)
	if err == nil {
		var names *nameMap
		if names, err = readNameMap(pc); err == nil {
			s.names = names
		}
	}
	if err != nil && !errors.Is(err, ndb.ErrNotFound) {
		s.namesErr = fmt.Errorf("named property map: %w", err)
	}
	return s, nil
}

// NamesError says why the file's name-to-ID map could not be read, nil
// when it was (or the file has none). Without it, named properties
// (categories among them) are not found.
func (s *Store) NamesError() error { return s.namesErr }

// Close closes the file.
func (s *Store) Close() error {
	if s.fh == nil {
		return nil
	}
	return s.fh.Close()
}

// Properties are the message store's own properties ([MS-PST] 2.4.3).
func (s *Store) Properties() mapi.Properties { return s.props }

// IsOST reports whether the file is an offline store (.ost).
func (s *Store) IsOST() bool { return s.f.Client == ndb.ClientOST }

// Format is the file's layout, for display.
func (s *Store) Format() string { return s.f.Format.String() }

// PasswordProtected reports whether the store has a password. The
// password is only a CRC kept in the message store ([MS-PST] 2.4.3.1);
// nothing is encrypted with it, so the file reads all the same.
func (s *Store) PasswordProtected() bool {
	v, ok, err := s.props.Get(propPstPassword)
	return err == nil && ok && len(v.Data) == 4 && le32(v.Data) != 0
}

func (s *Store) node(nid ndb.NID) (*ltp.Node, error) {
	n, err := s.f.Node(nid)
	if err != nil {
		return nil, err
	}
	return ltp.OpenNode(s.f, n)
}

func (s *Store) nodePC(nid ndb.NID) (*ltp.PC, error) {
	n, err := s.node(nid)
	if err != nil {
		return nil, err
	}
	return n.PC()
}

// Message opens the message with the given NID.
func (s *Store) Message(nid ndb.NID) (mapi.Message, error) {
	n, err := s.node(nid)
	if err != nil {
		return nil, err
	}
	pc, err := n.PC()
	if err != nil {
		return nil, err
	}
	return &message{object: object{store: s, pc: pc}, node: n}, nil
}

// entryNID returns the NID an entry ID of this store names ([MS-PST]
// 2.4.3.2: four flag bytes, the store's 16-byte record key, the NID).
func (s *Store) entryNID(id []byte) (ndb.NID, bool) {
	if len(id) != 24 {
		return 0, false
	}
	if s.record != nil && !bytes.Equal(id[4:20], s.record) {
		return 0, false
	}
	return ndb.NID(le32(id[20:])), true
}

// stringProp returns a string property (String, or String8 in the
// object's code page) as UTF-8; "" when absent or unreadable.
func stringProp(p mapi.Properties, id mapi.PropID) string {
	v, ok, err := p.Get(id)
	if err != nil || !ok {
		return ""
	}
	s, _ := mapi.String(v, mapi.Codepage(p))
	return s
}

func int32Prop(p mapi.Properties, id mapi.PropID) (int32, bool) {
	v, ok, err := p.Get(id)
	if err != nil || !ok || len(v.Data) != 4 {
		return 0, false
	}
	return int32(le32(v.Data)), true
}

func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
