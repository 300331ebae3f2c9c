package main

import (
	"errors"

	"mailferry/internal/oauth"
	"mailferry/upload"
)

// --- step 2c: signing in without a password -----------------------------------------

// errUseOAuth: the server refused the password with words that say only a
// sign-in through the browser works (Microsoft).
var errUseOAuth = errors.New("the server wants a sign-in through the browser")

// authenticate signs in to t: through the browser (OAuth 2.0) when the
// flags ask for it, when the provider is known to need it, or when the
// server refuses the password saying so; else with the password (logIn).
func (g *guide) authenticate(t upload.Target, email string) (account, error) {
	if g.f.oauth.Enabled() {
		return g.oauthSignIn(t, email, g.f.oauth)
	}
	if why := g.needsOAuth(email); why != "" {
		g.say("%s", why)
		of := g.f.oauth
		of.Browser = true
		return g.oauthSignIn(t, email, of)
	}
	t, pw, err := g.logIn(t)
	if errors.Is(err, errUseOAuth) {
		g.say("So mailferry signs you in through your browser instead.")
		of := g.f.oauth
		of.Browser = true
		return g.oauthSignIn(t, email, of)
	}
	return account{target: t, password: pw}, err
}

// needsOAuth says in plain words why this address must sign in through
// the browser, or "" when a password may work: Microsoft accepts no
// password for IMAP any more; Google accepts an app password, so it asks
// for the browser only when an OAuth client is available.
func (g *guide) needsOAuth(email string) string {
	p, err := oauth.Discover(g.ctx, email, oauth.DiscoverOptions{LookupMX: g.e.hooks.lookupMX, Autoconfig: g.e.lookupAutoconfig})
	if err != nil {
		return ""
	}
	switch p.Kind {
	case oauth.KindMicrosoft:
		return "Your mail is with Microsoft (Outlook.com or Microsoft 365), which no longer accepts a password\n" +
			"from mail programs: you sign in through your browser instead. mailferry opens the sign-in page\n" +
			"now (if no browser opens, copy the address it shows into one); sign in there, then come back."
	case oauth.KindGoogle:
		if _, err := g.f.oauth.Client(*p, g.e.getenv, builtinClients()); err != nil {
			return "" // no OAuth client: an app password is the way (logIn explains)
		}
		return "Your mail is with Google, which wants you to sign in through your browser (or an app password).\n" +
			"mailferry opens the sign-in page now; sign in there, then come back."
	}
	return ""
}

// oauthSignIn signs in with of and checks the sign-in on the server.
func (g *guide) oauthSignIn(t upload.Target, email string, of oauth.Flags) (account, error) {
	src, t, err := g.e.signIn(&of, email, &t)
	switch {
	case err == nil:
	case g.ctx.Err() != nil:
		return account{}, g.ctx.Err()
	case errors.Is(err, oauth.ErrNoClientID):
		g.say("mailferry needs an OAuth client ID to sign in with %s, and this copy of mailferry has none\n"+
			"built in. Your support desk can give you one (docs/oauth.md says how to register one in a few\n"+
			"minutes); then run mailferry again with --oauth2-client-id ID. Nothing was uploaded.", t.Host)
		return account{}, stopped{exitUsage}
	default:
		g.say("The sign-in did not work: %v\nNothing was uploaded.", err)
		return account{}, stopped{exitUsage}
	}
	g.say("Checking the sign-in with %s…", t.Host)
	if err := upload.CheckLogin(g.ctx, upload.Options{Target: &t, Tokens: src, CAFile: g.f.tlsCA}); err != nil {
		if g.ctx.Err() != nil {
			return account{}, g.ctx.Err()
		}
		g.say("The server did not accept the sign-in:\n  %v\nNothing was uploaded.", err)
		return account{}, stopped{exitCode(err)}
	}
	g.say("Signed in.")
	return account{target: t, tokens: src}, nil
}

// explained reports whether a refused password is one of the providers'
// known refusals (oauth.ExplainLoginRefusal).
func explained(err error) bool {
	var pre *oauth.PasswordRefusedError
	return errors.As(err, &pre)
}

// explainRefusal says what a provider's known refusal of a password means
// and what to do; it returns errUseOAuth when only the browser works, else
// err.
func (g *guide) explainRefusal(err error) error {
	var pre *oauth.PasswordRefusedError
	if !errors.As(err, &pre) {
		return err
	}
	g.say("%s", pre.Error())
	if pre.Remedy == oauth.UseOAuth {
		return errUseOAuth
	}
	return err
}
