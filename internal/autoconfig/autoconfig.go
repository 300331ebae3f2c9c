// Package autoconfig finds the IMAP server of a mail provider from an
// e-mail address, the way Thunderbird does: it fetches the provider's
// autoconfig document (clientConfig version 1.1) over HTTPS and picks its
// IMAP server.
//
// Format: https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat
// Places: https://wiki.mozilla.org/Thunderbird:Autoconfiguration (the
// provider's own autoconfig.<domain> host, then its .well-known path).
//
// The answer decides where the user's password goes, so documents are only
// taken over verified HTTPS: a plain http:// URL is refused and so is a
// redirect to one. Lookup does not send the password anywhere.
package autoconfig

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Server is an IMAP server proposed by a provider's document.
type Server struct {
	// Host is the server's host name.
	Host string
	// Port is the TCP port (993 for TLS, 143 for STARTTLS when the document
	// gives none).
	Port int
	// STARTTLS is set for socketType STARTTLS: a plain connection upgraded
	// before login. Otherwise the connection is TLS from the first byte
	// (socketType SSL).
	STARTTLS bool
	// Username is the login name, placeholders filled in; "" when the
	// document names none (use the e-mail address).
	Username string
	// Authentication lists the document's authentication methods
	// ("password-cleartext", "OAuth2", …), as written.
	Authentication []string
	// Source is the URL of the document.
	Source string
	// OAuth2 is the document's <oAuth2> element (Thunderbird's extension
	// of the format: where to sign in and which scope to ask for), nil
	// when it has none or an unusable one.
	OAuth2 *OAuth2
}

// OAuth2 is a document's <oAuth2> element. The URLs are https:// (others
// are dropped while parsing); Scope is space separated, as written.
type OAuth2 struct {
	Issuer   string // host name of the authorization server, e.g. "accounts.google.com"
	Scope    string
	AuthURL  string
	TokenURL string
}

// OAuth2Login reports whether the document lists OAuth2 among the IMAP
// server's authentication methods.
func (s *Server) OAuth2Login() bool {
	for _, a := range s.Authentication {
		if strings.EqualFold(strings.TrimSpace(a), "OAuth2") {
			return true
		}
	}
	return false
}

// PasswordLogin reports whether the document allows logging in with a
// password (or says nothing about it). Providers that list only OAuth2 need
// an app password for programs like mailferry.
func (s *Server) PasswordLogin() bool {
	if len(s.Authentication) == 0 {
		return true
	}
	for _, a := range s.Authentication {
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "password-cleartext", "plain", "password-encrypted", "secure":
			return true
		}
	}
	return false
}

// Options configure Lookup. The zero value looks in the standard places
// with a 10 second timeout per document.
type Options struct {
	// URLs returns the documents to try for an address, in order; nil
	// means DefaultURLs. Tests point it at a local HTTPS server. Only
	// https:// URLs are fetched.
	URLs func(email, domain string) []string
	// Timeout bounds each document's fetch (default 10 s).
	Timeout time.Duration
}

// DefaultURLs are the places Thunderbird asks the provider itself:
// https://autoconfig.<domain>/mail/config-v1.1.xml?emailaddress=<email>,
// then https://<domain>/.well-known/autoconfig/mail/config-v1.1.xml.
func DefaultURLs(email, domain string) []string {
	return []string{
		"https://autoconfig." + domain + "/mail/config-v1.1.xml?emailaddress=" + url.QueryEscape(email),
		"https://" + domain + "/.well-known/autoconfig/mail/config-v1.1.xml",
	}
}

// ErrNotFound means no document offered a usable IMAP server: none was
// there, or it was broken, or it offered only POP3 or only unencrypted
// connections. The error wrapping it says what each place answered.
var ErrNotFound = errors.New("no IMAP server found in the provider's autoconfig documents")

// maxDocument bounds the size of a document read.
const maxDocument = 1 << 20

// Lookup asks the places of opts.URLs, in order, for the IMAP server of
// email, and returns the first usable one. client may be nil
// (http.DefaultClient); its redirect policy is wrapped so that only
// redirects to https:// are followed. Errors: ErrNotFound wrapped with what
// each place answered, a usage error for an address without a domain, or
// ctx.Err() unwrapped when ctx ends.
func Lookup(ctx context.Context, client *http.Client, email string, opts Options) (*Server, error) {
	domain, err := Domain(email)
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("refused redirect to %s: not https", req.URL.Redacted())
		}
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	urls := DefaultURLs
	if opts.URLs != nil {
		urls = opts.URLs
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	var problems []string
	for _, u := range urls(email, domain) {
		srv, err := fetch(ctx, &c, u, email, timeout)
		if err == nil {
			return srv, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		problems = append(problems, err.Error())
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, strings.Join(problems, "; "))
}

// fetch gets and parses one document.
func fetch(ctx context.Context, c *http.Client, u, email string, timeout time.Duration) (*Server, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", u, err)
	}
	if pu.Scheme != "https" {
		return nil, fmt.Errorf("%s: refused: not https", pu.Redacted())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", pu.Redacted(), err)
	}
	req.Header.Set("Accept", "application/xml, text/xml")
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", pu.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", pu.Redacted(), resp.Status)
	}
	if resp.Request != nil && resp.Request.URL.Scheme != "https" { // defence in depth: CheckRedirect refuses these
		return nil, fmt.Errorf("%s: refused: answered over %s", pu.Redacted(), resp.Request.URL.Scheme)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("%s: read: %v", pu.Redacted(), err)
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("%s: document larger than %d bytes", pu.Redacted(), maxDocument)
	}
	srv, err := Parse(body, email)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", pu.Redacted(), err)
	}
	srv.Source = pu.Redacted()
	return srv, nil
}

