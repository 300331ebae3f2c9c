package convert

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"mailferry/formats"
	"mailferry/formats/convert/internal/memsource"
	"mailferry/formats/formatstest"
	"mailferry/formats/maildir"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
)

// TestQuarantineKept: what the source holds that is not a message is not
// converted but kept, byte for byte, in not-converted/, listed in the
// report and counted; a source folder named like that directory is
// renamed, so nothing is overwritten or mixed up.
func TestQuarantineKept(t *testing.T) {
	junk := []byte("typed by hand\r\nbefore the first From_ line\n\x00\xff")
	boxes := []*formats.Mailbox{{Path: formats.Folder{"not-converted"}}}
	msgs := []memsource.Msg{
		{Box: 0, Bytes: junk, Quarantine: "text before the first From_ line"},
		{Box: 0, Bytes: []byte("Subject: x\r\n\r\nbody\r\n"), Flags: []string{`\Seen`}},
		{Box: 0, Bytes: junk[:5], Quarantine: "text before the first From_ line"},
	}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			rep, err := Convert(context.Background(), &memsource.Reader{Boxes: boxes, Msgs: msgs}, Options{Format: format, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			tot := rep.Totals
			if tot.Found != 3 || tot.Written != 1 || tot.Quarantined != 2 || tot.Found != tot.Written+tot.Skipped+tot.Quarantined+tot.Failed {
				t.Errorf("totals %+v, want 3 found = 1 written + 2 quarantined", tot)
			}
			fr := rep.Folders[0]
			if fr.QuarantinedTotal() != 2 || fr.Names[0] == NotConvertedDir {
				t.Errorf("folder report %+v: want 2 quarantined and the folder renamed away from %s", fr, NotConvertedDir)
			}
			if len(rep.NotConverted) != 2 || len(rep.Notes) == 0 {
				t.Fatalf("not converted %+v, notes %q", rep.NotConverted, rep.Notes)
			}
			for i, want := range [][]byte{junk, junk[:5]} {
				nc := rep.NotConverted[i]
				b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(nc.Output)))
				if err != nil || string(b) != string(want) || nc.Bytes != int64(len(want)) || nc.Folder != "not-converted" {
					t.Errorf("item %d %+v: %q, %v; want %q", i, nc, b, err, want)
				}
			}
			if rep.NotConverted[0].Output == rep.NotConverted[1].Output {
				t.Errorf("two items kept in the same file %s", rep.NotConverted[0].Output)
			}
		})
	}
}

// TestConvertUsesSummaryState: convert reads Thunderbird folders through
// the same reader, so the read state it writes is the .msf's when that is
// current, not the X-Mozilla-Status headers'.
func TestConvertUsesSummaryState(t *testing.T) {
	spec := tbtest.Spec{Accounts: []tbtest.Account{{Type: "none", Name: "Local Folders", Hostname: "Local Folders", UserName: "nobody",
		Folders: []tbtest.Folder{{Name: "Inbox", MSF: true, Messages: []tbtest.Message{
			{Status: "0001", Status2: "00000000", Keys: "-", Subject: "unread in the summary", MSFFlags: 0x10000},
			{Status: "0000", Status2: "00000000", Keys: "-", Subject: "read in the summary", MSFFlags: 0x1, MSFKeywords: "$label1"},
		}}}}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	r, err := thunderbird.Open(filepath.Join(built.Profile, "Mail", "Local Folders"), thunderbird.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Convert(context.Background(), r, Options{Format: FormatMaildir, Out: out}); err != nil {
		t.Fatal(err)
	}
	back, err := maildir.Open(out, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	_, msgs := formatstest.Collect(t, back)
	flags := map[string][]string{}
	for _, m := range msgs {
		subj, _ := formats.ParseHeader(m.Bytes).Get("Subject")
		flags[subj] = m.Flags
	}
	if f := flags["unread in the summary"]; len(f) != 0 {
		t.Errorf("unread in the summary: flags %q, want none", f)
	}
	if f := flags["read in the summary"]; !slices.Equal(f, []string{`\Seen`, "$label1"}) {
		t.Errorf("read in the summary: flags %q, want \\Seen $label1", f)
	}
}
