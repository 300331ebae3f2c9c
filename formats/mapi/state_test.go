package mapi

import (
	"errors"
	"slices"
	"testing"
	"time"

	"mailferry/formats"
)

func TestFlags(t *testing.T) {
	withKeywords := func(p fakeProps) fakeProps {
		p.names[nameKey(NameKeywords)] = 0x8001
		p.vals[0x8001] = multiStr("Red category", "Project X", "", "Red category", "Red_category", "Büro", "(urgent)", "Urgent")
		return p
	}
	for _, tc := range []struct {
		name string
		p    fakeProps
		want []string
	}{
		{"nothing", props(), nil},
		{"read", props(PidTagMessageFlags, i32(MsgFlagRead|MsgFlagHasAttach)), []string{`\Seen`}},
		{"unsent draft", props(PidTagMessageFlags, i32(MsgFlagUnsent)), []string{`\Draft`}},
		{"replied", props(PidTagLastVerbExecuted, i32(VerbReplyToSender)), []string{`\Answered`}},
		{"replied to all", props(PidTagLastVerbExecuted, i32(VerbReplyToAll)), []string{`\Answered`}},
		{"forwarded", props(PidTagLastVerbExecuted, i32(VerbForward)), []string{`$Forwarded`}},
		{"forwarded by icon", props(PidTagIconIndex, i32(IconForwarded)), []string{`$Forwarded`}},
		{"replied by icon", props(PidTagIconIndex, i32(IconReplied)), []string{`\Answered`}},
		{"verb wins over icon", props(PidTagLastVerbExecuted, i32(VerbForward), PidTagIconIndex, i32(IconReplied)), []string{`$Forwarded`}},
		{"flagged", props(PidTagFlagStatus, i32(FlagStatusFlagged)), []string{`\Flagged`}},
		{"flag completed", props(PidTagFlagStatus, i32(FlagStatusComplete)), nil},
		// Categories become IMAP keywords (no spaces, ASCII only), each once
		// whatever its case: Outlook's own are "Red Category" and so on.
		{"categories", withKeywords(props(PidTagMessageFlags, i32(MsgFlagRead))), []string{`\Seen`, "Red_category", "Project_X", "B_ro", "_urgent_", "Urgent"}},
		{"all", props(PidTagMessageFlags, i32(MsgFlagRead|MsgFlagUnsent), PidTagLastVerbExecuted, i32(VerbReplyToAll), PidTagFlagStatus, i32(FlagStatusFlagged)),
			[]string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`}},
		{"wrong type is ignored", props(PidTagMessageFlags, ustr("1")), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Flags(&tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Flags = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFlagsNoted: a category that changes to become a keyword is noted,
// as a warning and not as a loss.
func TestFlagsNoted(t *testing.T) {
	p := props(PidTagMessageFlags, i32(MsgFlagRead))
	p.names[nameKey(NameKeywords)] = 0x8001
	p.vals[0x8001] = multiStr("Blue", "Red Category")
	flags, notes, err := FlagsNoted(&p)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(flags, []string{`\Seen`, "Blue", "Red_Category"}) {
		t.Errorf("flags %q", flags)
	}
	if w := notes.Warnings(); len(w) != 1 || w[0] != `category "Red Category" is not a valid IMAP keyword; uploaded as "Red_Category"` || notes.Incomplete() != "" {
		t.Errorf("notes %q (incomplete %q), want one warning and no loss", w, notes.Incomplete())
	}
}

func TestReceivedDate(t *testing.T) {
	d1 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.Add(time.Hour)
	d3 := d1.Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		p    fakeProps
		want time.Time
		src  formats.DateSource
	}{
		{"delivery", props(PidTagMessageDeliveryTime, ftime(d1), PidTagClientSubmitTime, ftime(d2), PidTagCreationTime, ftime(d3)), d1, formats.DateStore},
		{"submit", props(PidTagClientSubmitTime, ftime(d2), PidTagCreationTime, ftime(d3)), d2, formats.DateHeader},
		{"creation", props(PidTagCreationTime, ftime(d3)), d3, formats.DateStore},
		{"MAPI's no-date is skipped", props(PidTagMessageDeliveryTime, ftime(time.Date(4501, 1, 1, 0, 0, 0, 0, time.UTC)), PidTagCreationTime, ftime(d3)), d3, formats.DateStore},
		{"none", props(), time.Time{}, formats.DateUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, src, err := ReceivedDate(&tc.p)
			if err != nil || !got.Equal(tc.want) || src != tc.src {
				t.Errorf("ReceivedDate = %v %q %v, want %v %q", got, src, err, tc.want, tc.src)
			}
		})
	}
}

func TestIsMail(t *testing.T) {
	for class, want := range map[string]bool{
		"IPM.Note": true, "ipm.note": true, "IPM.Note.SMIME.MultipartSigned": true, "IPM.Schedule.Meeting.Request": true,
		"REPORT.IPM.Note.NDR": true, "IPM.Post": true, "IPM": true, "IPM.Note.Custom.Form": true,
		"IPM.Appointment": false, "IPM.Contact": false, "IPM.DistList": false, "IPM.Task": false,
		"IPM.StickyNote": false, "IPM.Activity": false, "IPM.Appointment.Occurrence": false,
		"IPM.Configuration.Foo": false, "": false, "Something": false, "IPM.Contacts": true,
	} {
		if got := IsMail(class); got != want {
			t.Errorf("IsMail(%q) = %v, want %v", class, got, want)
		}
	}
}

func TestValues(t *testing.T) {
	if n, err := Integer(Value{Type: TypeInteger16, Data: []byte{0xFE, 0xFF}}); n != -2 || err != nil {
		t.Errorf("Integer16 = %d %v", n, err)
	}
	if _, err := Integer(Value{Type: TypeInteger32, Data: []byte{1}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short Integer32: %v", err)
	}
	if _, err := Integer(ustr("x")); !errors.Is(err, ErrType) {
		t.Errorf("string as integer: %v", err)
	}
	if s, _ := String(ustr("héllo\x00"), 0); s != "héllo" {
		t.Errorf("String = %q", s)
	}
	if s, _ := String(str8([]byte("caf\xe9\x00")), 1252); s != "café" {
		t.Errorf("String8 1252 = %q", s)
	}
	if s, _ := String(str8([]byte("\x82\xa0")), 932); s != "あ" {
		t.Errorf("String8 932 = %q", s)
	}
	if s, _ := String(str8([]byte("caf\xe9")), 65001); s != "caf\uFFFD" {
		t.Errorf("invalid UTF-8 = %q", s)
	}
	if ss, err := Strings(multiStr("a", "bc", ""), 0); err != nil || !slices.Equal(ss, []string{"a", "bc", ""}) {
		t.Errorf("Strings = %q %v", ss, err)
	}
	for _, bad := range [][]byte{{1}, {5, 0, 0, 0, 8, 0, 0, 0}, {1, 0, 0, 0, 2, 0, 0, 0}, {2, 0, 0, 0, 12, 0, 0, 0, 8, 0, 0, 0}} {
		if _, err := MultiValues(Value{Type: TypeString | MultipleFlag, Data: bad}); !errors.Is(err, ErrMalformed) {
			t.Errorf("MultiValues(% x) = %v, want ErrMalformed", bad, err)
		}
	}
	if tm, err := Time(Value{Type: TypeTime, Data: make([]byte, 8)}); err != nil || !tm.IsZero() {
		t.Errorf("zero FILETIME = %v %v", tm, err)
	}
	g, ok := ParseGUID("00020329-0000-0000-C000-000000000046")
	if !ok || g != PSPublicStrings || g.String() != "00020329-0000-0000-C000-000000000046" || g[0] != 0x29 {
		t.Errorf("GUID round trip: % x %s", g[:], g)
	}
}
