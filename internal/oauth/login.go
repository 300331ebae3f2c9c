package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// TokenSource hands out access tokens for IMAP logins. Implementations
// are safe for concurrent use by several connections.
type TokenSource interface {
	// Token returns an access token that is not known to be expired.
	Token(ctx context.Context) (Secret, error)
	// Rejected tells the source that a server refused tok, so that the
	// next Token does not return it again (it refreshes, or runs the
	// token command again). It reports whether a different token may now
	// be had; false means retrying is pointless.
	Rejected(tok Secret) bool
}

// LoginOptions describe one IMAP connection to log in on.
type LoginOptions struct {
	// User is the login name: the mailbox's e-mail address for Microsoft
	// and Google.
	User string
	// Server is the server's host:port, for OAUTHBEARER's host and port
	// fields and for error messages.
	Server string
	// Has reports whether the server announces a capability, e.g.
	// "AUTH=XOAUTH2" (imapclient: c.Caps().Has(imap.Cap(s)); upload/bulk:
	// c.Has).
	Has func(capability string) bool
	// Authenticate runs the SASL exchange: imapclient.Client.Authenticate
	// or upload/bulk's Client.Authenticate.
	Authenticate func(sasl.Client) error
	// Refused reports whether an error from Authenticate is the server's
	// refusal (a tagged NO) rather than a broken connection. nil means
	// go-imap's *imap.Error of type NO. A refusal carrying a temporary
	// response code (UNAVAILABLE, INUSE, LIMIT) is not a token problem and
	// should not be reported as one.
	Refused func(error) bool
}

// Login signs in with a token from src. If the server refuses the token,
// src is told and, when it can offer a different one, Login tries once
// more on the same connection (IMAP allows AUTHENTICATE again after a NO):
// an access token that expired early or was revoked is refreshed without
// bothering the user. A second refusal, or a first one src cannot remedy
// (no refresh token; a refresh the provider refuses, as after "sign out
// everywhere"), is a *TokenRejectedError wrapping the server's answer and,
// in Refresh, the refresh's error (errors.Is(err, ErrSignInAgain) then
// holds). Other errors (network, the token endpoint or command failing,
// ctx) are returned as they come, wrapped with the server.
func Login(ctx context.Context, src TokenSource, o LoginOptions) error {
	mech, err := ChooseMechanism(o.Has)
	if err != nil {
		return fmt.Errorf("%s: %w", o.Server, err)
	}
	refused := o.Refused
	if refused == nil {
		refused = isIMAPRefusal
	}
	host, port := splitHostPort(o.Server)
	var rejected *TokenRejectedError // the first refusal, when trying again
	for {
		tok, err := src.Token(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			switch {
			case rejected != nil && errors.Is(err, ErrSignInAgain):
				// Refused, and the sign-in itself is gone (revoked): the
				// refusal is the news, the refresh error why.
				rejected.Refresh = err
				return rejected
			case rejected != nil:
				// The provider or the token command failed now; that may
				// pass (the caller retries as after a network error).
				return fmt.Errorf("%s refused the access token and a fresh one could not be had: %w", o.Server, err)
			}
			return fmt.Errorf("get an access token for %s: %w", o.User, err)
		}
		sc := NewSASLClient(mech, o.User, tok, host, port)
		err = o.Authenticate(sc)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// An error document means the token was refused, whatever the
		// tagged answer (Dovecot answers go-imap's "=" for an empty
		// response with BAD), unless that answer says the server could not
		// check now. Without a document, the tagged answer decides.
		if !refused(err) && (sc.Refusal() == nil || isTemporary(err)) {
			return fmt.Errorf("sign in to %s: %w", o.Server, err)
		}
		e := &TokenRejectedError{Server: o.Server, User: o.User, Mechanism: mech, Challenge: sc.Refusal(), Err: err}
		if rejected != nil {
			e.Retried = true
			return e
		}
		if !src.Rejected(tok) {
			return e
		}
		rejected = e
	}
}

// isIMAPRefusal: a go-imap tagged NO that is not about the server's load.
func isIMAPRefusal(err error) bool {
	var ie *imap.Error
	return errors.As(err, &ie) && ie.Type == imap.StatusResponseTypeNo && !isTemporary(err)
}

// isTemporary: a go-imap answer whose code says "not now" (RFC 5530):
// the server could not check the token, which a later try may fix.
func isTemporary(err error) bool {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return false
	}
	switch ie.Code {
	case imap.ResponseCodeUnavailable, imap.ResponseCodeInUse, imap.ResponseCodeLimit:
		return true
	}
	return false
}

func splitHostPort(addr string) (string, int) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}
