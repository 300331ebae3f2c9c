package upload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	"mailferry/formats"
)

// Fingerprint identifies a message for resume and verification. It is the
// one definition used by Upload (to find what a folder already holds) and
// by Verify (to compare a folder with the source):
//
//   - Size is the exact size of the message in bytes: Message.Size on the
//     source side, RFC822.SIZE on the server side. Both count the CRLF bytes
//     that APPEND sent.
//   - Header is the SHA-256 of the normalized header block: the lines from
//     the start of the message up to the first empty line, stopping early at
//     the first line that is neither a header field ("Name: value") nor a
//     folded continuation (formats.IsHeaderLine), or at a line longer than
//     maxHeaderLine. Each line is hashed without its line ending, followed
//     by CRLF. So the source bytes and the server's BODY[HEADER] give the same
//     hash whatever line endings or trailing blank line the server adds.
//
// Nothing is added to the message (no tracking header): two messages are
// the same when their headers and sizes are. Distinct messages that share a
// Message-ID (a sent and a received copy) differ in their Received or other
// headers or in size; byte-identical copies are the same message, and a
// folder is a multiset of fingerprints.
//
// Some servers cannot parse a malformed header and return an empty header
// section (go-imap's memory server does); a server message whose header
// hashes to emptyHeader is matched by size alone, after exact matches
// (see match in verify.go).
type Fingerprint struct {
	Header [sha256.Size]byte
	Size   int64
}

// String is a short form for logs and reports: the first 12 hex digits of
// the header hash and the size.
func (f Fingerprint) String() string {
	return hex.EncodeToString(f.Header[:6]) + "/" + strconv.FormatInt(f.Size, 10)
}

// maxHeaderLine bounds one header line; a longer line ends the header.
const maxHeaderLine = 64 << 10

// emptyHeader is the hash of a header block with no lines.
var emptyHeader = sha256.Sum256(nil)

// headerHasher computes the header part of a Fingerprint from a byte
// stream written to it in pieces of any size, and picks up the Message-ID
// on the way. It reports done once the header has ended; further writes
// are ignored.
type headerHasher struct {
	h       hash.Hash
	line    []byte
	done    bool
	lines   int
	msgID   []byte
	inMsgID bool
}

func newHeaderHasher() *headerHasher { return &headerHasher{h: sha256.New()} }

func (hh *headerHasher) reset() {
	hh.h.Reset()
	hh.line, hh.done, hh.lines, hh.msgID, hh.inMsgID = hh.line[:0], false, 0, hh.msgID[:0], false
}

// Write never fails.
func (hh *headerHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !hh.done {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if len(hh.line)+len(p) > maxHeaderLine {
				hh.done = true // a line this long ends the header
				hh.line = hh.line[:0]
				break
			}
			hh.line = append(hh.line, p...)
			break
		}
		if len(hh.line)+i > maxHeaderLine {
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
func (hh *headerHasher) endLine() {
	line := bytes.TrimRight(hh.line, "\r")
	hh.line = hh.line[:0]
	if len(line) == 0 || len(line) > maxHeaderLine || !formats.IsHeaderLine(line) {
		hh.done = true
		return
	}
	hh.h.Write(line)
	hh.h.Write([]byte{'\r', '\n'})
	hh.lines++
	switch {
	case line[0] == ' ' || line[0] == '\t':
		if hh.inMsgID && len(hh.msgID) < 1000 {
			hh.msgID = append(hh.msgID, ' ')
			hh.msgID = append(hh.msgID, bytes.TrimSpace(line)...)
		}
	default:
		name, value, _ := bytes.Cut(line, []byte{':'})
		hh.inMsgID = len(hh.msgID) == 0 && strings.EqualFold(string(bytes.TrimSpace(name)), "Message-ID")
		if hh.inMsgID {
			hh.msgID = append(hh.msgID, bytes.TrimSpace(value)...)
		}
	}
}

// finish ends the stream: a last line without LF still counts.
func (hh *headerHasher) finish() {
	if !hh.done && len(hh.line) > 0 {
		hh.endLine()
	}
	hh.done = true
}

// sum returns the header hash and the Message-ID (empty when none).
func (hh *headerHasher) sum() (h [sha256.Size]byte, msgID string) {
	hh.finish()
	hh.h.Sum(h[:0])
	return h, strings.TrimSpace(string(hh.msgID))
}

// FingerprintOf computes the fingerprint of a message from its bytes
// (reading only as far as the header goes) and returns its Message-ID as a
// hint for reports. size is the exact total size of the message.
func FingerprintOf(r io.Reader, size int64) (Fingerprint, string, error) {
	hh := newHeaderHasher()
	if err := hashHeader(hh, r); err != nil {
		return Fingerprint{}, "", err
	}
	h, id := hh.sum()
	return Fingerprint{Header: h, Size: size}, id, nil
}

func hashHeader(hh *headerHasher, r io.Reader) error {
	var buf [16 << 10]byte
	for !hh.done {
		n, err := r.Read(buf[:])
		hh.Write(buf[:n])
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// fingerprintMessage fingerprints a source message. With scanNUL it also
// reads the rest of the message and reports whether it holds a NUL byte
// (which Upload never sends; see ReasonNUL).
func fingerprintMessage(m *formats.Message, scanNUL bool) (_ Fingerprint, msgID string, nul bool, _ error) {
	if m.Open == nil {
		return Fingerprint{}, "", false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: fmt.Errorf("no content")}
	}
	rc, err := m.Open()
	if err != nil {
		return Fingerprint{}, "", false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	defer rc.Close()
	nr := &nulReader{r: rc}
	fp, id, err := FingerprintOf(nr, m.Size)
	if err != nil {
		return Fingerprint{}, "", false, &formats.MessageError{Pos: m.Pos, Op: "read message header", Err: err}
	}
	if !scanNUL {
		return fp, id, false, nil
	}
	if _, err := io.Copy(io.Discard, nr); err != nil {
		return Fingerprint{}, "", false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	return fp, id, nr.nul, nil
}

// nulReader passes bytes through and notes a NUL byte.
type nulReader struct {
	r   io.Reader
	nul bool
}

func (n *nulReader) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	if !n.nul && hasNUL(p[:k]) {
		n.nul = true
	}
	return k, err
}
