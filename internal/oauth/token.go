package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Token is what a token endpoint grants. Access is sent to the IMAP server;
// Refresh (when the provider gave one) gets the next Access without the
// user.
type Token struct {
	Access  Secret
	Refresh Secret
	// Expiry is when Access stops working; zero when the provider did not
	// say (then it is used until a server refuses it).
	Expiry time.Time
	// Scope is what the provider granted, space separated, as it said it
	// ("" when it did not say).
	Scope string
}

// expiresWithin reports whether the access token is missing or ends within
// d of now.
func (t *Token) expiresWithin(now time.Time, d time.Duration) bool {
	if t == nil || t.Access.IsZero() {
		return true
	}
	return !t.Expiry.IsZero() && !now.Add(d).Before(t.Expiry)
}

// ErrorCode is an OAuth 2.0 error code from a token or device authorization
// endpoint (RFC 6749 section 5.2, RFC 8628 section 3.5).
type ErrorCode string

// The error codes mailferry acts on; others are carried as they come.
const (
	ErrInvalidGrant         ErrorCode = "invalid_grant" // code or refresh token expired, revoked or not for this client
	ErrInvalidClient        ErrorCode = "invalid_client"
	ErrInvalidScope         ErrorCode = "invalid_scope"
	ErrUnauthorizedClient   ErrorCode = "unauthorized_client"
	ErrAccessDenied         ErrorCode = "access_denied" // the user said no
	ErrAuthorizationPending ErrorCode = "authorization_pending"
	ErrSlowDown             ErrorCode = "slow_down"
	ErrExpiredToken         ErrorCode = "expired_token" // the device code expired
)

// EndpointError is an error answer of a token, device authorization or
// revocation endpoint. Code is "" when the answer was not an OAuth error
// document (an HTML error page, a proxy's 502).
type EndpointError struct {
	Endpoint    string // the endpoint's URL, without query
	Status      int    // HTTP status
	Code        ErrorCode
	Description string // error_description, as the provider wrote it
}

func (e *EndpointError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s answered HTTP %d", e.Endpoint, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	return b.String()
}

// maxResponse bounds what is read from an endpoint.
const maxResponse = 1 << 20

// tokenResponse is RFC 6749 section 5.1. expires_in is a number, but some
// providers have sent it as a string; flexibleSeconds takes both.
type tokenResponse struct {
	AccessToken  string          `json:"access_token"`
	TokenType    string          `json:"token_type"`
	ExpiresIn    flexibleSeconds `json:"expires_in"`
	RefreshToken string          `json:"refresh_token"`
	Scope        string          `json:"scope"`
}

type flexibleSeconds int64

func (f *flexibleSeconds) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 || n > 1<<40 {
		return fmt.Errorf("expires_in %s is not a number of seconds", b)
	}
	*f = flexibleSeconds(n)
	return nil
}

// endpointClient posts forms to an OAuth endpoint.
type endpointClient struct {
	http *http.Client
	now  func() time.Time
}

func (c endpointClient) client() *http.Client {
	if c.http == nil {
		return http.DefaultClient
	}
	return c.http
}

// postForm posts form to endpoint and returns the JSON body of a 2xx
// answer, or an *EndpointError.
func (c endpointClient) postForm(ctx context.Context, endpoint string, form url.Values) ([]byte, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	shown := u.Scheme + "://" + u.Host + u.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// *url.Error carries the URL, whose query never holds a secret here
		// (everything secret is in the body).
		return nil, fmt.Errorf("%s: %w", shown, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", shown, err)
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("%s: answer larger than %d bytes", shown, maxResponse)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return body, nil
	}
	e := &EndpointError{Endpoint: shown, Status: resp.StatusCode}
	var doc struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case ct == "application/x-www-form-urlencoded":
		if v, err := url.ParseQuery(string(body)); err == nil {
			doc.Error, doc.Description = v.Get("error"), v.Get("error_description")
		}
	default:
		_ = json.Unmarshal(body, &doc) // not JSON: the status says enough
	}
	e.Code, e.Description = ErrorCode(doc.Error), oneLine(doc.Description)
	return nil, e
}

// token posts a token request (RFC 6749 sections 4.1.3 and 6, RFC 8628
// section 3.4) and parses the answer. old, when not nil, is the token being
// refreshed: its refresh token is kept when the provider sends no new one
// (RFC 6749 section 6 allows both).
func (c endpointClient) token(ctx context.Context, endpoint string, form url.Values, old *Token) (*Token, error) {
	body, err := c.postForm(ctx, endpoint, form)
	if err != nil {
		return nil, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("%s: token answer is not JSON: %v", endpoint, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("%s: token answer has no access_token", endpoint)
	}
	if tt := strings.ToLower(tr.TokenType); tt != "" && tt != "bearer" {
		return nil, fmt.Errorf("%s: token type %q is not Bearer, which IMAP needs", endpoint, tr.TokenType)
	}
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	tok := &Token{Access: NewSecret(tr.AccessToken), Refresh: NewSecret(tr.RefreshToken), Scope: tr.Scope}
	if tr.ExpiresIn > 0 {
		tok.Expiry = now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if old != nil {
		if tok.Refresh.IsZero() {
			tok.Refresh = old.Refresh
		}
		if tok.Scope == "" {
			tok.Scope = old.Scope
		}
	}
	return tok, nil
}

// oneLine keeps the first line of a provider's text, bounded, so that it
// can go into an error message.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// isCode reports whether err is an EndpointError with code c.
func isCode(err error, c ErrorCode) bool {
	var e *EndpointError
	return errors.As(err, &e) && e.Code == c
}
