package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailferry/internal/autoconfig"
	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
	"mailferry/internal/oauth"
	"mailferry/internal/oauthtest"
	"mailferry/internal/testutil"
)

// OAuth 2.0 end to end: a local provider, a Dovecot that checks every
// token by introspection at it (its oauth2 passdb with XOAUTH2 and
// OAUTHBEARER), and the command line.

// oauthSetup starts the provider and a Dovecot that asks it about tokens.
func oauthSetup(t *testing.T) (*oauthtest.Provider, *dovecottest.Server) {
	t.Helper()
	po := oauthtest.Options{IntrospectionUser: "dovecot", IntrospectionPassword: "introspection-secret", RotateRefresh: true}
	p := oauthtest.Start(t, po)
	o2 := &dovecottest.OAuth2{IntrospectionURL: p.IntrospectURL(), IntrospectionUser: po.IntrospectionUser, IntrospectionPassword: po.IntrospectionPassword}
	srv := dovecottest.Start(t, dovecottest.Config{OAuth2: o2, ExtraConfig: "auth_failure_delay = 0\nlogin_trusted_networks = 127.0.0.0/8"})
	return p, srv
}

// oauthEnv is an env whose sign-ins go to p: the provider is found through
// an autoconfig document naming it, and the browser is an HTTP client that
// signs in as user.
func oauthEnv(t *testing.T, p *oauthtest.Provider, srv *dovecottest.Server, vars map[string]string, open func(string) error) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errOut bytes.Buffer
	host, port, _ := net.SplitHostPort(srv.TLSAddr)
	pn, _ := strconv.Atoi(port)
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] }}
	e.hooks = signInHooks{
		open:     open,
		lookupMX: func(context.Context, string) ([]*net.MX, error) { return nil, nil },
		autoconfig: func(context.Context, string) (*autoconfig.Server, error) {
			return &autoconfig.Server{Host: host, Port: pn, Username: srv.User,
				OAuth2: &autoconfig.OAuth2{Issuer: "test-provider", AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), Scope: "mail"}}, nil
		},
		storeDir: vars["STORE"],
	}
	return e, &out, &errOut
}

