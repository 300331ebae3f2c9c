package mapi

import (
	"strings"
	"time"

	"mailferry/formats"
)

// getString reads a string property; ok is false when it is absent,
// empty, or not a string.
func getString(p Properties, id PropID, cp int) (string, bool, error) {
	v, ok, err := p.Get(id)
	if err != nil || !ok {
		return "", false, err
	}
	s, err := String(v, cp)
	if err != nil {
		return "", false, nil // a property of another type: as if absent
	}
	return s, s != "", nil
}

// getInt reads an integer property; ok is false when it is absent or not
// an integer.
func getInt(p Properties, id PropID) (int64, bool, error) {
	v, ok, err := p.Get(id)
	if err != nil || !ok {
		return 0, false, err
	}
	n, err := Integer(v)
	if err != nil {
		return 0, false, nil
	}
	return n, true, nil
}

// getTime reads a time property; ok is false when it is absent, not a
// time, or MAPI's "no date".
func getTime(p Properties, id PropID) (time.Time, bool, error) {
	v, ok, err := p.Get(id)
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	t, err := Time(v)
	if err != nil || t.IsZero() {
		return time.Time{}, false, nil
	}
	return t, true, nil
}

// Class returns the message class (PidTagMessageClass), "IPM.Note" when
// the message has none ([MS-OXCMSG] 2.2.1.3 makes IPM.Note the default
// for mail).
func Class(m Properties) (string, error) {
	s, ok, err := getString(m, PidTagMessageClass, Codepage(m))
	if err != nil {
		return "", err
	}
	if !ok {
		return "IPM.Note", nil
	}
	return s, nil
}

// IsMail reports whether a message class is mail, as opposed to another
// Outlook item (appointment, contact, task, note, journal entry,
// distribution list). Meeting requests and responses, delivery reports,
// posts and S/MIME mail are mail: they travelled as messages. Classes are
// case-insensitive ([MS-OXCMSG] 2.2.1.3); an unknown class under IPM
// counts as mail, since custom forms are mostly mail.
func IsMail(class string) bool {
	c := strings.ToUpper(class)
	for _, notMail := range []string{
		"IPM.APPOINTMENT", "IPM.CONTACT", "IPM.DISTLIST", "IPM.TASK",
		"IPM.STICKYNOTE", "IPM.ACTIVITY", "IPM.CONFIGURATION", "IPM.MICROSOFT",
		"IPM.INFOPATHFORM",
	} {
		if c == notMail || strings.HasPrefix(c, notMail+".") {
			return false
		}
	}
	return c == "IPM" || strings.HasPrefix(c, "IPM.") || strings.HasPrefix(c, "REPORT.")
}

// Flags returns a message's IMAP flags and keywords, in this order:
// \Seen (PidTagMessageFlags has MSGFLAG_READ), \Answered and $Forwarded
// (PidTagLastVerbExecuted, else PidTagIconIndex), \Flagged
// (PidTagFlagStatus is followupFlagged; a completed flag is not a flag
// any more), \Draft (MSGFLAG_UNSENT), then the message's categories
// (Keywords) as IMAP keywords: a character a keyword cannot hold (a space,
// as in Outlook's own "Red Category", or one beyond ASCII) becomes "_", as
// formats.SanitizeKeyword does for Thunderbird's tags, so that
// categories are kept rather than refused by the uploader.
func Flags(m Properties) ([]string, error) {
	flags, _, err := FlagsNoted(m)
	return flags, err
}

// FlagsNoted is Flags with a note (NoteKeywordChanged) for every category
// that had to change to be a keyword.
func FlagsNoted(m Properties) ([]string, Notes, error) {
	var flags []string
	var notes Notes
	msgFlags, _, err := getInt(m, PidTagMessageFlags)
	if err != nil {
		return nil, nil, err
	}
	if msgFlags&MsgFlagRead != 0 {
		flags = append(flags, `\Seen`)
	}
	verb, hasVerb, err := getInt(m, PidTagLastVerbExecuted)
	if err != nil {
		return nil, nil, err
	}
	if !hasVerb {
		icon, _, err := getInt(m, PidTagIconIndex)
		if err != nil {
			return nil, nil, err
		}
		switch icon {
		case IconReplied:
			verb = VerbReplyToSender
		case IconForwarded:
			verb = VerbForward
		}
	}
	switch verb {
	case VerbReplyToSender, VerbReplyToAll:
		flags = append(flags, `\Answered`)
	case VerbForward:
		flags = append(flags, `$Forwarded`)
	}
	status, _, err := getInt(m, PidTagFlagStatus)
	if err != nil {
		return nil, nil, err
	}
	if status == FlagStatusFlagged {
		flags = append(flags, `\Flagged`)
	}
	if msgFlags&MsgFlagUnsent != 0 {
		flags = append(flags, `\Draft`)
	}
	kw, err := Keywords(m)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, k := range kw {
		clean, changed := formats.SanitizeKeyword(k)
		if changed {
			notes.add(NoteKeywordChanged, "", "category %q is not a valid IMAP keyword; uploaded as %q", k, clean)
		}
		if lower := strings.ToLower(clean); !seen[lower] {
			seen[lower] = true
			flags = append(flags, clean)
		}
	}
	return flags, notes, nil
}

// Keywords returns the categories of a message (the named property
// Keywords in PS_PUBLIC_STRINGS), without empty or repeated names, in
// their stored order.
func Keywords(m Properties) ([]string, error) {
	id, ok := m.Resolve(NameKeywords)
	if !ok {
		return nil, nil
	}
	v, ok, err := m.Get(id)
	if err != nil || !ok {
		return nil, err
	}
	names, err := Strings(v, Codepage(m))
	if err != nil {
		return nil, nil // not a string list: nothing usable
	}
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// ReceivedDate returns the date to give a message on the server (the IMAP
// internal date) and where it came from: the delivery time
// (PidTagMessageDeliveryTime, the store's record of receiving it:
// formats.DateStore), else the time it was sent (PidTagClientSubmitTime,
// which becomes its Date: field: formats.DateHeader), else when the item
// was created (PidTagCreationTime: formats.DateStore). Zero and
// formats.DateUnknown when none is set.
func ReceivedDate(m Properties) (time.Time, formats.DateSource, error) {
	for _, c := range []struct {
		id  PropID
		src formats.DateSource
	}{
		{PidTagMessageDeliveryTime, formats.DateStore},
		{PidTagClientSubmitTime, formats.DateHeader},
		{PidTagCreationTime, formats.DateStore},
	} {
		t, ok, err := getTime(m, c.id)
		if err != nil {
			return time.Time{}, formats.DateUnknown, err
		}
		if ok {
			return t, c.src, nil
		}
	}
	return time.Time{}, formats.DateUnknown, nil
}
