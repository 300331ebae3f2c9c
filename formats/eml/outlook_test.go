package eml

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/msg"
	"mailferry/internal/testutil"
)

// mixedFolder lays out one folder as people make it: .eml files and
// messages dragged out of Outlook (.msg: the corpus's files and the
// testdata's, copied at test time), an Outlook contact, a damaged .msg
// and an Internet message saved under a .msg name.
func mixedFolder(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "Projects")
	copyIn := func(src, name string) {
		t.Helper()
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, name), string(b))
	}
	for _, name := range []string{"msg-extractor-strangeDate.msg", "msg-extractor-unicode.msg"} {
		copyIn(testutil.Corpus(t, "msg/"+name), name)
	}
	copyIn(testutil.Testdata(t, "eml/tree/Inbox/outlook.msg"), "outlook.msg")
	copyIn(testutil.Testdata(t, "msg/contact.msg"), "contact.MSG")
	copyIn(testutil.Testdata(t, "eml/tree/Inbox/a.EML"), "a.eml")
	copyIn(testutil.Testdata(t, "eml/tree/Inbox/received.eml"), "received.eml")
	write(t, filepath.Join(dir, "damaged.msg"), "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"+strings.Repeat("\x00", 600))
	write(t, filepath.Join(dir, "saved-as-text.msg"), "From: a@example.org\nSubject: saved\nDate: Tue, 1 Jun 2021 10:00:00 +0200\n\nbody\n")
	return dir
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An EML folder holding .msg files is one folder: the .msg messages come
// as package msg reads them (bytes, flags, keywords, date, notes), the
// contact is skipped as not mail, the damaged file is skipped and
// reported to OnFile with its error, and every file read is reported.
func TestMixedEMLAndMsgFolder(t *testing.T) {
	dir := mixedFolder(t)
	var warns []formats.Warning
	reported := map[string]error{}
	cfg := Config{Options: formats.Options{OnFile: func(p string, err error) { reported[filepath.Base(p)] = err }}}
	formatstest.Run(t, openFn(dir, cfg, &warns), formatstest.Want{
		Mailboxes: []string{"Projects"},
		Messages:  8,
		Skipped:   2, // the contact and the damaged file
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			got := byName(msgs)
			for name, skip := range map[string]string{"contact.MSG": formats.SkipNotMail, "damaged.msg": SkipUnreadable} {
				if got[name].Skip != skip {
					t.Errorf("%s: skip %q, want %q", name, got[name].Skip, skip)
				}
			}
			for _, name := range []string{"msg-extractor-strangeDate.msg", "msg-extractor-unicode.msg", "outlook.msg"} {
				m, ok := got[name]
				want := readAlone(t, filepath.Join(dir, name))
				if !ok || m.Skip != "" || string(m.Bytes) != string(want.Bytes) || !slices.Equal(m.Flags, want.Flags) ||
					!m.Date.Equal(want.Date) || m.DateSource != want.DateSource || m.Incomplete != want.Incomplete {
					t.Errorf("%s: read in the EML folder as skip %q, %d bytes, flags %q, date %v (%s), incomplete %q;\n"+
						"package msg reads %d bytes, flags %q, date %v (%s), incomplete %q", name, m.Skip, len(m.Bytes), m.Flags,
						m.Date, m.DateSource, m.Incomplete, len(want.Bytes), want.Flags, want.Date, want.DateSource, want.Incomplete)
				}
			}
			if m := got["saved-as-text.msg"]; m.Skip != "" || !strings.HasPrefix(string(m.Bytes), "From: a@example.org\r\n") ||
				m.DateSource != formats.DateHeader || !slices.Equal(m.Flags, []string{`\Seen`}) {
				t.Errorf("an Internet message named .msg: skip %q, %q, %s, %q", m.Skip, m.Bytes, m.DateSource, m.Flags)
			}
		},
	})
	var me *formats.MessageError
	if err := reported["damaged.msg"]; !errors.As(err, &me) || me.Pos.File != filepath.Join(dir, "damaged.msg") {
		t.Errorf("OnFile(damaged.msg) error %v, want a *formats.MessageError naming the file", err)
	}
	for _, name := range []string{"msg-extractor-strangeDate.msg", "msg-extractor-unicode.msg", "outlook.msg", "contact.MSG",
		"a.eml", "received.eml", "saved-as-text.msg"} {
		if err, ok := reported[name]; !ok || err != nil {
			t.Errorf("OnFile(%s): reported %v, error %v; want read", name, ok, err)
		}
	}
	r := openFn(dir, cfg, &warns)(t)
	formatstest.Collect(t, r)
	r.Close()
	if !slices.ContainsFunc(warns, func(w formats.Warning) bool { return strings.HasSuffix(w.Pos.File, "damaged.msg") }) {
		t.Errorf("no warning names the damaged file: %v", warns)
	}
}

// readAlone reads one .msg file with package msg.
func readAlone(t *testing.T, path string) formatstest.Collected {
	t.Helper()
	r, err := msg.Open(path, formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	if len(msgs) != 1 {
		t.Fatalf("%s: package msg read %d messages", path, len(msgs))
	}
	return msgs[0]
}

// With SizesOnly the .msg files are converted without keeping the bytes:
// the sizes are the same.
func TestMixedFolderSizesOnly(t *testing.T) {
	dir := mixedFolder(t)
	sizes := func(opts formats.Options) map[string]int64 {
		r, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		out := map[string]int64{}
		for {
			m, err := r.Next(context.Background())
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(m.Pos.File)] = m.Size
			if opts.SizesOnly && m.Skip == "" && strings.HasSuffix(m.Pos.File, "outlook.msg") {
				if _, err := m.Open(); !errors.Is(err, formats.ErrNoBytes) {
					t.Errorf("Open with SizesOnly = %v, want ErrNoBytes", err)
				}
			}
		}
	}
	full, counted := sizes(formats.Options{}), sizes(formats.Options{SizesOnly: true})
	if len(full) != 8 || len(full) != len(counted) {
		t.Fatalf("%d and %d files", len(full), len(counted))
	}
	for name, n := range full {
		if counted[name] != n {
			t.Errorf("%s: %d bytes, %d with SizesOnly", name, n, counted[name])
		}
	}
}
