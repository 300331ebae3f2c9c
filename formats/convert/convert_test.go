package convert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/convert/internal/memsource"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/convert")

func goldenPath(name string) string {
	return filepath.Join("..", "..", "testdata", "convert", name)
}

// convertSample converts the shared fixture into a new directory.
func convertSample(t *testing.T, format string) (string, *Report) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Convert(context.Background(), memsource.Sample(), Options{Format: format, Out: out})
	if err != nil {
		t.Fatalf("Convert(%s): %v", format, err)
	}
	return out, rep
}

// dumpTree renders an output directory as text: every directory and file,
// message files with their modification time, and every file's contents.
func dumpTree(t *testing.T, out string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			lines = append(lines, "dir  "+rel)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		head := "file " + rel
		dir := filepath.Base(filepath.Dir(p))
		if dir == "cur" || dir == "new" || strings.HasSuffix(rel, ".eml") {
			head += "  mtime " + fi.ModTime().UTC().Format(time.RFC3339)
		}
		lines = append(lines, head)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, l := range bytes.SplitAfter(b, []byte("\n")) {
			if len(l) > 0 {
				lines = append(lines, fmt.Sprintf("     %q", l))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestGolden compares each output format of the fixture with its golden
// file (refresh with go test ./formats/convert -update, and review the
// diff like code).
func TestGolden(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			out, rep := convertSample(t, format)
			rep.Out = "OUT"
			var js strings.Builder
			enc := json.NewEncoder(&js)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				t.Fatal(err)
			}
			got := dumpTree(t, out) + "\n# report\n" + js.String()
			path := goldenPath(format + ".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s; run go test ./formats/convert -update and review the diff", path)
			}
		})
	}
}

// TestTotals checks that the report adds up and counts what the fixture
// holds.
func TestTotals(t *testing.T) {
	src := memsource.Sample()
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			_, rep := convertSample(t, format)
			tot := rep.Totals
			if tot.Found != len(src.Msgs) {
				t.Errorf("found %d, want %d", tot.Found, len(src.Msgs))
			}
			if tot.Written != len(src.Written()) || tot.Skipped != 1 || tot.Failed != 0 {
				t.Errorf("written/skipped/failed = %d/%d/%d, want %d/1/0", tot.Written, tot.Skipped, tot.Failed, len(src.Written()))
			}
			if tot.Found != tot.Written+tot.Skipped+tot.Failed {
				t.Errorf("totals do not add up: %+v", tot)
			}
			if tot.Folders != len(src.Boxes) {
				t.Errorf("%d folders, want %d", tot.Folders, len(src.Boxes))
			}
			if tot.Undated != 1 || tot.Incomplete != 1 {
				t.Errorf("undated %d, incomplete %d; want 1, 1", tot.Undated, tot.Incomplete)
			}
			sum := 0
			for _, f := range rep.Folders {
				if f.Found != f.Written+f.SkippedTotal()+f.Failed {
					t.Errorf("folder %s does not add up: %+v", f.Source, f)
				}
				sum += f.Found
			}
			if sum != tot.Found {
				t.Errorf("folders sum to %d, totals say %d", sum, tot.Found)
			}
			if n := rep.Folders[memsource.BoxInbox].Skipped[formats.SkipDeleted]; n != 1 {
				t.Errorf("inbox skipped as deleted: %d, want 1", n)
			}
			switch format {
			case FormatEML:
				if tot.LostFlags[`\Seen`] == 0 || len(rep.Notes) == 0 {
					t.Errorf("eml: lost flags %v, notes %q; want \\Seen counted and a note", tot.LostFlags, rep.Notes)
				}
			case FormatMaildir:
				if tot.LostFlags["kw26"] != 1 || tot.LostFlags["kw27"] != 2 {
					t.Errorf("maildir: lost flags %v; want kw26 once and kw27 twice (beyond 26 keywords)", tot.LostFlags)
				}
			case FormatMbox:
				if tot.LostFlags[`\Draft`] != 2 {
					t.Errorf("mbox: lost flags %v; want \\Draft twice", tot.LostFlags)
				}
			}
		})
	}
}

