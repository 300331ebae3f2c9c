package pst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/psttest"
)

// damageFolders are three folders of two messages each, every body and
// folder name unique, so that a test can find the block holding one.
func damageFolders() []*psttest.Folder {
	// Folder-B is Drafts, so that the root folder holds an entry ID.
	var out []*psttest.Folder
	for _, f := range []string{"A", "B", "C"} {
		folder := &psttest.Folder{Name: "Folder-" + f, Class: "IPF.Note"}
		if f == "B" {
			folder.Role = psttest.RoleDrafts
		}
		for i := 1; i <= 2; i++ {
			folder.Messages = append(folder.Messages, &psttest.Message{Props: []psttest.Prop{
				psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, fmt.Sprintf("Message %s%d", f, i)),
				psttest.Int32(0x0E07, 1), psttest.String(0x1000, fmt.Sprintf("body-of-%s%d", f, i)),
			}})
		}
		out = append(out, folder)
	}
	return out
}

// encoded is s as a file of format f stores it (no encoding).
func encoded(f psttest.Format, s string) []byte {
	if f == psttest.ANSI {
		return []byte(s)
	}
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

type readOutcome struct {
	boxes    []string
	read     []string // subjects
	skipped  map[string]int
	warnings []string
}

// readDamaged reads a file to the end with the MIME conversion and
// returns what came out; Open's error, if any.
func readDamaged(t *testing.T, p string) (*readOutcome, error) {
	t.Helper()
	out := &readOutcome{skipped: map[string]int{}}
	r, err := Open(p, formats.Options{TempDir: t.TempDir(), Warn: func(w formats.Warning) { out.warnings = append(out.warnings, w.String()) }})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	for _, b := range boxes {
		out.boxes = append(out.boxes, b.Path.String())
	}
	for _, m := range msgs {
		if m.Skip != "" {
			out.skipped[m.Skip]++
			continue
		}
		_, after, _ := strings.Cut(string(m.Bytes), "Subject: ")
		subj, _, _ := strings.Cut(after, "\r\n")
		out.read = append(out.read, subj)
	}
	slices.Sort(out.read)
	return out, nil
}

// TestDamagedFileSalvage: a damaged block costs only what it holds. A
// message whose block is damaged is skipped as unreadable and the
// warning names the file, the folder, the message and the block's
// offset; a folder whose block is damaged is read with what its parent's
// folder list says of it, with a warning naming the file, the folder and
// the offset, and left out (its messages counted in a warning) only when
// that list is damaged too; everything else is read.
func TestDamagedFileSalvage(t *testing.T) {
	for _, format := range []psttest.Format{psttest.ANSI, psttest.Unicode} {
		t.Run(formatName(format), func(t *testing.T) {
			orig := filepath.Join(t.TempDir(), "mail.pst")
			if err := psttest.Write(orig, psttest.Options{Format: format}, damageFolders()); err != nil {
				t.Fatal(err)
			}
			good, err := os.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			// damage changes the first n places where marker is in the file.
			damage := func(marker []byte, n int) string {
				t.Helper()
				b := bytes.Clone(good)
				from := 0
				for range n {
					i := bytes.Index(b[from:], marker)
					if i < 0 {
						t.Fatalf("%q not %d times in the file", marker, n)
					}
					b[from+i] ^= 0x20 // the block's CRC no longer matches
					from += i + 1
				}
				p := filepath.Join(t.TempDir(), "damaged.pst")
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return p
			}
			all := []string{"Message A1", "Message A2", "Message B1", "Message B2", "Message C1", "Message C2"}

			// A message's block.
			p := damage(encoded(format, "body-of-B1"), 1)
			res, err := readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged message makes Open fail: %v", err)
			}
			if want := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == "Message B1" }); !slices.Equal(res.read, want) {
				t.Errorf("read %q, want %q", res.read, want)
			}
			if res.skipped[SkipUnreadable] != 1 || len(res.skipped) != 1 {
				t.Errorf("skipped %v, want one unreadable message", res.skipped)
			}
			if len(res.warnings) != 1 || !strings.HasPrefix(res.warnings[0], p+" (#3): ") || !strings.Contains(res.warnings[0], `"Folder-B"`) ||
				!strings.Contains(res.warnings[0], "at offset 0x") || !strings.Contains(res.warnings[0], "CRC") {
				t.Errorf("warnings %q, want one naming the file, the message's number, the folder, the offset and the CRC", res.warnings)
			}

			// A folder's block: its own property context comes first in the
			// file; its parent's hierarchy table, which also has its name, is
			// written after it. The folder is read with what the parent's
			// list says of it.
			p = damage(encoded(format, "Folder-C"), 1)
			res, err = readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged folder makes Open fail: %v", err)
			}
			if !slices.Equal(res.boxes, []string{"Folder-A", "Folder-B", "Folder-C"}) || !slices.Equal(res.read, all) {
				t.Errorf("folders %q, messages %q; want all three with their messages", res.boxes, res.read)
			}
			if len(res.warnings) != 1 || !strings.HasPrefix(res.warnings[0], p+": ") || !strings.Contains(res.warnings[0], `"Folder-C"`) || !strings.Contains(res.warnings[0], "at offset 0x") {
				t.Errorf("warnings %q, want one naming the file, the folder and the offset", res.warnings)
			}

			// The name-to-ID map (its names are UTF-16 in every layout): named
			// properties (categories) are lost, the messages are not.
			p = damage(encoded(psttest.Unicode, "Keywords"), 1)
			res, err = readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged name-to-ID map makes Open fail: %v", err)
			}
			if !slices.Equal(res.read, all) || len(res.warnings) != 1 || !strings.HasPrefix(res.warnings[0], p+": ") ||
				!strings.Contains(res.warnings[0], "named propert") || !strings.Contains(res.warnings[0], "at offset 0x") {
				t.Errorf("messages %q, warnings %q; want every message and one warning with the offset", res.read, res.warnings)
			}

			// The root folder's record (found by the Drafts entry ID only it
			// holds): the user's folders are read without it.
			rs, err := OpenStore(orig)
			if err != nil {
				t.Fatal(err)
			}
			root, err := rs.Folder(nidRootFolder)
			if err != nil {
				t.Fatal(err)
			}
			draftsID := binaryProp(root.Props, propIpmDraftsEntryID)
			rs.Close()
			if len(draftsID) != 24 {
				t.Fatalf("root folder's Drafts entry ID %x", draftsID)
			}
			p = damage(draftsID, 1)
			res, err = readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged root folder makes Open fail: %v", err)
			}
			if !slices.Equal(res.read, all) || len(res.warnings) != 1 || !strings.HasPrefix(res.warnings[0], p+": root folder") || !strings.Contains(res.warnings[0], "at offset 0x") {
				t.Errorf("messages %q, warnings %q; want every message and one warning with the offset", res.read, res.warnings)
			}

			// The parent's list of subfolders (the last place a folder's name
			// is written): the subfolders are found through the node index.
			b := bytes.Clone(good)
			b[bytes.LastIndex(b, encoded(format, "Folder-A"))] ^= 0x20
			p = filepath.Join(t.TempDir(), "damaged.pst")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			res, err = readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged folder list makes Open fail: %v", err)
			}
			if !slices.Equal(res.boxes, []string{"Folder-A", "Folder-B", "Folder-C"}) || !slices.Equal(res.read, all) {
				t.Errorf("folders %q, messages %q; want all three with their messages", res.boxes, res.read)
			}
			if len(res.warnings) != 1 || !strings.HasPrefix(res.warnings[0], p+": ") || !strings.Contains(res.warnings[0], "hierarchy table") || !strings.Contains(res.warnings[0], "at offset 0x") {
				t.Errorf("warnings %q, want one naming the file, the folder list and the offset", res.warnings)
			}

			// Both the folder's block and its parent's list: the folder is left
			// out, and its messages are counted in a warning.
			p = damage(encoded(format, "Folder-C"), 2)
			res, err = readDamaged(t, p)
			if err != nil {
				t.Fatalf("a damaged folder makes Open fail: %v", err)
			}
			if !slices.Equal(res.boxes, []string{"Folder-A", "Folder-B"}) || !slices.Equal(res.read, all[:4]) {
				t.Errorf("folders %q, messages %q; want A and B with their messages", res.boxes, res.read)
			}
			joined := strings.Join(res.warnings, "\n")
			if !strings.HasPrefix(joined, p+": ") || !strings.Contains(joined, "at offset 0x") || !strings.Contains(joined, "2 message nodes belong to no folder") {
				t.Errorf("warnings %q, want the folder's offset and its 2 messages counted", res.warnings)
			}
		})
	}
}

