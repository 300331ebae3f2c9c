package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"mailferry/internal/autoconfig"
	"mailferry/internal/oauth"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
)

// Client IDs (and Google's desktop client secret, which Google does not
// treat as confidential) that a provider distributing mailferry with its
// own OAuth registrations bakes into its build:
//
//	go build -ldflags "-X main.oauthMicrosoftClientID=... -X main.oauthGoogleClientID=... -X main.oauthGoogleClientSecret=..." ./cmd/mailferry
//
// (make dist OAUTH_LDFLAGS="..." does the same). Empty in a plain build:
// the user gives --oauth2-client-id, as docs/oauth.md explains.
var oauthMicrosoftClientID, oauthGoogleClientID, oauthGoogleClientSecret string

func builtinClients() oauth.BuiltinClients {
	return oauth.BuiltinClients{Microsoft: oauthMicrosoftClientID, Google: oauthGoogleClientID, GoogleSecret: oauthGoogleClientSecret}
}

// signInHooks replace the world an OAuth sign-in talks to, for tests: the
// browser, the device code shown, the provider's HTTP client, the MX and
// autoconfig look-ups and the store of remembered sign-ins. nil fields
// mean the real ones.
type signInHooks struct {
	open       func(url string) error
	device     func(oauth.DeviceCode)
	http       *http.Client
	lookupMX   func(ctx context.Context, domain string) ([]*net.MX, error)
	autoconfig func(ctx context.Context, email string) (*autoconfig.Server, error)
	storeDir   string
	// provider replaces the discovery of the provider.
	provider *oauth.Provider
}

// signIn gets the token source of the OAuth sign-in the flags ask for, for
// the account email (the IMAP login name). target is the server given, nil
// when none was: then the provider's IMAP server is used, and returned.
// Nothing here ever puts a token into argv, logs or errors.
func (e *env) signIn(of *oauth.Flags, email string, target *upload.Target) (oauth.TokenSource, upload.Target, error) {
	var t upload.Target
	if target != nil {
		t = *target
	}
	if email == "" {
		email = t.User
	}
	p := e.hooks.provider
	if p == nil && (of.TokenCommand == "" || target == nil) {
		var err error
		p, err = oauth.Discover(e.ctx, email, oauth.DiscoverOptions{Tenant: of.Tenant, LookupMX: e.hooks.lookupMX, Autoconfig: e.lookupAutoconfig})
		if err != nil {
			if e.ctx.Err() != nil {
				return nil, t, e.ctx.Err()
			}
			return nil, t, usageErrorf("%v (give the server with --to or --server, and sign in with --oauth2-token-command, or see docs/oauth.md)", err)
		}
	}
	if target == nil {
		if p.IMAPHost == "" {
			return nil, t, usageErrorf("%s: the IMAP server of %s is not known: give it with --server HOST", email, p.Name)
		}
		t = upload.Target{User: email, Host: p.IMAPHost, Port: p.IMAPPort, Security: upload.ImplicitTLS}
	}
	var client oauth.Client
	if of.TokenCommand == "" {
		var err error
		if client, err = of.Client(*p, e.getenv, builtinClients()); err != nil {
			return nil, t, usageErrorf("%v", err)
		}
	}
	store, err := oauth.OpenStore(oauth.StoreOptions{Dir: e.hooks.storeDir, FileOnly: e.hooks.storeDir != "", Getenv: e.getenv})
	if err != nil {
		store = nil // nothing remembered, nothing kept
	}
	open := e.hooks.open
	if open == nil {
		open = oauth.OpenBrowser
	}
	si := &oauth.SignIn{Email: email, Flags: *of, Provider: p, Client: client, HTTP: e.hooks.http, Store: store,
		Open: open, Out: e.stderr, Stdin: e.stdin, Stderr: e.stderr, Device: e.hooks.device,
		Warn: func(msg string) { fmt.Fprintf(e.stderr, "warning: %s\n", mfterm.Escape(msg)) }}
	src, err := si.Source(e.ctx)
	switch {
	case err == nil:
		return src, t, nil
	case e.ctx.Err() != nil:
		return nil, t, e.ctx.Err()
	case errors.Is(err, oauth.ErrUsage), errors.Is(err, oauth.ErrNoClientID), errors.Is(err, oauth.ErrNoDeviceFlow):
		return nil, t, usageErrorf("%v", err)
	}
	// Refused or given up at the provider (denied, expired, revoked): the
	// user must sign in again.
	return nil, t, fmt.Errorf("%w: sign in to %s: %w", upload.ErrAuth, p.Name, err)
}

