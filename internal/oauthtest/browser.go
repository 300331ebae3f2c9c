package oauthtest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Visit is what a Browser saw: the page the client's loopback listener
// showed at the end of the sign-in, or what went wrong.
type Visit struct {
	Status int
	Page   string
	Err    error
}

// Browser returns an oauth.BrowserOptions.Open for tests: it plays the
// user's browser, opening the authorization URL, signing in as user and
// clicking "Allow" (or "Deny" when allow is false), then following the
// redirect to the client's loopback listener. It returns at once, as a
// real browser launch does; the visit ends on the returned channel.
func (p *Provider) Browser(t testing.TB, user string, allow bool) (open func(string) error, visits <-chan Visit) {
	t.Helper()
	ch := make(chan Visit, 4)
	open = func(authURL string) error {
		go func() { ch <- p.visit(authURL, user, allow) }()
		return nil
	}
	return open, ch
}

var requestField = regexp.MustCompile(`name="request" value="([^"]+)"`)

func (p *Provider) visit(authURL, user string, allow bool) Visit {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(authURL)
	if err != nil {
		return Visit{Err: fmt.Errorf("open %s: %w", authURL, err)}
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), p.URL) {
		// Redirected straight back (an error answer before consent).
		return Visit{Status: resp.StatusCode, Page: string(page)}
	}
	if resp.StatusCode != http.StatusOK {
		return Visit{Status: resp.StatusCode, Page: string(page)}
	}
	m := requestField.FindSubmatch(page)
	if m == nil {
		return Visit{Err: fmt.Errorf("no consent form on %s: %s", authURL, page)}
	}
	decision := "deny"
	if allow {
		decision = "allow"
	}
	// The redirect to http://127.0.0.1:port/?code=... is followed by the
	// client: the loopback listener's page is what the user would see.
	resp, err = c.PostForm(p.URL+"/consent", url.Values{"request": {string(m[1])}, "user": {user}, "decision": {decision}})
	if err != nil {
		return Visit{Err: fmt.Errorf("consent: %w", err)}
	}
	defer resp.Body.Close()
	page, _ = io.ReadAll(resp.Body)
	return Visit{Status: resp.StatusCode, Page: string(page)}
}
