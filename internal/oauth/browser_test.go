package oauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailferry/internal/oauthtest"
)

// testProvider is a Provider pointing at a test authorization server.
func testProvider(p *oauthtest.Provider) Provider {
	return Provider{Kind: KindOther, Name: "Test", AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), DeviceAuthURL: p.DeviceURL(),
		RevokeURL: p.RevokeURL(), Scopes: []string{"mail"}, RedirectHost: "127.0.0.1"}
}

func TestSignInBrowser(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{ClientSecret: "desktop-secret"})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID(), Secret: NewSecret("desktop-secret")}}
	open, visits := p.Browser(t, "tester", true)
	var out bytes.Buffer
	tok, err := cfg.SignInBrowser(context.Background(), BrowserOptions{Open: open, Out: &out, LoginHint: "tester", Timeout: time.Minute})
	if err != nil {
		t.Fatalf("SignInBrowser: %v\n%s", err, out.String())
	}
	if user, ok := p.ActiveAccess(tok.Access.Reveal()); !ok || user != "tester" || tok.Refresh.IsZero() || tok.Expiry.IsZero() {
		t.Errorf("token = %+v (active %v for %q), want a live token for tester with refresh token and expiry", tok, ok, user)
	}
	v := <-visits
	if v.Err != nil || v.Status != http.StatusOK || !strings.Contains(v.Page, "you may close this browser tab") {
		t.Errorf("the browser saw %d %q (%v), want the page saying it may be closed", v.Status, v.Page, v.Err)
	}
	if !strings.Contains(out.String(), p.AuthURL()+"?") {
		t.Errorf("the address was not printed for copying: %q", out.String())
	}
	// The authorization request carried PKCE S256 and the login hint; the
	// token request the verifier and the client secret (the provider
	// checked both, or it would not have issued the token).
	var auth url.Values
	for _, r := range p.Requests() {
		if r.Endpoint == "/authorize" {
			auth = r.Form
		}
	}
	if auth.Get("code_challenge_method") != "S256" || len(auth.Get("code_challenge")) != 43 || auth.Get("login_hint") != "tester" ||
		!strings.HasPrefix(auth.Get("redirect_uri"), "http://127.0.0.1:") || auth.Get("state") == "" {
		t.Errorf("authorization request = %v", auth)
	}
}

// The user clicks "Deny": ErrDenied, and the browser says to go back.
func TestSignInBrowserDenied(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	open, visits := p.Browser(t, "tester", false)
	_, err := cfg.SignInBrowser(context.Background(), BrowserOptions{Open: open, Timeout: time.Minute})
	if !errors.Is(err, ErrDenied) {
		t.Fatalf("SignInBrowser after Deny: %v, want ErrDenied", err)
	}
	var ee *EndpointError
	if !errors.As(err, &ee) || ee.Code != ErrAccessDenied {
		t.Errorf("error %v does not carry access_denied", err)
	}
	if v := <-visits; !strings.Contains(v.Page, "did not work") {
		t.Errorf("the browser saw %q", v.Page)
	}
}

// A request to the loopback listener without the right state (another
// page, an attacker's link) is refused and the sign-in goes on.
func TestSignInBrowserWrongState(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	realOpen, visits := p.Browser(t, "tester", true)
	injected := make(chan int, 1)
	open := func(authURL string) error {
		u, _ := url.Parse(authURL)
		redirect := u.Query().Get("redirect_uri")
		go func() {
			resp, err := http.Get(redirect + "/?code=stolen&state=wrong")
			if err != nil {
				injected <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			injected <- resp.StatusCode
			_ = realOpen(authURL)
		}()
		return nil
	}
	tok, err := cfg.SignInBrowser(context.Background(), BrowserOptions{Open: open, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("SignInBrowser: %v", err)
	}
	if code := <-injected; code != http.StatusBadRequest {
		t.Errorf("answer with the wrong state: HTTP %d, want 400", code)
	}
	if _, ok := p.ActiveAccess(tok.Access.Reveal()); !ok {
		t.Error("the real answer did not give a token")
	}
	<-visits
}

// Nobody answers: ErrSignInExpired after the timeout; a cancelled ctx ends
// the wait with ctx's error.
func TestSignInBrowserNoAnswer(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	failOpen := func(string) error { return errors.New("no browser here") }
	var out bytes.Buffer
	if _, err := cfg.SignInBrowser(context.Background(), BrowserOptions{Open: failOpen, Out: &out, Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrSignInExpired) {
		t.Errorf("SignInBrowser without an answer: %v, want ErrSignInExpired", err)
	}
	if !strings.Contains(out.String(), "Could not open a browser") {
		t.Errorf("no word about the browser that did not open: %q", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cfg.SignInBrowser(ctx, BrowserOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("SignInBrowser with a cancelled ctx: %v", err)
	}
	if _, err := (&Config{Provider: testProvider(p)}).SignInBrowser(ctx, BrowserOptions{}); !errors.Is(err, ErrNoClientID) {
		t.Errorf("SignInBrowser without a client ID: %v", err)
	}
}
