package oauthtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

// authorize walks the consent page and returns the code given to the
// redirect URI (no listener there: the redirect is not followed).
func authorize(t *testing.T, p *Provider, q url.Values) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.AuthURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		u, _ := url.Parse(resp.Header.Get("Location"))
		return u.Query()
	}
	m := requestField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no consent form: %d %s", resp.StatusCode, page)
	}
	resp, err = c.PostForm(p.URL+"/consent", url.Values{"request": {string(m[1])}, "user": {"tester"}, "decision": {"allow"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(resp.Header.Get("Location"))
	return u.Query()
}

// The provider checks what real ones check, so that a sloppy client fails.
func TestProviderChecks(t *testing.T) {
	p := Start(t, Options{IntrospectionUser: "dovecot", IntrospectionPassword: "pw"})
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {p.ClientID()}, "redirect_uri": {"http://127.0.0.1:9/"}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}

	// Without PKCE: an error redirect.
	noPKCE := url.Values{}
	for k, v := range q {
		noPKCE[k] = v
	}
	noPKCE.Del("code_challenge")
	if got := authorize(t, p, noPKCE); got.Get("error") != "invalid_request" || got.Get("state") != "s" {
		t.Errorf("authorization without PKCE: %v", got)
	}
	// A redirect URI off the loopback interface is refused outright.
	resp, _ := http.Get(p.AuthURL() + "?" + strings.Replace(q.Encode(), "127.0.0.1", "evil.example", 1))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("non-loopback redirect URI: HTTP %d", resp.StatusCode)
	}
	resp.Body.Close()

	code := authorize(t, p, q).Get("code")
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9/"},
		"client_id": {p.ClientID()}, "code_verifier": {"wrong" + verifier}}
	if st, body := post(t, p.TokenURL(), exchange); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", st, body)
	}
	// The code was used up by the failed attempt.
	exchange.Set("code_verifier", verifier)
	if st, body := post(t, p.TokenURL(), exchange); st != 400 || body["error"] != "invalid_grant" {
		t.Errorf("code used twice: %d %v", st, body)
	}
	code = authorize(t, p, q).Get("code")
	exchange.Set("code", code)
	st, tok := post(t, p.TokenURL(), exchange)
	if st != 200 || tok["access_token"] == nil || tok["refresh_token"] == nil || tok["token_type"] != "Bearer" {
		t.Fatalf("exchange: %d %v", st, tok)
	}

	// Introspection wants the credentials, then answers RFC 7662.
	if st, _ := post(t, p.IntrospectURL(), url.Values{"token": {tok["access_token"].(string)}}); st != http.StatusUnauthorized {
		t.Errorf("introspection without credentials: HTTP %d", st)
	}
	introspect := func(token string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, p.IntrospectURL(), strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("dovecot", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return body
	}
	if body := introspect(tok["access_token"].(string)); body["active"] != true || body["username"] != "tester" {
		t.Errorf("introspection of a live token: %v", body)
	}
	post(t, p.RevokeURL(), url.Values{"token": {tok["refresh_token"].(string)}})
	if body := introspect(tok["access_token"].(string)); body["active"] != false || len(body) != 1 {
		t.Errorf("introspection after revoking the refresh token: %v, want only active false", body)
	}
}

// Device codes: pending until approved, slow_down when polled faster than
// the interval.
func TestProviderDevice(t *testing.T) {
	p := Start(t, Options{DeviceInterval: 5})
	st, d := post(t, p.DeviceURL(), url.Values{"client_id": {p.ClientID()}, "scope": {"mail"}})
	if st != 200 || d["interval"] != float64(5) {
		t.Fatalf("device authorization: %d %v", st, d)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {d["device_code"].(string)}, "client_id": {p.ClientID()}}
	if _, body := post(t, p.TokenURL(), poll); body["error"] != "authorization_pending" {
		t.Errorf("first poll: %v", body)
	}
	if _, body := post(t, p.TokenURL(), poll); body["error"] != "slow_down" {
		t.Errorf("immediate second poll: %v", body)
	}
	if !p.ApproveDevice(d["user_code"].(string), "tester") || p.ApproveDevice("XXXX-XXXX", "tester") {
		t.Error("ApproveDevice")
	}
}
