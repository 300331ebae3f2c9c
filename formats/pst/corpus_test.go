package pst

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/pst/internal/ndb"
	"mailferry/internal/testutil"
)

// TestCorpusContract runs the reader contract on every corpus file. The
// counts are the message nodes of each file (all of them listed in
// contents tables); the comparisons with readpst and pffexport check the
// per-folder numbers.
func TestCorpusContract(t *testing.T) {
	tests := []struct {
		file              string
		messages, skipped int
		special           map[string]formats.Special // mailbox path → role
		skip              map[string]string          // mailbox path → reason
		mailboxes         []string                   // DisplayPath of every mailbox, when set
	}{
		{file: "go-pst-32-bit.pst", messages: 1, skipped: 1,
			special: map[string]formats.Special{"Deleted Items": formats.SpecialTrash},
			skip:    map[string]string{"Calendar": "not mail: calendar"}},
		{file: "go-pst-support.pst", messages: 17, skipped: 0,
			// An Italian store: the roles come from its entry IDs, not from
			// the English names of the folders an IMAP client added.
			special: map[string]formats.Special{"Posta in arrivo": formats.SpecialInbox, "Bozze": formats.SpecialDrafts, "Posta inviata": formats.SpecialSent,
				"Posta indesiderata": formats.SpecialJunk, "Posta in uscita": formats.SpecialOutbox, "Deleted Items": formats.SpecialTrash,
				"Drafts": formats.SpecialNone, "Sent": formats.SpecialNone},
			skip: map[string]string{"Attività": "not mail: tasks", "Contatti": "not mail: contacts", "Drafts": ""}},
		{file: "java-libpst-dist-list.pst", messages: 4, skipped: 4,
			special: map[string]formats.Special{"Inbox": formats.SpecialInbox, "Junk E-mail": formats.SpecialJunk, "Drafts": formats.SpecialDrafts, "Sent Items": formats.SpecialSent},
			skip:    map[string]string{"Contacts": "not mail: contacts", "Freebusy Data": SkipSystemFolder, "RSS Feeds": ""}},
		{file: "java-libpst-passworded.pst", messages: 3, skipped: 3},
		{file: "pst-extractor-enron.pst", messages: 71, skipped: 0,
			mailboxes: []string{"Personal folders/Deleted Items", "Personal folders/lokay-m", "Personal folders/lokay-m/MLOKAY (Non-Privileged)",
				"Personal folders/lokay-m/MLOKAY (Non-Privileged)/TW-Commercial Group", "Personal folders/lokay-m/MLOKAY (Non-Privileged)/Systems",
				"Personal folders/lokay-m/MLOKAY (Non-Privileged)/Sent Items", "Personal folders/lokay-m/MLOKAY (Non-Privileged)/Personal"},
			special: map[string]formats.Special{"Deleted Items": formats.SpecialTrash, "lokay-m/MLOKAY (Non-Privileged)/Sent Items": formats.SpecialNone}},
		{file: "pst-extractor-test-2013.ost", messages: 183, skipped: 169,
			// The .ost names Drafts and Junk Email by Exchange entry IDs.
			special: map[string]formats.Special{"Inbox": formats.SpecialInbox, "Drafts": formats.SpecialDrafts, "Junk Email": formats.SpecialJunk,
				"Sent Items": formats.SpecialSent, "Deleted Items": formats.SpecialTrash, "Outbox": formats.SpecialOutbox},
			skip: map[string]string{"Calendar/United States holidays": "not mail: calendar", "Sync Issues": "", "Quick Step Settings": "not mail: settings"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p := testutil.Corpus(t, filepath.Join("pst", tt.file))
			formatstest.Run(t, openFn(p, Config{}), formatstest.Want{
				Mailboxes: tt.mailboxes,
				Messages:  tt.messages,
				Skipped:   tt.skipped,
				Check: func(t *testing.T, boxes []*formats.Mailbox, msgs []formatstest.Collected) {
					byPath := map[string]*formats.Mailbox{}
					for _, b := range boxes {
						byPath[b.Path.String()] = b
						wantStore := "pst"
						if strings.HasSuffix(tt.file, ".ost") {
							wantStore = "ost"
						}
						if b.Store != wantStore || b.Location != p {
							t.Errorf("%s: store %q at %q, want %q at %q", b.Path, b.Store, b.Location, wantStore, p)
						}
					}
					for path, sp := range tt.special {
						if b := byPath[path]; b == nil || b.Special != sp {
							t.Errorf("mailbox %q: special %v, want %q", path, b, sp)
						}
					}
					for path, skip := range tt.skip {
						if b := byPath[path]; b == nil || b.Skip != skip {
							t.Errorf("mailbox %q: %v, want skip %q", path, b, skip)
						}
					}
					for _, m := range msgs {
						if m.Skip != m.Mailbox.Skip {
							t.Errorf("%v: skip %q in a mailbox skipped for %q", m.Pos, m.Skip, m.Mailbox.Skip)
						}
						if m.Skip == "" && m.DateSource == formats.DateUnknown {
							t.Errorf("%v: no date", m.Pos)
						}
					}
				},
			})
		})
	}
}

// TestPasswordProtected: the password of a .pst is a CRC in the message
// store; the file reads like any other.
func TestPasswordProtected(t *testing.T) {
	for file, want := range map[string]bool{"java-libpst-passworded.pst": true, "java-libpst-dist-list.pst": false} {
		s, err := OpenStore(testutil.Corpus(t, filepath.Join("pst", file)))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.PasswordProtected(); got != want {
			t.Errorf("%s: PasswordProtected() = %v, want %v", file, got, want)
		}
		s.Close()
	}
}

