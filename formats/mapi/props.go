package mapi

// Property IDs this package reads, with their canonical names from
// [MS-OXPROPS]. The type each is usually stored with is in the comment;
// a container may store a string property as String8 instead of String.
const (
	PidTagImportance                   PropID = 0x0017 // Integer32: 0 low, 1 normal, 2 high
	PidTagMessageClass                 PropID = 0x001A // String: "IPM.Note", ...
	PidTagSubject                      PropID = 0x0037 // String, with its prefix ("RE: ")
	PidTagClientSubmitTime             PropID = 0x0039 // Time the sender sent it
	PidTagSubjectPrefix                PropID = 0x003D // String: "RE: "
	PidTagSentRepresentingEntryID      PropID = 0x0041 // Binary
	PidTagSentRepresentingName         PropID = 0x0042 // String
	PidTagSentRepresentingAddressType  PropID = 0x0064 // String: "SMTP", "EX", ...
	PidTagSentRepresentingEmailAddress PropID = 0x0065 // String, in the address type's form
	PidTagTransportMessageHeaders      PropID = 0x007D // String: the header as received
	PidTagRecipientType                PropID = 0x0C15 // Integer32: 1 To, 2 Cc, 3 Bcc
	PidTagSenderEntryID                PropID = 0x0C19 // Binary
	PidTagSenderName                   PropID = 0x0C1A // String
	PidTagSenderAddressType            PropID = 0x0C1E // String
	PidTagSenderEmailAddress           PropID = 0x0C1F // String
	PidTagDisplayBcc                   PropID = 0x0E02 // String: display names, "; "-separated
	PidTagDisplayCc                    PropID = 0x0E03 // String
	PidTagDisplayTo                    PropID = 0x0E04 // String
	PidTagMessageDeliveryTime          PropID = 0x0E06 // Time the store received it
	PidTagMessageFlags                 PropID = 0x0E07 // Integer32: MsgFlag* bits
	PidTagNormalizedSubject            PropID = 0x0E1D // String: the subject without its prefix
	PidTagRtfInSync                    PropID = 0x0E1F // Boolean
	PidTagAttachSize                   PropID = 0x0E20 // Integer32
	PidTagEntryID                      PropID = 0x0FFF // Binary
	PidTagBody                         PropID = 0x1000 // String: the plain text body
	PidTagRtfCompressed                PropID = 0x1009 // Binary: [MS-OXRTFCP]
	PidTagHTML                         PropID = 0x1013 // Binary (or String): the HTML body
	PidTagNativeBody                   PropID = 0x1016 // Integer32: NativeBody*
	PidTagInternetMessageID            PropID = 0x1035 // String: Message-ID
	PidTagInternetReferences           PropID = 0x1039 // String: References
	PidTagInReplyToID                  PropID = 0x1042 // String: In-Reply-To
	PidTagIconIndex                    PropID = 0x1080 // Integer32
	PidTagLastVerbExecuted             PropID = 0x1081 // Integer32: Verb*
	PidTagFlagStatus                   PropID = 0x1090 // Integer32: FlagStatus*
	PidTagDisplayName                  PropID = 0x3001 // String
	PidTagAddressType                  PropID = 0x3002 // String
	PidTagEmailAddress                 PropID = 0x3003 // String
	PidTagCreationTime                 PropID = 0x3007 // Time
	PidTagLastModificationTime         PropID = 0x3008 // Time
	PidTagSMTPAddress                  PropID = 0x39FE // String
	PidTagTransmittableDisplayName     PropID = 0x3A20 // String
	PidTagAttachData                   PropID = 0x3701 // Binary (by value) or Object (embedded, OLE)
	PidTagAttachExtension              PropID = 0x3703 // String: ".pdf"
	PidTagAttachFilename               PropID = 0x3704 // String: 8.3 name
	PidTagAttachMethod                 PropID = 0x3705 // Integer32: Attach*
	PidTagAttachLongFilename           PropID = 0x3707 // String
	PidTagAttachPathname               PropID = 0x3708 // String
	PidTagAttachLongPathname           PropID = 0x370D // String
	PidTagAttachMimeTag                PropID = 0x370E // String: "image/png"
	PidTagAttachContentID              PropID = 0x3712 // String, without angle brackets
	PidTagAttachContentLocation        PropID = 0x3713 // String
	PidTagAttachFlags                  PropID = 0x3714 // Integer32: AttachFlag*
	PidTagInternetCodepage             PropID = 0x3FDE // Integer32: code page of the bodies
	PidTagMessageCodepage              PropID = 0x3FFD // Integer32: code page of String8 values
	PidTagSenderSMTPAddress            PropID = 0x5D01 // String
	PidTagSentRepresentingSMTPAddress  PropID = 0x5D02 // String
	PidTagRecipientDisplayName         PropID = 0x5FF6 // String
	PidTagRecipientEntryID             PropID = 0x5FF7 // Binary
	PidTagAttachmentHidden             PropID = 0x7FFE // Boolean
)

