package rehearsal

import (
	"log/slog"
	"time"
)

// Options configures a Server. The zero value is a permissive server:
// delimiter '/', no namespace prefix, LITERAL+, MULTIAPPEND, UIDPLUS, every
// keyword kept, no size limit, user "rehearsal" with a random password.
// The other fields switch on the quirks of real servers and the limits of
// providers, one at a time; the profile functions (Gmail, Microsoft365,
// Courier, ...) combine them.
type Options struct {
	// Logger receives a debug line per connection problem; nil discards.
	Logger *slog.Logger
	// TempDir holds the header file ("" means os.TempDir()).
	TempDir string
	// Clock is the time for internal dates without a date, daily budgets
	// and throttle windows; nil means time.Now. Tests inject a fake clock
	// so that a day passes without sleeping.
	Clock func() time.Time

	// User and Password are the account's credentials. An empty User is
	// "rehearsal"; an empty Password is a random one (Server.Password).
	User, Password string
	// Auth says how a client may log in (default: LOGIN and AUTHENTICATE
	// PLAIN).
	Auth Auth

	// Greeting is the text of the "* OK [CAPABILITY ...]" greeting.
	Greeting string
	// OKText replaces the text of every tagged OK ("<COMMAND> completed"
	// by default); Gmail says "Success".
	OKText string
	// ContinueText is the text after "+ " that asks for a literal.
	ContinueText string
	// ID is the server's answer to ID (RFC 2971) as name/value pairs; nil
	// does not announce ID.
	ID []string

	// Literals selects the literal extension announced: LITERAL+ (the
	// default), LITERAL- or none (synchronizing literals only).
	Literals Literals
	// NoMultiAppend drops MULTIAPPEND (RFC 3502); a second message in one
	// APPEND is then a syntax error.
	NoMultiAppend bool
	// NoUIDPlus drops UIDPLUS (RFC 4315): no APPENDUID.
	NoUIDPlus bool
	// Compress announces COMPRESS=DEFLATE and honours it (RFC 4978).
	Compress bool
	// UTF8Accept announces UTF8=ACCEPT (RFC 6855); after ENABLE
	// UTF8=ACCEPT mailbox names travel as UTF-8.
	UTF8Accept bool
	// ExtraCaps are announced after login but not served: a client that
	// uses them gets NO [CANNOT]. They make a provider's capability list
	// complete (X-GM-EXT-1, QUOTA, ...).
	ExtraCaps []string

	// Namespace is the personal namespace: its prefix ("" or e.g.
	// "INBOX.") and delimiter ('/' when 0).
	Namespace Namespace
	// InboxName is how INBOX is listed ("INBOX" when empty; mox says
	// "Inbox"). Any case of INBOX names it; its children are below it.
	InboxName string
	// Folders exist from the start (besides INBOX), with their special-use
	// attributes when announced.
	Folders []Folder
	// SpecialUse announces SPECIAL-USE (RFC 6154) and shows the Folders'
	// attributes in LIST.
	SpecialUse bool
	// SpecialUseLower spells the attributes in lower case, as Cyrus does
	// for folders it creates itself ("xlist-junk: Junk" gives "\junk":
	// https://github.com/cyrusimap/cyrus-imapd/issues/2264 and /5121).
	SpecialUseLower bool
	// Children announces CHILDREN (RFC 3348) and shows \HasChildren and
	// \HasNoChildren in LIST.
	Children bool

	// OutsideNamespace refuses CREATE of a name outside the namespace
	// prefix (when the prefix is not empty).
	OutsideNamespace Refusal
	// ForbiddenChars are refused inside a name level, with
	// ForbiddenCharRefusal; a "%c" in its text becomes the character.
	ForbiddenChars       string
	ForbiddenCharRefusal Refusal
	// BadNameRefusal refuses an empty level (a leading, doubled or, with a
	// namespace prefix, bare prefix delimiter).
	BadNameRefusal Refusal
	// Reserved refuses CREATE of these names (case-insensitive) and of
	// names below them.
	Reserved        []string
	ReservedRefusal Refusal

	// AppendLimit refuses a message over this many bytes (0: no limit),
	// with TooBig. It is announced as APPENDLIMIT=n (RFC 7889) unless
	// HideAppendLimit.
	AppendLimit     int64
	HideAppendLimit bool
	TooBig          Refusal
	// MaxLineLength refuses a message holding a longer line (its bytes
	// without CRLF; 0: no limit) with LongLine, once the whole message
	// has arrived.
	MaxLineLength int
	LongLine      Refusal
	// MaxKeywordLength refuses an APPEND with a longer keyword (0: no
	// limit), with KeywordRefusal.
	MaxKeywordLength int
	KeywordRefusal   Refusal
	// NoKeywords keeps no keywords: no \* in PERMANENTFLAGS, and keywords
	// sent anyway are dropped, as RFC 3501 allows.
	NoKeywords bool

	// EightBit says what happens to 8-bit bytes in the header (default:
	// kept).
	EightBit EightBit
	// AddHeader is a header line (without line end) put before every
	// message stored, as providers that stamp messages do: the stored
	// message is larger and its header differs from what was sent.
	AddHeader string
	// FinalNewline ends a message that does not end in a line end with
	// CRLF, as Courier-IMAP does when it stores a message (imap/imapd.C:
	// store_mailbox adds '\n' when the last byte was not one).
	FinalNewline bool

	// MaxConnections limits the open connections (0: no limit), refused as
	// ConnectionLimit says.
	MaxConnections  int
	ConnectionLimit ConnectionLimit

	// FailAppends refuses the first this many messages appended (counted
	// over all connections) with ServerFailure: a failure of the server's
	// own, such as Cyrus's "NO System I/O error" when its first APPENDs
	// race to create its staging directory. A message refused so is not
	// stored.
	FailAppends   int
	ServerFailure Refusal
	// DailyUploadBytes refuses APPENDs once this many bytes were appended
	// within 24 hours of the first (0: no budget), with OverBudget.
	DailyUploadBytes int64
	OverBudget       Refusal
	// Throttle limits APPENDs per time window (nil: none).
	Throttle *Throttle
}