// TestDamagedFileNeverPanics damages a written file in many ways (a byte
// changed in every 512-byte page, the file cut short at many lengths)
// with the CRC checks in force: each time the file either fails to open
// with an error naming it, or is read to the end, every message read or
// skipped with a reason.
func TestDamagedFileNeverPanics(t *testing.T) {
	for _, format := range []psttest.Format{psttest.ANSI, psttest.Unicode, psttest.Unicode4K} {
		orig := filepath.Join(t.TempDir(), "mail.pst")
		if err := psttest.Write(orig, psttest.Options{Format: format, Crypt: psttest.CryptPermute}, damageFolders()); err != nil {
			t.Fatal(err)
		}
		good, err := os.ReadFile(orig)
		if err != nil {
			t.Fatal(err)
		}
		var variants [][]byte
		for off := 0; off < len(good); off += 512 {
			for _, at := range []int{7, 300, 500} {
				if off+at < len(good) {
					b := bytes.Clone(good)
					b[off+at] ^= 0xFF
					variants = append(variants, b)
				}
			}
		}
		for n := 0; n < len(good); n += len(good) / 40 {
			variants = append(variants, good[:n])
		}
		p := filepath.Join(t.TempDir(), "damaged.pst")
		opened := 0
		for i, b := range variants {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p, formats.Options{TempDir: t.TempDir()})
			if err != nil {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("variant %d: error %q does not name the file", i, err)
				}
				continue
			}
			opened++
			for {
				m, err := r.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Errorf("variant %d: Next: %v", i, err)
					break
				}
				if m.Skip == "" && m.Open == nil {
					t.Errorf("variant %d: %v neither readable nor skipped", i, m.Pos)
				}
			}
			r.Close()
		}
		t.Logf("%s: %d variants, %d opened", formatName(format), len(variants), opened)
	}
}

