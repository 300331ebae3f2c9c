package oauth_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/dovecottest"
	"mailferry/internal/oauth"
	"mailferry/internal/oauthtest"
)

// End to end: a real Dovecot checking tokens by introspection at the test
// provider, go-imap's client, and this package's sign-ins.

// setup starts a provider and a Dovecot that asks it about tokens.
func setup(t *testing.T, po oauthtest.Options, o2 dovecottest.OAuth2) (*oauthtest.Provider, *dovecottest.Server) {
	t.Helper()
	po.IntrospectionUser, po.IntrospectionPassword = "dovecot", "introspection-secret"
	p := oauthtest.Start(t, po)
	o2.IntrospectionURL = p.IntrospectURL()
	o2.IntrospectionUser, o2.IntrospectionPassword = po.IntrospectionUser, po.IntrospectionPassword
	// No pause after a failed login, and no growing penalty for the
	// address with failed logins (Dovecot exempts trusted networks): the
	// tests fail logins on purpose, all from 127.0.0.1.
	srv := dovecottest.Start(t, dovecottest.Config{OAuth2: &o2, ExtraConfig: "auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.0/8"})
	return p, srv
}

func provider(p *oauthtest.Provider) *oauth.Provider {
	return &oauth.Provider{Kind: oauth.KindOther, Name: "Test", AuthURL: p.AuthURL(), TokenURL: p.TokenURL(),
		DeviceAuthURL: p.DeviceURL(), RevokeURL: p.RevokeURL(), Scopes: []string{"mail"}, RedirectHost: "127.0.0.1"}
}

// connect dials srv and logs in with src; hide names mechanisms to hide
// from the capability list (to force XOAUTH2). It proves the login by
// selecting INBOX.
func connect(t *testing.T, srv *dovecottest.Server, src oauth.TokenSource, hide ...string) error {
	t.Helper()
	c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	has := func(cp string) bool {
		for _, h := range hide {
			if strings.EqualFold(cp, "AUTH="+h) {
				return false
			}
		}
		return c.Caps().Has(imap.Cap(cp))
	}
	err = oauth.Login(context.Background(), src, oauth.LoginOptions{User: srv.User, Server: srv.TLSAddr, Has: has, Authenticate: c.Authenticate})
	if err != nil {
		return err
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatalf("SELECT after login: %v", err)
	}
	return nil
}

// The browser sign-in, kept with --remember, logs in with both mechanisms;
// the next run uses the kept sign-in without a browser.
func TestDovecotBrowserSignIn(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{RotateRefresh: true}, dovecottest.OAuth2{})
	store := &oauth.FileStore{Dir: filepath.Join(t.TempDir(), "oauth")}
	open, visits := p.Browser(t, srv.User, true)
	si := &oauth.SignIn{Email: srv.User, Flags: oauth.Flags{Browser: true, Remember: true}, Provider: provider(p),
		Client: oauth.Client{ID: p.ClientID()}, Store: store, Open: open}
	src, err := si.Source(context.Background())
	if err != nil {
		t.Fatalf("Source: %v", err)
	}
	<-visits
	if err := connect(t, srv, src); err != nil {
		t.Errorf("OAUTHBEARER login: %v", err)
	}
	if err := connect(t, srv, src, "OAUTHBEARER"); err != nil {
		t.Errorf("XOAUTH2 login: %v", err)
	}
	if _, err := store.Load(srv.User); err != nil {
		t.Fatalf("the sign-in was not kept: %v", err)
	}

	// The next run: no browser.
	si2 := &oauth.SignIn{Email: srv.User, Flags: oauth.Flags{Browser: true}, Provider: provider(p), Client: oauth.Client{ID: p.ClientID()}, Store: store,
		Open: func(string) error { t.Error("the browser was opened although a sign-in was kept"); return nil }}
	src2, err := si2.Source(context.Background())
	if err != nil {
		t.Fatalf("Source with a kept sign-in: %v", err)
	}
	if err := connect(t, srv, src2); err != nil {
		t.Errorf("login with the kept sign-in: %v", err)
	}
	// Microsoft-style rotation: the kept refresh token is the newest one.
	rec, _ := store.Load(srv.User)
	if cur := src2.(*oauth.RefreshingSource).Current(); !rec.Refresh.Equal(cur.Refresh) {
		t.Error("the rotated refresh token was not kept")
	}
}

