package upload

import (
	"fmt"
	"io"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
)

// Fingerprint is the identity of a message (see package fingerprint).
type Fingerprint = fingerprint.Fingerprint

// identify computes the Identity of a source message. With scanNUL it
// also reads the rest of the message and reports whether it holds a NUL
// byte (which Upload never sends; see ReasonNUL).
func identify(m *formats.Message, scanNUL bool) (_ Identity, nul bool, _ error) {
	if m.Open == nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: fmt.Errorf("no content")}
	}
	rc, err := m.Open()
	if err != nil {
		return Identity{}, false, &formats.MessageError{Pos: m.Pos, Op: "read message", Err: err}
	}
	defer rc.Close()
	nr := &nulReader{r: rc}
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
