package pst

import (
	"encoding/binary"
	"strings"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
	"mailferry/formats/pst/internal/ndb"
)

// nidReceiveFolderTable is the receive folder table, a node of type
// NID_TYPE_RECEIVE_FOLDER_TABLE ([MS-PST] 2.2.2.1) at this NID in every
// file seen: message class → the folder that receives messages of that
// class.
const nidReceiveFolderTable ndb.NID = 0x62B

// Columns of the receive folder table: the message class and the NID of
// the folder (an internal property of the file, 0x6605, the only column
// holding a folder's NID, as real files show).
const propReceiveFolderNID mapi.PropID = 0x6605

// receiveFolder returns the NID of the folder that receives messages of
// the default class ("" or "IPM"): the Inbox.
func (s *Store) receiveFolder() (ndb.NID, bool) {
	n, err := s.node(nidReceiveFolderTable)
	if err != nil {
		return 0, false
	}
	tc, err := n.TC()
	if err != nil {
		return 0, false
	}
	classCol, ok1 := tc.Find(uint16(propMessageClass))
	nidCol, ok2 := tc.Find(uint16(propReceiveFolderNID))
	if !ok1 || !ok2 || nidCol.Size != 4 {
		return 0, false
	}
	var found ndb.NID
	best := 99
	_ = tc.Rows(func(r *ltp.Row) error {
		class := ""
		if r.Has(classCol) {
			if ref, err := r.Value(classCol); err == nil {
				if b, err := ref.Bytes(1 << 10); err == nil {
					class, _ = mapi.String(mapi.Value{Type: mapi.PropType(classCol.Type), Data: b}, mapi.Codepage(s.props))
				}
			}
		}
		rank := 99
		switch strings.ToUpper(class) {
		case "":
			rank = 0
		case "IPM":
			rank = 1
		case "IPM.NOTE":
			rank = 2
		}
		if rank < best && r.Has(nidCol) {
			if ref, err := r.Value(nidCol); err == nil && len(ref.Inline) == 4 {
				found, best = ndb.NID(binary.LittleEndian.Uint32(ref.Inline)), rank
			}
		}
		return nil
	})
	if best == 99 || found == nidRootFolder || found.Type() != ndb.NIDTypeNormalFolder {
		return 0, false // some files name the root folder: no Inbox
	}
	return found, true
}

// propLTID is an internal property of .ost folders (0x67F4) whose last six
// bytes are the folder's global counter on the Exchange server, the same
// counter that the server's long-term entry IDs of the folder end with.
// .ost files keep their special folders' entry IDs in that form.
const propLTID mapi.PropID = 0x67F4

// entryIDs resolves entry IDs of this store to folder NIDs: the 24-byte
// form of a .pst ([MS-PST] 2.4.3.2), and the 46-byte long-term form of an
// Exchange folder ([MS-OXCDATA] 2.2.4.1: flags, provider UID, type,
// database GUID, 6-byte global counter, pad) through the global counters
// of the file's folders.
type entryIDs struct {
	s    *Store
	byGC map[[6]byte]ndb.NID
}

func (e *entryIDs) addFolder(nid ndb.NID, props mapi.Properties) {
	v, ok, err := props.Get(propLTID)
	if err != nil || !ok || len(v.Data) != 8 {
		return
	}
	if e.byGC == nil {
		e.byGC = map[[6]byte]ndb.NID{}
	}
	var gc [6]byte
	copy(gc[:], v.Data[2:])
	e.byGC[gc] = nid
}

func (e *entryIDs) resolve(id []byte) (ndb.NID, bool) {
	switch len(id) {
	case 24:
		return e.s.entryNID(id)
	case 46:
		if binary.LittleEndian.Uint16(id[20:]) != 1 { // eitLTPrivateFolder
			return 0, false
		}
		var gc [6]byte
		copy(gc[:], id[38:44])
		nid, ok := e.byGC[gc]
		return nid, ok
	}
	return 0, false
}

// binaryProp returns a binary property's bytes.
func binaryProp(p mapi.Properties, id mapi.PropID) []byte {
	v, ok, err := p.Get(id)
	if err != nil || !ok || v.Type != mapi.TypeBinary {
		return nil
	}
	return v.Data
}

// localizedNames are the names Outlook gives the special folders in common
// languages: the fallback when the store's entry IDs do not say.
var localizedNames = map[formats.Special][]string{
	formats.SpecialInbox:  {"inbox", "posteingang", "boîte de réception", "bandeja de entrada", "posta in arrivo", "postvak in", "caixa de entrada", "indbakke", "inkorgen", "innboks", "saapuneet"},
	formats.SpecialSent:   {"sent items", "sent messages", "sent mail", "gesendete elemente", "éléments envoyés", "elementos enviados", "posta inviata", "verzonden items", "itens enviados", "sendte elementer", "skickade objekt"},
	formats.SpecialDrafts: {"drafts", "entwürfe", "brouillons", "borradores", "bozze", "concepten", "rascunhos", "kladder", "utkast"},
	formats.SpecialTrash:  {"deleted items", "deleted messages", "gelöschte elemente", "éléments supprimés", "elementos eliminados", "posta eliminata", "verwijderde items", "itens excluídos", "slettede elementer", "borttagna objekt"},
	formats.SpecialJunk:   {"junk e-mail", "junk email", "junk-e-mail", "courrier indésirable", "correo no deseado", "posta indesiderata", "ongewenste e-mail", "lixo eletrônico", "uønsket e-post", "skräppost"},
	formats.SpecialOutbox: {"outbox", "postausgang", "boîte d'envoi", "bandeja de salida", "posta in uscita", "postvak uit", "caixa de saída", "udbakke", "utkorgen"},
}

func specialByName(name string) formats.Special {
	n := strings.ToLower(strings.TrimSpace(name))
	for sp, names := range localizedNames {
		for _, x := range names {
			if n == x {
				return sp
			}
		}
	}
	return formats.SpecialNone
}