func TestDovecotDeviceSignIn(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{}, dovecottest.OAuth2{})
	var shown oauth.DeviceCode
	si := &oauth.SignIn{Email: srv.User, Flags: oauth.Flags{Device: true}, Provider: provider(p), Client: oauth.Client{ID: p.ClientID()},
		Device: func(dc oauth.DeviceCode) {
			shown = dc
			// The user types the code on another device a moment later.
			go func() {
				time.Sleep(300 * time.Millisecond)
				if !p.ApproveDevice(dc.UserCode, srv.User) {
					t.Errorf("ApproveDevice(%s) = false", dc.UserCode)
				}
			}()
		}}
	src, err := si.Source(context.Background())
	if err != nil {
		t.Fatalf("Source: %v", err)
	}
	if shown.UserCode == "" || !strings.HasPrefix(shown.VerificationURI, p.URL) {
		t.Errorf("device code shown = %+v", shown)
	}
	if err := connect(t, srv, src); err != nil {
		t.Errorf("login: %v", err)
	}
}

// A token command's token logs in; once revoked, the login ends with
// TokenRejectedError after the command was asked again; a new token from
// the command works without restarting.
func TestDovecotTokenCommand(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{}, dovecottest.OAuth2{})
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	first := p.IssueToken(srv.User)
	os.WriteFile(tokenFile, []byte(first+"\n"), 0o600)
	cmdPath := filepath.Join(dir, "get-token")
	if err := os.WriteFile(cmdPath, []byte("#!/bin/sh\ncat \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	si := &oauth.SignIn{Email: srv.User, Flags: oauth.Flags{TokenCommand: cmdPath + " '" + tokenFile + "'"}}
	src, err := si.Source(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := connect(t, srv, src); err != nil {
		t.Fatalf("login: %v", err)
	}
	p.RevokeUser(srv.User)
	err = connect(t, srv, src)
	var tr *oauth.TokenRejectedError
	if !errors.As(err, &tr) || !tr.Retried || tr.Challenge == nil || tr.Challenge.Status != "invalid_token" {
		t.Fatalf("login with a revoked token: %v, want a TokenRejectedError after a retry with status invalid_token", err)
	}
	if strings.Contains(err.Error(), first) || strings.Contains(fmt.Sprintf("%+v", tr), first) {
		t.Errorf("the error shows the token: %v", err)
	}
	os.WriteFile(tokenFile, []byte(p.IssueToken(srv.User)+"\n"), 0o600)
	if err := connect(t, srv, src); err != nil {
		t.Errorf("login with the command's new token: %v", err)
	}
}

// An access token that expired (here: the provider expired it early) is
// refused, refreshed and the login goes through on the same connection;
// one that is about to expire is refreshed before it is used.
func TestDovecotExpiredTokenRefreshed(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{AccessLifetime: time.Hour}, dovecottest.OAuth2{})
	cfg := &oauth.Config{Provider: *provider(p), Client: oauth.Client{ID: p.ClientID()}}
	tok := browserSignIn(t, p, cfg, srv.User)
	src := oauth.NewSource(cfg, tok, oauth.SourceOptions{Margin: time.Second})
	if err := connect(t, srv, src); err != nil {
		t.Fatalf("login: %v", err)
	}
	p.ExpireAccess()
	for _, hide := range [][]string{nil, {"OAUTHBEARER"}} {
		if err := connect(t, srv, src, hide...); err != nil {
			t.Fatalf("login after expiry (hiding %v): %v", hide, err)
		}
		p.ExpireAccess()
	}
	if n := refreshes(p); n != 2 {
		t.Errorf("%d refreshes, want 2 (one per refused token)", n)
	}

	// Short-lived tokens: refreshed ahead of expiry, no refused login.
	// (Not after a refusal on the same connection: Dovecot answers the
	// second AUTHENTICATE of a connection seconds later, longer than such
	// a token lives.)
	p.SetAccessLifetime(4 * time.Second)
	short, err := cfg.Refresh(context.Background(), src.Current())
	if err != nil {
		t.Fatal(err)
	}
	src = oauth.NewSource(cfg, short, oauth.SourceOptions{Margin: 3 * time.Second})
	if err := connect(t, srv, src); err != nil {
		t.Fatal(err)
	}
	before, beforeRefreshes := introspectionsRefused(p), refreshes(p)
	time.Sleep(1500 * time.Millisecond) // now within the 3 s margin
	if err := connect(t, srv, src); err != nil {
		t.Fatalf("login near expiry: %v", err)
	}
	if introspectionsRefused(p) != before || refreshes(p) != beforeRefreshes+1 {
		t.Error("the token near its expiry was sent instead of refreshed first")
	}
}

// browserSignIn signs user in through the test browser.
func browserSignIn(t *testing.T, p *oauthtest.Provider, cfg *oauth.Config, user string) *oauth.Token {
	t.Helper()
	open, visits := p.Browser(t, user, true)
	tok, err := cfg.SignInBrowser(context.Background(), oauth.BrowserOptions{Open: open, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("SignInBrowser: %v", err)
	}
	<-visits
	return tok
}

func refreshes(p *oauthtest.Provider) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Endpoint == "/token" && r.Form.Get("grant_type") == "refresh_token" && r.Status == 200 {
			n++
		}
	}
	return n
}

