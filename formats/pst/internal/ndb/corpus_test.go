package ndb

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"mailferry/internal/testutil"
)

func openCorpus(t testing.TB, name string) *File {
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
	f, err := Open(fh, st.Size(), p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var corpusFiles = []string{"go-pst-32-bit.pst", "go-pst-support.pst", "java-libpst-dist-list.pst", "java-libpst-passworded.pst", "pst-extractor-enron.pst", "pst-extractor-test-2013.ost"}

// TestCorpusNodes walks the node B-tree of every corpus file and reads
// every node's data tree and subnodes to the end: every block checks out.
func TestCorpusNodes(t *testing.T) {
	for _, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			f := openCorpus(t, name)
			n, bytes := 0, int64(0)
			err := f.Nodes(func(nd Node) error {
				n++
				tr, err := f.Tree(nd.Data)
				if err != nil {
					return err
				}
				m, err := io.Copy(io.Discard, tr.Reader())
				if err != nil {
					return err
				}
				bytes += m
				return f.Subnodes(nd.Sub).Each(func(s Node) error {
					st, err := f.Tree(s.Data)
					if err != nil {
						return err
					}
					_, err = io.Copy(io.Discard, st.Reader())
					return err
				})
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v, crypt %d, %d nodes, %d bytes", name, f.Format, f.Crypt, n, bytes)
			if _, err := f.Node(0x21); err != nil {
				t.Errorf("message store node: %v", err)
			}
		})
	}
}
