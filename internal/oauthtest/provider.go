// Package oauthtest runs a small OAuth 2.0 authorization server on
// 127.0.0.1 for tests: the authorization endpoint with a consent page an
// HTTP client can click through (RFC 6749 section 4.1, PKCE of RFC 7636),
// the token endpoint (authorization_code with PKCE, refresh_token, and the
// device_code grant of RFC 8628), the device authorization endpoint,
// token introspection (RFC 7662, what Dovecot's oauth2 passdb asks) and
// revocation (RFC 7009). Access tokens live as long as the test says, and
// a user's tokens can be revoked at once.
//
// It checks what a real provider checks (client ID, redirect URI, state
// is the client's business, PKCE verifier, one use per code, device code
// expiry and polling speed) so that the client under test cannot pass by
// being sloppy. It is no security boundary: everything is in memory and
// plain HTTP.
//
//	p := oauthtest.Start(t, oauthtest.Options{AccessLifetime: time.Minute})
//	p.AuthURL(), p.TokenURL(), p.DeviceURL(), p.IntrospectURL(), p.RevokeURL()
//	open := p.Browser(t, "tester")   // an oauth.BrowserOptions.Open that clicks "Allow"
//	p.ApproveDevice(userCode, "tester")
//	p.RevokeUser("tester")
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Provider. The zero value issues tokens that live an
// hour to the public client "mailferry-test" (no secret).
type Options struct {
	// ClientID is the one client the provider knows; default
	// "mailferry-test".
	ClientID string
	// ClientSecret, when set, must come with every token request (in the
	// body or as HTTP Basic, RFC 6749 section 2.3.1), like Google's
	// desktop clients.
	ClientSecret string
	// AccessLifetime is how long an access token lives; default one hour.
	AccessLifetime time.Duration
	// RotateRefresh issues a new refresh token on every refresh and
	// retires the old one, as Microsoft does.
	RotateRefresh bool
	// DeviceInterval is the polling interval the device endpoint asks
	// for, in whole seconds as RFC 8628 says; default 1.
	DeviceInterval int
	// DeviceLifetime is how long a device code stays valid; default ten
	// minutes.
	DeviceLifetime time.Duration
	// IntrospectionUser and IntrospectionPassword, when set, are required
	// as HTTP Basic credentials at the introspection endpoint (RFC 7662
	// section 2.1 says to protect it).
	IntrospectionUser, IntrospectionPassword string
	// Scope is the scope granted when a request names none.
	Scope string
}

// Provider is a running test authorization server.
type Provider struct {
	URL  string // http://127.0.0.1:port
	opts Options
	srv  *http.Server

	mu       sync.Mutex
	pending  map[string]*authRequest // consent page id -> request
	codes    map[string]*grant       // authorization code -> grant
	access   map[string]*issued      // access token -> issue
	refresh  map[string]*issued      // refresh token -> issue
	devices  map[string]*device      // device code -> device
	byUser   map[string]*device      // user code -> device
	counts   map[string]int          // endpoint -> requests
	requests []Request
	down     bool // introspection answers 503
	inactive int  // introspections answered {"active": false}
}

// Request is one request the provider answered, for assertions. Secrets
// in the form are replaced by "*".
type Request struct {
	Endpoint string
	Form     url.Values
	Status   int
}

type authRequest struct {
	clientID, redirectURI, state, challenge, method, scope, hint string
}

type grant struct {
	authRequest
	user string
	used bool
}

type issued struct {
	user, scope, clientID string
	expiry                time.Time
	revoked               bool
	family                string // the refresh token an access token came from
}

type device struct {
	code, userCode, scope string
	expiry                time.Time
	interval              time.Duration
	lastPoll              time.Time
	user                  string // set when approved
	denied, done          bool
}

