package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
)

// Mechanism is a SASL mechanism that carries an OAuth 2.0 bearer token.
type Mechanism string

const (
	// OAuthBearer is RFC 7628's OAUTHBEARER: a GS2 header with the user,
	// then host, port and "auth=Bearer <token>" separated by ^A.
	OAuthBearer Mechanism = "OAUTHBEARER"
	// XOAuth2 is the older mechanism Google and Microsoft defined before
	// the RFC: "user=<user>^Aauth=Bearer <token>^A^A". Microsoft's IMAP
	// servers offer only this one.
	XOAuth2 Mechanism = "XOAUTH2"
)

// ErrNoOAuthMechanism means the server announces neither AUTH=OAUTHBEARER
// nor AUTH=XOAUTH2: it does not take OAuth tokens over IMAP.
var ErrNoOAuthMechanism = errors.New("the server offers no OAuth sign-in (neither AUTH=OAUTHBEARER nor AUTH=XOAUTH2)")

// ChooseMechanism picks the mechanism from the server's capabilities: has
// reports whether a capability such as "AUTH=XOAUTH2" is announced
// (compared without regard to case by both go-imap and upload/bulk).
//
// OAUTHBEARER is preferred where offered: it is the standard (RFC 7628),
// it escapes the user name (RFC 5801) and defines how a refused token ends
// the exchange; Dovecot's documentation calls it the preferred one, and
// Gmail accepts both. XOAUTH2 is used where it is the only one, which is
// the case with Microsoft 365 and Outlook.com (outlook.office365.com
// announces AUTH=PLAIN AUTH=XOAUTH2).
func ChooseMechanism(has func(capability string) bool) (Mechanism, error) {
	switch {
	case has("AUTH=" + string(OAuthBearer)):
		return OAuthBearer, nil
	case has("AUTH=" + string(XOAuth2)):
		return XOAuth2, nil
	}
	return "", ErrNoOAuthMechanism
}

// Challenge is the error document a server sends as a SASL challenge when
// it refuses a token: RFC 7628 section 3.2.2 for OAUTHBEARER, and the same
// JSON for XOAUTH2 (Google's documentation of XOAUTH2). Status is "401"
// (Google, Dovecot's XOAUTH2) or an RFC 6750 error code such as
// "invalid_token".
type Challenge struct {
	Status              string `json:"status"`
	Schemes             string `json:"schemes,omitempty"`
	Scope               string `json:"scope,omitempty"`
	OpenIDConfiguration string `json:"openid-configuration,omitempty"`
}

// parseChallenge decodes a server's error challenge. Status is required
// (RFC 7628 section 3.2.2); a challenge that is not such a document is an
// error.
func parseChallenge(b []byte) (*Challenge, error) {
	var c Challenge
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("the server's challenge is not an OAuth error document: %v", err)
	}
	if c.Status == "" {
		return nil, errors.New(`the server's challenge has no "status"`)
	}
	return &c, nil
}

// SASLClient is a sasl.Client for OAUTHBEARER or XOAUTH2 with one token.
//
// When the server refuses the token it sends an error challenge; the client
// answers it as the mechanism requires (a single %x01 for OAUTHBEARER, RFC
// 7628 section 3.2.3; an empty response for XOAUTH2, as Google documents)
// so that the server ends the command with a tagged NO and the connection
// stays usable, and keeps the decoded challenge for Refusal. (go-sasl's
// OAUTHBEARER client instead returns an error from Next, which leaves
// go-imap's AUTHENTICATE waiting on a server that waits for the client.)
//
// The token is revealed only into the initial response.
type SASLClient struct {
	mech  Mechanism
	user  string
	token Secret
	host  string
	port  int

	mu        sync.Mutex
	challenge *Challenge
	answered  bool
}

// NewSASLClient returns a client logging in as user with token. host and
// port are the server's, for OAUTHBEARER's host and port fields (optional
// there: "" and 0 leave them out); XOAUTH2 ignores them.
func NewSASLClient(mech Mechanism, user string, token Secret, host string, port int) *SASLClient {
	return &SASLClient{mech: mech, user: user, token: token, host: host, port: port}
}

var _ sasl.Client = (*SASLClient)(nil)

