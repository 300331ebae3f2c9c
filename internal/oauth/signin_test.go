package oauth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/internal/oauthtest"
)

// A kept sign-in that no longer works (revoked) is noticed before the
// first connection, forgotten, and replaced by a new browser sign-in,
// which is kept again; one of another client is not used.
func TestSignInKeptSignIns(t *testing.T) {
	p := oauthtest.Start(t, oauthtest.Options{})
	store := &FileStore{Dir: filepath.Join(t.TempDir(), "oauth")}
	var warnings []string
	newSignIn := func(open func(string) error) *SignIn {
		return &SignIn{Email: "tester", Flags: Flags{Browser: true}, Provider: ptr(testProvider(p)), Client: Client{ID: p.ClientID()},
			Store: store, Open: open, Warn: func(m string) { warnings = append(warnings, m) }}
	}
	open, visits := p.Browser(t, "tester", true)
	si := newSignIn(open)
	si.Flags.Remember = true
	if _, err := si.Source(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-visits
	p.RevokeUser("tester")

	open, visits = p.Browser(t, "tester", true)
	src, err := newSignIn(open).Source(context.Background())
	if err != nil {
		t.Fatalf("Source with a revoked kept sign-in: %v", err)
	}
	<-visits
	tok, _ := src.Token(context.Background())
	if _, ok := p.ActiveAccess(tok.Reveal()); !ok {
		t.Error("the new sign-in's token is not active")
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no longer works") {
		t.Errorf("warnings = %q", warnings)
	}
	rec, err := store.Load("tester")
	if err != nil {
		t.Fatalf("the new sign-in was not kept: %v", err)
	}
	if cur := src.(*RefreshingSource).Current(); !rec.Refresh.Equal(cur.Refresh) {
		t.Error("the kept sign-in is not the new one")
	}

	// A sign-in kept for another client ID (the user changed
	// --oauth2-client-id) is not used: a new sign-in replaces it.
	old := *rec
	old.ClientID = "old-client"
	if err := store.Save(&old); err != nil {
		t.Fatal(err)
	}
	warnings = nil
	open, visits = p.Browser(t, "tester", true)
	if _, err := newSignIn(open).Source(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-visits
	if len(warnings) != 1 || !strings.Contains(warnings[0], "another OAuth client") {
		t.Errorf("warnings = %q", warnings)
	}
	if rec, _ := store.Load("tester"); rec == nil || rec.ClientID != p.ClientID() {
		t.Errorf("kept record = %+v, want the new client's", rec)
	}
}

func TestSignInUsage(t *testing.T) {
	si := &SignIn{Email: "me@example.com", Flags: Flags{Browser: true, Device: true}}
	if _, err := si.Source(context.Background()); !errors.Is(err, ErrUsage) {
		t.Errorf("two flows: %v, want ErrUsage", err)
	}
	si = &SignIn{Email: "me@example.com", Flags: Flags{Browser: true}}
	if _, err := si.Source(context.Background()); err == nil {
		t.Error("no provider: no error")
	}
	si = &SignIn{Email: "me@example.com", Flags: Flags{TokenCommand: "get-token me@example.com"}}
	src, err := si.Source(context.Background())
	if cs, ok := src.(*CommandSource); err != nil || !ok || strings.Join(cs.Argv(), " ") != "get-token me@example.com" {
		t.Errorf("token command: %T %v", src, err)
	}
}

func ptr[T any](v T) *T { return &v }
