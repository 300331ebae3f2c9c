package thunderbird

import (
	"slices"
	"testing"

	"mailferry/formats"
)

func TestFlagTable(t *testing.T) {
	tests := []struct {
		name            string
		status, status2 string // "" = header absent
		keys            string
		statusHdr       string // Berkeley Status:
		want            []string
		wantOK          bool
		wantBits        uint32 // extra bits expected in the flag word
	}{
		{name: "unread", status: "0000", status2: "00000000", want: nil, wantOK: true},
		{name: "read", status: "0001", want: []string{`\Seen`}, wantOK: true},
		{name: "replied", status: "0002", want: []string{`\Answered`}, wantOK: true},
		{name: "marked", status: "0004", want: []string{`\Flagged`}, wantOK: true},
		{name: "expunged", status: "0009", want: []string{`\Seen`}, wantOK: true, wantBits: flagExpunged},
		{name: "partial", status: "0400", want: nil, wantOK: true, wantBits: flagPartial},
		{name: "forwarded", status: "1000", want: []string{"$Forwarded"}, wantOK: true},
		{name: "redirected bit is priority in the header", status: "2001", want: []string{`\Seen`}, wantOK: true},
		{name: "priority bits ignored", status: "e001", want: []string{`\Seen`}, wantOK: true},
		{name: "all low bits", status: "1007", want: []string{`\Seen`, `\Answered`, `\Flagged`, "$Forwarded"}, wantOK: true},
		{name: "upper case hex", status: "100F", want: []string{`\Seen`, `\Answered`, `\Flagged`, "$Forwarded"}, wantOK: true, wantBits: flagExpunged},
		{name: "mdn sent", status: "0001", status2: "00800000", want: []string{`\Seen`, "$MDNSent"}, wantOK: true},
		{name: "label 1", status: "0000", status2: "02000000", want: []string{"$label1"}, wantOK: true},
		{name: "label 5", status: "0000", status2: "0a000000", want: []string{"$label5"}, wantOK: true},
		{name: "label 6 is not a default tag", status: "0000", status2: "0c000000", want: nil, wantOK: true},
		{name: "imap deleted", status: "0001", status2: "00200000", want: []string{`\Seen`}, wantOK: true, wantBits: flagIMAPDeleted},
		{name: "status2 low bits ignored", status: "0000", status2: "00000007", want: nil, wantOK: true},
		{name: "status2 must have 8 digits", status: "0000", status2: "800000", want: nil, wantOK: true},
		{name: "status must have 4 digits", status: "001", want: nil, wantOK: false},
		{name: "status not hex", status: "00x1", want: nil, wantOK: false},
		{name: "status with blanks around", status: " 0001 ", want: []string{`\Seen`}, wantOK: true},
		{name: "no status, Berkeley RO", statusHdr: "RO", want: []string{`\Seen`}, wantOK: false},
		{name: "no status, Berkeley O", statusHdr: "O", want: []string{`\Seen`}, wantOK: false},
		{name: "no status, Berkeley N", statusHdr: "N", want: nil, wantOK: false},
		{name: "no headers", want: nil, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h formats.Header
			if tt.status != "" {
				h = append(h, formats.HeaderField{Name: "X-Mozilla-Status", Value: tt.status})
			}
			if tt.status2 != "" {
				h = append(h, formats.HeaderField{Name: "X-Mozilla-Status2", Value: tt.status2})
			}
			if tt.statusHdr != "" {
				h = append(h, formats.HeaderField{Name: "Status", Value: tt.statusHdr})
			}
			flags, ok := mozStatus(h)
			if ok != tt.wantOK {
				t.Errorf("mozStatus ok = %v, want %v", ok, tt.wantOK)
			}
			if !ok {
				flags, _ = berkeleyStatus(h)
			}
			if got := imapFlags(flags); !slices.Equal(got, tt.want) {
				t.Errorf("imapFlags(%#x) = %q, want %q", flags, got, tt.want)
			}
			if tt.wantBits != 0 && flags&tt.wantBits != tt.wantBits {
				t.Errorf("flags %#x lack bits %#x", flags, tt.wantBits)
			}
			if flags&flagPriorities != 0 {
				t.Errorf("flags %#x keep priority bits", flags)
			}
		})
	}
}

func TestMozKeys(t *testing.T) {
	tests := []struct {
		name, value string
		want        []string
	}{
		{"padded", "$label4" + "                                                                         ", []string{"$label4"}},
		{"several", "$label1 projekt-x  todo ", []string{"$label1", "projekt-x", "todo"}},
		{"folded onto a blank line", "$label2  ", []string{"$label2"}},
		{"empty", "                ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := formats.Header{{Name: "X-Mozilla-Keys", Value: tt.value}}
			if got := mozKeys(h); !slices.Equal(got, tt.want) {
				t.Errorf("mozKeys(%q) = %q, want %q", tt.value, got, tt.want)
			}
		})
	}
}

func TestSpecialFolders(t *testing.T) {
	flagTests := []struct {
		flags uint32
		want  formats.Special
	}{
		{0x1004, formats.SpecialInbox},
		{0x0204, formats.SpecialSent},
		{0x0404, formats.SpecialDrafts},
		{0x0804, formats.SpecialOutbox},
		{0x0104, formats.SpecialTrash},
		{0x400004, formats.SpecialTemplates},
		{0x40000004, formats.SpecialJunk},
		{0x4004, formats.SpecialArchive},
		{0x0004, formats.SpecialNone},
		{2282237972, formats.SpecialInbox}, // INBOX in cc:mailnews/base/test/unit/data/folderCache.json
		{532756, formats.SpecialTrash},     // Trash there
	}
	for _, tt := range flagTests {
		if got := specialFromFlags(tt.flags); got != tt.want {
			t.Errorf("specialFromFlags(%#x) = %q, want %q", tt.flags, got, tt.want)
		}
	}
	nameTests := []struct {
		name string
		want formats.Special
	}{
		{"Inbox", formats.SpecialInbox},
		{"INBOX", formats.SpecialInbox},
		{"Sent", formats.SpecialSent},
		{"Drafts", formats.SpecialDrafts},
		{"Templates", formats.SpecialTemplates},
		{"Trash", formats.SpecialTrash},
		{"Junk", formats.SpecialJunk},
		{"Archives", formats.SpecialArchive},
		{"Unsent Messages", formats.SpecialOutbox},
		{"sent", formats.SpecialNone},
		{"Projects", formats.SpecialNone},
	}
	for _, tt := range nameTests {
		if got := specialFromName(tt.name); got != tt.want {
			t.Errorf("specialFromName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
