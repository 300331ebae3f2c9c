package rehearsal

import (
	"errors"

	"mailferry/internal/mutf7"
)

var errMUTF7 = errors.New("invalid modified UTF-7")

// encodeMailbox turns a UTF-8 name into modified UTF-7 (RFC 3501 section
// 5.1.3).
func encodeMailbox(s string) string { return mutf7.Encode(s) }

// decodeMailbox turns a modified UTF-7 name into UTF-8, refusing what a
// strict server refuses (see mutf7.Decode).
func decodeMailbox(s string) (string, error) {
	d, ok := mutf7.Decode(s)
	if !ok {
		return "", errMUTF7
	}
	return d, nil
}