// --oauth2-token-command: the token comes from a program (no shell), and
// the upload and a verify sign in with it.
func TestOAuthTokenCommand(t *testing.T) {
	t.Parallel()
	p, srv := oauthSetup(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(p.IssueToken(srv.User)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := testutil.Testdata(t, "sample-profile")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	res := runCLI(t, nil, "upload", src, "--to", to, "--tls-ca", srv.CAFile, "--oauth2-token-command", "cat "+tokenFile)
	if res.code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s\n%s", res.code, res.stdout, res.stderr, srv.LogTail(20))
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages, want 8", n)
	}
	res = runCLI(t, nil, "verify", src, "--to", to, "--tls-ca", srv.CAFile, "--oauth2-token-command", "cat "+tokenFile)
	if res.code != exitOK {
		t.Errorf("verify: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// A token the provider never issued: refused, a clear error, exit 2.
	if err := os.WriteFile(tokenFile, []byte("not-a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, nil, "verify", src, "--to", to, "--tls-ca", srv.CAFile, "--oauth2-token-command", "cat "+tokenFile)
	if res.code != exitUsage || !strings.Contains(res.stderr, "refused") {
		t.Errorf("a bad token: exit %d, want %d with the refusal said\n%s", res.code, exitUsage, res.stderr)
	}
	if strings.Contains(res.stdout+res.stderr, "not-a-token") {
		t.Errorf("the token leaked into the output")
	}
}

// --oauth2 through the browser (an HTTP client clicks through the
// provider's consent page and follows the redirect to mailferry's loopback
// listener), kept with --remember; the next run needs no browser; a
// revoked sign-in ends with a clear error and exit 2; logout forgets it.
func TestOAuthBrowserRememberRevokeLogout(t *testing.T) {
	t.Parallel()
	p, srv := oauthSetup(t)
	vars := map[string]string{"MAILFERRY_OAUTH2_CLIENT_ID": p.ClientID(), "STORE": filepath.Join(t.TempDir(), "oauth")}
	src := testutil.Testdata(t, "sample-profile")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	email := srv.User + "@example.test"
	open, visits := p.Browser(t, srv.User, true)
	e, out, errOut := oauthEnv(t, p, srv, vars, open)
	code := e.run([]string{"upload", src, "--email", email, "--to", to, "--tls-ca", srv.CAFile, "--oauth2", "--remember"})
	if code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s\n%s", code, out, errOut, srv.LogTail(20))
	}
	select {
	case <-visits:
	default:
		t.Fatal("the browser was never opened")
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages, want 8", n)
	}
	if strings.Contains(out.String()+errOut.String(), "access_token") {
		t.Errorf("a token leaked into the output")
	}

	// The next run: the kept sign-in, no browser.
	e, out, errOut = oauthEnv(t, p, srv, vars, func(string) error {
		t.Error("the browser was opened although the sign-in was kept")
		return nil
	})
	if code := e.run([]string{"verify", src, "--email", email, "--to", to, "--tls-ca", srv.CAFile, "--oauth2"}); code != exitOK {
		t.Errorf("verify with the kept sign-in: exit %d\n%s\n%s", code, out, errOut)
	}

	// Revoked at the provider ("sign out everywhere"): the kept sign-in no
	// longer works, so mailferry asks for a new one in the browser; the
	// user declines there: exit 2, and words that say why.
	p.RevokeUser(srv.User)
	deny, _ := p.Browser(t, srv.User, false)
	e, _, errOut = oauthEnv(t, p, srv, vars, deny)
	code = e.run([]string{"verify", src, "--email", email, "--to", to, "--tls-ca", srv.CAFile, "--oauth2"})
	if code != exitUsage || !strings.Contains(strings.ToLower(errOut.String()), "sign in") {
		t.Errorf("a revoked sign-in, then a declined one: exit %d, want %d and the reason said\n%s", code, exitUsage, errOut)
	}

	e, _, errOut = oauthEnv(t, p, srv, vars, nil)
	if code := e.run([]string{"logout", "--email", email}); code != exitOK {
		t.Errorf("logout: exit %d\n%s", code, errOut)
	}
	if entries, _ := os.ReadDir(vars["STORE"]); len(entries) > 0 {
		var names []string
		for _, en := range entries {
			names = append(names, en.Name())
		}
		t.Errorf("the store still holds %v after logout", names)
	}
}

// A token that expires during a long upload: every reconnect (the proxy
// cuts the connections as the upload goes, over a slow link) signs in
// again with a refreshed token, and the run ends with every message once.
func TestOAuthTokenExpiresDuringUpload(t *testing.T) {
	t.Parallel()
	p, srv := oauthSetup(t)
	p.SetAccessLifetime(time.Second)
	proxy := faultproxy.Start(t, srv.TLSAddr)
	vars := map[string]string{"MAILFERRY_OAUTH2_CLIENT_ID": p.ClientID(), "STORE": filepath.Join(t.TempDir(), "oauth")}
	// 120 messages of about 12 kB in one mbox file.
	var mbox strings.Builder
	for i := range 120 {
		fmt.Fprintf(&mbox, "From sender@example.org Mon Jun  1 10:%02d:00 2009\nFrom: sender@example.org\nSubject: message %d\nMessage-ID: <%d@expiry.example>\n\n%s\n",
			i%60, i, i, strings.Repeat(fmt.Sprintf("line %d of a long enough body\n", i), 400))
	}
	src := filepath.Join(t.TempDir(), "Inbox")
	if err := os.WriteFile(src, []byte(mbox.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	to := fmt.Sprintf("imaps://%s@%s", srv.User, proxy.Addr())
	open, _ := p.Browser(t, srv.User, true)
	e, out, errOut := oauthEnv(t, p, srv, vars, open)
	// About 5 s over the shaped link, cut every 300 kB: each reconnect
	// comes after the token expired.
	proxy.SetBandwidth(faultproxy.Up, 300_000)
	proxy.CutEachAfter(faultproxy.Up, 300_000)
	code := e.run([]string{"upload", src, "--email", srv.User + "@example.test", "--to", to, "--tls-ca", srv.CAFile,
		"--oauth2", "--connections", "1", "--retry-timeout", "60s", "--no-compress"})
	if code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s\n%s", code, out, errOut, srv.LogTail(30))
	}
	if got := len(srv.FetchAll(t)); got != 120 {
		t.Errorf("Dovecot holds %d messages, want each of the 120 once", got)
	}
	refreshes := 0
	for _, r := range p.Requests() {
		if r.Endpoint == "/token" && r.Form.Get("grant_type") == "refresh_token" && r.Status == 200 {
			refreshes++
		}
	}
	if cuts := proxy.Stats().Cuts; refreshes == 0 || cuts == 0 {
		t.Errorf("%d refreshes after %d cuts: the test tests nothing", refreshes, cuts)
	}
}

// --oauth2-device: mailferry shows a code and a URL; the user types the
// code on another device; the upload signs in with the token.
func TestOAuthDeviceFlow(t *testing.T) {
	t.Parallel()
	p, srv := oauthSetup(t)
	vars := map[string]string{"MAILFERRY_OAUTH2_CLIENT_ID": p.ClientID(), "STORE": filepath.Join(t.TempDir(), "oauth")}
	src := testutil.Testdata(t, "sample-profile")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	e, out, errOut := oauthEnv(t, p, srv, vars, nil)
	e.hooks.provider = &oauth.Provider{Kind: oauth.KindOther, Name: "Test", AuthURL: p.AuthURL(), TokenURL: p.TokenURL(),
		DeviceAuthURL: p.DeviceURL(), Scopes: []string{"mail"}, RedirectHost: "127.0.0.1"}
	shown := make(chan string, 1)
	e.hooks.device = func(dc oauth.DeviceCode) {
		shown <- dc.UserCode
		go func() {
			time.Sleep(200 * time.Millisecond) // the user types it a moment later
			if !p.ApproveDevice(dc.UserCode, srv.User) {
				t.Errorf("ApproveDevice(%s) = false", dc.UserCode)
			}
		}()
	}
	if code := e.run([]string{"upload", src, "--email", srv.User + "@example.test", "--to", to, "--tls-ca", srv.CAFile, "--oauth2-device"}); code != exitOK {
		t.Fatalf("upload: exit %d\n%s\n%s", code, out, errOut)
	}
	select {
	case c := <-shown:
		if c == "" {
			t.Error("an empty device code was shown")
		}
	default:
		t.Error("no device code was shown")
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages, want 8", n)
	}
}

// The guided run with --oauth2 (what a support desk sends to a Microsoft
// or Google customer): it signs in through the browser instead of asking
// for a password, and uploads.
func TestGuidedOAuth(t *testing.T) {
	t.Parallel()
	p, srv := oauthSetup(t)
	home, _ := sampleHome(t)
	vars := map[string]string{"MAILFERRY_OAUTH2_CLIENT_ID": p.ClientID(), "STORE": filepath.Join(t.TempDir(), "oauth")}
	open, visits := p.Browser(t, srv.User, true)
	e, out, errOut := oauthEnv(t, p, srv, vars, open)
	e.stdin = strings.NewReader("")
	to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
	code := e.guidedWith([]string{"--email", srv.User + "@example.test", "--server", to, "--tls-ca", srv.CAFile, "--oauth2", "--yes"},
		testDeps(home, e.hooks.autoconfig))
	if code != exitOK {
		t.Fatalf("guided run: exit %d\n%s\n%s\n%s", code, out, errOut, srv.LogTail(20))
	}
	select {
	case <-visits:
	default:
		t.Error("the browser was never opened")
	}
	for _, want := range []string{"Signed in.", "Finished in "} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("the dialogue lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut.String(), "Password for") {
		t.Errorf("the guided run asked for a password although it signed in with OAuth:\n%s", errOut)
	}
	if n := len(srv.FetchAll(t)); n != 8 {
		t.Errorf("Dovecot holds %d messages, want 8", n)
	}
}
