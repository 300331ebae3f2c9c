package autoconfig

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// doc builds a clientConfig document with the given incomingServer
// elements.
func doc(servers ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.com">
    <domain>example.com</domain>
    <displayName>Example Mail</displayName>
` + strings.Join(servers, "\n") + `
    <outgoingServer type="smtp">
      <hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType>
    </outgoingServer>
  </emailProvider>
</clientConfig>
`
}

func incoming(typ, host, port, socket, user string) string {
	return `<incomingServer type="` + typ + `"><hostname>` + host + `</hostname><port>` + port + `</port><socketType>` + socket +
		`</socketType><username>` + user + `</username><authentication>password-cleartext</authentication></incomingServer>`
}

var (
	imapSSL      = incoming("imap", "imap.%EMAILDOMAIN%", "993", "SSL", "%EMAILADDRESS%")
	imapSTARTTLS = incoming("imap", "imap.example.com", "143", "STARTTLS", "%EMAILLOCALPART%")
	pop3SSL      = incoming("pop3", "pop.example.com", "995", "SSL", "%EMAILADDRESS%")
	imapPlain    = incoming("imap", "imap.example.com", "143", "plain", "%EMAILADDRESS%")
)

// The lookup against a local HTTPS server: two places, each answering as
// the case says.
func TestLookup(t *testing.T) {
	tests := []struct {
		name         string
		first, sec   string // document served, "" for 404
		wantHost     string // "" means ErrNotFound
		wantPort     int
		wantSTARTTLS bool
		wantUser     string
		wantSource   string // path of the document used
		wantErr      string // in the error text
	}{
		{name: "good IMAP document", first: doc(pop3SSL, imapSSL), wantHost: "imap.example.com", wantPort: 993,
			wantUser: "me@Example.com", wantSource: "/first"},
		{name: "STARTTLS only", first: doc(imapSTARTTLS), wantHost: "imap.example.com", wantPort: 143, wantSTARTTLS: true,
			wantUser: "me", wantSource: "/first"},
		{name: "SSL preferred over STARTTLS", first: doc(imapSTARTTLS, imapSSL), wantHost: "imap.example.com", wantPort: 993,
			wantUser: "me@Example.com", wantSource: "/first"},
		{name: "only POP3", first: doc(pop3SSL), sec: doc(pop3SSL), wantErr: "only pop3"},
		{name: "only unencrypted IMAP", first: doc(imapPlain), wantErr: "imap without encryption"},
		{name: "broken document", first: doc(imapSSL)[:120], wantErr: "not an autoconfig document"},
		{name: "not a clientConfig", first: "<html><body>Welcome</body></html>", wantErr: "not an autoconfig document"},
		{name: "no document", wantErr: "404"},
		{name: "second place answers", sec: doc(imapSSL), wantHost: "imap.example.com", wantPort: 993,
			wantUser: "me@Example.com", wantSource: "/second"},
		{name: "broken first, good second", first: "<clientConfig", sec: doc(imapSTARTTLS), wantHost: "imap.example.com",
			wantPort: 143, wantSTARTTLS: true, wantUser: "me", wantSource: "/second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotQuery string
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := map[string]string{"/first": tt.first, "/second": tt.sec}[r.URL.Path]
				if r.URL.Path == "/first" {
					gotQuery = r.URL.Query().Get("emailaddress")
				}
				if body == "" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Content-Type", "text/xml")
				w.Write([]byte(body))
			}))
			defer srv.Close()
			opts := Options{URLs: func(email, domain string) []string {
				return []string{srv.URL + "/first?emailaddress=" + url.QueryEscape(email), srv.URL + "/second"}
			}}
			got, err := Lookup(context.Background(), srv.Client(), "me@Example.com", opts)
			if gotQuery != "me@Example.com" {
				t.Errorf("first place asked with emailaddress=%q, want the address", gotQuery)
			}
			if tt.wantHost == "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Lookup = %+v, %v; want ErrNotFound mentioning %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got.Host != tt.wantHost || got.Port != tt.wantPort || got.STARTTLS != tt.wantSTARTTLS || got.Username != tt.wantUser {
				t.Errorf("Lookup = {%s %d starttls=%v user=%q}, want {%s %d starttls=%v user=%q}", got.Host, got.Port, got.STARTTLS,
					got.Username, tt.wantHost, tt.wantPort, tt.wantSTARTTLS, tt.wantUser)
			}
			if !strings.HasPrefix(got.Source, srv.URL+tt.wantSource) {
				t.Errorf("Source = %q, want %s%s", got.Source, srv.URL, tt.wantSource)
			}
			if !got.PasswordLogin() {
				t.Errorf("PasswordLogin() = false for password-cleartext")
			}
		})
	}
}

// Documents decide where the password goes: never over plain http, neither
// directly nor by redirect; redirects within https are fine.
func TestLookupRefusesPlainHTTP(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(doc(imapSSL)))
	}))
	defer plain.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-http":
			http.Redirect(w, r, plain.URL+"/doc", http.StatusFound)
		case "/to-https":
			http.Redirect(w, r, "/doc", http.StatusMovedPermanently)
		case "/doc":
			w.Write([]byte(doc(imapSSL)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer secure.Close()
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"plain http URL", plain.URL + "/doc", false},
		{"redirect to http", secure.URL + "/to-http", false},
		{"redirect within https", secure.URL + "/to-https", true},
	}
	for _, tt := range tests {
		opts := Options{URLs: func(string, string) []string { return []string{tt.url} }}
		got, err := Lookup(context.Background(), secure.Client(), "me@example.com", opts)
		if tt.ok && (err != nil || got.Host != "imap.example.com") {
			t.Errorf("%s: Lookup = %+v, %v; want imap.example.com", tt.name, got, err)
		}
		if !tt.ok && (err == nil || !errors.Is(err, ErrNotFound)) {
			t.Errorf("%s: Lookup = %+v, %v; want ErrNotFound", tt.name, got, err)
		}
	}
}

// A server whose certificate the client does not trust is not asked.
func TestLookupUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(doc(imapSSL)))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	opts := Options{URLs: func(string, string) []string { return []string{srv.URL} }}
	if got, err := Lookup(context.Background(), &http.Client{}, "me@example.com", opts); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup with an untrusted certificate = %+v, %v; want ErrNotFound", got, err)
	}
}

func TestLookupCancelled(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(doc(imapSSL)))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := Options{URLs: func(string, string) []string { return []string{srv.URL} }}
	if _, err := Lookup(ctx, srv.Client(), "me@example.com", opts); !errors.Is(err, context.Canceled) {
		t.Errorf("Lookup with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestDefaultURLs(t *testing.T) {
	got := DefaultURLs("me+x@example.com", "example.com")
	want := []string{
		"https://autoconfig.example.com/mail/config-v1.1.xml?emailaddress=me%2Bx%40example.com",
		"https://example.com/.well-known/autoconfig/mail/config-v1.1.xml",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("DefaultURLs = %q, want %q", got, want)
	}
}

func TestDomain(t *testing.T) {
	tests := []struct {
		email, want string // want "" means an error
	}{
		{"me@example.com", "example.com"},
		{"Info@Mail.Example.COM", "mail.example.com"},
		{"odd@name@example.org", "example.org"},
		{"me@example.com.", "example.com"},
		{"me", ""},
		{"@example.com", ""},
		{"me@", ""},
		{"me@localhost", ""},
		{"me@exa mple.com", ""},
		{"me@example.com/evil", ""},
		{"me@example.com?x=1", ""},
		{"me@bücher.example", ""},
	}
	for _, tt := range tests {
		got, err := Domain(tt.email)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Domain(%q) = %q, want an error", tt.email, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Domain(%q) = %q, %v; want %q", tt.email, got, err, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	oauthOnly := `<incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType>` +
		`<authentication>OAuth2</authentication></incomingServer>`
	tests := []struct {
		name     string
		doc      string
		wantHost string // "" means an error
		wantPort int
		password bool
	}{
		{"placeholders in host", doc(imapSSL), "imap.example.com", 993, true},
		{"default port for SSL", doc(incoming("imap", "imap.example.com", "", "SSL", "")), "imap.example.com", 993, true},
		{"default port for STARTTLS", doc(incoming("imap", "imap.example.com", "", "STARTTLS", "")), "imap.example.com", 143, true},
		{"bad port", doc(incoming("imap", "imap.example.com", "99999", "SSL", "")), "", 0, false},
		{"bad host", doc(incoming("imap", "imap.example.com/x", "993", "SSL", "")), "", 0, false},
		{"OAuth2 only", doc(oauthOnly), "imap.example.com", 993, false},
		{"no servers", doc(), "", 0, false},
		{"empty", "", "", 0, false},
	}
	for _, tt := range tests {
		got, err := Parse([]byte(tt.doc), "me@example.com")
		if tt.wantHost == "" {
			if err == nil {
				t.Errorf("%s: Parse = %+v, want an error", tt.name, got)
			}
			continue
		}
		if err != nil || got.Host != tt.wantHost || got.Port != tt.wantPort || got.PasswordLogin() != tt.password {
			t.Errorf("%s: Parse = %+v, %v; want %s:%d password login %v", tt.name, got, err, tt.wantHost, tt.wantPort, tt.password)
		}
	}
}

func FuzzParse(f *testing.F) {
	oauth := strings.Replace(doc(imapSSL), "</clientConfig>", `<oAuth2><issuer>sso.example.com</issuer><scope>imap</scope>`+
		`<authURL>https://sso.example.com/a</authURL><tokenURL>https://sso.example.com/t</tokenURL></oAuth2></clientConfig>`, 1)
	for _, s := range []string{doc(imapSSL), doc(pop3SSL), doc(imapPlain, imapSTARTTLS), "<clientConfig>", "", oauth} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		srv, err := Parse([]byte(s), "me@example.com")
		if err != nil {
			return
		}
		if !validHost(srv.Host) || srv.Port <= 0 || srv.Port > 65535 {
			t.Errorf("Parse returned an unusable server %+v", srv)
		}
		if o := srv.OAuth2; o != nil && (!strings.HasPrefix(o.AuthURL, "https://") || !strings.HasPrefix(o.TokenURL, "https://") || o.Scope == "") {
			t.Errorf("Parse returned unusable OAuth2 endpoints %+v", o)
		}
	})
}