// PidTagMessageFlags bits ([MS-OXCMSG] 2.2.1.6).
const (
	MsgFlagRead       = 0x00000001
	MsgFlagUnmodified = 0x00000002
	MsgFlagSubmitted  = 0x00000004
	MsgFlagUnsent     = 0x00000008 // a draft: never sent
	MsgFlagHasAttach  = 0x00000010
	MsgFlagFromMe     = 0x00000020
	MsgFlagAssociated = 0x00000040 // a folder's hidden item, not a message
)

// PidTagFlagStatus values ([MS-OXOFLAG] 2.2.1.1).
const (
	FlagStatusNone     = 0
	FlagStatusComplete = 1
	FlagStatusFlagged  = 2
)

// PidTagLastVerbExecuted values ([MS-OXOMSG] 2.2.1.33).
const (
	VerbReplyToSender = 102
	VerbReplyToAll    = 103
	VerbForward       = 104
)

// PidTagIconIndex values for replied and forwarded mail ([MS-OXOMSG]
// 2.2.1.10), used when PidTagLastVerbExecuted is absent.
const (
	IconReplied   = 0x105
	IconForwarded = 0x106
)

// PidTagNativeBody values ([MS-OXCMSG] 2.2.1.58.8).
const (
	NativeBodyUndefined = 0
	NativeBodyPlain     = 1
	NativeBodyRTF       = 2
	NativeBodyHTML      = 3
	NativeBodySigned    = 4 // clear-signed: the body is in an attachment
)

// PidTagRecipientType values ([MS-OXOMSG] 2.2.3.1). The high bit
// (RecipientResend) marks a recipient of a resent message.
const (
	RecipientOriginator = 0
	RecipientTo         = 1
	RecipientCc         = 2
	RecipientBcc        = 3
	RecipientResend     = 0x10000000
)

// PidTagAttachMethod values ([MS-OXCMSG] 2.2.2.9).
const (
	AttachNone            = 0
	AttachByValue         = 1
	AttachByReference     = 2
	AttachByRefResolve    = 3
	AttachByRefOnly       = 4
	AttachEmbeddedMessage = 5
	AttachOLE             = 6
	AttachByWebReference  = 7
)

// PidTagAttachFlags bits ([MS-OXCMSG] 2.2.2.18).
const (
	AttachFlagInvisibleInHTML = 0x1
	AttachFlagInvisibleInRTF  = 0x2
	AttachFlagRenderedInBody  = 0x4 // referenced by the HTML body (MHTML)
)

// Property sets of named properties ([MS-OXPROPS] 1.3.2), in stored byte
// order (the first three fields little-endian).
var (
	// PSMAPI names properties by their tag: LID = the property ID.
	PSMAPI = mustGUID("00020328-0000-0000-C000-000000000046")
	// PSPublicStrings holds string-named properties such as Keywords.
	PSPublicStrings = mustGUID("00020329-0000-0000-C000-000000000046")
	// PSInternetHeaders holds Internet header fields by name.
	PSInternetHeaders = mustGUID("00020386-0000-0000-C000-000000000046")
	// PSETIDCommon holds properties shared by all item types.
	PSETIDCommon = mustGUID("00062008-0000-0000-C000-000000000046")
	// PSETIDAddress holds contact properties.
	PSETIDAddress = mustGUID("00062004-0000-0000-C000-000000000046")
)

// NameKeywords is PidNameKeywords: the categories the user gave an item
// ([MS-OXCMSG] 2.2.1.17), a multi-valued string.
var NameKeywords = Name{Set: PSPublicStrings, Str: "Keywords", Kind: TypeString | MultipleFlag}

// ParseGUID parses a GUID in its textual form
// ("00020329-0000-0000-C000-000000000046") into stored byte order.
func ParseGUID(s string) (GUID, bool) {
	var g GUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, false
	}
	hex := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	var b [16]byte
	for i := range b {
		hi, ok1 := unhex(hex[2*i])
		lo, ok2 := unhex(hex[2*i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		b[i] = hi<<4 | lo
	}
	// Data1 (4 bytes), Data2 and Data3 (2 bytes each) are stored
	// little-endian; Data4 (8 bytes) as written.
	g = GUID{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]}
	copy(g[8:], b[8:])
	return g, true
}

// String renders g in its textual form.
func (g GUID) String() string {
	const digits = "0123456789ABCDEF"
	order := []int{3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15}
	out := make([]byte, 0, 36)
	for _, i := range order {
		if i < 0 {
			out = append(out, '-')
			continue
		}
		out = append(out, digits[g[i]>>4], digits[g[i]&15])
	}
	return string(out)
}

func mustGUID(s string) GUID {
	g, ok := ParseGUID(s)
	if !ok {
		panic("mapi: bad GUID literal " + s)
	}
	return g
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