// Literals is the literal extension a server announces (RFC 7888).
type Literals int

const (
	// LiteralPlus announces LITERAL+: non-synchronizing literals of any
	// size.
	LiteralPlus Literals = iota
	// LiteralMinus announces LITERAL-: non-synchronizing literals up to
	// 4096 bytes; a larger one is answered BAD [TOOBIG] and the
	// connection is closed (its bytes follow anyway and cannot be told
	// from commands).
	LiteralMinus
	// LiteralSync announces neither: every literal waits for "+"; a
	// non-synchronizing one is answered BAD and the connection is closed.
	LiteralSync
)

// Namespace is a personal namespace (RFC 2342).
type Namespace struct {
	Prefix string
	Delim  byte
}

// Folder is a folder that exists from the start.
type Folder struct {
	Name string // full name, with the namespace prefix
	// Attr is its special-use attribute (`\Sent`, ...), shown when
	// Options.SpecialUse is set.
	Attr string
	// NoSelect makes it a folder that only holds others (\Noselect), such
	// as Gmail's "[Gmail]".
	NoSelect bool
}

// Refusal is a tagged NO or BAD answer: "<tag> NO [CODE] Text".
type Refusal struct {
	Bad  bool   // BAD instead of NO
	Code string // response code without brackets; "" for none
	Text string
}

// Auth says how a client may log in.
type Auth int

const (
	// AuthPlain accepts LOGIN and AUTHENTICATE PLAIN.
	AuthPlain Auth = iota
	// AuthXOAUTH2Only announces AUTH=PLAIN and AUTH=XOAUTH2 but accepts
	// only XOAUTH2 with the password as bearer token, as Microsoft 365
	// does since basic authentication was switched off: LOGIN gets "NO
	// LOGIN failed.", AUTHENTICATE PLAIN "NO AUTHENTICATE failed." (the
	// latter as in the protocol log of
	// https://github.com/jstedfast/MailKit/issues/849).
	AuthXOAUTH2Only
)

// EightBit is what a server does with 8-bit bytes in a message header.
type EightBit int

const (
	// EightBitKeep stores them.
	EightBitKeep EightBit = iota
	// EightBitMunge replaces each byte >= 0x80 in the header (up to the
	// first empty line) with 'X', as Cyrus with munge8bit does
	// (imap/message.c, message_copy_strict). The size stays; the header
	// changes.
	EightBitMunge
	// EightBitReject refuses the message, as Cyrus with reject8bit does:
	// "NO Message contains non-ASCII characters in headers"
	// (IMAP_MESSAGE_CONTAINS8BIT in Cyrus' error table).
	EightBitReject
)

// ConnectionLimit is how a connection over Options.MaxConnections is
// refused.
type ConnectionLimit int

const (
	// LimitAtLogin answers the LOGIN of one connection too many as Dovecot
	// 2.3 does: "NO [LIMIT] Maximum number of connections from user+IP
	// exceeded (mail_max_userip_connections=N)" (seen from Dovecot
	// 2.3.19).
	LimitAtLogin ConnectionLimit = iota
	// LimitReset resets the TCP connection right after accepting it, as
	// Courier's couriertcpd does beyond MAXPERIP.
	LimitReset
)

// Throttle refuses or marks APPENDs beyond a rate.
type Throttle struct {
	// Appends are allowed per Window (counted from the first APPEND of the
	// window, across connections); 0 switches the throttle off.
	Appends int
	Window  time.Duration
	// Mark keeps accepting but adds " [THROTTLED]" to the tagged OK, as
	// Gmail does ("OK Success [THROTTLED]":
	// https://github.com/mscdex/node-imap/issues/593 and
	// https://github.com/jstedfast/MailKit/issues/1396).
	Mark bool
	// Refusal answers an APPEND beyond the rate when not Mark; "%d" in its
	// text becomes the milliseconds until the window ends (Microsoft 365:
	// "NO Request is throttled. Suggested Backoff Time: 299609
	// milliseconds", https://github.com/imapsync/imapsync/issues/198).
	Refusal Refusal
	// Bye, when not empty, ends the connection after the refusal with
	// "* BYE <Bye>" (Microsoft 365: "Connection closed. 14",
	// https://github.com/simonrob/email-oauth2-proxy/issues/191).
	Bye string
}