// lookupAutoconfig fetches the provider's published settings (which may
// mark OAuth 2.0).
func (e *env) lookupAutoconfig(ctx context.Context, email string) (*autoconfig.Server, error) {
	if e.hooks.autoconfig != nil {
		return e.hooks.autoconfig(ctx, email)
	}
	return e.defaultGuidedDeps().lookup(ctx, email)
}

const logoutManual = `mailferry logout --email ADDRESS

Forgets the OAuth 2.0 sign-in mailferry kept for ADDRESS (with --remember),
in the system's keychain and in mailferry's own file store, and revokes it at
the provider where the provider allows that (Google). The next run with
--oauth2 asks you to sign in again.
`

// logout forgets a remembered sign-in.
func (e *env) logout(args []string) int {
	fs := newFlagSet("logout", logoutManual, e.stderr)
	email := fs.String("email", "", "the address whose sign-in to forget")
	pos, err := parseArgs(fs, args, e.stdout)
	if err != nil {
		return flagErrorCode(err)
	}
	if *email == "" || len(pos) > 0 {
		fmt.Fprintf(e.stderr, "mailferry logout: need --email ADDRESS (see mailferry help logout)\n")
		return exitUsage
	}
	stores, err := oauth.AllStores(oauth.StoreOptions{Dir: e.hooks.storeDir, FileOnly: e.hooks.storeDir != "", Getenv: e.getenv})
	if err != nil {
		return e.fail("logout", fmt.Errorf("open the store of sign-ins: %w", err))
	}
	rec, err := oauth.Forget(*email, stores...)
	if err != nil {
		return e.fail("logout", err)
	}
	if rec == nil {
		fmt.Fprintf(e.stdout, "No sign-in was kept for %s.\n", mfterm.Escape(*email))
		return exitOK
	}
	fmt.Fprintf(e.stdout, "Forgot the sign-in of %s.\n", mfterm.Escape(*email))
	if p, err := oauth.Discover(e.ctx, *email, oauth.DiscoverOptions{LookupMX: e.hooks.lookupMX, Autoconfig: e.lookupAutoconfig}); err == nil && p.TokenURL == rec.TokenURL && p.RevokeURL != "" {
		cfg := &oauth.Config{Provider: *p, Client: oauth.Client{ID: rec.ClientID}, HTTP: e.hooks.http}
		if ok, err := cfg.Revoke(e.ctx, rec.Token()); err != nil {
			fmt.Fprintf(e.stderr, "warning: could not revoke it at %s: %v (it stays valid there until it expires or you remove mailferry's access in your account's security settings)\n", p.Name, err)
		} else if ok {
			fmt.Fprintf(e.stdout, "%s was told to revoke it too.\n", p.Name)
		}
	}
	return exitOK
}

// oauthHelp is the part of the manuals about signing in without a password.
const oauthHelp = `
Microsoft 365, Outlook.com and Gmail accept no plain password over IMAP any
more: sign in through your browser with --oauth2 (or --oauth2-device on a
machine without a browser, Microsoft only), or give --oauth2-token-command CMD,
a program that prints an access token. mailferry needs an OAuth client ID
(--oauth2-client-id, or MAILFERRY_OAUTH2_CLIENT_ID): docs/oauth.md says how a
user or support desk registers one. --remember keeps the sign-in for the next
runs (in the system's keychain, else a file only you can read);
"mailferry logout --email ADDRESS" forgets it.
`