// TestDamagedAttachment: a block damaged in the middle of an attachment
// (its data tree's second block) costs that attachment: the message is
// read with its body and its other attachment, a note in the damaged
// one's place, and is Incomplete, naming the attachment and the offset.
func TestDamagedAttachment(t *testing.T) {
	for _, format := range []psttest.Format{psttest.ANSI, psttest.Unicode} {
		t.Run(formatName(format), func(t *testing.T) {
			data := append(bytes.Repeat([]byte("A"), 9000), bytes.Repeat([]byte("B"), 9000)...) // two data blocks
			msg := &psttest.Message{Props: []psttest.Prop{psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, "Two attachments"), psttest.Int32(0x0E07, 1), psttest.String(0x1000, "the body")},
				Attachments: []*psttest.Attachment{
					{Props: []psttest.Prop{psttest.Int32(0x3705, 1), psttest.String(0x3707, "small.txt"), psttest.Binary(0x3701, []byte("small and fine"))}},
					{Props: []psttest.Prop{psttest.Int32(0x3705, 1), psttest.String(0x3707, "large.bin"), psttest.Binary(0x3701, data)}},
				}}
			p := filepath.Join(t.TempDir(), "att.pst")
			if err := psttest.Write(p, psttest.Options{Format: format}, []*psttest.Folder{{Name: "Inbox", Messages: []*psttest.Message{msg}}}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[bytes.Index(b, bytes.Repeat([]byte("B"), 100))+50] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p, formats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			msgs := collect(t, r)
			if len(msgs) != 1 || msgs[0].Skip != "" {
				t.Fatalf("messages %+v, want the message read", msgs)
			}
			m := msgs[0]
			if !strings.Contains(m.Incomplete, "large.bin") || !strings.Contains(m.Incomplete, "at offset 0x") {
				t.Errorf("Incomplete %q, want the attachment and the offset", m.Incomplete)
			}
			_, parts := parseMessage(t, m.Bytes)
			var got []string
			for _, pt := range parts {
				got = append(got, pt.filename+"="+strings.TrimSpace(pt.body))
			}
			if len(got) != 3 || got[0] != "=the body" || got[1] != "small.txt=small and fine" || !strings.Contains(got[2], `attachment "large.bin" could not be read`) {
				t.Errorf("parts %q", got)
			}
			// Counted only (scan), the message is the same: read, same size.
			r, err = Open(p, formats.Options{SizesOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			sized, err := r.Next(context.Background())
			r.Close()
			if err != nil || sized.Skip != "" || sized.Size != m.Size || sized.Incomplete != m.Incomplete {
				t.Errorf("sizes only: %v, skip %q, size %d (want %d), incomplete %q", err, sized.Skip, sized.Size, m.Size, sized.Incomplete)
			}
		})
	}
}
