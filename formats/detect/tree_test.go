package detect

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"mailferry/formats"
)

// The generated trees of these tests: a map from slash paths to content;
// content "-> target" makes a symbolic link, a path ending in / an empty
// directory.
type tree map[string]string

func (tr tree) build(t *testing.T, root string) {
	t.Helper()
	for rel, content := range tr {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if strings.HasSuffix(rel, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Skipf("no symbolic links here: %v", err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const (
	msgA = "From: anna@example.org\nTo: ben@example.org\nSubject: one\nDate: Mon, 7 Jun 2010 10:00:00 +0000\nMessage-ID: <1@example.org>\n\nbody one\n"
	msgB = "From: ben@example.org\nTo: anna@example.org\nSubject: two\nDate: Tue, 8 Jun 2010 10:00:00 +0000\nMessage-ID: <2@example.org>\n\nbody two\n"
)

// tbMbox is a Thunderbird mbox holding the messages.
func tbMbox(msgs ...string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From - Mon Jun  7 10:00:00 2010\nX-Mozilla-Status: 0001\n" + m + "\n")
	}
	return b.String()
}

// emlxFile is an Apple Mail .emlx file holding msg, marked read.
func emlxFile(msg string) string {
	plist := `<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict><key>flags</key><integer>1</integer></dict></plist>
`
	return fmt.Sprintf("%d\n%s%s", len(msg), msg, plist)
}

// result is what a test saw of an opened source read to the end.
type result struct {
	src      *Source
	folders  []string
	messages int
	skipped  int
	// quarantined lists "folder:offset+size" of the items read as not
	// messages (text before an mbox's first separator).
	quarantined []string
	warnings    []string
	ledger      *formats.FileLedger
}

func readSource(t *testing.T, path string) *result {
	t.Helper()
	res := &result{}
	src, err := Open(path, Auto, formats.Options{SizesOnly: true, Warn: func(w formats.Warning) { res.warnings = append(res.warnings, w.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Reader.Close()
	res.src = src
	boxes, err := src.Reader.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		res.folders = append(res.folders, b.DisplayPath())
	}
	if _, err := src.Ledger(); err != ErrNotFinished {
		t.Errorf("Ledger before the end = %v, want ErrNotFinished", err)
	}
	for {
		m, err := src.Reader.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Quarantine != "" {
			res.quarantined = append(res.quarantined, fmt.Sprintf("%s:%d+%d", m.Mailbox.DisplayPath(), m.Pos.Offset, m.Size))
		}
		if m.Skip != "" {
			res.skipped++
		} else {
			res.messages++
		}
	}
	res.ledger, err = src.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if err := res.ledger.Check(); err != nil {
		t.Errorf("ledger does not add up: %v", err)
	}
	return res
}

// stores lists the stores found as "kind path", paths relative to root.
func (r *result) stores(root string) []string {
	var out []string
	for _, f := range r.src.Found {
		rel, _ := filepath.Rel(root, f.Path)
		out = append(out, string(f.Kind)+" "+filepath.ToSlash(rel))
	}
	return out
}

// notRead lists the not-read entries as "path|kind|mail|files".
func (r *result) notRead() []string {
	var out []string
	for _, n := range r.ledger.NotRead {
		out = append(out, fmt.Sprintf("%s|%s|%v|%d", n.Path, n.Kind, n.Mail, n.Files))
	}
	return out
}

// noMail lists every file recognised as holding no mail, as "path|reason".
func (r *result) noMail() []string {
	var out []string
	for _, g := range r.ledger.NoMail {
		for _, p := range g.Paths {
			out = append(out, p+"|"+g.Reason)
		}
	}
	sort.Strings(out)
	return out
}

func (r *result) notSearched() []string {
	var out []string
	for _, n := range r.ledger.NotSearched {
		out = append(out, n.Path)
	}
	return out
}

func check(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}