// introspectionsRefused counts introspections of tokens that were not
// active, from the provider's record of its answers.
func introspectionsRefused(p *oauthtest.Provider) int { return p.InactiveIntrospections() }

// A sign-in revoked at the provider ("sign out everywhere"): the server
// refuses the token, the refresh is refused too, and the error says to
// sign in again.
func TestDovecotRevokedSignIn(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{}, dovecottest.OAuth2{})
	cfg := &oauth.Config{Provider: *provider(p), Client: oauth.Client{ID: p.ClientID()}}
	tok := browserSignIn(t, p, cfg, srv.User)
	src := oauth.NewSource(cfg, tok, oauth.SourceOptions{})
	if err := connect(t, srv, src); err != nil {
		t.Fatal(err)
	}
	p.RevokeUser(srv.User)
	for _, hide := range [][]string{nil, {"OAUTHBEARER"}} {
		src := oauth.NewSource(cfg, tok, oauth.SourceOptions{})
		err := connect(t, srv, src, hide...)
		var tr *oauth.TokenRejectedError
		if !errors.As(err, &tr) || !errors.Is(err, oauth.ErrSignInAgain) || tr.Challenge == nil {
			t.Fatalf("login after revocation (hiding %v): %v; want TokenRejectedError with ErrSignInAgain and the server's challenge", hide, err)
		}
		if !strings.Contains(err.Error(), "sign in again") || !strings.Contains(err.Error(), srv.User) {
			t.Errorf("error does not say what to do: %v", err)
		}
		// The next connection of the same run does not bother the server:
		// the source knows the sign-in is gone.
		if err := connect(t, srv, src, hide...); !errors.Is(err, oauth.ErrSignInAgain) || errors.As(err, &tr) {
			t.Errorf("next login: %v, want ErrSignInAgain before any AUTHENTICATE", err)
		}
	}
}

// Four connections of one upload, all holding an expired token: each is
// refused once, one refresh serves them all.
func TestDovecotConcurrentLogins(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{RotateRefresh: true}, dovecottest.OAuth2{})
	cfg := &oauth.Config{Provider: *provider(p), Client: oauth.Client{ID: p.ClientID()}}
	tok := browserSignIn(t, p, cfg, srv.User)
	src := oauth.NewSource(cfg, tok, oauth.SourceOptions{})
	p.ExpireAccess()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := connect(t, srv, src); err != nil {
				t.Errorf("connection %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if n := refreshes(p); n != 1 {
		t.Errorf("%d refreshes for 4 connections, want 1", n)
	}
}

// rawLogin runs one AUTHENTICATE with a token and returns the server's
// answer and the challenge it sent.
func rawLogin(t *testing.T, srv *dovecottest.Server, mech oauth.Mechanism, user, token string) (*oauth.Challenge, error) {
	t.Helper()
	c, err := imapclient.DialTLS(srv.TLSAddr, &imapclient.Options{TLSConfig: srv.TLSConfig()})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	sc := oauth.NewSASLClient(mech, user, oauth.NewSecret(token), "127.0.0.1", 993)
	err = c.Authenticate(sc)
	if err != nil {
		// The connection stays usable after a refusal.
		if nerr := c.Noop().Wait(); nerr != nil {
			t.Errorf("NOOP after the refused login: %v", nerr)
		}
	}
	return sc.Refusal(), err
}

