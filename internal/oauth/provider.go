package oauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"mailferry/internal/autoconfig"
)

// Kind is a provider family whose ways mailferry knows.
type Kind int

const (
	// KindOther is a provider found only through its autoconfig document.
	KindOther Kind = iota
	// KindMicrosoft is the Microsoft identity platform: Microsoft 365
	// (Exchange Online) and Outlook.com / Hotmail / Live / MSN.
	KindMicrosoft
	// KindGoogle is Gmail and Google Workspace.
	KindGoogle
)

func (k Kind) String() string {
	switch k {
	case KindMicrosoft:
		return "Microsoft"
	case KindGoogle:
		return "Google"
	}
	return "other"
}

// Provider is where to sign in for one mailbox, and where its IMAP server
// is.
type Provider struct {
	Kind Kind
	// Name is for people: "Microsoft 365 / Outlook.com", "Google".
	Name string
	// AuthURL, TokenURL, DeviceAuthURL and RevokeURL are the endpoints;
	// DeviceAuthURL and RevokeURL may be "" (no device flow, no RFC 7009
	// revocation).
	AuthURL, TokenURL, DeviceAuthURL, RevokeURL string
	// Scopes are asked for in every authorization request.
	Scopes []string
	// IMAPHost and IMAPPort are the provider's IMAP server (implicit TLS),
	// "" and 0 when unknown.
	IMAPHost string
	IMAPPort int
	// RedirectHost is the host written into the loopback redirect URI:
	// "localhost" for Microsoft, whose app registrations take
	// http://localhost (any port); "127.0.0.1" for Google and others (RFC
	// 8252 section 8.3 prefers the IP literal).
	RedirectHost string
	// AuthParams are added to the authorization request.
	AuthParams url.Values
	// NoDeviceFlow, when not "", says why the device flow cannot be used
	// for mail with this provider.
	NoDeviceFlow string
	// Tenant is the Microsoft tenant in the endpoint URLs ("consumers",
	// "organizations", a domain or a tenant ID); "" for others.
	Tenant string
	// Found says how the provider was recognised, for the user: "built-in
	// table", "MX record aspmx.l.google.com", "autoconfig https://...".
	Found string
}

// Microsoft's endpoints (Microsoft identity platform v2.0) and IMAP scope
// ("Authenticate an IMAP, POP or SMTP connection using OAuth", Microsoft
// Learn). offline_access asks for a refresh token.
const (
	microsoftLogin = "https://login.microsoftonline.com/"
	microsoftScope = "https://outlook.office.com/IMAP.AccessAsUser.All"
	microsoftIMAP  = "outlook.office365.com"
)

// Microsoft returns the Microsoft provider for tenant: "consumers" for
// personal accounts (outlook.com, hotmail.*, live.*, msn.com),
// "organizations" for any work or school account, or the organisation's
// own tenant ID or one of its domains, which single-tenant app
// registrations need ("/common" is refused for them with AADSTS50194).
// "" means "organizations".
func Microsoft(tenant string) Provider {
	if tenant == "" {
		tenant = "organizations"
	}
	base := microsoftLogin + url.PathEscape(tenant) + "/oauth2/v2.0/"
	return Provider{
		Kind:          KindMicrosoft,
		Name:          "Microsoft 365 / Outlook.com",
		AuthURL:       base + "authorize",
		TokenURL:      base + "token",
		DeviceAuthURL: base + "devicecode",
		Scopes:        []string{microsoftScope, "offline_access"},
		IMAPHost:      microsoftIMAP,
		IMAPPort:      993,
		RedirectHost:  "localhost",
		Tenant:        tenant,
	}
}

// Google returns the Google provider (Gmail and Google Workspace):
// endpoints of Google's "OAuth 2.0 for Mobile & Desktop Apps", scope
// https://mail.google.com/ (the only scope Gmail's IMAP accepts).
// access_type=offline asks for a refresh token; prompt=consent makes Google
// send one again when the user had agreed before.
func Google() Provider {
	return Provider{
		Kind:         KindGoogle,
		Name:         "Google",
		AuthURL:      "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL:     "https://oauth2.googleapis.com/token",
		RevokeURL:    "https://oauth2.googleapis.com/revoke",
		Scopes:       []string{"https://mail.google.com/"},
		IMAPHost:     "imap.gmail.com",
		IMAPPort:     993,
		RedirectHost: "127.0.0.1",
		AuthParams:   url.Values{"access_type": {"offline"}, "prompt": {"consent"}},
		// Google's device flow ("OAuth 2.0 for TV and Limited-Input
		// Device Applications") allows only a short list of scopes;
		// https://mail.google.com/ is not among them (invalid_scope).
		NoDeviceFlow: "Google does not allow the device sign-in for mail (its device flow refuses the Gmail scope); use the browser sign-in, or --oauth2-token-command",
	}
}

// DiscoverOptions configure Discover. The zero value uses the system's DNS
// resolver and no autoconfig document.
type DiscoverOptions struct {
	// LookupMX resolves MX records; nil means net.DefaultResolver.
	LookupMX func(ctx context.Context, domain string) ([]*net.MX, error)
	// Autoconfig fetches the provider's autoconfig document (for example
	// autoconfig.Lookup with the program's HTTP client); nil skips it.
	Autoconfig func(ctx context.Context, email string) (*autoconfig.Server, error)
	// Tenant overrides the Microsoft tenant (--oauth2-tenant).
	Tenant string
}

// ErrUnknownProvider means Discover could not tell where the address signs
// in: not in the built-in table, no known mail exchanger, no <oAuth2> in
// an autoconfig document.
var ErrUnknownProvider = errors.New("cannot tell where this address signs in with OAuth")

