package rehearsal

import "time"

// Profiles: Options that behave like a real server or provider in what an
// upload meets. Each returns a fresh value to adjust. The texts were
// checked against the server (Dovecot 2.3.19 on Debian 12, run by hand),
// its source or public protocol logs, as each comment says; where no
// source was found the comment says so.

// DovecotPrefix is Dovecot with the personal namespace "INBOX." and
// delimiter '.', as cPanel and Plesk configure it. Texts seen from Dovecot
// 2.3.19: NAMESPACE (("INBOX." ".")) NIL NIL; CREATE Foo: "NO Client tried
// to access nonexistent namespace. (Mailbox name should probably be
// prefixed with: INBOX.)"; CREATE "INBOX.x/y": "NO [CANNOT] Invalid mailbox
// name: Name must not have '/' characters"; a keyword over
// mail_max_keyword_length (50 by default): "NO [CANNOT] Keyword length too
// long".
func DovecotPrefix() Options {
	o := dovecot()
	o.Namespace = Namespace{Prefix: "INBOX.", Delim: '.'}
	o.OutsideNamespace = Refusal{Text: "Client tried to access nonexistent namespace. (Mailbox name should probably be prefixed with: INBOX.)"}
	o.ForbiddenChars = "/"
	o.ForbiddenCharRefusal = Refusal{Code: "CANNOT", Text: "Invalid mailbox name: Name must not have '%c' characters"}
	o.Folders = []Folder{{Name: "INBOX.Drafts", Attr: `\Drafts`}, {Name: "INBOX.Sent", Attr: `\Sent`},
		{Name: "INBOX.Trash", Attr: `\Trash`}, {Name: "INBOX.Junk", Attr: `\Junk`}}
	return o
}

// DovecotMaildir is Dovecot with Maildir++ storage and delimiter '/'. Seen
// from Dovecot 2.3.19: CREATE "a.b": "NO [CANNOT] Character not allowed in
// mailbox name: '.'"; CREATE "p//q": "NO [CANNOT] Invalid mailbox name: Has
// adjacent hierarchy separators".
func DovecotMaildir() Options {
	o := dovecot()
	o.ForbiddenChars = "."
	o.ForbiddenCharRefusal = Refusal{Code: "CANNOT", Text: "Character not allowed in mailbox name: '%c'"}
	o.Folders = []Folder{{Name: "Drafts", Attr: `\Drafts`}, {Name: "Sent", Attr: `\Sent`},
		{Name: "Trash", Attr: `\Trash`}, {Name: "Junk", Attr: `\Junk`}}
	return o
}

func dovecot() Options {
	return Options{
		Greeting:         "Dovecot (Debian) ready.",
		ID:               []string{"name", "Dovecot"},
		SpecialUse:       true,
		Children:         true,
		BadNameRefusal:   Refusal{Code: "CANNOT", Text: "Invalid mailbox name: Has adjacent hierarchy separators"},
		MaxKeywordLength: 50,
		KeywordRefusal:   Refusal{Code: "CANNOT", Text: "Keyword length too long"},
		// quota_max_mail_size: "NO [LIMIT] Mail size is larger than the
		// maximum size allowed by server configuration"; Dovecot 2.3 does
		// not announce APPENDLIMIT.
		HideAppendLimit: true,
		TooBig:          Refusal{Code: "LIMIT", Text: "Mail size is larger than the maximum size allowed by server configuration"},
		ConnectionLimit: LimitAtLogin,
	}
}

// Courier is Courier-IMAP with its default "INBOX." namespace and '.'
// delimiter, conventional folders without SPECIAL-USE, one message per
// APPEND and synchronizing literals ("+ OK"), and a CRLF added to a
// message that does not end in one (all from courier-imap imap/imapd.C:
// store_mailbox, and " NO Invalid mailbox name." for a name it cannot
// map to a Maildir folder). Over MAXPERIP connections couriertcpd resets
// the connection.
func Courier() Options {
	invalid := Refusal{Text: "Invalid mailbox name."}
	return Options{
		Greeting:             "Courier-IMAP ready. Copyright 1998-2018 Double Precision, Inc.  See COPYING for distribution information.",
		ContinueText:         "OK",
		Namespace:            Namespace{Prefix: "INBOX.", Delim: '.'},
		OutsideNamespace:     invalid,
		ForbiddenChars:       "/",
		ForbiddenCharRefusal: invalid,
		BadNameRefusal:       invalid,
		Folders:              []Folder{{Name: "INBOX.Drafts"}, {Name: "INBOX.Sent"}, {Name: "INBOX.Trash"}},
		Children:             true,
		Literals:             LiteralSync,
		NoMultiAppend:        true,
		FinalNewline:         true,
		ConnectionLimit:      LimitReset,
	}
}

