package thunderbird

import (
	"strconv"
	"strings"

	"mailferry/formats"
)

// Message flag bits (cc:mailnews/base/public/nsMsgMessageFlags.idl).
const (
	flagRead          = 0x00000001
	flagReplied       = 0x00000002
	flagMarked        = 0x00000004
	flagExpunged      = 0x00000008
	flagPartial       = 0x00000400
	flagForwarded     = 0x00001000
	flagRedirected    = 0x00002000
	flagPriorities    = 0x0000E000
	flagIMAPDeleted   = 0x00200000
	flagMDNReportSent = 0x00800000
	flagLabels        = 0x0E000000
	labelShift        = 25
)

// flagTable maps Thunderbird's message flags to IMAP flags and keywords.
// Redirected (0x2000) is not here: in X-Mozilla-Status it shares its bit
// with the priority field (0xE000), which Thunderbird's own parser strips
// as priority (nsParseMailbox.cpp: "strip off and remember priority
// bits"); it is taken only from the .msf, where priority has a column of
// its own (see statusFlags).
var flagTable = []struct {
	bit  uint32
	flag string
}{
	{flagRead, `\Seen`},
	{flagReplied, `\Answered`},
	{flagMarked, `\Flagged`},
	{flagForwarded, "$Forwarded"},
	{flagMDNReportSent, "$MDNSent"},
}

// Reasons for skipping or distrusting a Thunderbird message.
const (
	SkipIMAPDeleted   = "deleted on the IMAP server, awaiting expunge (IMAPDeleted flag in the offline cache)"
	IncompletePartial = "partial: only headers downloaded"
)

// mozStatus reads X-Mozilla-Status (exactly 4 hex digits, the low 16 bits)
// and X-Mozilla-Status2 (exactly 8 hex digits, of which only the high 16
// bits count), as nsParseMailbox.cpp does. ok is false when there is no
// valid X-Mozilla-Status. The priority bits are removed.
func mozStatus(h formats.Header) (flags uint32, ok bool) {
	v, found := h.Get("X-Mozilla-Status")
	if !found {
		return 0, false
	}
	v = strings.TrimSpace(v)
	if len(v) != 4 {
		return 0, false
	}
	f, err := strconv.ParseUint(v, 16, 16)
	if err != nil {
		return 0, false
	}
	flags = uint32(f) &^ flagPriorities
	if v2, found := h.Get("X-Mozilla-Status2"); found {
		v2 = strings.TrimSpace(v2)
		if f2, err := strconv.ParseUint(v2, 16, 32); err == nil && len(v2) == 8 {
			flags |= uint32(f2) & 0xFFFF0000
		}
	}
	return flags, true
}

// berkeleyStatus reads the Status: header used when there is no
// X-Mozilla-Status: R, O and r mean read (nsParseMailbox.cpp).
func berkeleyStatus(h formats.Header) (flags uint32, ok bool) {
	v, found := h.Get("Status")
	if !found {
		return 0, false
	}
	for _, c := range v {
		switch c {
		case 'R', 'O', 'r':
			flags |= flagRead
		case 'N', 'n', 'U', 'u':
			flags &^= flagRead
		}
	}
	return flags, true
}

// mozKeys returns the tags of X-Mozilla-Keys: space separated, padded with
// blanks, possibly folded.
func mozKeys(h formats.Header) []string {
	v, _ := h.Get("X-Mozilla-Keys")
	return strings.Fields(v)
}

// imapFlags turns a Thunderbird flag word into IMAP flags: the table, then
// a legacy label (Status2 bits 25-27, 1..5 → $label1..$label5).
func imapFlags(flags uint32) []string {
	var out []string
	for _, e := range flagTable {
		if flags&e.bit != 0 {
			out = append(out, e.flag)
		}
	}
	if l := (flags & flagLabels) >> labelShift; l >= 1 && l <= 5 {
		out = append(out, "$label"+strconv.Itoa(int(l)))
	}
	return out
}

// addFlag appends f unless it is already there (keywords are
// case-insensitive in IMAP).
func addFlag(flags []string, f string) []string {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return flags
		}
	}
	return append(flags, f)
}
