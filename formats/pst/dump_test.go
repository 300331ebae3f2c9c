package pst

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/formats/mapi"
	"mailferry/formats/pst/internal/ltp"
	"mailferry/formats/pst/internal/ndb"
	"mailferry/internal/testutil"
)

func TestDump(t *testing.T) {
	if os.Getenv("PSTDUMP") == "" {
		t.Skip()
	}
	for _, name := range strings.Split(os.Getenv("PSTDUMP"), ",") {
		s, err := OpenStore(testutil.Corpus(t, filepath.Join("pst", name)))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("=====", name, s.Format(), "ost", s.IsOST(), "pw", s.PasswordProtected())
		for _, p := range s.props.pc.Props() {
			v, _, _ := s.props.Get(0 + mapiID(p.ID))
			fmt.Printf("  store %04x %04x %x\n", p.ID, p.Type, trunc(v.Data))
		}
		var walk func(nid ndb.NID, depth int)
		walk = func(nid ndb.NID, depth int) {
			fi, err := s.Folder(nid)
			if err != nil {
				fmt.Println(strings.Repeat("  ", depth), "ERR", err)
				return
			}
			n, _ := s.ContentsLen(nid)
			fmt.Printf("%s%q nid=%#x class=%q hidden=%v count=%d rows=%d\n", strings.Repeat("  ", depth), fi.Name, uint32(nid), fi.Class, fi.Hidden, fi.Count, n)
			if os.Getenv("PSTPROPS") != "" {
				for _, p := range fi.Props.(*object).pc.Props() {
					v, _, _ := fi.Props.Get(mapiID(p.ID))
					fmt.Printf("%s   %04x %04x %x\n", strings.Repeat("  ", depth), p.ID, p.Type, trunc(v.Data))
				}
			}
			if os.Getenv("PSTMSGS") != "" {
				s.Contents(nid, func(m ndb.NID) error {
					msg, err := s.Message(m)
					if err != nil {
						fmt.Println("   msg ERR", err)
						return nil
					}
					fmt.Printf("%s   - %#x %q %q\n", strings.Repeat("  ", depth), uint32(m), stringProp(msg, propMessageClass), stringProp(msg, propSubject))
					return nil
				})
			}
			subs, err := s.Subfolders(nid)
			if err != nil {
				fmt.Println("subfolders ERR", err)
			}
			for _, c := range subs {
				walk(c, depth+1)
			}
		}
		walk(nidRootFolder, 0)
		s.f.Nodes(func(n ndb.Node) error {
			if n.NID.Type() == 0x0B || n.NID.Type() == 0x0C || n.NID.Type() == 0x01 {
				ln, _ := ltp.OpenNode(s.f, n)
				tc, err := ln.TC()
				if err != nil {
					fmt.Printf("node %#x: %v\n", uint32(n.NID), err)
					return nil
				}
				fmt.Printf("node %#x type %#x parent %#x: %v\n", uint32(n.NID), n.NID.Type(), uint32(n.Parent), tc)
				tc.Rows(func(r *ltp.Row) error {
					row, _ := s.readRow(tc, r)
					for id, v := range row.values {
						fmt.Printf("     %04x %04x %x\n", uint16(id), uint16(v.Type), trunc(v.Data))
					}
					fmt.Println("     --")
					return nil
				})
			}
			return nil
		})
		s.Close()
	}
}

func trunc(b []byte) []byte {
	if len(b) > 48 {
		return b[:48]
	}
	return b
}

func mapiID(id uint16) mapi.PropID { return mapi.PropID(id) }