// Start starts a provider on 127.0.0.1 for the test; t.Cleanup stops it.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = "mailferry-test"
	}
	if opts.AccessLifetime <= 0 {
		opts.AccessLifetime = time.Hour
	}
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = 1
	}
	if opts.DeviceLifetime <= 0 {
		opts.DeviceLifetime = 10 * time.Minute
	}
	if opts.Scope == "" {
		opts.Scope = "mail"
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oauthtest: listen: %v", err)
	}
	p := &Provider{
		URL:     "http://" + ln.Addr().String(),
		opts:    opts,
		pending: map[string]*authRequest{},
		codes:   map[string]*grant{},
		access:  map[string]*issued{},
		refresh: map[string]*issued{},
		devices: map[string]*device{},
		byUser:  map[string]*device{},
		counts:  map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/consent", p.consent)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/device", p.deviceAuthorization)
	mux.HandleFunc("/device/verify", p.deviceVerify)
	mux.HandleFunc("/introspect", p.introspect)
	mux.HandleFunc("/revoke", p.revoke)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

// Endpoint URLs.
func (p *Provider) AuthURL() string       { return p.URL + "/authorize" }
func (p *Provider) TokenURL() string      { return p.URL + "/token" }
func (p *Provider) DeviceURL() string     { return p.URL + "/device" }
func (p *Provider) IntrospectURL() string { return p.URL + "/introspect" }
func (p *Provider) RevokeURL() string     { return p.URL + "/revoke" }

// ClientID is the client the provider knows.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// SetAccessLifetime changes the lifetime of access tokens issued from now.
func (p *Provider) SetAccessLifetime(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opts.AccessLifetime = d
}

// Count returns how many requests an endpoint ("/token", "/introspect",
// ...) has answered.
func (p *Provider) Count(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[endpoint]
}

// InactiveIntrospections counts the introspections answered {"active":
// false}: tokens a server was shown and had to refuse.
func (p *Provider) InactiveIntrospections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inactive
}

// Requests returns the requests answered so far, oldest first.
func (p *Provider) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// RevokeUser revokes every access and refresh token of user, as an
// administrator or the user's "sign out everywhere" would.
func (p *Provider) RevokeUser(user string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range []map[string]*issued{p.access, p.refresh} {
		for _, is := range m {
			if is.user == user {
				is.revoked = true
			}
		}
	}
}

// ExpireAccess makes every access token issued so far expired, as if its
// lifetime had passed.
func (p *Provider) ExpireAccess() {
	p.mu.Lock()
	defer p.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, is := range p.access {
		is.expiry = past
	}
}

// SetIntrospectionDown makes the introspection endpoint answer 503 (true)
// or work again (false), as an authorization server that is down.
func (p *Provider) SetIntrospectionDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
}

// ActiveAccess reports whether tok is a live access token, and whose.
func (p *Provider) ActiveAccess(tok string) (user string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	is := p.access[tok]
	if is == nil || is.revoked || time.Now().After(is.expiry) {
		return "", false
	}
	return is.user, true
}

// IssueToken issues an access token for user directly (no flow), for
// tests of what happens with a token, such as a token command's output.
func (p *Provider) IssueToken(user string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	tok, _ := p.issueLocked(user, p.opts.Scope, p.opts.ClientID, "")
	return tok["access_token"].(string)
}

// ApproveDevice approves a device sign-in: the user typed userCode on the
// verification page and signed in as user. It reports whether the code
// was known and still valid.
func (p *Provider) ApproveDevice(userCode, user string) bool {
	return p.decideDevice(userCode, user, false)
}

// DenyDevice declines a device sign-in.
func (p *Provider) DenyDevice(userCode string) bool {
	return p.decideDevice(userCode, "", true)
}

func (p *Provider) decideDevice(userCode, user string, deny bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.byUser[strings.ToUpper(strings.TrimSpace(userCode))]
	if d == nil || d.done || time.Now().After(d.expiry) {
		return false
	}
	d.user, d.denied = user, deny
	return true
}