// TestHostileNamesStayInside checks that every file lies inside Out (and
// nothing appeared beside it), and that the hostile names were reported.
func TestHostileNamesStayInside(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			rep, err := Convert(context.Background(), memsource.Sample(), Options{Format: format, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 || entries[0].Name() != "out" {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("beside the output directory: %q, want only out", names)
			}
			_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					t.Error(err)
					return nil
				}
				if d.Type()&fs.ModeSymlink != 0 {
					t.Errorf("symbolic link %s", p)
				}
				name := d.Name()
				if d.IsDir() && format == FormatMbox {
					name = strings.TrimSuffix(name, ".sbd")
				}
				if p != out {
					if SafeName(format, name) != name && !strings.HasSuffix(name, ".eml") && format != FormatMaildir {
						t.Errorf("unsafe name on disk: %q", p)
					}
					if strings.ContainsAny(name, "\x00/\\") || name == ".." {
						t.Errorf("unsafe name on disk: %q", p)
					}
				}
				return nil
			})
			renamed := map[string]bool{}
			for _, r := range rep.Renamed {
				renamed[strings.Join(r.Source, "\x00")] = true
			}
			src := memsource.Sample()
			for _, b := range []int{memsource.BoxDotDot, memsource.BoxSlash, memsource.BoxCON, memsource.BoxLong,
				memsource.BoxNUL, memsource.BoxDots, memsource.BoxDrive, memsource.BoxFooLower, memsource.BoxUpperInbox} {
				if !renamed[strings.Join(src.Boxes[b].Path, "\x00")] {
					t.Errorf("folder %q was not reported as renamed", src.Boxes[b].Path)
				}
			}
			for _, f := range rep.Folders {
				if !within(filepath.Join(out, filepath.FromSlash(f.Output)), out) {
					t.Errorf("folder %q written to %q, outside %s", f.Path, f.Output, out)
				}
			}
		})
	}
}

func TestRefusesNonEmptyOut(t *testing.T) {
	dir := t.TempDir()
	nonEmpty := filepath.Join(dir, "full")
	if err := os.MkdirAll(filepath.Join(nonEmpty, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	hidden := filepath.Join(dir, "hidden")
	if err := os.MkdirAll(hidden, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hidden, ".keep"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, out string
	}{
		{"directory with a subdirectory", nonEmpty},
		{"a file", file},
		{"directory with a dot-file", hidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(context.Background(), memsource.Sample(), Options{Format: FormatMbox, Out: tc.out})
			if !errors.Is(err, ErrOutNotEmpty) {
				t.Errorf("Convert into %s: %v, want ErrOutNotEmpty", tc.name, err)
			}
		})
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "mine" {
		t.Errorf("the user's file changed: %q, %v", b, err)
	}
	t.Run("empty directory is fine", func(t *testing.T) {
		empty := filepath.Join(dir, "empty")
		if err := os.Mkdir(empty, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := Convert(context.Background(), memsource.Sample(), Options{Format: FormatEML, Out: empty}); err != nil {
			t.Errorf("Convert into an empty directory: %v", err)
		}
	})
	t.Run("output inside the source", func(t *testing.T) {
		_, err := Convert(context.Background(), memsource.Sample(), Options{Format: FormatEML, Source: dir, Out: filepath.Join(dir, "new")})
		if err == nil || !strings.Contains(err.Error(), "overlap") {
			t.Errorf("Convert with the output inside the source: %v, want an overlap error", err)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		if _, err := Convert(context.Background(), memsource.Sample(), Options{Format: "pst", Out: filepath.Join(dir, "pst")}); err == nil {
			t.Errorf("Convert to pst: no error")
		}
	})
}

// countMessages counts the messages visible in an output directory, the
// way a reader would find them: From_ lines of mbox files, files in
// maildir cur/ and new/, .eml files. It fails on any temporary file left.
func countMessages(t *testing.T, format, out string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if name == "tmp" && format == FormatMaildir {
				if es, _ := os.ReadDir(p); len(es) != 0 {
					t.Errorf("%s holds %d files after the run", p, len(es))
				}
			}
			return nil
		}
		if strings.HasPrefix(name, ".") {
			t.Errorf("temporary file left: %s", p)
		}
		switch format {
		case FormatMbox:
			b, _ := os.ReadFile(p)
			for _, l := range bytes.Split(b, []byte("\n")) {
				if bytes.HasPrefix(l, []byte("From ")) {
					n++
				}
			}
			if len(b) > 0 && !bytes.HasSuffix(b, []byte("\r\n\r\n")) {
				t.Errorf("%s does not end with a complete message", p)
			}
		case FormatMaildir:
			if dir := filepath.Base(filepath.Dir(p)); dir == "cur" || dir == "new" {
				n++
			}
		case FormatEML:
			if strings.HasSuffix(name, ".eml") {
				n++
			}
		}
		return nil
	})
	return n
}

// TestCancel stops a conversion after some messages: what is visible are
// exactly the messages reported written, all complete, no temporary files.
func TestCancel(t *testing.T) {
	for _, format := range Formats {
		for _, after := range []int{1, 5, 9} {
			t.Run(fmt.Sprintf("%s/after-%d", format, after), func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				out := filepath.Join(t.TempDir(), "out")
				seen := 0
				rep, err := Convert(ctx, memsource.Sample(), Options{Format: format, Out: out, OnMessage: func(*formats.Message) {
					seen++
					if seen == after {
						cancel()
					}
				}})
				if err != context.Canceled {
					t.Fatalf("Convert = %v, want context.Canceled unwrapped", err)
				}
				if rep == nil || rep.Totals.Found != after {
					t.Fatalf("report after cancel: %+v, want %d found", rep, after)
				}
				if got := countMessages(t, format, out); got != rep.Totals.Written {
					t.Errorf("%d messages visible, report says %d written", got, rep.Totals.Written)
				}
			})
		}
	}
}