// Start returns the initial response (sent with SASL-IR or after the
// server's empty challenge).
func (c *SASLClient) Start() (string, []byte, error) {
	if strings.ContainsAny(c.user, "\x00\x01\r\n") {
		return "", nil, fmt.Errorf("user name %q has control characters a SASL OAuth response cannot carry", c.user)
	}
	tok := c.token.Reveal()
	if tok == "" {
		return "", nil, errors.New("no access token")
	}
	// RFC 6750 section 2.1 makes a bearer token printable ASCII without
	// spaces (b64token); a space or control character would break the
	// ^A framing (and means a token command printed something else).
	// Providers' tokens stay within b64token; only what breaks the framing
	// is refused, in case one does not.
	for _, r := range tok {
		if r <= ' ' || r == 0x7f {
			return "", nil, errors.New("the access token has spaces or control characters, which a bearer token cannot have; is the token command printing something else?")
		}
	}
	var b strings.Builder
	switch c.mech {
	case OAuthBearer:
		// gs2-header: no channel binding ("n"), authzid "a=user" with ","
		// and "=" escaped as RFC 5801 section 4 says.
		b.WriteString("n,")
		if c.user != "" {
			b.WriteString("a=")
			b.WriteString(strings.NewReplacer("=", "=3D", ",", "=2C").Replace(c.user))
		}
		b.WriteString(",\x01")
		if c.host != "" {
			b.WriteString("host=" + c.host + "\x01")
		}
		if c.port > 0 {
			b.WriteString("port=" + strconv.Itoa(c.port) + "\x01")
		}
		b.WriteString("auth=Bearer " + tok + "\x01\x01")
	case XOAuth2:
		b.WriteString("user=" + c.user + "\x01auth=Bearer " + tok + "\x01\x01")
	default:
		return "", nil, fmt.Errorf("unknown OAuth mechanism %q", c.mech)
	}
	return string(c.mech), []byte(b.String()), nil
}

// Next answers a server challenge. The only challenge these mechanisms
// define after the initial response is the error document.
func (c *SASLClient) Next(challenge []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answered {
		return nil, errors.New("the server sent another challenge after its error document")
	}
	ch, err := parseChallenge(challenge)
	if err != nil {
		return nil, err
	}
	c.challenge, c.answered = ch, true
	if c.mech == OAuthBearer {
		return []byte{0x01}, nil
	}
	return []byte{}, nil
}

// Refusal returns the error document the server sent, or nil when it sent
// none (success, or a plain NO such as Microsoft's "AUTHENTICATE failed.").
func (c *SASLClient) Refusal() *Challenge {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.challenge
}

// TokenRejectedError means the IMAP server refused the access token:
// expired, revoked, for another user or without the mail permission. It
// wraps the server's answer (a go-imap *imap.Error, or what the caller's
// IMAP client returned).
type TokenRejectedError struct {
	Server    string // host:port
	User      string
	Mechanism Mechanism
	// Challenge is the server's error document, nil when it answered with
	// a plain NO.
	Challenge *Challenge
	// Retried is set when a fresh token was refused as well.
	Retried bool
	// Err is the server's answer.
	Err error
	// Refresh is why no fresh token could be had after the refusal (it
	// wraps ErrSignInAgain when the provider refused the refresh token),
	// nil when none was asked for.
	Refresh error
}

func (e *TokenRejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s did not accept the sign-in for %s (%s", e.Server, e.User, e.Mechanism)
	if e.Challenge != nil {
		fmt.Fprintf(&b, ", status %s", e.Challenge.Status)
		if e.Challenge.Scope != "" {
			fmt.Fprintf(&b, ", wants scope %q", e.Challenge.Scope)
		}
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %s", serverText(e.Err))
	}
	b.WriteString("): ")
	if e.Refresh != nil {
		fmt.Fprintf(&b, "and a fresh token could not be had (%v); ", e.Refresh)
	}
	if e.Retried {
		b.WriteString("a freshly refreshed token was refused too, so the permission itself is gone or wrong; ")
	} else {
		b.WriteString("the token has expired, was revoked, or lacks the IMAP permission; ")
	}
	b.WriteString("sign in again (mailferry logout, then --oauth2), and make sure to sign in as " + e.User)
	return b.String()
}

// Unwrap gives the server's answer and the refresh's error.
func (e *TokenRejectedError) Unwrap() []error {
	if e.Refresh == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Refresh}
}

// serverText is the server's words from an IMAP error, else the error.
func serverText(err error) string {
	var ie *imap.Error
	if errors.As(err, &ie) {
		s := strings.TrimSpace(ie.Text)
		if ie.Code != "" {
			s = "[" + string(ie.Code) + "] " + s
		}
		return string(ie.Type) + " " + s
	}
	return err.Error()
}
