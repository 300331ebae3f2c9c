package msg

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/mapi"
	"mailferry/formats/msg/internal/cfbtest"
	"mailferry/internal/testutil"
)

var (
	delivered = time.Date(2022, 5, 6, 7, 8, 9, 0, time.UTC)
	submitted = delivered.Add(-time.Minute)
	psPublic  = [16]byte(mapi.PSPublicStrings)
)

func prop(id mapi.PropID, t mapi.PropType, v any) cfbtest.Prop {
	return cfbtest.Prop{ID: uint16(id), Type: uint16(t), Value: v}
}

func bigData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 31)
	}
	return b
}

// sample is a message with something of everything the reader handles:
// String8 in a code page, a named multi-valued property, recipients, a
// large attachment and an attached message.
func sample() *cfbtest.Message {
	return &cfbtest.Message{
		Props: []cfbtest.Prop{
			prop(mapi.PidTagMessageClass, mapi.TypeString, "IPM.Note"),
			prop(mapi.PidTagMessageCodepage, mapi.TypeInteger32, int32(1251)),
			prop(mapi.PidTagSubject, mapi.TypeString8, []byte("\xcf\xf0\xe8\xe2\xe5\xf2")), // "Привет" in windows-1251
			prop(mapi.PidTagBody, mapi.TypeString, "Body text\r\n"),
			prop(mapi.PidTagClientSubmitTime, mapi.TypeTime, submitted),
			prop(mapi.PidTagMessageDeliveryTime, mapi.TypeTime, delivered),
			prop(mapi.PidTagMessageFlags, mapi.TypeInteger32, int32(mapi.MsgFlagRead)),
			prop(mapi.PidTagLastVerbExecuted, mapi.TypeInteger32, int32(mapi.VerbForward)),
			prop(mapi.PidTagFlagStatus, mapi.TypeInteger32, int32(mapi.FlagStatusFlagged)),
			prop(mapi.PidTagSenderName, mapi.TypeString, "Sender"),
			prop(mapi.PidTagSenderSMTPAddress, mapi.TypeString, "sender@example.com"),
			prop(0x8005, mapi.TypeString|mapi.MultipleFlag, []string{"Blue", "Wichtig ✓"}),
			prop(mapi.PidTagRtfInSync, mapi.TypeBoolean, true),
		},
		Named: []cfbtest.Named{{Set: psPublic, Name: "Keywords", ID: 0x8005}, {Set: [16]byte(mapi.PSETIDCommon), LID: 0x8580, ID: 0x8006}},
		Recipients: [][]cfbtest.Prop{
			{prop(mapi.PidTagRecipientType, mapi.TypeInteger32, int32(mapi.RecipientTo)), prop(mapi.PidTagDisplayName, mapi.TypeString, "Rita"),
				prop(mapi.PidTagAddressType, mapi.TypeString, "SMTP"), prop(mapi.PidTagEmailAddress, mapi.TypeString, "rita@example.com")},
		},
		Attachments: []cfbtest.Attachment{
			{Props: []cfbtest.Prop{
				prop(mapi.PidTagAttachMethod, mapi.TypeInteger32, int32(mapi.AttachByValue)),
				prop(mapi.PidTagAttachLongFilename, mapi.TypeString, "Bericht – März.pdf"),
				prop(mapi.PidTagAttachData, mapi.TypeBinary, bigData(10000)),
			}},
			{Props: []cfbtest.Prop{
				prop(mapi.PidTagAttachMethod, mapi.TypeInteger32, int32(mapi.AttachEmbeddedMessage)),
				prop(mapi.PidTagDisplayName, mapi.TypeString, "Forwarded"),
			}, Embedded: &cfbtest.Message{
				Props: []cfbtest.Prop{
					prop(mapi.PidTagSubject, mapi.TypeString, "Inner subject"),
					prop(mapi.PidTagBody, mapi.TypeString, "Inner body\r\n"),
					prop(mapi.PidTagTransportMessageHeaders, mapi.TypeString, "From: x@example.org\r\nSubject: Inner subject\r\nDate: Mon, 1 Mar 2021 10:00:00 +0000\r\n"),
				},
				Attachments: []cfbtest.Attachment{{Props: []cfbtest.Prop{
					prop(mapi.PidTagAttachMethod, mapi.TypeInteger32, int32(mapi.AttachByValue)),
					prop(mapi.PidTagAttachFilename, mapi.TypeString, "inner.txt"),
					prop(mapi.PidTagAttachData, mapi.TypeBinary, []byte("inner attachment")),
				}}},
			}},
		},
	}
}

