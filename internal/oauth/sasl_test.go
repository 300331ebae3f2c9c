package oauth

import (
	"encoding/base64"
	"strings"
	"testing"
)

// RFC 7628 section 4.1 (IMAP): the initial client response of
// user@example.com at server.example.com:143 with the token
// vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==.
const rfc7628Initial = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"

// Google's XOAUTH2 documentation: someuser@example.com with the token
// ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg.
const googleInitial = "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="

func TestSASLInitialResponses(t *testing.T) {
	tests := []struct {
		name       string
		mech       Mechanism
		user, tok  string
		host       string
		port       int
		wantBase64 string // "" compares wantRaw
		wantRaw    string
	}{
		{name: "RFC 7628 4.1", mech: OAuthBearer, user: "user@example.com", tok: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
			host: "server.example.com", port: 143, wantBase64: rfc7628Initial},
		{name: "Google XOAUTH2", mech: XOAuth2, user: "someuser@example.com", tok: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg",
			host: "imap.gmail.com", port: 993, wantBase64: googleInitial},
		{name: "RFC 5801 escaping of , and =", mech: OAuthBearer, user: "a,b=c@example.com", tok: "t",
			wantRaw: "n,a=a=2Cb=3Dc@example.com,\x01auth=Bearer t\x01\x01"},
		{name: "no host and port", mech: OAuthBearer, user: "u@example.com", tok: "t",
			wantRaw: "n,a=u@example.com,\x01auth=Bearer t\x01\x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mech, ir, err := NewSASLClient(tt.mech, tt.user, NewSecret(tt.tok), tt.host, tt.port).Start()
			if err != nil || mech != string(tt.mech) {
				t.Fatalf("Start() = %q, _, %v; want %q", mech, err, tt.mech)
			}
			if tt.wantBase64 != "" {
				if got := base64.StdEncoding.EncodeToString(ir); got != tt.wantBase64 {
					t.Errorf("initial response = %s, want %s", got, tt.wantBase64)
				}
			} else if string(ir) != tt.wantRaw {
				t.Errorf("initial response = %q, want %q", ir, tt.wantRaw)
			}
		})
	}
}

func TestSASLStartRefusesBadInput(t *testing.T) {
	for _, c := range []*SASLClient{
		NewSASLClient(XOAuth2, "u", Secret{}, "", 0),                          // no token
		NewSASLClient(XOAuth2, "u\x01x", NewSecret("t"), "", 0),               // framing in the user
		NewSASLClient(OAuthBearer, "u", NewSecret("two words"), "", 0),        // not a b64token
		NewSASLClient(XOAuth2, "u", NewSecret("tok\x01auth=Bearer x"), "", 0), // injection attempt
		NewSASLClient("PLAIN", "u", NewSecret("t"), "", 0),
	} {
		if _, _, err := c.Start(); err == nil {
			t.Errorf("Start() of %+v: no error", c)
		} else if strings.Contains(err.Error(), "auth=Bearer x") {
			t.Errorf("error shows the token: %v", err)
		}
	}
}

// The error challenge is decoded, and answered so that the server can end
// the exchange: %x01 for OAUTHBEARER (RFC 7628 section 3.2.3), empty for
// XOAUTH2 (Google).
func TestSASLErrorChallenge(t *testing.T) {
	// RFC 7628 section 4.3's challenge.
	rfc, _ := base64.StdEncoding.DecodeString("eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=")
	// Google's XOAUTH2 documentation's (with its line break removed).
	google, _ := base64.StdEncoding.DecodeString("eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K")
	tests := []struct {
		name      string
		mech      Mechanism
		challenge []byte
		want      Challenge
		wantResp  []byte
	}{
		{"RFC 7628 4.3", OAuthBearer, rfc, Challenge{Status: "invalid_token", Scope: "example_scope",
			OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}, []byte{1}},
		{"Google XOAUTH2", XOAuth2, google, Challenge{Status: "401", Schemes: "bearer mac", Scope: "https://mail.google.com/"}, []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewSASLClient(tt.mech, "user@example.com", NewSecret("t"), "", 0)
			if _, _, err := c.Start(); err != nil {
				t.Fatal(err)
			}
			if c.Refusal() != nil {
				t.Fatal("Refusal() before a challenge is not nil")
			}
			resp, err := c.Next(tt.challenge)
			if err != nil || string(resp) != string(tt.wantResp) || resp == nil {
				t.Errorf("Next(error document) = %q, %v; want %q", resp, err, tt.wantResp)
			}
			if got := c.Refusal(); got == nil || *got != tt.want {
				t.Errorf("Refusal() = %+v, want %+v", got, tt.want)
			}
			if _, err := c.Next(tt.challenge); err == nil {
				t.Error("a second challenge was answered")
			}
		})
	}
	c := NewSASLClient(OAuthBearer, "u", NewSecret("t"), "", 0)
	for _, bad := range []string{"not json", `{"scope":"x"}`, ""} {
		if _, err := c.Next([]byte(bad)); err == nil {
			t.Errorf("Next(%q): no error", bad)
		}
	}
}

func TestChooseMechanism(t *testing.T) {
	tests := []struct {
		caps string
		want Mechanism // "" means ErrNoOAuthMechanism
	}{
		{"AUTH=PLAIN AUTH=XOAUTH2 SASL-IR", XOAuth2},              // outlook.office365.com
		{"AUTH=XOAUTH2 AUTH=PLAIN AUTH=OAUTHBEARER", OAuthBearer}, // imap.gmail.com
		{"AUTH=OAUTHBEARER", OAuthBearer},
		{"AUTH=PLAIN AUTH=LOGIN", ""},
	}
	for _, tt := range tests {
		has := func(c string) bool {
			for _, f := range strings.Fields(tt.caps) {
				if strings.EqualFold(f, c) {
					return true
				}
			}
			return false
		}
		got, err := ChooseMechanism(has)
		if got != tt.want || (tt.want == "") != (err == ErrNoOAuthMechanism) {
			t.Errorf("ChooseMechanism(%s) = %q, %v; want %q", tt.caps, got, err, tt.want)
		}
	}
}
