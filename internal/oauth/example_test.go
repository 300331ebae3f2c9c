package oauth_test

import (
	"context"
	"os"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/oauth"
)

// How cmd and upload use the package: once per run, SignIn gives a token
// source; every new connection calls Login with it.
func Example() {
	ctx := context.Background()
	var flags oauth.Flags // registered on the command's FlagSet with flags.Register(fs)
	flags.Browser = true
	email := "me@example.com"

	provider, err := oauth.Discover(ctx, email, oauth.DiscoverOptions{})
	if err != nil {
		return // cmd: say so; --server and --oauth2-client-id still allow a run
	}
	client, err := flags.Client(*provider, nil, oauth.BuiltinClients{ /* the build's -X values */ })
	if err != nil {
		return
	}
	store, _ := oauth.OpenStore(oauth.StoreOptions{})
	si := &oauth.SignIn{Email: email, Flags: flags, Provider: provider, Client: client, Store: store,
		Open: oauth.OpenBrowser, Out: os.Stderr, Stdin: os.Stdin, Stderr: os.Stderr}
	src, err := si.Source(ctx)
	if err != nil {
		return
	}

	// In the dialer, after the greeting (and STARTTLS), instead of LOGIN:
	c, err := imapclient.DialTLS(provider.IMAPHost+":993", nil)
	if err != nil {
		return
	}
	defer c.Close()
	err = oauth.Login(ctx, src, oauth.LoginOptions{
		User:         email,
		Server:       provider.IMAPHost + ":993",
		Has:          func(cp string) bool { return c.Caps().Has(imap.Cap(cp)) },
		Authenticate: c.Authenticate,
	})
	_ = err // *oauth.TokenRejectedError: sign in again; other errors: as for LOGIN
}
