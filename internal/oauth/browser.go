package oauth

import (
	"context"
	"crypto/subtle"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// BrowserOptions configure SignInBrowser.
type BrowserOptions struct {
	// Open opens a URL in the user's browser (cmd passes its platform's
	// way: open, xdg-open, rundll32). nil, or an error, leaves only the
	// printed URL for the user to open by hand. A browser on another
	// machine works too if its redirect to 127.0.0.1:<port> reaches this
	// one (an SSH port forward does that).
	Open func(url string) error
	// Out receives the instructions for the user; nil discards them.
	Out io.Writer
	// LoginHint is the e-mail address, so that the provider's page
	// proposes the right account.
	LoginHint string
	// Timeout bounds the wait for the user; default 5 minutes.
	Timeout time.Duration
}

// pages the loopback listener shows in the browser.
const (
	pageDone   = "Signed in. mailferry has what it needs: you may close this browser tab and go back to mailferry."
	pageFailed = "The sign-in did not work (%s). Go back to mailferry for what to do next; you may close this browser tab."
)

// SignInBrowser signs in with the authorization code flow and PKCE (RFC
// 7636) through the system browser, as RFC 8252 recommends for native
// apps: it listens on the loopback interface on a port the system picks,
// sends the browser to the provider with redirect_uri
// http://<RedirectHost>:<port>, waits for the redirect, checks that its
// state is the one sent (so that no other page can inject a code), shows
// a page saying the user may close it, and exchanges the code for tokens.
// Errors: ErrDenied, ErrSignInExpired (Timeout), ctx.Err(), or the
// provider's *EndpointError.
func (c *Config) SignInBrowser(ctx context.Context, o BrowserOptions) (*Token, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Provider.AuthURL == "" {
		return nil, fmt.Errorf("no authorization endpoint for %s", c.Provider.Name)
	}
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	state, err := randomToken(24)
	if err != nil {
		return nil, err
	}
	verifier, challenge, err := pkce()
	if err != nil {
		return nil, err
	}

	lns, port, err := listenLoopback(c.Provider.RedirectHost)
	if err != nil {
		return nil, err
	}
	host := c.Provider.RedirectHost
	if host == "" {
		host = "127.0.0.1"
	}
	// No path: Microsoft matches the registered "http://localhost" against
	// it with any port; Google takes any loopback URI from desktop clients.
	redirectURI := "http://" + net.JoinHostPort(host, strconv.Itoa(port))

	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.Client.ID},
		"redirect_uri":          {redirectURI},
		"scope":                 {c.scope()},
		"state":                 {state},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	if o.LoginHint != "" {
		q.Set("login_hint", o.LoginHint)
	}
	for k, vs := range c.Provider.AuthParams {
		q[k] = vs
	}
	authURL := c.Provider.AuthURL
	if u, err := url.Parse(authURL); err == nil && u.RawQuery != "" {
		authURL += "&" + q.Encode()
	} else {
		authURL += "?" + q.Encode()
	}

	type result struct {
		code string
		err  error
	}
	results := make(chan result, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r) // favicon.ico and the like
			return
		}
		rq := r.URL.Query()
		// A request without our state is not the provider's answer to us
		// (RFC 6749 section 10.12): refuse it and keep waiting.
		if subtle.ConstantTimeCompare([]byte(rq.Get("state")), []byte(state)) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, pageFailed, "this answer does not belong to mailferry's sign-in request")
			return
		}
		var res result
		switch {
		case rq.Get("error") != "":
			e := &EndpointError{Endpoint: "the authorization page", Status: http.StatusFound,
				Code: ErrorCode(rq.Get("error")), Description: oneLine(rq.Get("error_description"))}
			if e.Code == ErrAccessDenied {
				res.err = fmt.Errorf("%w: %w", ErrDenied, e)
			} else {
				res.err = e
			}
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, pageFailed, html.EscapeString(string(e.Code)))
		case rq.Get("code") == "":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, pageFailed, "the answer has no authorization code")
			return
		default:
			res.code = rq.Get("code")
			fmt.Fprint(w, pageDone)
		}
		select {
		case results <- res:
		default: // a second answer (reload): the first one counts
		}
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	for _, ln := range lns {
		go func() { _ = srv.Serve(ln) }()
	}
	defer func() {
		// Let the page being sent reach the browser, then stop.
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close()
		}
	}()

	fmt.Fprintf(out, "To sign in to %s, open this address in your browser:\n\n  %s\n\n", c.Provider.Name, authURL)
	if o.Open != nil {
		if err := o.Open(authURL); err != nil {
			fmt.Fprintf(out, "(Could not open a browser: %v. Copy the address above into one.)\n", err)
		} else {
			fmt.Fprintln(out, "Your browser should open it now. Waiting for you to finish there…")
		}
	}

	wait := time.NewTimer(timeout)
	defer wait.Stop()
	var res result
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, fmt.Errorf("%w: no answer from the browser within %v", ErrSignInExpired, timeout)
	case res = <-results:
	}
	if res.err != nil {
		return nil, res.err
	}
	form := c.clientForm(url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {res.code},
		"redirect_uri":  {redirectURI},
		"code_verifier": {verifier},
	})
	tok, err := c.endpoint().token(ctx, c.Provider.TokenURL, form, nil)
	if err != nil {
		return nil, fmt.Errorf("exchange the authorization code: %w", err)
	}
	return tok, nil
}

// listenLoopback listens on 127.0.0.1 on a port the system picks and, when
// the redirect names "localhost" (which a browser may resolve to ::1
// first), on the same port of ::1 too if it can.
func listenLoopback(redirectHost string) ([]net.Listener, int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, 0, fmt.Errorf("listen on 127.0.0.1 for the browser's answer: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	lns := []net.Listener{ln}
	if redirectHost == "localhost" {
		// Without an IPv6 loopback (or with the port taken there) browsers
		// fall back to 127.0.0.1.
		if ln6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port))); err == nil {
			lns = append(lns, ln6)
		}
	}
	return lns, port, nil
}
