package oauth

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"mailferry/internal/autoconfig"
)

func TestDiscover(t *testing.T) {
	mx := map[string][]string{
		"example.org":       {"ASPMX.L.GOOGLE.COM.", "alt1.aspmx.l.google.com."},
		"new-workspace.org": {"smtp.google.com."},
		"contoso.com":       {"contoso-com.mail.protection.outlook.com."},
		"fabrikam.com":      {"fabrikam-com.a-v1.mx.microsoft."},
		"family.name":       {"family-name.olc.protection.outlook.com."},
		"isp.example":       {"mx1.isp.example."},
		"filtered.com":      {"mx.antispam.example."},
	}
	lookupMX := func(_ context.Context, domain string) ([]*net.MX, error) {
		hosts, ok := mx[domain]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: domain, IsNotFound: true}
		}
		var out []*net.MX
		for _, h := range hosts {
			out = append(out, &net.MX{Host: h, Pref: 10})
		}
		return out, nil
	}
	ac := func(_ context.Context, email string) (*autoconfig.Server, error) {
		switch {
		case strings.HasSuffix(email, "@filtered.com"):
			return &autoconfig.Server{Host: "outlook.office365.com", Port: 993, Source: "https://autoconfig.filtered.com/x",
				OAuth2: &autoconfig.OAuth2{Issuer: "login.microsoftonline.com", Scope: "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
					AuthURL: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize", TokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token"}}, nil
		case strings.HasSuffix(email, "@isp.example"):
			return &autoconfig.Server{Host: "imap.isp.example", Port: 993, Source: "https://isp.example/.well-known/x",
				OAuth2: &autoconfig.OAuth2{Issuer: "sso.isp.example", Scope: "imap offline", AuthURL: "https://sso.isp.example/auth", TokenURL: "https://sso.isp.example/token"}}, nil
		}
		return nil, autoconfig.ErrNotFound
	}
	tests := []struct {
		email, tenant string
		kind          Kind
		wantTenant    string
		wantFound     string
		wantHost      string
	}{
		{"me@gmail.com", "", KindGoogle, "", "built-in table", "imap.gmail.com"},
		{"me@GoogleMail.com", "", KindGoogle, "", "built-in table", "imap.gmail.com"},
		{"me@outlook.com", "", KindMicrosoft, "consumers", "built-in table", "outlook.office365.com"},
		{"me@hotmail.co.uk", "", KindMicrosoft, "consumers", "built-in table", "outlook.office365.com"},
		{"me@live.com.au", "", KindMicrosoft, "consumers", "built-in table", "outlook.office365.com"},
		{"me@outlook.de", "", KindMicrosoft, "consumers", "built-in table", "outlook.office365.com"},
		{"me@msn.com", "", KindMicrosoft, "consumers", "built-in table", "outlook.office365.com"},
		{"me@example.org", "", KindGoogle, "", "MX record aspmx.l.google.com", "imap.gmail.com"},
		{"me@new-workspace.org", "", KindGoogle, "", "MX record smtp.google.com", "imap.gmail.com"},
		{"me@contoso.com", "", KindMicrosoft, "contoso.com", "MX record contoso-com.mail.protection.outlook.com", "outlook.office365.com"},
		{"me@contoso.com", "72f988bf-86f1-41af-91ab-2d7cd011db47", KindMicrosoft, "72f988bf-86f1-41af-91ab-2d7cd011db47", "MX record", "outlook.office365.com"},
		{"me@fabrikam.com", "", KindMicrosoft, "fabrikam.com", "MX record fabrikam-com.a-v1.mx.microsoft", "outlook.office365.com"},
		{"me@family.name", "", KindMicrosoft, "consumers", "MX record", "outlook.office365.com"},
		{"me@filtered.com", "", KindMicrosoft, "filtered.com", "autoconfig https://autoconfig.filtered.com/x", "outlook.office365.com"},
		{"me@isp.example", "", KindOther, "", "autoconfig", "imap.isp.example"},
	}
	for _, tt := range tests {
		p, err := Discover(context.Background(), tt.email, DiscoverOptions{LookupMX: lookupMX, Autoconfig: ac, Tenant: tt.tenant})
		if err != nil {
			t.Errorf("Discover(%s): %v", tt.email, err)
			continue
		}
		if p.Kind != tt.kind || p.Tenant != tt.wantTenant || !strings.HasPrefix(p.Found, tt.wantFound) || p.IMAPHost != tt.wantHost {
			t.Errorf("Discover(%s) = {%v tenant %q found %q host %s}, want {%v %q %q %s}", tt.email, p.Kind, p.Tenant, p.Found, p.IMAPHost,
				tt.kind, tt.wantTenant, tt.wantFound, tt.wantHost)
		}
		if p.Kind == KindMicrosoft && (!strings.Contains(p.TokenURL, "/"+p.Tenant+"/oauth2/v2.0/token") || p.RedirectHost != "localhost") {
			t.Errorf("Discover(%s): Microsoft endpoints %s, redirect host %s", tt.email, p.TokenURL, p.RedirectHost)
		}
	}
	other, _ := Discover(context.Background(), "me@isp.example", DiscoverOptions{LookupMX: lookupMX, Autoconfig: ac})
	if other.TokenURL != "https://sso.isp.example/token" || strings.Join(other.Scopes, " ") != "imap offline" {
		t.Errorf("autoconfig provider = %+v", other)
	}
	for _, email := range []string{"me@nowhere.example", "me@live.example.com", "me@outlookmail.com"} {
		if _, err := Discover(context.Background(), email, DiscoverOptions{LookupMX: lookupMX, Autoconfig: ac}); !errors.Is(err, ErrUnknownProvider) {
			t.Errorf("Discover(%s): %v, want ErrUnknownProvider", email, err)
		}
	}
	if _, err := Discover(context.Background(), "not-an-address", DiscoverOptions{LookupMX: lookupMX}); err == nil || errors.Is(err, ErrUnknownProvider) {
		t.Errorf("Discover of a bad address: %v", err)
	}
}
