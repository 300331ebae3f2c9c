package upload

import (
	"fmt"
	"io"

	"mailferry/formats"
	"mailferry/upload/fingerprint"
)

// Fingerprint is the identity of a message (see package fingerprint).
type Fingerprint = fingerprint.Fingerprint

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
	fp, id, err := fingerprint.Of(nr, m.Size)
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