// Discover finds the provider of email without any configuration, in this
// order:
//  1. the built-in table of the providers' own domains (gmail.com,
//     googlemail.com; outlook.com, hotmail.*, live.*, msn.com and
//     windowslive.com, which sign in as Microsoft personal accounts);
//  2. the domain's MX records: Google's mail exchangers (*.google.com,
//     *.googlemail.com) mean Google Workspace; Exchange Online's
//     (*.mail.protection.outlook.com, *.mx.microsoft) mean Microsoft 365
//     with the domain as tenant; *.olc.protection.outlook.com means
//     Outlook.com (personal accounts on their own domain);
//  3. the autoconfig document's <oAuth2> element, whose issuer names
//     Google or Microsoft, or gives another provider's endpoints.
//
// Errors: ErrUnknownProvider wrapped with what was tried, a usage error for
// a malformed address, or ctx.Err().
func Discover(ctx context.Context, email string, opts DiscoverOptions) (*Provider, error) {
	domain, err := autoconfig.Domain(email)
	if err != nil {
		return nil, err
	}
	tenant := func(def string) string {
		if opts.Tenant != "" {
			return opts.Tenant
		}
		return def
	}
	if k := tableKind(domain); k != KindOther {
		p := Google()
		if k == KindMicrosoft {
			p = Microsoft(tenant("consumers"))
		}
		p.Found = "built-in table (" + domain + ")"
		return &p, nil
	}
	var tried []string
	lookup := opts.LookupMX
	if lookup == nil {
		lookup = net.DefaultResolver.LookupMX
	}
	mxs, err := lookup(ctx, domain)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		tried = append(tried, fmt.Sprintf("MX lookup: %v", err))
	} else {
		for _, mx := range mxs {
			host := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
			var p Provider
			switch mxKind(host) {
			case mxGoogle:
				p = Google()
			case mxMicrosoft365:
				p = Microsoft(tenant(domain))
			case mxOutlookConsumer:
				p = Microsoft(tenant("consumers"))
			default:
				continue
			}
			p.Found = "MX record " + host
			return &p, nil
		}
		tried = append(tried, fmt.Sprintf("MX records of %s name no known provider", domain))
	}
	if opts.Autoconfig != nil {
		srv, err := opts.Autoconfig(ctx, email)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("autoconfig: %v", err))
		case srv.OAuth2 == nil:
			tried = append(tried, "the autoconfig document has no <oAuth2> element")
		default:
			p := fromAutoconfig(srv, tenant(domain))
			p.Found = "autoconfig " + srv.Source
			return &p, nil
		}
	}
	return nil, fmt.Errorf("%w %s: %s", ErrUnknownProvider, email, strings.Join(tried, "; "))
}

// tableKind knows the providers' own consumer domains. Microsoft's brands
// exist under many country endings (hotmail.co.uk, live.com.au,
// outlook.de): the brand followed by a top-level domain, or by "co." or
// "com." and a country.
func tableKind(domain string) Kind {
	switch domain {
	case "gmail.com", "googlemail.com":
		return KindGoogle
	case "msn.com", "windowslive.com":
		return KindMicrosoft
	}
	labels := strings.Split(domain, ".")
	switch labels[0] {
	case "hotmail", "live", "outlook":
	default:
		return KindOther
	}
	rest := labels[1:]
	switch {
	case len(rest) == 1 && len(rest[0]) >= 2:
		return KindMicrosoft
	case len(rest) == 2 && (rest[0] == "co" || rest[0] == "com") && len(rest[1]) == 2:
		return KindMicrosoft
	}
	return KindOther
}

type mxClass int

const (
	mxUnknown mxClass = iota
	mxGoogle
	mxMicrosoft365
	mxOutlookConsumer
)

// mxKind recognises the mail exchangers of Google (aspmx.l.google.com and
// its alternatives, smtp.google.com, gmail-smtp-in.l.google.com,
// aspmx2.googlemail.com) and of Exchange Online
// (<domain>.mail.protection.outlook.com, and since 2024
// <domain>.<zone>.mx.microsoft); Outlook.com's own domains receive at
// <domain>.olc.protection.outlook.com.
func mxKind(host string) mxClass {
	switch {
	case strings.HasSuffix(host, ".olc.protection.outlook.com"):
		return mxOutlookConsumer
	case strings.HasSuffix(host, ".mail.protection.outlook.com"), strings.HasSuffix(host, ".mx.microsoft"):
		return mxMicrosoft365
	case host == "smtp.google.com", strings.HasSuffix(host, ".google.com"), strings.HasSuffix(host, ".googlemail.com"):
		return mxGoogle
	}
	return mxUnknown
}

// fromAutoconfig makes a provider of a document's <oAuth2>: Google's or
// Microsoft's issuer gives the built-in provider (the document's scopes
// often ask for calendars and contacts too, which mailferry does not
// need; Microsoft with msTenant, the domain unless overridden, since its
// mail exchanger was not Exchange Online's and single-tenant registrations
// need a tenant), anything else the document's endpoints and scope.
func fromAutoconfig(srv *autoconfig.Server, msTenant string) Provider {
	o := srv.OAuth2
	var p Provider
	switch strings.ToLower(o.Issuer) {
	case "accounts.google.com":
		p = Google()
	case "login.microsoftonline.com":
		p = Microsoft(msTenant)
	default:
		p = Provider{
			Kind:         KindOther,
			Name:         o.Issuer,
			AuthURL:      o.AuthURL,
			TokenURL:     o.TokenURL,
			Scopes:       strings.Fields(o.Scope),
			RedirectHost: "127.0.0.1",
		}
	}
	if srv.Host != "" && !srv.STARTTLS {
		p.IMAPHost, p.IMAPPort = srv.Host, srv.Port
	}
	return p
}
