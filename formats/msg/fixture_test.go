package msg

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/formats/msg/internal/cfbtest"
	"mailferry/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the .msg fixtures in testdata")

// fixtureDelivered is when the fixture message arrived.
var fixtureDelivered = time.Date(2020, 3, 10, 12, 5, 0, 0, time.UTC)

// emlTreeFixture is testdata/eml/tree/Inbox/outlook.msg: a received
// message as Outlook writes it when it is dragged out into a folder of
// .eml files, with the header it arrived with, unread, flagged for follow
// up, in one category.
func emlTreeFixture() *cfbtest.Message {
	header := "Received: from mx.example.org by mail.example.net; Tue, 10 Mar 2020 12:05:00 +0000\r\n" +
		"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nSubject: Dragged out of Outlook\r\n" +
		"Date: Tue, 10 Mar 2020 12:00:00 +0000\r\nMessage-ID: <outlook-1@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	return &cfbtest.Message{
		Props: []cfbtest.Prop{
			prop(mapi.PidTagMessageClass, mapi.TypeString, "IPM.Note"),
			prop(mapi.PidTagSubject, mapi.TypeString, "Dragged out of Outlook"),
			prop(mapi.PidTagBody, mapi.TypeString, "Saved from Outlook beside the .eml files.\r\n"),
			prop(mapi.PidTagTransportMessageHeaders, mapi.TypeString, header),
			prop(mapi.PidTagClientSubmitTime, mapi.TypeTime, fixtureDelivered.Add(-5*time.Minute)),
			prop(mapi.PidTagMessageDeliveryTime, mapi.TypeTime, fixtureDelivered),
			prop(mapi.PidTagMessageFlags, mapi.TypeInteger32, int32(0)), // unread
			prop(mapi.PidTagFlagStatus, mapi.TypeInteger32, int32(mapi.FlagStatusFlagged)),
			prop(0x8005, mapi.TypeString|mapi.MultipleFlag, []string{"Projekt"}),
		},
		Named: []cfbtest.Named{{Set: psPublic, Name: "Keywords", ID: 0x8005}},
	}
}

// contactFixture is testdata/msg/contact.msg: an Outlook contact saved
// as a .msg file, an item that is not mail.
func contactFixture() *cfbtest.Message {
	return &cfbtest.Message{Props: []cfbtest.Prop{
		prop(mapi.PidTagMessageClass, mapi.TypeString, "IPM.Contact"),
		prop(mapi.PidTagSubject, mapi.TypeString, "Alice Example"),
		prop(mapi.PidTagDisplayName, mapi.TypeString, "Alice Example"),
	}}
}

// TestFixtures keeps the .msg fixtures of testdata equal to what their
// builders make (go test ./formats/msg -run TestFixtures -update
// rewrites them), and checks that they read as the tests using them
// expect.
func TestFixtures(t *testing.T) {
	for rel, build := range map[string]func() *cfbtest.Message{
		"eml/tree/Inbox/outlook.msg": emlTreeFixture,
		"msg/contact.msg":            contactFixture,
	} {
		p := testutil.Testdata(t, rel)
		want := build().Build(false)
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what its builder makes; run go test ./formats/msg -run TestFixtures -update", p)
		}
	}

	b, err := os.ReadFile(testutil.Testdata(t, "eml/tree/Inbox/outlook.msg"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	info, err := Convert(bytes.NewReader(b), int64(len(b)), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Flags, []string{`\Flagged`, "Projekt"}) || !info.Date.Equal(fixtureDelivered) ||
		info.DateSource != formats.DateStore || info.Notes.Incomplete() != "" {
		t.Errorf("outlook.msg reads as flags %q, date %v (%s), incomplete %q", info.Flags, info.Date, info.DateSource, info.Notes.Incomplete())
	}
	if !strings.HasPrefix(out.String(), "Received: from mx.example.org") || !strings.Contains(out.String(), "\r\nSubject: Dragged out of Outlook\r\n") {
		t.Errorf("outlook.msg converts to:\n%s", out.String())
	}

	b, err = os.ReadFile(testutil.Testdata(t, "msg/contact.msg"))
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if info, err := Convert(bytes.NewReader(b), int64(len(b)), &out); err != nil || !info.NotMail || out.Len() != 0 {
		t.Errorf("contact.msg: %v, not mail %v, %d bytes written; want an item that is not mail", err, info.NotMail, out.Len())
	}
}