func TestBuiltMessage(t *testing.T) {
	for _, v4 := range []bool{false, true} {
		b := sample().Build(v4)
		m, err := OpenMessage(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("v4=%v: OpenMessage: %v", v4, err)
		}
		if _, ok, err := m.Get(0x1234); ok || err != nil {
			t.Errorf("an absent property: ok %v, err %v", ok, err)
		}
		if id, ok := m.Resolve(mapi.Name{Set: mapi.PSETIDCommon, LID: 0x8580}); !ok || id != 0x8006 {
			t.Errorf("Resolve(LID) = %#x %v", id, ok)
		}
		atts, _ := m.Attachments()
		rc, size, ok, err := atts[0].Open(mapi.PidTagAttachData)
		if err != nil || !ok || size != 10000 {
			t.Fatalf("Open(attachment data) = %d %v %v", size, ok, err)
		}
		data, _ := io.ReadAll(rc)
		if !bytes.Equal(data, bigData(10000)) {
			t.Errorf("attachment data read back differently")
		}

		var out bytes.Buffer
		info, err := Convert(bytes.NewReader(b), int64(len(b)), &out)
		if err != nil {
			t.Fatalf("Convert: %v", err)
		}
		if err := formatstest.CheckCRLF(out.Bytes()); err != nil {
			t.Error(err)
		}
		// Categories become IMAP keywords: the space and the check mark
		// cannot be in one.
		wantFlags := []string{`\Seen`, `$Forwarded`, `\Flagged`, "Blue", "Wichtig__"}
		if !slices.Equal(info.Flags, wantFlags) {
			t.Errorf("Flags = %q, want %q", info.Flags, wantFlags)
		}
		if !info.Date.Equal(delivered) || info.DateSource != formats.DateStore {
			t.Errorf("Date = %v %q", info.Date, info.DateSource)
		}
		e, err := gomessage.Read(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(e.Header.Get("Subject"))
		if subject != "Привет" {
			t.Errorf("Subject = %q (String8 in code page 1251)", subject)
		}
		if got := e.Header.Get("Date"); got != "Fri, 06 May 2022 07:07:09 +0000" {
			t.Errorf("Date = %q (the submit time)", got)
		}
		s := out.String()
		for _, want := range []string{"Content-Type: message/rfc822", "Subject: Inner subject", "filename=inner.txt",
			"From: Sender <sender@example.com>", "To: Rita <rita@example.com>", "filename*=utf-8''Bericht%20%E2%80%93%20M%C3%A4rz.pdf"} {
			if !strings.Contains(s, want) {
				t.Errorf("v4=%v: output lacks %q", v4, want)
			}
		}
	}
}

func TestEmbeddedWithTopLevelHeader(t *testing.T) {
	m := sample()
	m.Attachments[1].TopHeader = true
	b := m.Build(false)
	var out bytes.Buffer
	if _, err := Convert(bytes.NewReader(b), int64(len(b)), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Subject: Inner subject") || !strings.Contains(out.String(), "filename=inner.txt") {
		t.Errorf("the attached message with a 32-byte header was not read right:\n%s", out.String())
	}
}

func TestEmbeddedNestingBound(t *testing.T) {
	// An attached message holding an attached message ... deeper than
	// the converter goes: the rest is left out with a note, no error.
	inner := &cfbtest.Message{Props: []cfbtest.Prop{prop(mapi.PidTagBody, mapi.TypeString, "deepest")}}
	for i := 0; i < 12; i++ {
		inner = &cfbtest.Message{
			Props: []cfbtest.Prop{prop(mapi.PidTagBody, mapi.TypeString, "level")},
			Attachments: []cfbtest.Attachment{{Props: []cfbtest.Prop{
				prop(mapi.PidTagAttachMethod, mapi.TypeInteger32, int32(mapi.AttachEmbeddedMessage))}, Embedded: inner}},
		}
	}
	b := inner.Build(false)
	var out bytes.Buffer
	info, err := Convert(bytes.NewReader(b), int64(len(b)), &out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Notes.Incomplete() == "" {
		t.Errorf("no note about the attached messages left out")
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tree lays out a folder of .msg files in a temporary directory: built
// messages, the corpus's files (copied at test time), and files the
// reader must skip.
func tree(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "Export")
	writeFile(t, filepath.Join(dir, "sample.msg"), sample().Build(false))
	writeFile(t, filepath.Join(dir, "Projects", "v4.MSG"), sample().Build(true))
	contact := &cfbtest.Message{Props: []cfbtest.Prop{prop(mapi.PidTagMessageClass, mapi.TypeString, "IPM.Contact")}}
	writeFile(t, filepath.Join(dir, "Projects", "contact.msg"), contact.Build(false))
	writeFile(t, filepath.Join(dir, "Projects", "notes.txt"), []byte("not mail"))
	writeFile(t, filepath.Join(dir, "Projects", "empty.msg"), nil)
	writeFile(t, filepath.Join(dir, "Projects", "broken.msg"), append(cfbtest.Build(nil, false)[:512], 1, 2, 3))
	writeFile(t, filepath.Join(dir, "Projects", "Thumbs.db"), []byte("ignored"))
	writeFile(t, filepath.Join(dir, "Projects", "saved-as-mime.msg"), []byte("From: a@example.com\nDate: Tue, 1 Jun 2021 10:00:00 +0200\nSubject: x\n\nbody\n"))
	if err := os.MkdirAll(filepath.Join(dir, "Empty folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if corpus := corpusDir(); corpus != "" {
		files, _ := filepath.Glob(filepath.Join(corpus, "*.msg"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "Corpus", filepath.Base(p)), b)
		}
	}
	return dir
}

func corpusDir() string {
	root, err := os.Getwd()
	if err != nil {
		return ""
	}
	p := filepath.Join(root, "..", "..", "..", "shared", "corpus", "msg")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

func TestReaderContract(t *testing.T) {
	testutil.Corpus(t, "msg") // the corpus folder is part of the tree
	dir := tree(t)
	var warnings []formats.Warning
	reported := map[string]error{} // file name → OnFile's error
	open := func(t *testing.T) formats.Reader {
		r, err := Open(dir, formats.Options{Warn: func(w formats.Warning) { warnings = append(warnings, w) },
			OnFile: func(p string, err error) { reported[filepath.Base(p)] = err }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	formatstest.Run(t, open, formatstest.Want{
		Mailboxes: []string{"Export", "Projects", "Empty folder", "Corpus"},
		Messages:  8, // notes.txt is not a message: left to the caller's file accounting
		Skipped:   3, // contact, empty, broken
		Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
			reasons := map[string]string{}
			for _, m := range msgs {
				reasons[filepath.Base(m.Pos.File)] = m.Skip
				if m.Skip == "" && (m.Date.IsZero() || len(m.Bytes) == 0) {
					t.Errorf("%v: no date or no bytes", m.Pos)
				}
			}
			if _, ok := reasons["notes.txt"]; ok {
				t.Errorf("notes.txt came as a message (skipped %q); other files are left to the file accounting", reasons["notes.txt"])
			}
			want := map[string]string{"contact.msg": formats.SkipNotMail,
				"empty.msg": formats.SkipEmpty, "broken.msg": SkipUnreadable, "sample.msg": "", "v4.MSG": "", "saved-as-mime.msg": ""}
			for _, m := range msgs {
				if filepath.Base(m.Pos.File) == "saved-as-mime.msg" {
					if string(m.Bytes) != "From: a@example.com\r\nDate: Tue, 1 Jun 2021 10:00:00 +0200\r\nSubject: x\r\n\r\nbody\r\n" ||
						m.DateSource != formats.DateHeader || !slices.Equal(m.Flags, []string{`\Seen`}) {
						t.Errorf("an Internet message named .msg: %q %q %v", m.Bytes, m.DateSource, m.Flags)
					}
				}
			}
			for f, r := range want {
				if reasons[f] != r {
					t.Errorf("%s: skip %q, want %q", f, reasons[f], r)
				}
			}
		},
	})
	found := false
	for _, w := range warnings {
		if strings.Contains(w.Pos.File, "broken.msg") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warning for the broken file: %v", warnings)
	}
	// Every .msg file read is reported, the damaged one with its error;
	// files the reader does not take (empty, not .msg) are not.
	for name, wantErr := range map[string]bool{"sample.msg": false, "v4.MSG": false, "contact.msg": false,
		"saved-as-mime.msg": false, "broken.msg": true} {
		err, ok := reported[name]
		if !ok || (err != nil) != wantErr {
			t.Errorf("OnFile(%s): reported %v, error %v; want reported, error %v", name, ok, err, wantErr)
		}
	}
	var me *formats.MessageError
	if err := reported["broken.msg"]; !errors.As(err, &me) || !strings.HasSuffix(me.Pos.File, "broken.msg") {
		t.Errorf("OnFile(broken.msg) error %v, want a *formats.MessageError at the file", err)
	}
	for _, name := range []string{"notes.txt", "empty.msg", "Thumbs.db"} {
		if _, ok := reported[name]; ok {
			t.Errorf("OnFile reported %s, which the reader did not read", name)
		}
	}
}

func TestReaderSizesOnly(t *testing.T) {
	dir := tree(t)
	read := func(opts formats.Options) []int64 {
		r, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var sizes []int64
		for {
			m, err := r.Next(context.Background())
			if err == io.EOF {
				return sizes
			}
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, m.Size)
		}
	}
	full, counted := read(formats.Options{}), read(formats.Options{SizesOnly: true, MemLimit: 1024})
	if !slices.Equal(full, counted) {
		t.Errorf("sizes differ: %v and %v (SizesOnly)", full, counted)
	}
}

func TestReaderSingleFile(t *testing.T) {
	dir := tree(t)
	r, err := Open(filepath.Join(dir, "sample.msg"), formats.Options{MemLimit: 100}) // spooled to a file
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	if len(boxes) != 1 || boxes[0].Path.String() != "Export" || len(msgs) != 1 || msgs[0].Skip != "" {
		t.Errorf("single file: %d mailboxes %v, %d messages", len(boxes), boxes[0].Path, len(msgs))
	}
}

func TestDetect(t *testing.T) {
	dir := tree(t)
	other := filepath.Join(t.TempDir(), "doc.msg")
	writeFile(t, other, cfbtest.Build([]*cfbtest.Node{cfbtest.Stream("WordDocument", []byte("x"))}, false))
	for path, want := range map[string]bool{
		dir:                                      true,
		filepath.Join(dir, "sample.msg"):         true,
		filepath.Join(dir, "Projects"):           true,
		filepath.Join(dir, "Empty folder"):       false,
		filepath.Join(dir, "Projects/notes.txt"): false,
		other:                                    false, // a compound file, but not a message
		filepath.Join(dir, "missing"):            false,
	} {
		if got := Detect(path); got != want {
			t.Errorf("Detect(%s) = %v, want %v", path, got, want)
		}
	}
}

func FuzzMsg(f *testing.F) {
	small := sample()
	small.Attachments[0].Props[2] = prop(mapi.PidTagAttachData, mapi.TypeBinary, []byte("tiny"))
	f.Add(small.Build(false))
	if dir := corpusDir(); dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "msg-extractor-strangeDate.msg")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		if _, err := Convert(bytes.NewReader(b), int64(len(b)), &out); err != nil {
			return
		}
		if out.Len() == 0 {
			return // not mail
		}
		if err := formatstest.CheckCRLF(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(out.Bytes(), 0) >= 0 {
			t.Fatal("NUL byte in the output")
		}
	})
}