// Thunderbird's documents for OAuth providers list OAuth2 as an
// authentication method and carry an <oAuth2> element beside
// <emailProvider> (the layout of Thunderbird's ISPDB entry for Microsoft).
func TestParseOAuth2(t *testing.T) {
	const ms = `<?xml version="1.0"?>
<clientConfig version="1.1">
  <emailProvider id="outlook.com">
    <domain>outlook.com</domain>
    <incomingServer type="imap">
      <hostname>outlook.office365.com</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>OAuth2</authentication><authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
  </emailProvider>
  <oAuth2>
    <issuer>login.microsoftonline.com</issuer>
    <scope>https://outlook.office.com/IMAP.AccessAsUser.All
           offline_access</scope>
    <authURL>https://login.microsoftonline.com/common/oauth2/v2.0/authorize</authURL>
    <tokenURL>https://login.microsoftonline.com/common/oauth2/v2.0/token</tokenURL>
  </oAuth2>
</clientConfig>`
	srv, err := Parse([]byte(ms), "me@outlook.com")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !srv.OAuth2Login() || !srv.PasswordLogin() {
		t.Errorf("OAuth2Login() = %v, PasswordLogin() = %v; want both true", srv.OAuth2Login(), srv.PasswordLogin())
	}
	want := OAuth2{
		Issuer:   "login.microsoftonline.com",
		Scope:    "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
		AuthURL:  "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
		TokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
	}
	if srv.OAuth2 == nil || *srv.OAuth2 != want {
		t.Errorf("OAuth2 = %+v, want %+v", srv.OAuth2, want)
	}

	// Only https endpoints are taken: the token would go to them.
	plain := strings.Replace(ms, "https://login.microsoftonline.com/common/oauth2/v2.0/token", "http://login.example.com/token", 1)
	if srv, err := Parse([]byte(plain), "me@outlook.com"); err != nil || srv.OAuth2 != nil {
		t.Errorf("Parse with an http token URL: OAuth2 = %+v, %v; want nil", srv.OAuth2, err)
	}
	// A document without the element has no OAuth2.
	if srv, err := Parse([]byte(doc(imapSSL)), "me@example.com"); err != nil || srv.OAuth2 != nil || srv.OAuth2Login() {
		t.Errorf("Parse without <oAuth2>: OAuth2 = %+v, OAuth2Login = %v, %v", srv.OAuth2, srv.OAuth2Login(), err)
	}
}