// Cyrus is Cyrus IMAP with the traditional namespace ("INBOX." and '.',
// altnamespace and unixhierarchysep off), special-use folders it created
// itself (attributes in lower case:
// https://github.com/cyrusimap/cyrus-imapd/issues/2264 and /5121),
// munge8bit (imap/message.c: 8-bit header bytes become 'X'), and "NO
// Permission denied" (IMAP_PERMISSION_DENIED) for a folder outside INBOX.
func Cyrus() Options {
	return Options{
		Greeting:         "Cyrus IMAP server ready",
		Namespace:        Namespace{Prefix: "INBOX.", Delim: '.'},
		OutsideNamespace: Refusal{Text: "Permission denied"},
		BadNameRefusal:   Refusal{Text: "Invalid mailbox name"},
		Folders: []Folder{{Name: "INBOX.Drafts", Attr: `\Drafts`}, {Name: "INBOX.Sent", Attr: `\Sent`},
			{Name: "INBOX.Trash", Attr: `\Trash`}, {Name: "INBOX.Junk", Attr: `\Junk`}},
		SpecialUse:      true,
		SpecialUseLower: true,
		Children:        true,
		EightBit:        EightBitMunge,
	}
}

// Mox is mox: INBOX listed as "Inbox" with children "Inbox/..." (mox
// imapserver/list_test.go: LIST "INBOX" answers "Inbox", CREATE "inbox/a"
// makes "Inbox/a"), special-use folders, COMPRESS=DEFLATE and UTF8=ACCEPT.
func Mox() Options {
	return Options{
		Greeting:  "mox imap",
		InboxName: "Inbox",
		Folders: []Folder{{Name: "Archive", Attr: `\Archive`}, {Name: "Drafts", Attr: `\Drafts`},
			{Name: "Junk", Attr: `\Junk`}, {Name: "Sent", Attr: `\Sent`}, {Name: "Trash", Attr: `\Trash`}},
		SpecialUse: true,
		Compress:   true,
		UTF8Accept: true,
	}
}

// Gmail behaves like Gmail's IMAP for an upload. Its capabilities after
// login are Gmail's (https://github.com/jstedfast/MailKit/issues/1396,
// https://github.com/imapsync/imapsync/issues/338): "IMAP4rev1
// UNSELECT IDLE NAMESPACE QUOTA ID XLIST CHILDREN X-GM-EXT-1 UIDPLUS
// COMPRESS=DEFLATE ENABLE MOVE CONDSTORE ESEARCH UTF8=ACCEPT LIST-EXTENDED
// LIST-STATUS LITERAL- SPECIAL-USE APPENDLIMIT=35651584": LITERAL- and no
// MULTIAPPEND. Those the server does not serve (IDLE, QUOTA, XLIST,
// X-GM-EXT-1, MOVE, CONDSTORE, ESEARCH) are answered NO [CANNOT].
//
// The special folders are below "[Gmail]/" with their attributes (the LIST
// in MailKit's issue above); tagged OKs say "Success". Limits:
//   - a message over 35651584 bytes: "BAD [TOOBIG] Message too large.
//     https://support.google.com/mail/answer/6584#limit" (a BAD, as in
//     https://github.com/gaubert/gmvault/issues/246);
//   - 500 MB of IMAP upload a day (Google Workspace "Gmail bandwidth
//     limits": "Upload via IMAP 500 MB" per day), then "NO [OVERQUOTA]
//     Account exceeded command or bandwidth limits." (the text seen in
//     https://github.com/ljmerza/ha-email-sensor/issues/16);
//   - a throttle that still accepts but says "OK Success [THROTTLED]"
//     (https://github.com/mscdex/node-imap/issues/593): off until
//     Throttle.Appends is set;
//   - "Folder name is not allowed. (Failure)" for a folder below
//     "[Gmail]" (the refusal text seen in
//     https://github.com/rgrove/larch/issues/10; which names
//     Gmail refuses is not documented).
func Gmail() Options {
	return Options{
		Greeting:      "Gimap ready for requests from 127.0.0.1",
		OKText:        "Success",
		ContinueText:  "go ahead",
		ID:            []string{"name", "GImap", "vendor", "Google, Inc.", "support-url", "https://support.google.com/mail"},
		Literals:      LiteralMinus,
		NoMultiAppend: true,
		Compress:      true,
		UTF8Accept:    true,
		SpecialUse:    true,
		Children:      true,
		ExtraCaps:     []string{"UNSELECT", "IDLE", "NAMESPACE", "QUOTA", "ID", "XLIST", "X-GM-EXT-1", "MOVE", "CONDSTORE", "ESEARCH"},
		Folders: []Folder{
			{Name: "[Gmail]", NoSelect: true},
			{Name: "[Gmail]/All Mail", Attr: `\All`},
			{Name: "[Gmail]/Drafts", Attr: `\Drafts`},
			{Name: "[Gmail]/Important", Attr: `\Important`},
			{Name: "[Gmail]/Sent Mail", Attr: `\Sent`},
			{Name: "[Gmail]/Spam", Attr: `\Junk`},
			{Name: "[Gmail]/Starred", Attr: `\Flagged`},
			{Name: "[Gmail]/Trash", Attr: `\Trash`},
		},
		Reserved:         []string{"[Gmail]"},
		ReservedRefusal:  Refusal{Text: "Folder name is not allowed. (Failure)"},
		AppendLimit:      35651584,
		TooBig:           Refusal{Bad: true, Code: "TOOBIG", Text: "Message too large. https://support.google.com/mail/answer/6584#limit"},
		DailyUploadBytes: 500 << 20,
		OverBudget:       Refusal{Code: "OVERQUOTA", Text: "Account exceeded command or bandwidth limits."},
		Throttle:         &Throttle{Window: time.Minute, Mark: true},
	}
}

