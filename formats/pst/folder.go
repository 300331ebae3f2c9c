package pst

import (
	"errors"
	"fmt"

	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
	"mailferry/formats/pst/internal/ndb"
)

// FolderInfo is what the reader needs of a folder.
type FolderInfo struct {
	NID    ndb.NID
	Name   string // PidTagDisplayName
	Class  string // PidTagContainerClass ("IPF.Note", "IPF.Appointment", ...)
	Hidden bool   // PidTagAttrHidden
	Count  int    // PidTagContentCount, as the folder says
	Props  mapi.Properties
}

// Folder reads a folder's property context.
func (s *Store) Folder(nid ndb.NID) (*FolderInfo, error) {
	pc, err := s.nodePC(nid)
	if err != nil {
		return nil, fmt.Errorf("folder %#x: %w", uint32(nid), err)
	}
	o := &object{store: s, pc: pc}
	fi := &FolderInfo{NID: nid, Name: stringProp(o, propDisplayName), Class: stringProp(o, propContainerClass), Props: o}
	if v, ok, err := o.Get(propAttrHidden); err == nil && ok && len(v.Data) == 1 {
		fi.Hidden = v.Data[0] != 0
	}
	if n, ok := int32Prop(o, propContentCount); ok {
		fi.Count = int(n)
	}
	return fi, nil
}

// table opens one of a folder's tables (hierarchy or contents), which are
// nodes of their own with the folder's NID index ([MS-PST] 2.4.4.1). A
// folder without the node has an empty table.
func (s *Store) table(folder ndb.NID, t ndb.NIDType) (*ltp.TC, error) {
	n, err := s.node(folder.WithType(t))
	if errors.Is(err, ndb.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return n.TC()
}

// Subfolders lists the NIDs of a folder's subfolders, in the order of its
// hierarchy table.
func (s *Store) Subfolders(folder ndb.NID) ([]ndb.NID, error) {
	tc, err := s.table(folder, ndb.NIDTypeHierarchyTable)
	if err != nil || tc == nil {
		return nil, err
	}
	var out []ndb.NID
	err = tc.Rows(func(r *ltp.Row) error {
		out = append(out, ndb.NID(r.ID()))
		return nil
	})
	return out, err
}

// ChildFolders lists the folders whose node names folder as its parent in
// the node B-tree, in NID order: the subfolders, found without the
// folder's hierarchy table (for when that table is damaged).
func (s *Store) ChildFolders(folder ndb.NID) ([]ndb.NID, error) {
	var out []ndb.NID
	err := s.f.Nodes(func(n ndb.Node) error {
		if n.NID.Type() == ndb.NIDTypeNormalFolder && n.Parent == folder && n.NID != folder {
			out = append(out, n.NID)
		}
		return nil
	})
	return out, err
}

// errFound ends a walk of a table early.
var errFound = errors.New("found")

// FolderFromParent is what a folder's parent knows of it: its row in the
// parent's hierarchy table (name, counts, and the container class when
// the table has that column). It stands in for a folder whose own
// property context is damaged, so that the folder and its messages are
// still read. The error wraps ndb.ErrNotFound when the parent does not
// list the folder.
func (s *Store) FolderFromParent(parent, nid ndb.NID) (*FolderInfo, error) {
	tc, err := s.table(parent, ndb.NIDTypeHierarchyTable)
	if err != nil {
		return nil, err
	}
	var fi *FolderInfo
	if tc != nil {
		err = tc.Rows(func(r *ltp.Row) error {
			if ndb.NID(r.ID()) != nid {
				return nil
			}
			p, err := s.readRow(tc, r)
			if err != nil {
				return err
			}
			fi = &FolderInfo{NID: nid, Name: stringProp(p, propDisplayName), Class: stringProp(p, propContainerClass), Props: p}
			if n, ok := int32Prop(p, propContentCount); ok {
				fi.Count = int(n)
			}
			return errFound
		})
		if err != nil && !errors.Is(err, errFound) {
			return nil, err
		}
	}
	if fi == nil {
		return nil, fmt.Errorf("folder %#x in the folder list of %#x: %w", uint32(nid), uint32(parent), ndb.ErrNotFound)
	}
	return fi, nil
}

// Contents calls fn with the NID of every message in the folder's contents
// table, in table order.
func (s *Store) Contents(folder ndb.NID, fn func(ndb.NID) error) error {
	tc, err := s.table(folder, ndb.NIDTypeContentsTable)
	if err != nil || tc == nil {
		return err
	}
	return tc.Rows(func(r *ltp.Row) error { return fn(ndb.NID(r.ID())) })
}

// ContentsLen is the number of rows of the folder's contents table.
func (s *Store) ContentsLen(folder ndb.NID) (int, error) {
	tc, err := s.table(folder, ndb.NIDTypeContentsTable)
	if err != nil || tc == nil {
		return 0, err
	}
	return tc.Len(), nil
}
