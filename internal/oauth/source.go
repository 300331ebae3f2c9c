package oauth

import (
	"context"
	"time"
)

// SourceOptions configure a RefreshingSource.
type SourceOptions struct {
	// Margin is how long before its expiry an access token is replaced,
	// so that a login does not present a token that ends on the way;
	// default 5 minutes. (Access tokens of Microsoft and Google live about
	// an hour.)
	Margin time.Duration
	// Refreshed is called with every new token (new access token, and the
	// new refresh token Microsoft hands out with each refresh), so that a
	// remembered sign-in stays current. It runs while other connections
	// wait for the token: keep it short; a failure to store is its own to
	// report (a warning: the run goes on with the token). nil: nothing.
	Refreshed func(*Token)
}

// RefreshingSource is a TokenSource over a Config and a token: it hands
// out the access token while it is good, and refreshes it Margin before
// it expires or as soon as a server refused it. Connections share one
// source: only one refresh runs at a time, the others wait for its result
// instead of refreshing again. Safe for concurrent use.
type RefreshingSource struct {
	cfg  *Config
	opts SourceOptions
	// state holds the current token and the access token a server
	// refused; receiving from it is the lock (so that waiting for a
	// refresh can end with ctx).
	state chan sourceState
}

type sourceState struct {
	tok     *Token
	refused Secret
}

// NewSource returns a source starting with tok (which may lack an access
// token, or hold an expired one: the first Token refreshes it).
func NewSource(cfg *Config, tok *Token, opts SourceOptions) *RefreshingSource {
	if opts.Margin <= 0 {
		opts.Margin = 5 * time.Minute
	}
	s := &RefreshingSource{cfg: cfg, opts: opts, state: make(chan sourceState, 1)}
	cp := *tok
	s.state <- sourceState{tok: &cp}
	return s
}

// Token returns a good access token, refreshing when needed. A refresh
// that the provider refuses is ErrSignInAgain (wrapped).
func (s *RefreshingSource) Token(ctx context.Context) (Secret, error) {
	var st sourceState
	select {
	case st = <-s.state:
	case <-ctx.Done():
		return Secret{}, ctx.Err()
	}
	defer func() { s.state <- st }()
	stale := st.tok.expiresWithin(s.cfg.timeNow(), s.opts.Margin) || (!st.refused.IsZero() && st.refused.Equal(st.tok.Access))
	if !stale {
		return st.tok.Access, nil
	}
	nt, err := s.cfg.Refresh(ctx, st.tok)
	if err != nil {
		return Secret{}, err
	}
	st.tok = nt
	if s.opts.Refreshed != nil {
		cp := *nt
		s.opts.Refreshed(&cp)
	}
	return nt.Access, nil
}

// Rejected marks tok as refused by a server: the next Token refreshes,
// unless another connection already did (then its newer token is handed
// out without a second refresh). It reports whether a different token can
// be had: false when tok is the current token and there is no refresh
// token.
func (s *RefreshingSource) Rejected(tok Secret) bool {
	st := <-s.state
	defer func() { s.state <- st }()
	st.refused = tok
	return !st.tok.Refresh.IsZero() || !st.tok.Access.Equal(tok)
}

// Current returns a copy of the token the source holds now (for storing
// it after a run).
func (s *RefreshingSource) Current() *Token {
	st := <-s.state
	defer func() { s.state <- st }()
	cp := *st.tok
	return &cp
}

// StaticSource is a single access token that cannot be refreshed (a token
// given once, e.g. by a test).
type StaticSource struct{ Access Secret }

// Token returns the token.
func (s StaticSource) Token(context.Context) (Secret, error) { return s.Access, nil }

// Rejected reports false: there is no other token.
func (s StaticSource) Rejected(Secret) bool { return false }
