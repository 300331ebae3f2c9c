// Package fingerprint defines the identity of a message for resume and
// verification, shared by the uploader, the verifier and the rehearsal
// server: the SHA-256 of the normalized header block plus the exact size.
//
// What counts as the header block is decided by one Hasher, so that a
// server (or the rehearsal server) that stores the header lines as the
// Hasher reads them returns a BODY[HEADER] with the fingerprint of the
// message appended.
package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"strings"

	"mailferry/formats"
)

// Fingerprint identifies a message for resume and verification:
//
//   - Size is the exact size of the message in bytes: Message.Size on the
//     source side, RFC822.SIZE on the server side. Both count the CRLF bytes
//     that APPEND sent.
//   - Header is the SHA-256 of the normalized header block: the lines from
//     the start of the message up to the first empty line, stopping early at
//     the first line that is neither a header field ("Name: value") nor a
//     folded continuation (formats.IsHeaderLine), or at a line longer than
//     MaxHeaderLine. Each line is hashed without its line ending, followed
//     by CRLF. So the source bytes and the server's BODY[HEADER] give the
//     same hash whatever line endings or trailing blank line the server
//     adds.
//
// Nothing is added to the message (no tracking header): two messages are
// the same when their headers and sizes are. Distinct messages that share a
// Message-ID (a sent and a received copy) differ in their Received or other
// headers or in size; byte-identical copies are the same message, and a
// folder is a multiset of fingerprints.
//
// Some servers cannot parse a malformed header and return an empty header
// section (go-imap's memory server does); a server message whose header
// hashes to EmptyHeader is matched by size alone, after exact matches.
type Fingerprint struct {
	Header [sha256.Size]byte
	Size   int64
}

// String is a short form for logs and reports: the first 12 hex digits of
// the header hash and the size.
func (f Fingerprint) String() string {
	return hex.EncodeToString(f.Header[:6]) + "/" + strconv.FormatInt(f.Size, 10)
}

// MaxHeaderLine bounds one header line; a longer line ends the header.
const MaxHeaderLine = 64 << 10

// EmptyHeader is the hash of a header block with no lines.
var EmptyHeader = sha256.Sum256(nil)

// Identity is a message's Fingerprint plus two looser keys, by which a
// message that a server changed when it stored it is still recognised:
// so that a re-run does not upload it again, and verification reports it
// as on the server, changed by the server, rather than missing.
type Identity struct {
	Fingerprint
	// Loose is the header hash with every byte of 0x80 or above read as
	// 'X': Cyrus (munge8bit, its default) replaces each raw 8-bit byte in
	// a header field with 'X' as it stores a message, which keeps the size.
	Loose [sha256.Size]byte
	// Weak is a hash of the Message-ID, Date and From field values alone,
	// with 8-bit bytes, '?', 'X' and white space left out (servers replace
	// 8-bit bytes with 'X' or '?', one or several); zero when the message
	// has no Message-ID. It recognises a message whose header lines or size
	// the server changed (a header added), and is used only after exact
	// and loose matches.
	Weak [sha256.Size]byte
	// MessageID is the Message-ID field's value, for reports.
	MessageID string
}

// Hasher computes the header part of a Fingerprint (and the looser keys
// of an Identity) from a byte stream written to it in pieces of any size,
// and picks up the Message-ID on the way. Done reports once the header has
// ended; further writes are ignored.
type Hasher struct {
	h, loose hash.Hash
	line     []byte
	done     bool
	lines    int
	// The values of the fields the weak key and reports need: the first
	// Message-ID, Date and From, unfolded.
	field       *[]byte // the field being collected, nil for none
	msgID, date []byte
	from, buf8  []byte
	seen        [3]bool
}

// NewHasher returns a Hasher at the start of a message.
func NewHasher() *Hasher { return &Hasher{h: sha256.New(), loose: sha256.New()} }

// Reset starts over with a new message, keeping the buffers.
func (hh *Hasher) Reset() {
	hh.h.Reset()
	hh.loose.Reset()
	hh.line, hh.done, hh.lines, hh.field = hh.line[:0], false, 0, nil
	hh.msgID, hh.date, hh.from = hh.msgID[:0], hh.date[:0], hh.from[:0]
	hh.seen = [3]bool{}
}

// Done reports whether the header has ended.
func (hh *Hasher) Done() bool { return hh.done }

// Lines is the number of header lines hashed so far.
func (hh *Hasher) Lines() int { return hh.lines }