// randomString returns n random bytes, base64url: a valid RFC 6750 token.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// note records a request; secrets in the form are masked.
func (p *Provider) note(endpoint string, form url.Values, status int) {
	masked := url.Values{}
	for k, v := range form {
		switch k {
		case "code", "refresh_token", "token", "client_secret", "code_verifier", "device_code", "access_token":
			masked[k] = []string{"*"}
		default:
			masked[k] = v
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[endpoint]++
	p.requests = append(p.requests, Request{Endpoint: endpoint, Form: masked, Status: status})
}

// --- authorization endpoint and consent page -------------------------------

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ar := &authRequest{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), scope: q.Get("scope"),
		hint: q.Get("login_hint"),
	}
	status := http.StatusOK
	defer func() { p.note("/authorize", q, status) }()
	// RFC 6749 section 4.1.2.1: a bad client or redirect URI is shown to
	// the user, never redirected.
	if ar.clientID != p.opts.ClientID {
		status = http.StatusBadRequest
		http.Error(w, "unknown client_id", status)
		return
	}
	ru, err := url.Parse(ar.redirectURI)
	if err != nil || ru.Scheme != "http" || !loopbackHost(ru.Hostname()) {
		// RFC 8252 section 7.3: native apps redirect to the loopback
		// interface over http, on any port.
		status = http.StatusBadRequest
		http.Error(w, "redirect_uri must be a loopback http URI", status)
		return
	}
	if q.Get("response_type") != "code" {
		status = http.StatusFound
		redirectError(w, r, ar, "unsupported_response_type")
		return
	}
	if ar.challenge == "" || ar.method != "S256" {
		// RFC 7636 section 4.4.1: a server that requires PKCE answers
		// invalid_request.
		status = http.StatusFound
		redirectError(w, r, ar, "invalid_request")
		return
	}
	id := randomString(12)
	p.mu.Lock()
	p.pending[id] = ar
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><title>Sign in</title>
<form method="post" action="/consent">
<input type="hidden" name="request" value="%s">
<label>User <input name="user" value="%s"></label>
<p>mailferry-test wants to read and write your mail (%s).</p>
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button>
</form>`, id, html.EscapeString(ar.hint), html.EscapeString(ar.scope))
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func redirectError(w http.ResponseWriter, r *http.Request, ar *authRequest, code string) {
	v := url.Values{"error": {code}}
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	http.Redirect(w, r, ar.redirectURI+"?"+v.Encode(), http.StatusFound)
}

// consent is the form post of the consent page.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	_ = r.ParseForm()
	p.mu.Lock()
	ar := p.pending[r.PostForm.Get("request")]
	delete(p.pending, r.PostForm.Get("request"))
	p.mu.Unlock()
	if ar == nil {
		p.note("/consent", r.PostForm, http.StatusBadRequest)
		http.Error(w, "unknown or used sign-in request", http.StatusBadRequest)
		return
	}
	p.note("/consent", r.PostForm, http.StatusFound)
	if r.PostForm.Get("decision") != "allow" {
		redirectError(w, r, ar, "access_denied")
		return
	}
	user := strings.TrimSpace(r.PostForm.Get("user"))
	code := randomString(24)
	p.mu.Lock()
	p.codes[code] = &grant{authRequest: *ar, user: user}
	p.mu.Unlock()
	v := url.Values{"code": {code}}
	if ar.state != "" {
		v.Set("state", ar.state)
	}
	http.Redirect(w, r, ar.redirectURI+"?"+v.Encode(), http.StatusFound)
}

// --- token endpoint ---------------------------------------------------------

type tokenAnswer map[string]any

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := r.PostForm
	status, body := p.tokenAnswer(r, form)
	p.note("/token", form, status)
	writeJSON(w, status, body)
}

func (p *Provider) tokenAnswer(r *http.Request, form url.Values) (int, tokenAnswer) {
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, oauthError("invalid_request", "POST only")
	}
	clientID, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 section 2.3.1: Basic credentials are form-encoded first.
		clientID, _ = url.QueryUnescape(clientID)
		secret, _ = url.QueryUnescape(secret)
	} else {
		clientID, secret = form.Get("client_id"), form.Get("client_secret")
	}
	if clientID != p.opts.ClientID {
		return http.StatusUnauthorized, oauthError("invalid_client", "unknown client")
	}
	if p.opts.ClientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1 {
		return http.StatusUnauthorized, oauthError("invalid_client", "client authentication failed")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch form.Get("grant_type") {
	case "authorization_code":
		g := p.codes[form.Get("code")]
		if g == nil || g.used {
			if g != nil {
				// RFC 6749 section 4.1.2: a code used twice should revoke
				// what it gave; this provider only refuses.
				return http.StatusBadRequest, oauthError("invalid_grant", "authorization code already used")
			}
			return http.StatusBadRequest, oauthError("invalid_grant", "unknown authorization code")
		}
		g.used = true
		if form.Get("redirect_uri") != g.redirectURI {
			return http.StatusBadRequest, oauthError("invalid_grant", "redirect_uri differs from the authorization request")
		}
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			return http.StatusBadRequest, oauthError("invalid_grant", "PKCE verification failed")
		}
		scope := g.scope
		if scope == "" {
			scope = p.opts.Scope
		}
		tok, _ := p.issueLocked(g.user, scope, clientID, "")
		return http.StatusOK, tok
	case "refresh_token":
		rt := form.Get("refresh_token")
		is := p.refresh[rt]
		if is == nil || is.revoked || is.clientID != clientID {
			return http.StatusBadRequest, oauthError("invalid_grant", "refresh token is invalid, expired or revoked")
		}
		if p.opts.RotateRefresh {
			is.revoked = true
			tok, _ := p.issueLocked(is.user, is.scope, clientID, "")
			return http.StatusOK, tok
		}
		tok, _ := p.issueLocked(is.user, is.scope, clientID, rt)
		return http.StatusOK, tok
	case "urn:ietf:params:oauth:grant-type:device_code":
		d := p.devices[form.Get("device_code")]
		now := time.Now()
		switch {
		case d == nil || d.done:
			return http.StatusBadRequest, oauthError("invalid_grant", "unknown device code")
		case now.After(d.expiry):
			return http.StatusBadRequest, oauthError("expired_token", "the device code expired")
		case !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval-50*time.Millisecond:
			// RFC 8628 section 3.5: polling faster than the interval is
			// answered slow_down, and the interval grows by 5 seconds.
			d.lastPoll = now
			d.interval += 5 * time.Second
			return http.StatusBadRequest, oauthError("slow_down", "polling too fast")
		}
		d.lastPoll = now
		switch {
		case d.denied:
			d.done = true
			return http.StatusBadRequest, oauthError("access_denied", "the user declined")
		case d.user == "":
			return http.StatusBadRequest, oauthError("authorization_pending", "waiting for the user")
		}
		d.done = true
		tok, _ := p.issueLocked(d.user, d.scope, clientID, "")
		return http.StatusOK, tok
	}
	return http.StatusBadRequest, oauthError("unsupported_grant_type", form.Get("grant_type"))
}

// issueLocked issues an access token (and a refresh token unless
// keepRefresh names the one being used) for user.
func (p *Provider) issueLocked(user, scope, clientID, keepRefresh string) (tokenAnswer, string) {
	access := randomString(32)
	family := keepRefresh
	if family == "" {
		family = randomString(32)
		p.refresh[family] = &issued{user: user, scope: scope, clientID: clientID}
	}
	p.access[access] = &issued{user: user, scope: scope, clientID: clientID, expiry: time.Now().Add(p.opts.AccessLifetime), family: family}
	ans := tokenAnswer{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   int(p.opts.AccessLifetime.Round(time.Second) / time.Second),
		"scope":        scope,
	}
	if keepRefresh == "" {
		ans["refresh_token"] = family
	}
	return ans, access
}

func oauthError(code, desc string) tokenAnswer {
	return tokenAnswer{"error": code, "error_description": desc}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// --- device authorization ---------------------------------------------------

func (p *Provider) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := r.PostForm
	if r.Method != http.MethodPost || form.Get("client_id") != p.opts.ClientID {
		p.note("/device", form, http.StatusBadRequest)
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_client", "unknown client"))
		return
	}
	scope := form.Get("scope")
	if scope == "" {
		scope = p.opts.Scope
	}
	d := &device{
		code:     randomString(24),
		userCode: userCode(),
		scope:    scope,
		expiry:   time.Now().Add(p.opts.DeviceLifetime),
		interval: time.Duration(p.opts.DeviceInterval) * time.Second,
	}
	p.mu.Lock()
	p.devices[d.code] = d
	p.byUser[d.userCode] = d
	p.mu.Unlock()
	p.note("/device", form, http.StatusOK)
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               d.code,
		"user_code":                 d.userCode,
		"verification_uri":          p.URL + "/device/verify",
		"verification_uri_complete": p.URL + "/device/verify?user_code=" + d.userCode,
		"expires_in":                int(p.opts.DeviceLifetime / time.Second),
		"interval":                  p.opts.DeviceInterval,
	})
}

// userCode is eight letters without look-alikes, as RFC 8628 section 6.1
// suggests.
func userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// deviceVerify is the page the user opens: GET shows a form, POST with
// user_code, user and decision=allow|deny decides.
func (p *Provider) deviceVerify(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		code := r.PostForm.Get("user_code")
		var ok bool
		if r.PostForm.Get("decision") == "allow" {
			ok = p.ApproveDevice(code, strings.TrimSpace(r.PostForm.Get("user")))
		} else {
			ok = p.DenyDevice(code)
		}
		p.note("/device/verify", r.PostForm, http.StatusOK)
		if !ok {
			http.Error(w, "unknown or expired code", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, "Done. You may close this window.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><form method="post"><input name="user_code" value="%s"><input name="user">
<button name="decision" value="allow">Allow</button><button name="decision" value="deny">Deny</button></form>`,
		html.EscapeString(r.URL.Query().Get("user_code")))
}

