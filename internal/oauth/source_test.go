package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"mailferry/internal/oauthtest"
)

// signIn gets a token from p by the browser flow.
func signIn(t *testing.T, p *oauthtest.Provider, cfg *Config) *Token {
	t.Helper()
	open, visits := p.Browser(t, "tester", true)
	tok, err := cfg.SignInBrowser(context.Background(), BrowserOptions{Open: open, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("SignInBrowser: %v", err)
	}
	<-visits
	return tok
}

func grants(p *oauthtest.Provider, grant string) int {
	n := 0
	for _, r := range p.Requests() {
		if r.Endpoint == "/token" && r.Form.Get("grant_type") == grant && r.Status == 200 {
			n++
		}
	}
	return n
}

// Eight connections asking at once for an expired token cause one
// refresh; after a refusal, one more; a good token causes none.
func TestRefreshingSourceConcurrent(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{RotateRefresh: true})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	tok := signIn(t, p, cfg)
	var mu sync.Mutex
	var saved []*Token
	src := NewSource(cfg, tok, SourceOptions{Refreshed: func(t *Token) { mu.Lock(); saved = append(saved, t); mu.Unlock() }})

	all := func() []Secret {
		var wg sync.WaitGroup
		got := make([]Secret, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := src.Token(context.Background())
				if err != nil {
					t.Errorf("Token: %v", err)
				}
				got[i] = s
			}()
		}
		wg.Wait()
		for _, s := range got[1:] {
			if !s.Equal(got[0]) {
				t.Errorf("connections got different tokens")
			}
		}
		return got
	}
	if got := all(); !got[0].Equal(tok.Access) || grants(p, "refresh_token") != 0 {
		t.Fatalf("a good token was refreshed (%d refreshes)", grants(p, "refresh_token"))
	}
	// The server refuses it (revoked early): all eight connections report
	// it, one refresh follows.
	for range 8 {
		if !src.Rejected(tok.Access) {
			t.Fatal("Rejected = false with a refresh token")
		}
	}
	got := all()
	if got[0].Equal(tok.Access) || grants(p, "refresh_token") != 1 {
		t.Fatalf("after a refusal: same token %v, %d refreshes; want a new token from 1 refresh", got[0].Equal(tok.Access), grants(p, "refresh_token"))
	}
	// A late report of the old token does not refresh again.
	src.Rejected(tok.Access)
	all()
	if n := grants(p, "refresh_token"); n != 1 {
		t.Errorf("a stale refusal caused another refresh (%d)", n)
	}
	// The rotated refresh token was handed to Refreshed and is the one
	// the source holds.
	cur := src.Current()
	if len(saved) != 1 || !saved[0].Refresh.Equal(cur.Refresh) || cur.Refresh.Equal(tok.Refresh) {
		t.Errorf("Refreshed got %d tokens; rotated refresh token not kept", len(saved))
	}
}

// A token that ends within the margin is replaced before use.
func TestRefreshingSourceMargin(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{AccessLifetime: 2 * time.Minute})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	tok := signIn(t, p, cfg)
	src := NewSource(cfg, tok, SourceOptions{}) // margin 5 min > 2 min lifetime
	s, err := src.Token(context.Background())
	if err != nil || s.Equal(tok.Access) || grants(p, "refresh_token") != 1 {
		t.Errorf("Token = same %v, %v, %d refreshes; want a refresh ahead of expiry", s.Equal(tok.Access), err, grants(p, "refresh_token"))
	}
	src = NewSource(cfg, tok, SourceOptions{Margin: time.Minute})
	if s, _ := src.Token(context.Background()); !s.Equal(tok.Access) {
		t.Error("a token good for longer than the margin was replaced")
	}
}

// A revoked sign-in: the refresh is refused, ErrSignInAgain; without a
// refresh token, nothing to try.
func TestRefreshRevoked(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	tok := signIn(t, p, cfg)
	p.RevokeUser("tester")
	src := NewSource(cfg, tok, SourceOptions{})
	src.Rejected(tok.Access)
	_, err := src.Token(context.Background())
	var ee *EndpointError
	if !errors.Is(err, ErrSignInAgain) || !errors.As(err, &ee) || ee.Code != ErrInvalidGrant {
		t.Errorf("Token after revocation: %v, want ErrSignInAgain with invalid_grant", err)
	}
	noRefresh := NewSource(cfg, &Token{Access: tok.Access}, SourceOptions{})
	if noRefresh.Rejected(tok.Access) {
		t.Error("Rejected = true without a refresh token")
	}
	if _, err := cfg.Refresh(context.Background(), &Token{Access: tok.Access}); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("Refresh without a refresh token: %v", err)
	}
}

// Revoke calls RFC 7009 revocation with the refresh token; the provider
// then refuses it and the access tokens it gave.
func TestRevoke(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	cfg := &Config{Provider: testProvider(p), Client: Client{ID: p.ClientID()}}
	tok := signIn(t, p, cfg)
	ok, err := cfg.Revoke(context.Background(), tok)
	if !ok || err != nil {
		t.Fatalf("Revoke = %v, %v", ok, err)
	}
	if _, active := p.ActiveAccess(tok.Access.Reveal()); active {
		t.Error("access token still active after revoking its refresh token")
	}
	if _, err := cfg.Refresh(context.Background(), tok); !errors.Is(err, ErrSignInAgain) {
		t.Errorf("Refresh after Revoke: %v", err)
	}
	ms := &Config{Provider: Microsoft("consumers"), Client: Client{ID: "x"}, HTTP: failClient(t)}
	if ok, err := ms.Revoke(context.Background(), tok); ok || err != nil {
		t.Errorf("Revoke at Microsoft (no endpoint) = %v, %v; want false, nil", ok, err)
	}
}

