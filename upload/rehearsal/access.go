package rehearsal

import (
	"errors"
	"time"
)

// Message is what the server holds of a message, for tests to read back
// without IMAP.
type Message struct {
	UID uint32
	// Header is the stored header block: the lines fingerprint.Hasher
	// reads, plus the empty line that ended the header when one did. It is
	// what FETCH BODY[HEADER] returns.
	Header []byte
	Size   int64     // RFC822.SIZE: every byte stored
	Flags  []string  // sorted case-insensitively; system flags canonical
	Date   time.Time // internal date
}

// ErrNoFolder is returned for a folder the server does not hold.
var ErrNoFolder = errors.New("rehearsal server: no such folder")

// Folders returns the names of the server's folders, sorted (UTF-8, with
// the namespace prefix; INBOX as Options.InboxName spells it).
func (s *Server) Folders() []string { return s.a.names() }

// Messages returns the messages of a folder in UID order.
func (s *Server) Messages(folder string) ([]Message, error) {
	mb := s.a.mailbox(folder)
	if mb == nil {
		return nil, ErrNoFolder
	}
	mb.mu.Lock()
	msgs := append([]message(nil), mb.msgs...)
	mb.mu.Unlock()
	out := make([]Message, len(msgs))
	for i, m := range msgs {
		h, err := s.headers.read(m.hoff, m.hlen)
		if err != nil {
			return nil, err
		}
		out[i] = Message{UID: m.uid, Header: h, Size: m.size, Flags: sortedFlags(m.flags.list), Date: m.time()}
	}
	return out, nil
}

// Subscribed reports whether a folder is subscribed.
func (s *Server) Subscribed(folder string) bool {
	mb := s.a.mailbox(folder)
	if mb == nil {
		return false
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.subscribed
}