// Microsoft365 behaves like Exchange Online's IMAP for an upload. Its
// greeting and capabilities after login are those of the log in
// https://github.com/jstedfast/MailKit/issues/849 ("IMAP4 IMAP4rev1
// AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID
// UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION
// BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+"): LITERAL+, no
// MULTIAPPEND, no SPECIAL-USE. Only XOAUTH2 logs in. Limits:
//   - a throttle refusing APPEND with "NO Request is throttled. Suggested
//     Backoff Time: N milliseconds"
//     (https://github.com/imapsync/imapsync/issues/198) and then ending
//     the connection with "* BYE Connection closed. 14"
//     (https://github.com/simonrob/email-oauth2-proxy/issues/191): off
//     until Throttle.Appends is set;
//   - a message over 35 MiB (Exchange Online's default receive limit is
//     36 MB; APPENDLIMIT is not announced) refused with "NO Maximum size
//     of appendable message has been exceeded", Exchange's text as
//     administrators list it (no protocol log of it was found);
//   - the folder name "Files" is reserved (Exchange keeps a folder of
//     that name for its own use; migration tools' FAQs tell users to
//     rename it): CREATE is refused with Exchange's generic "NO Command
//     Error. 12", which names no reason, so the uploader must learn the
//     rule itself;
//   - a message with a line longer than 10,239 characters is refused
//     with "BAD Command Argument Error. 11" (imapsync's Office 365 FAQ
//     names both; such lines break the mail standard's 998).
//
// Its default folders are conventional names without attributes; whether
// Exchange Online shows special-use attributes was not verified.
func Microsoft365() Options {
	return Options{
		Greeting:      "The Microsoft Exchange IMAP4 service is ready.",
		Auth:          AuthXOAUTH2Only,
		ID:            []string{},
		NoMultiAppend: true,
		Children:      true,
		ExtraCaps:     []string{"IMAP4", "MOVE", "CLIENTACCESSRULES", "CLIENTNETWORKPRESENCELOCATION", "BACKENDAUTHENTICATE", "IDLE"},
		Folders: []Folder{{Name: "Archive"}, {Name: "Deleted Items"}, {Name: "Drafts"}, {Name: "Junk Email"},
			{Name: "Outbox"}, {Name: "Sent Items"}},
		AppendLimit:     35 << 20,
		HideAppendLimit: true,
		TooBig:          Refusal{Text: "Maximum size of appendable message has been exceeded"},
		Reserved:        []string{"Files"},
		ReservedRefusal: Refusal{Text: "Command Error. 12"},
		MaxLineLength:   10239,
		LongLine:        Refusal{Bad: true, Text: "Command Argument Error. 11"},
		Throttle: &Throttle{Window: 5 * time.Minute,
			Refusal: Refusal{Text: "Request is throttled. Suggested Backoff Time: %d milliseconds"},
			Bye:     "Connection closed. 14"},
	}
}
