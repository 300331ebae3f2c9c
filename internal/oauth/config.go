package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client is a registered OAuth client: an app registration in Microsoft
// Entra, an OAuth client of type "Desktop app" in Google Cloud. mailferry
// ships none of its own (another program's client ID must not be borrowed);
// the user, a support desk or whoever distributes mailferry registers one.
type Client struct {
	ID string
	// Secret is empty for public clients (Microsoft's "Allow public client
	// flows"); Google's desktop clients have one, which Google does not
	// treat as confidential but still requires at the token endpoint.
	Secret Secret
}

// Config is what getting tokens for one provider needs.
type Config struct {
	Provider Provider
	Client   Client
	// HTTP is the client for the provider's endpoints; nil means
	// http.DefaultClient.
	HTTP *http.Client

	// now is time.Now; tests replace it.
	now func() time.Time
}

// Sign-in outcomes that code branches on. They wrap the provider's
// *EndpointError (or the redirect's error) where there is one.
var (
	// ErrDenied: the user declined (access_denied).
	ErrDenied = errors.New("the sign-in was declined")
	// ErrSignInExpired: the user did not finish in time (device code
	// expired, or the browser sign-in's wait ran out).
	ErrSignInExpired = errors.New("the sign-in was not finished in time")
	// ErrSignInAgain: the refresh token no longer works (revoked, expired,
	// password changed, or issued to another client); only a new sign-in
	// helps.
	ErrSignInAgain = errors.New("the stored sign-in no longer works; sign in again")
	// ErrNoClientID: no client ID was given for the provider.
	ErrNoClientID = errors.New("no OAuth client ID")
	// ErrNoDeviceFlow: the provider has no device flow for mail.
	ErrNoDeviceFlow = errors.New("the device sign-in is not available")
)

func (c *Config) timeNow() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *Config) endpoint() endpointClient { return endpointClient{http: c.HTTP, now: c.now} }

func (c *Config) check() error {
	if c.Client.ID == "" {
		return fmt.Errorf("%w for %s (--oauth2-client-id; docs/oauth.md says how to register one)", ErrNoClientID, c.Provider.Name)
	}
	if c.Provider.TokenURL == "" {
		return fmt.Errorf("no token endpoint for %s", c.Provider.Name)
	}
	return nil
}

// clientForm adds the client's credentials to a token request. RFC 6749
// section 2.3.1 allows them in the body; Microsoft and Google take them
// there, and a public client has only its ID to send.
func (c *Config) clientForm(v url.Values) url.Values {
	v.Set("client_id", c.Client.ID)
	if !c.Client.Secret.IsZero() {
		v.Set("client_secret", c.Client.Secret.Reveal())
	}
	return v
}

func (c *Config) scope() string { return strings.Join(c.Provider.Scopes, " ") }

// Refresh trades tok's refresh token for a new access token (RFC 6749
// section 6). The result keeps tok's refresh token unless the provider
// sent a new one (Microsoft rotates them: store the result). A refused
// refresh token is ErrSignInAgain wrapping the provider's answer.
func (c *Config) Refresh(ctx context.Context, tok *Token) (*Token, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if tok == nil || tok.Refresh.IsZero() {
		return nil, fmt.Errorf("%w: no refresh token (the provider gave none)", ErrSignInAgain)
	}
	form := c.clientForm(url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tok.Refresh.Reveal()},
	})
	// Microsoft's v2.0 endpoint wants the scope again; others ignore it.
	if s := c.scope(); s != "" {
		form.Set("scope", s)
	}
	nt, err := c.endpoint().token(ctx, c.Provider.TokenURL, form, tok)
	if err != nil {
		if isCode(err, ErrInvalidGrant) {
			return nil, fmt.Errorf("%w: %w", ErrSignInAgain, err)
		}
		return nil, fmt.Errorf("refresh the access token: %w", err)
	}
	return nt, nil
}

// Revoke asks the provider to revoke tok's refresh token (RFC 7009), for
// "mailferry logout". Providers without a revocation endpoint (Microsoft:
// a user revokes an app's access in the account's settings) are not asked;
// revoked then reports false.
func (c *Config) Revoke(ctx context.Context, tok *Token) (revoked bool, err error) {
	if c.Provider.RevokeURL == "" || tok == nil {
		return false, nil
	}
	t, hint := tok.Refresh, "refresh_token"
	if t.IsZero() {
		t, hint = tok.Access, "access_token"
	}
	if t.IsZero() {
		return false, nil
	}
	form := c.clientForm(url.Values{"token": {t.Reveal()}, "token_type_hint": {hint}})
	if _, err := c.endpoint().postForm(ctx, c.Provider.RevokeURL, form); err != nil {
		return false, fmt.Errorf("revoke the sign-in: %w", err)
	}
	return true, nil
}

// randomToken returns n random bytes in base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// pkce returns an RFC 7636 code verifier (32 random bytes: 43 characters,
// section 4.1) and its S256 challenge (section 4.2).
func pkce() (verifier, challenge string, err error) {
	verifier, err = randomToken(32)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