// scriptedSource plays a TokenSource for Login without a server.
type scriptedSource struct {
	tokens   []Secret
	errs     []error
	rejected []Secret
	fresh    bool
}

func (s *scriptedSource) Token(context.Context) (Secret, error) {
	if len(s.errs) > 0 && s.errs[0] != nil {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return Secret{}, err
	}
	if len(s.errs) > 0 {
		s.errs = s.errs[1:]
	}
	t := s.tokens[0]
	if len(s.tokens) > 1 {
		s.tokens = s.tokens[1:]
	}
	return t, nil
}

func (s *scriptedSource) Rejected(t Secret) bool { s.rejected = append(s.rejected, t); return s.fresh }

// Login's decisions, with a fake server: what is a refusal, when to try
// again, what to report.
func TestLoginDecisions(t *testing.T) {
	no := &imap.Error{Type: imap.StatusResponseTypeNo, Text: "AUTHENTICATE failed."}
	unavailable := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeUnavailable, Text: "Temporary authentication failure."}
	bad := &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid base64 data in continued response"}
	errDown := errors.New("token endpoint unreachable")
	tests := []struct {
		name      string
		answers   []error // per AUTHENTICATE
		challenge bool    // the server sends its error document first
		src       *scriptedSource
		wantCalls int
		check     func(t *testing.T, err error)
	}{
		{"ok", []error{nil}, false, &scriptedSource{tokens: []Secret{NewSecret("a")}}, 1, func(t *testing.T, err error) {
			if err != nil {
				t.Error(err)
			}
		}},
		{"refused, fresh token works", []error{no, nil}, false, &scriptedSource{tokens: []Secret{NewSecret("a"), NewSecret("b")}, fresh: true}, 2,
			func(t *testing.T, err error) {
				if err != nil {
					t.Error(err)
				}
			}},
		{"refused twice", []error{no, no}, false, &scriptedSource{tokens: []Secret{NewSecret("a"), NewSecret("b")}, fresh: true}, 2,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if !errors.As(err, &tr) || !tr.Retried || !errors.Is(err, no) {
					t.Errorf("err = %v, want a retried TokenRejectedError", err)
				}
			}},
		{"refused, nothing fresh", []error{no}, false, &scriptedSource{tokens: []Secret{NewSecret("a")}}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if !errors.As(err, &tr) || tr.Retried {
					t.Errorf("err = %v, want TokenRejectedError without retry", err)
				}
			}},
		{"error document, then BAD", []error{bad}, true, &scriptedSource{tokens: []Secret{NewSecret("a")}}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if !errors.As(err, &tr) || tr.Challenge == nil || tr.Challenge.Status != "401" {
					t.Errorf("err = %v, want TokenRejectedError with the challenge", err)
				}
			}},
		{"server cannot check now", []error{unavailable}, true, &scriptedSource{tokens: []Secret{NewSecret("a")}, fresh: true}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if errors.As(err, &tr) || !errors.Is(err, unavailable) {
					t.Errorf("err = %v, want the plain temporary error", err)
				}
			}},
		{"revoked: refresh refused", []error{no}, false,
			&scriptedSource{tokens: []Secret{NewSecret("a")}, errs: []error{nil, fmt.Errorf("%w: invalid_grant", ErrSignInAgain)}, fresh: true}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if !errors.As(err, &tr) || !errors.Is(err, ErrSignInAgain) || !errors.Is(err, no) {
					t.Errorf("err = %v, want TokenRejectedError wrapping the refusal and ErrSignInAgain", err)
				}
			}},
		{"token endpoint down after a refusal", []error{no}, false,
			&scriptedSource{tokens: []Secret{NewSecret("a")}, errs: []error{nil, errDown}, fresh: true}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if errors.As(err, &tr) || !errors.Is(err, errDown) {
					t.Errorf("err = %v, want the endpoint's error, not a refusal", err)
				}
			}},
		{"network error", []error{io.ErrUnexpectedEOF}, false, &scriptedSource{tokens: []Secret{NewSecret("a")}, fresh: true}, 1,
			func(t *testing.T, err error) {
				var tr *TokenRejectedError
				if errors.As(err, &tr) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("err = %v", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			auth := func(c sasl.Client) error {
				if _, _, err := c.Start(); err != nil {
					t.Fatal(err)
				}
				if tt.challenge {
					if _, err := c.Next([]byte(`{"status":"401","schemes":"bearer","scope":"mail"}`)); err != nil {
						t.Fatal(err)
					}
				}
				err := tt.answers[calls]
				calls++
				return err
			}
			err := Login(context.Background(), tt.src, LoginOptions{User: "me@example.com", Server: "imap.example.com:993",
				Has: func(c string) bool { return c == "AUTH=XOAUTH2" }, Authenticate: auth})
			if calls != tt.wantCalls {
				t.Errorf("%d AUTHENTICATEs, want %d", calls, tt.wantCalls)
			}
			tt.check(t, err)
			if err != nil && strings.Contains(err.Error(), "Bearer") {
				t.Errorf("error shows the SASL response: %v", err)
			}
		})
	}
	if err := Login(context.Background(), &scriptedSource{}, LoginOptions{Has: func(string) bool { return false }}); !errors.Is(err, ErrNoOAuthMechanism) {
		t.Errorf("no mechanism: %v", err)
	}
}