func imapAnswer(err error) (imap.StatusResponseType, imap.ResponseCode) {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie.Type, ie.Code
	}
	return "", ""
}

// What Dovecot 2.3's oauth2 passdb does, as dovecottest.OAuth2's
// documentation says (observed with 2.3.19).
func TestDovecotOAuth2Behaviour(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{}, dovecottest.OAuth2{OpenIDConfigurationURL: "https://sso.example.com/.well-known/openid-configuration"})
	if !strings.HasPrefix(srv.Version, "2.3.") {
		t.Skipf("these are Dovecot 2.3's ways; this is %s", srv.Version)
	}
	tok := p.IssueToken(srv.User)
	before := p.Count("/introspect")
	for range 2 {
		if _, err := rawLogin(t, srv, oauth.OAuthBearer, srv.User, tok); err != nil {
			t.Fatalf("login: %v", err)
		}
	}
	if n := p.Count("/introspect") - before; n != 2 {
		t.Errorf("%d introspections for 2 logins, want 2 (no cache)", n)
	}

	// Another user's token, then a revoked one: the error document as a
	// challenge, then NO [AUTHENTICATIONFAILED] (OAUTHBEARER) or, after
	// go-imap's "=" for the empty XOAUTH2 response, BAD.
	ch, err := rawLogin(t, srv, oauth.OAuthBearer, "other", tok)
	if typ, code := imapAnswer(err); typ != imap.StatusResponseTypeNo || code != imap.ResponseCodeAuthenticationFailed ||
		ch == nil || ch.Status != "invalid_token" || ch.OpenIDConfiguration != "https://sso.example.com/.well-known/openid-configuration" {
		t.Errorf("OAUTHBEARER with another user's token: %v, challenge %+v", err, ch)
	}
	p.RevokeUser(srv.User)
	ch, err = rawLogin(t, srv, oauth.XOAuth2, srv.User, tok)
	if typ, _ := imapAnswer(err); typ != imap.StatusResponseTypeBad || ch == nil ||
		*ch != (oauth.Challenge{Status: "401", Schemes: "bearer", Scope: "mail", OpenIDConfiguration: "https://sso.example.com/.well-known/openid-configuration"}) {
		t.Errorf("XOAUTH2 with a revoked token: %v, challenge %+v", err, ch)
	}

	// The authorization server is down: no challenge, NO [UNAVAILABLE];
	// Login reports it as such, not as a refused token.
	p.SetIntrospectionDown(true)
	ch, err = rawLogin(t, srv, oauth.OAuthBearer, srv.User, p.IssueToken(srv.User))
	if typ, code := imapAnswer(err); typ != imap.StatusResponseTypeNo || code != imap.ResponseCodeUnavailable || ch != nil {
		t.Errorf("login while introspection is down: %v, challenge %+v; want NO [UNAVAILABLE] without challenge", err, ch)
	}
	err = connect(t, srv, oauth.StaticSource{Access: oauth.NewSecret(p.IssueToken(srv.User))})
	var tr *oauth.TokenRejectedError
	if err == nil || errors.As(err, &tr) {
		t.Errorf("Login while introspection is down: %v, want a plain (temporary) error", err)
	}
}

// With auth_cache_size set, Dovecot 2.3 caches a token that passed: a
// revoked token keeps working until auth_cache_ttl.
func TestDovecotOAuth2Cache(t *testing.T) {
	t.Parallel()
	p, srv := setup(t, oauthtest.Options{}, dovecottest.OAuth2{AuthCacheSize: "1M"})
	if !strings.HasPrefix(srv.Version, "2.3.") {
		t.Skipf("these are Dovecot 2.3's ways; this is %s", srv.Version)
	}
	tok := p.IssueToken(srv.User)
	if _, err := rawLogin(t, srv, oauth.OAuthBearer, srv.User, tok); err != nil {
		t.Fatal(err)
	}
	n := p.Count("/introspect")
	p.RevokeUser(srv.User)
	if _, err := rawLogin(t, srv, oauth.OAuthBearer, srv.User, tok); err != nil {
		t.Errorf("revoked token with the cache on: %v, want it accepted from the cache", err)
	}
	if p.Count("/introspect") != n {
		t.Error("the cached token was introspected again")
	}
}