// TestReadFailure makes messages fail while being read: they are counted
// as failed with their position, nothing of them is visible, and the run
// goes on.
func TestReadFailure(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			src := memsource.Sample()
			src.Msgs[1].FailAfter = 300 // midway through the body
			src.Msgs[5].OpenFails = true
			src.Msgs = append(src.Msgs, memsource.Msg{Box: memsource.BoxInbox, FailAfter: 10,
				Bytes: memsource.Message([]string{"Subject: fails in the header"}, "x")})
			out := filepath.Join(t.TempDir(), "out")
			rep, err := Convert(context.Background(), src, Options{Format: format, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Totals.Failed != 3 || rep.Totals.Written != len(src.Written()) {
				t.Errorf("failed %d written %d, want 3 and %d", rep.Totals.Failed, rep.Totals.Written, len(src.Written()))
			}
			inbox := rep.Folders[memsource.BoxInbox]
			if len(inbox.Errors) != 3 || !strings.Contains(inbox.Errors[0], "(#2)") || !strings.Contains(inbox.Errors[0], memsource.ErrInjected.Error()) {
				t.Errorf("errors = %q, want three with position and cause", inbox.Errors)
			}
			if got := countMessages(t, format, out); got != rep.Totals.Written {
				t.Errorf("%d messages visible, %d written", got, rep.Totals.Written)
			}
		})
	}
}

// TestSelect converts only the chosen folders.
func TestSelect(t *testing.T) {
	sel, err := formats.NewSelector([]string{"Archive"}, []string{"Archive/2019"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Convert(context.Background(), memsource.Sample(), Options{Format: FormatMbox, Out: out, Select: sel})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Folders) != 1 || rep.Folders[0].Source != "Archive" || rep.Totals.Written != 1 {
		t.Errorf("selected folders %+v, totals %+v; want Archive only with 1 message", rep.Folders, rep.Totals)
	}
	var files []string
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		files = append(files, e.Name())
	}
	sort.Strings(files)
	if strings.Join(files, ",") != "Archive" {
		t.Errorf("files %q, want Archive", files)
	}
}

// TestAccounts puts each account at the top when a source has several,
// so that two inboxes do not meet.
func TestAccounts(t *testing.T) {
	src := &memsource.Reader{Boxes: []*formats.Mailbox{
		{Account: "Local Folders", Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox},
		{Account: "pop.example.com", Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox},
	}}
	for i := range src.Boxes {
		src.Msgs = append(src.Msgs, memsource.Msg{Box: i, Bytes: memsource.Message([]string{"Subject: s"}, "b"),
			Date: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := Convert(context.Background(), src, Options{Format: FormatMbox, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, f := range rep.Folders {
		outs = append(outs, f.Output)
	}
	if strings.Join(outs, ",") != "Local Folders.sbd/Inbox,pop.example.com.sbd/Inbox" {
		t.Errorf("outputs %q", outs)
	}
}
