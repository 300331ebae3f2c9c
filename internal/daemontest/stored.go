package daemontest

import (
	"bytes"
	"slices"
	"strings"
	"time"
)

// StoredMessage is one message as a server stored it, read from the
// server's own files or tools, not through IMAP, so that it is independent
// of the client under test.
type StoredMessage struct {
	Mailbox  string    // UTF-8 name as IMAP shows it (namespace prefix and delimiter included)
	UID      uint32    // 0 when the server has not assigned one yet
	GUID     string    // the server's own id of the message: Dovecot's GUID, Cyrus's GUID, Courier's Maildir base name
	Flags    []string  // IMAP spelling (\Seen, $Forwarded, keywords); \Recent left out
	Received time.Time // the internal date, second precision, UTC
	Size     int64     // RFC822.SIZE as IMAP reports it (CRLF line endings)
	Text     []byte    // the whole message exactly as stored (LF line endings on Maildir servers)
}

// CRLF returns Text with line endings as IMAP serves them: every LF not
// preceded by CR becomes CRLF (what a Maildir server does when it serves a
// message stored with LF).
func (m StoredMessage) CRLF() []byte {
	return ToCRLF(m.Text)
}

// ToCRLF returns b with every LF not preceded by CR turned into CRLF.
func ToCRLF(b []byte) []byte {
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}

// HasFlag reports whether the message has flag (case-insensitive, as IMAP
// compares flags).
func (m StoredMessage) HasFlag(flag string) bool {
	return slices.ContainsFunc(m.Flags, func(f string) bool { return strings.EqualFold(f, flag) })
}

// SortedFlags returns the flags sorted, for comparisons that must not
// depend on the order a server keeps them in.
func (m StoredMessage) SortedFlags() []string {
	s := slices.Clone(m.Flags)
	slices.Sort(s)
	return s
}