// Domain returns the lower-case domain of an e-mail address, checked to be
// a plain ASCII host name (so that it can go into a URL safely).
func Domain(email string) (string, error) {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", fmt.Errorf("%q is not an e-mail address (want name@example.com)", email)
	}
	d := strings.ToLower(strings.TrimSuffix(email[at+1:], "."))
	if !validHost(d) || !strings.Contains(d, ".") {
		return "", fmt.Errorf("%q is not an e-mail address: bad domain %q", email, d)
	}
	return d, nil
}

// validHost accepts ASCII host names: letters, digits, '-', '.', and IP
// addresses written the same way (no ports, no brackets).
func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
		default:
			return false
		}
	}
	return true
}

// clientConfig is the part of the document mailferry reads.
type clientConfig struct {
	XMLName   xml.Name `xml:"clientConfig"`
	Providers []struct {
		Incoming []incomingServer `xml:"incomingServer"`
	} `xml:"emailProvider"`
	// Thunderbird's documents put <oAuth2> beside <emailProvider>.
	OAuth2 *struct {
		Issuer   string `xml:"issuer"`
		Scope    string `xml:"scope"`
		AuthURL  string `xml:"authURL"`
		TokenURL string `xml:"tokenURL"`
	} `xml:"oAuth2"`
}

// oauth2 returns the document's usable <oAuth2> element: both URLs
// https:// with a host, and a scope.
func (cc *clientConfig) oauth2() *OAuth2 {
	o := cc.OAuth2
	if o == nil {
		return nil
	}
	r := &OAuth2{
		Issuer:   strings.TrimSpace(o.Issuer),
		Scope:    strings.Join(strings.Fields(o.Scope), " "),
		AuthURL:  strings.TrimSpace(o.AuthURL),
		TokenURL: strings.TrimSpace(o.TokenURL),
	}
	for _, u := range []string{r.AuthURL, r.TokenURL} {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme != "https" || !validHost(pu.Hostname()) {
			return nil
		}
	}
	if r.Scope == "" {
		return nil
	}
	return r
}

type incomingServer struct {
	Type           string   `xml:"type,attr"`
	Hostname       string   `xml:"hostname"`
	Port           string   `xml:"port"`
	SocketType     string   `xml:"socketType"`
	Username       string   `xml:"username"`
	Authentication []string `xml:"authentication"`
}

// Parse reads a clientConfig document and returns its best IMAP server for
// email: the first with socketType SSL, else the first with STARTTLS.
// Servers without encryption (socketType plain) are never returned. The
// placeholders %EMAILADDRESS%, %EMAILLOCALPART% and %EMAILDOMAIN% are
// filled in. A document that is not a clientConfig, offers only POP3, or
// only unencrypted IMAP is an error.
func Parse(doc []byte, email string) (*Server, error) {
	var cc clientConfig
	if err := xml.Unmarshal(doc, &cc); err != nil {
		return nil, fmt.Errorf("not an autoconfig document: %v", err)
	}
	fill := placeholders(email)
	var best *Server
	var kinds []string
	for _, p := range cc.Providers {
		for _, in := range p.Incoming {
			typ := strings.ToLower(strings.TrimSpace(in.Type))
			if typ != "imap" {
				kinds = append(kinds, typ)
				continue
			}
			s := &Server{
				Host:           strings.TrimSpace(fill.Replace(in.Hostname)),
				Username:       strings.TrimSpace(fill.Replace(in.Username)),
				Authentication: in.Authentication,
			}
			switch strings.ToUpper(strings.TrimSpace(in.SocketType)) {
			case "SSL", "TLS":
				s.Port = 993
			case "STARTTLS":
				s.STARTTLS, s.Port = true, 143
			default: // plain: the password would travel unencrypted
				kinds = append(kinds, "imap without encryption")
				continue
			}
			if !validHost(s.Host) {
				kinds = append(kinds, "imap with a bad host name")
				continue
			}
			if ps := strings.TrimSpace(in.Port); ps != "" {
				n, err := strconv.Atoi(ps)
				if err != nil || n <= 0 || n > 65535 {
					kinds = append(kinds, "imap with a bad port")
					continue
				}
				s.Port = n
			}
			if best == nil || best.STARTTLS && !s.STARTTLS {
				best = s
			}
		}
	}
	if best != nil {
		best.OAuth2 = cc.oauth2()
		return best, nil
	}
	if len(kinds) == 0 {
		return nil, errors.New("the document lists no incoming server")
	}
	return nil, fmt.Errorf("the document offers no usable IMAP server (only %s)", strings.Join(unique(kinds), ", "))
}

func placeholders(email string) *strings.Replacer {
	local, domain := email, ""
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local, domain = email[:at], email[at+1:]
	}
	return strings.NewReplacer("%EMAILADDRESS%", email, "%EMAILLOCALPART%", local, "%EMAILDOMAIN%", strings.ToLower(domain))
}

func unique(l []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range l {
		if s == "" {
			s = "unnamed"
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
