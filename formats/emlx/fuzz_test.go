package emlx

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/testutil"
)

// FuzzParseEmlx feeds arbitrary files to the parser and the rebuilder and
// then to the whole Reader: no panic, Size equal to the bytes Open yields,
// CRLF output, and errors that carry the file's position.
func FuzzParseEmlx(f *testing.F) {
	root := testutil.Testdata(f, "emlx")
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && isEmlxName(p) {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add(emlxBytes("10", "S: x\n\n--b-", testPlist))
	f.Add(emlxBytes("9999", "Content-Type: multipart/mixed; boundary=b\n\n--b\nX-Apple-Content-Length: 3\n\n\n--b--\n", testPlist[:40]))
	f.Add([]byte("not an emlx\n"))
	// One directory for all runs: a worker runs inputs one at a time.
	dir := f.TempDir()
	p := filepath.Join(dir, "Box.mbox", "Messages", "7.partial.emlx")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		const name = "fuzz/Messages/1.partial.emlx"
		for _, partial := range []bool{false, true} {
			var out bytes.Buffer
			_, err := convert(bytes.NewReader(b), int64(len(b)), name, partial, "", &out, nil)
			if err != nil {
				var me *formats.MessageError
				if !errors.As(err, &me) || me.Pos.File != name {
					t.Fatalf("error without position: %v", err)
				}
				continue
			}
			if err := formatstest.CheckCRLF(out.Bytes()); err != nil {
				t.Fatalf("partial=%v: %v", partial, err)
			}
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, formats.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if n := formatstest.CheckStream(t, r); n != 1 {
			t.Fatalf("read %d messages from one file, want 1", n)
		}
	})
}