// Write never fails.
func (hh *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !hh.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(hh.line)+len(p) > MaxHeaderLine {
				hh.done = true // a line this long ends the header
				hh.line = hh.line[:0]
				break
			}
			hh.line = append(hh.line, p...)
			break
		}
		if len(hh.line)+i > MaxHeaderLine {
			hh.done = true
			hh.line = hh.line[:0]
			break
		}
		hh.line = append(hh.line, p[:i]...)
		p = p[i+1:]
		hh.endLine()
	}
	return n, nil
}

// endLine handles the complete line in hh.line (without its LF).
func (hh *Hasher) endLine() {
	line := bytes.TrimRight(hh.line, "\r")
	hh.line = hh.line[:0]
	if len(line) == 0 || len(line) > MaxHeaderLine || !formats.IsHeaderLine(line) {
		hh.done = true
		return
	}
	hh.h.Write(line)
	hh.h.Write([]byte{'\r', '\n'})
	hh.buf8 = append(hh.buf8[:0], line...)
	for i, c := range hh.buf8 {
		if c >= 0x80 {
			hh.buf8[i] = 'X'
		}
	}
	hh.loose.Write(hh.buf8)
	hh.loose.Write([]byte{'\r', '\n'})
	hh.lines++
	switch {
	case line[0] == ' ' || line[0] == '\t':
		if hh.field != nil && len(*hh.field) < maxField {
			*hh.field = append(*hh.field, ' ')
			*hh.field = append(*hh.field, bytes.TrimSpace(line)...)
		}
	default:
		name, value, _ := bytes.Cut(line, []byte{':'})
		hh.field = nil
		for i, n := range weakFields {
			if !hh.seen[i] && strings.EqualFold(string(bytes.TrimSpace(name)), n) {
				hh.seen[i] = true
				f := hh.fieldBuf(i)
				*f = append((*f)[:0], bytes.TrimSpace(value)...)
				hh.field = f
			}
		}
	}
}

// weakFields are the fields whose values make the weak key, in order.
var weakFields = [3]string{"Message-ID", "Date", "From"}

// maxField bounds a collected field value.
const maxField = 1000

func (hh *Hasher) fieldBuf(i int) *[]byte {
	switch i {
	case 0:
		return &hh.msgID
	case 1:
		return &hh.date
	}
	return &hh.from
}

// Finish ends the stream: a last line without LF still counts.
func (hh *Hasher) Finish() {
	if !hh.done && len(hh.line) > 0 {
		hh.endLine()
	}
	hh.done = true
}

// Sum finishes the stream and returns the header hash and the Message-ID
// (empty when none).
func (hh *Hasher) Sum() (h [sha256.Size]byte, msgID string) {
	hh.Finish()
	hh.h.Sum(h[:0])
	return h, strings.TrimSpace(string(hh.msgID))
}

// Identity finishes the stream and returns the identity of a message of
// this size.
func (hh *Hasher) Identity(size int64) Identity {
	h, id := hh.Sum()
	out := Identity{Fingerprint: Fingerprint{Header: h, Size: size}, MessageID: id}
	hh.loose.Sum(out.Loose[:0])
	if id != "" {
		w := sha256.New()
		for _, v := range [][]byte{hh.msgID, hh.date, hh.from} {
			w.Write(weakValue(v))
			w.Write([]byte{0})
		}
		w.Sum(out.Weak[:0])
	}
	return out
}

// weakValue is a field value as the weak key sees it: lower case, without
// white space, '?', 'x', 'X' and bytes of 0x80 or above, which servers
// replace or drop in different ways.
func weakValue(v []byte) []byte {
	out := make([]byte, 0, len(v))
	for _, c := range v {
		switch {
		case c >= 0x80, c == '?', c == 'x', c == 'X', c == ' ', c == '\t':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		out = append(out, c)
	}
	return out
}

// ReadFrom writes r to the hasher until the header has ended or r ends.
func (hh *Hasher) ReadFrom(r io.Reader) (int64, error) {
	var buf [16 << 10]byte
	var total int64
	for !hh.done {
		n, err := r.Read(buf[:])
		hh.Write(buf[:n])
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Of computes the fingerprint of a message from its bytes (reading only as
// far as the header goes) and returns its Message-ID as a hint for
// reports. size is the exact total size of the message.
func Of(r io.Reader, size int64) (Fingerprint, string, error) {
	id, err := IdentityOf(r, size)
	return id.Fingerprint, id.MessageID, err
}

// IdentityOf computes the Identity of a message from its bytes (reading
// only as far as the header goes). size is the exact total size.
func IdentityOf(r io.Reader, size int64) (Identity, error) {
	hh := NewHasher()
	if _, err := hh.ReadFrom(r); err != nil {
		return Identity{}, err
	}
	return hh.Identity(size), nil
}
