package oauth

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is what every printed form of a Secret shows.
const redacted = "[redacted]"

// Secret holds a token or client secret so that it cannot be printed by
// accident: String, GoString, every fmt verb, JSON and text marshalling and
// slog all show "[redacted]". Only Reveal gives the value, at the one place
// it must go (a SASL response, a token request, a keychain).
//
// The value sits behind a pointer: fmt prints an unexported field of a
// struct without calling its methods, and a pointer prints as an address,
// so even a Secret inside someone's unexported field does not leak.
//
// The zero Secret is empty. Secrets are immutable and safe to copy.
type Secret struct{ p *string }

// NewSecret wraps s. An empty s gives the zero (empty) Secret.
func NewSecret(s string) Secret {
	if s == "" {
		return Secret{}
	}
	return Secret{p: &s}
}

// Reveal returns the value. Call it only where the value leaves the
// program for its rightful receiver.
func (s Secret) Reveal() string {
	if s.p == nil {
		return ""
	}
	return *s.p
}

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.p == nil || *s.p == "" }

// Equal reports whether two secrets hold the same value.
func (s Secret) Equal(o Secret) bool { return s.Reveal() == o.Reveal() }

// String returns "[redacted]", or "" for an empty secret (so that a
// message can still say that nothing was given).
func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return redacted
}

// GoString is for %#v.
func (s Secret) GoString() string { return "oauth.Secret(" + redacted + ")" }

// Format makes every verb (%v, %s, %q, %x, %d, ...) print the redacted
// form, so that fmt.Sprintf("%x", s) does not hex-dump the token.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, s.GoString())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// MarshalJSON writes "[redacted]": reports and logs in JSON never carry
// the value. Stores serialise the revealed value explicitly.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText writes "[redacted]" (encoding/xml, flag values, ...).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }
