package ltp

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats/pst/internal/ndb"
	"mailferry/internal/testutil"
)

var corpusFiles = []string{"go-pst-32-bit.pst", "go-pst-support.pst", "java-libpst-dist-list.pst", "java-libpst-passworded.pst", "pst-extractor-enron.pst", "pst-extractor-test-2013.ost"}

func openCorpus(t testing.TB, name string) *ndb.File {
	t.Helper()
	p := testutil.Corpus(t, filepath.Join("pst", name))
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fh.Close() })
	st, err := fh.Stat()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ndb.Open(fh, st.Size(), p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCorpusContexts opens every node of the corpus files that has a heap
// as a property or table context, reads every value of a PC and every
// cell of a TC: all of them must parse.
func TestCorpusContexts(t *testing.T) {
	for _, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			f := openCorpus(t, name)
			pcs, tcs := 0, 0
			check := func(n *Node) error {
				h, err := n.Heap()
				if err != nil {
					return nil // not every node is a heap (e.g. search queues)
				}
				switch h.ClientSig {
				case SigPC:
					pcs++
					pc, err := n.PC()
					if err != nil {
						return err
					}
					for _, p := range pc.Props() {
						r, err := pc.Value(p)
						if err != nil {
							return err
						}
						if _, err := r.Bytes(1 << 30); err != nil {
							return err
						}
					}
				case SigTC:
					tcs++
					tc, err := n.TC()
					if err != nil {
						return err
					}
					rows := 0
					err = tc.Rows(func(r *Row) error {
						rows++
						for _, c := range tc.Columns {
							if !r.Has(c) {
								continue
							}
							v, err := r.Value(c)
							if err != nil {
								return err
							}
							if _, err := v.Bytes(1 << 30); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						return err
					}
					if rows != tc.Len() {
						return errors.New("row count")
					}
				}
				return nil
			}
			err := f.Nodes(func(nd ndb.Node) error {
				n, err := OpenNode(f, nd)
				if err != nil {
					return err
				}
				if err := check(n); err != nil {
					return err
				}
				return n.Sub.Each(func(s ndb.Node) error {
					sn, err := OpenNode(f, s)
					if err != nil {
						return err
					}
					return check(sn)
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d property contexts, %d table contexts", pcs, tcs)
		})
	}
}