// TestDetect: Outlook files by content, whatever their name; other files
// not.
func TestDetect(t *testing.T) {
	for _, f := range corpusFiles {
		if p := testutil.Corpus(t, filepath.Join("pst", f)); !Detect(p) {
			t.Errorf("Detect(%s) = false", f)
		}
	}
	for _, p := range []string{testutil.Corpus(t, filepath.Join("pst", "SOURCES.md")), filepath.Join(t.TempDir(), "missing.pst")} {
		if Detect(p) {
			t.Errorf("Detect(%s) = true", p)
		}
	}
}

// TestEntryIDs resolves both forms of entry ID: the 24-byte one of a .pst
// and the 46-byte Exchange one of an .ost (through the folders' global
// counters).
func TestEntryIDs(t *testing.T) {
	r, err := OpenWith(testutil.Corpus(t, filepath.Join("pst", "pst-extractor-test-2013.ost")), Config{Convert: propsConvert})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	inbox, ok := r.store.receiveFolder()
	if !ok {
		t.Fatal("no receive folder")
	}
	fi, err := r.store.Folder(inbox)
	if err != nil || fi.Name != "Inbox" {
		t.Fatalf("receive folder %#x: %v %v", uint32(inbox), fi, err)
	}
	ids := &entryIDs{s: r.store}
	for _, f := range r.folders {
		info, err := r.store.Folder(f.nid)
		if err != nil {
			t.Fatal(err)
		}
		ids.addFolder(f.nid, info.Props)
	}
	drafts, ok := ids.resolve(binaryProp(fi.Props, propIpmDraftsEntryID))
	if !ok {
		t.Fatal("drafts entry ID not resolved")
	}
	if d, _ := r.store.Folder(drafts); d == nil || d.Name != "Drafts" {
		t.Errorf("drafts entry ID names %v", d)
	}

	s, err := OpenStore(testutil.Corpus(t, filepath.Join("pst", "java-libpst-dist-list.pst")))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nid, ok := (&entryIDs{s: s}).resolve(binaryProp(s.props, propIpmSubtreeEntryID))
	if !ok || nid != ndb.NID(0x8022) {
		t.Errorf("IPM subtree entry ID = %#x %v, want 0x8022", uint32(nid), ok)
	}
	wrong := append([]byte(nil), binaryProp(s.props, propIpmSubtreeEntryID)...)
	wrong[10] ^= 0xFF // another store's record key
	if _, ok := (&entryIDs{s: s}).resolve(wrong); ok {
		t.Error("entry ID of another store resolved")
	}
}

// TestCorpusMIME reads every corpus file with the real conversion
// (mapi.WriteMIME): the contract holds for every message (Collect checks
// sizes, CRLF and positions; TestCorpusContract the rest), none is
// unreadable, every
// message parses as an Internet message with the subject of its
// properties, and a second reading gives the same bytes (messages are
// recognised on the server by their header and size).
func TestCorpusMIME(t *testing.T) {
	for _, file := range corpusFiles {
		t.Run(file, func(t *testing.T) {
			p := testutil.Corpus(t, filepath.Join("pst", file))
			open := func(t *testing.T) formats.Reader {
				r, err := OpenWith(p, Config{})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			first := collect(t, open(t))
			second := collect(t, open(t))
			if len(first) != len(second) {
				t.Fatalf("%d messages, then %d", len(first), len(second))
			}
			for i, m := range first {
				if !bytes.Equal(m.Bytes, second[i].Bytes) || m.Size != second[i].Size {
					t.Errorf("%v: a second reading gave other bytes", m.Pos)
				}
				if m.Skip == SkipUnreadable {
					t.Errorf("%v: unreadable", m.Pos)
				}
				if m.Skip != "" {
					continue
				}
				msg, err := mail.ReadMessage(bytes.NewReader(m.Bytes))
				if err != nil {
					t.Errorf("%v: not a message: %v", m.Pos, err)
					continue
				}
				if msg.Header.Get("Date") == "" || msg.Header.Get("MIME-Version") == "" {
					t.Errorf("%v: no Date or MIME-Version", m.Pos)
				}
			}
		})
	}
}

func collect(t *testing.T, r formats.Reader) []formatstest.Collected {
	t.Helper()
	defer r.Close()
	_, msgs := formatstest.Collect(t, r)
	return msgs
}

// TestSizesOnly: with Options.SizesOnly the sizes, flags and dates are
// those of a full reading, and Open says the bytes were not kept.
func TestSizesOnly(t *testing.T) {
	p := testutil.Corpus(t, filepath.Join("pst", "pst-extractor-test-2013.ost"))
	full, err := OpenWith(p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := collect(t, full)
	sizes, err := OpenWith(p, Config{Options: formats.Options{SizesOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer sizes.Close()
	for i := 0; ; i++ {
		m, err := sizes.Next(context.Background())
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("%d messages, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if m.Size != w.Size || m.Skip != w.Skip || !m.Date.Equal(w.Date) || !slices.Equal(m.Flags, w.Flags) {
			t.Errorf("%v: %d bytes %q %v %q, want %d %q %v %q", m.Pos, m.Size, m.Skip, m.Date, m.Flags, w.Size, w.Skip, w.Date, w.Flags)
		}
		if m.Open != nil {
			if _, err := m.Open(); !errors.Is(err, formats.ErrNoBytes) {
				t.Errorf("%v: Open = %v, want ErrNoBytes", m.Pos, err)
			}
		}
	}
}
