package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SignIn prepares the tokens of one run: what cmd calls once, before
// connecting. See Source.
type SignIn struct {
	// Email is the account (the IMAP login name for Microsoft and Google).
	Email string
	Flags Flags
	// Provider is where to sign in (Discover); not needed with a token
	// command.
	Provider *Provider
	// Client is the registered client (Flags.Client).
	Client Client
	// HTTP is the client for the provider's endpoints; nil means
	// http.DefaultClient.
	HTTP *http.Client
	// Store keeps remembered sign-ins; nil means none is read or kept.
	// With a store, a remembered sign-in is used even without --remember
	// (it was remembered for that), and --remember keeps a new one; a new
	// sign-in that replaces a remembered one which no longer works (or
	// belongs to another client) is kept too.
	Store Store
	// Open opens the browser (BrowserOptions.Open).
	Open func(url string) error
	// Out receives the instructions for the user (stderr in cmd).
	Out io.Writer
	// Stdin and Stderr are the token command's (the user's terminal).
	Stdin  io.Reader
	Stderr io.Writer
	// Warn reports what does not stop the run (a sign-in that could not
	// be kept); nil discards.
	Warn func(msg string)
	// Device, when set, shows the device code instead of printing to Out.
	Device func(DeviceCode)
}

// Source returns the TokenSource for the run:
//   - with --oauth2-token-command, the command (CommandSource);
//   - else a remembered sign-in of the same client, if Store has one that
//     still works (it is refreshed at once, so that a revoked one is
//     noticed now and not at the first connection);
//   - else a new sign-in, through the browser or with a device code, kept
//     in Store with --remember.
//
// The source keeps a remembered sign-in current (Microsoft hands out a new
// refresh token with each refresh).
func (s *SignIn) Source(ctx context.Context) (TokenSource, error) {
	if err := s.Flags.Validate(); err != nil {
		return nil, err
	}
	if s.Flags.TokenCommand != "" {
		cs, err := NewCommandSource(s.Flags.TokenCommand)
		if err != nil {
			return nil, err
		}
		cs.Stdin, cs.Stderr = s.Stdin, s.Stderr
		return cs, nil
	}
	if s.Provider == nil {
		return nil, errors.New("no OAuth provider for " + s.Email)
	}
	cfg := &Config{Provider: *s.Provider, Client: s.Client, HTTP: s.HTTP}
	warn := s.Warn
	if warn == nil {
		warn = func(string) {}
	}
	remember := func(tok *Token) {
		if s.Store == nil || tok.Refresh.IsZero() {
			return
		}
		if err := s.Store.Save(NewRecord(s.Email, cfg, tok, time.Now())); err != nil {
			warn(fmt.Sprintf("could not keep the sign-in in %s: %v", s.Store.Where(), err))
		}
	}
	keep := s.Store != nil && s.Flags.Remember
	if s.Store != nil {
		rec, err := s.Store.Load(s.Email)
		switch {
		case errors.Is(err, ErrNotStored):
		case err != nil:
			warn(fmt.Sprintf("could not read the remembered sign-in: %v", err))
			keep = true // replace it
		case !rec.Matches(cfg):
			warn(fmt.Sprintf("the remembered sign-in of %s is for another OAuth client or provider; signing in again", s.Email))
			keep = true // replace it
		default:
			opts := SourceOptions{Refreshed: remember}
			src := NewSource(cfg, rec.Token(), opts)
			_, err := src.Token(ctx)
			if err == nil {
				return src, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !errors.Is(err, ErrSignInAgain) {
				return nil, err
			}
			warn(fmt.Sprintf("the remembered sign-in of %s no longer works (%v); signing in again", s.Email, err))
			if err := s.Store.Delete(s.Email); err != nil {
				warn(fmt.Sprintf("could not forget it: %v", err))
			}
			keep = true // it was remembered: keep the new one too
		}
	}
	var tok *Token
	var err error
	if s.Flags.Device {
		tok, err = cfg.SignInDevice(ctx, DeviceOptions{Out: s.Out, Show: s.Device})
	} else {
		tok, err = cfg.SignInBrowser(ctx, BrowserOptions{Open: s.Open, Out: s.Out, LoginHint: s.Email})
	}
	if err != nil {
		return nil, err
	}
	opts := SourceOptions{}
	if keep {
		remember(tok)
		opts.Refreshed = remember
	}
	return NewSource(cfg, tok, opts), nil
}