// --- introspection and revocation -------------------------------------------

// introspect answers RFC 7662: {"active":true, "username":..., ...} for a
// live access token, {"active":false} for anything else.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := r.PostForm
	if p.opts.IntrospectionUser != "" {
		u, pw, ok := r.BasicAuth()
		if !ok || u != p.opts.IntrospectionUser || pw != p.opts.IntrospectionPassword {
			p.note("/introspect", form, http.StatusUnauthorized)
			w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
			writeJSON(w, http.StatusUnauthorized, oauthError("invalid_client", "introspection needs credentials"))
			return
		}
	}
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		p.note("/introspect", form, http.StatusServiceUnavailable)
		writeJSON(w, http.StatusServiceUnavailable, oauthError("temporarily_unavailable", "down for the test"))
		return
	}
	if r.Method != http.MethodPost {
		p.note("/introspect", form, http.StatusMethodNotAllowed)
		writeJSON(w, http.StatusMethodNotAllowed, oauthError("invalid_request", "POST only"))
		return
	}
	tok := form.Get("token")
	p.mu.Lock()
	is := p.access[tok]
	active := is != nil && !is.revoked && time.Now().Before(is.expiry)
	var body map[string]any
	if active {
		body = map[string]any{
			"active": true, "username": is.user, "email": is.user, "scope": is.scope,
			"client_id": is.clientID, "token_type": "Bearer", "exp": is.expiry.Unix(),
		}
	} else {
		body = map[string]any{"active": false}
		p.inactive++
	}
	p.mu.Unlock()
	p.note("/introspect", form, http.StatusOK)
	writeJSON(w, http.StatusOK, body)
}

// revoke answers RFC 7009: the token (access or refresh) is revoked;
// revoking a refresh token revokes the access tokens it gave. Unknown
// tokens are answered 200 too (section 2.2).
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := r.PostForm
	tok := form.Get("token")
	p.mu.Lock()
	if is := p.access[tok]; is != nil {
		is.revoked = true
	}
	if is := p.refresh[tok]; is != nil {
		is.revoked = true
		for _, a := range p.access {
			if a.family == tok {
				a.revoked = true
			}
		}
	}
	p.mu.Unlock()
	p.note("/revoke", form, http.StatusOK)
	w.WriteHeader(http.StatusOK)
}
