package upload

import (
	"crypto/sha256"
	"fmt"
	"hash"
	"io"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
)

// Fingerprint is the identity of a message (see package fingerprint).
type Fingerprint = fingerprint.Fingerprint

// identify computes the Identity of a source message. With scanNUL it
// also reads the rest of the message and reports whether it holds a NUL
// byte (which Upload never sends; see ReasonNUL); with full it hashes the
// whole message into *full (for the full check, fullcheck.go).
func identify(m *formats.Message, scanNUL bool, full *[32]byte) (_ Identity, nul bool, _ error) {
	if m.Open == nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: fmt.Errorf("no content")}
	}
	rc, err := m.Open()
	if err != nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	defer rc.Close()
	var r io.Reader = rc
	var h hash.Hash
	if full != nil {
		h = sha256.New()
		r = io.TeeReader(rc, h)
		scanNUL = true
	}
	nr := &nulReader{r: r}
	id, err := fingerprint.IdentityOf(nr, m.Size)
	if err != nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message header", Err: err}
	}
	if !scanNUL {
		return id, false, nil
	}
	if _, err := io.Copy(io.Discard, nr); err != nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	if h != nil {
		h.Sum(full[:0])
	}
	return id, nr.nul, nil
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
