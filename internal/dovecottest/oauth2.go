package dovecottest

import (
	"fmt"
	"net/url"
	"strings"
)

// OAuth2 makes the server accept OAuth 2.0 access tokens (SASL XOAUTH2 and
// OAUTHBEARER) besides the password, checking each token by RFC 7662
// introspection at an authorization server (internal/oauthtest in tests).
// The token's user (UsernameAttribute of the introspection answer) must be
// the user who logs in, lower-cased: Dovecot compares it with the login
// name after username_format (default %Lu).
//
// Dovecot 2.3 (checked with 2.3.19): a passdb { driver = oauth2 } with
// args pointing at dovecot-oauth2.conf.ext, used only for the two token
// mechanisms; the passwd-file passdb keeps PLAIN and LOGIN. What it does
// (TestDovecotOAuth2Behaviour in internal/oauth shows each):
//   - without AuthCacheSize (Dovecot's default auth_cache_size = 0) every
//     login asks the introspection endpoint: a revoked token fails at the
//     next login. With the cache on, a token that passed is cached (the
//     debug log shows "cache hit: ... token=<the token>"): a revoked token
//     keeps working until auth_cache_ttl ends.
//   - a refused token (RFC 7662 {"active": false}: "Provided token is not
//     valid"; another user's token: "Username 'x' did not match 'y'") is
//     answered with the error document as a SASL challenge,
//     {"status":"401","schemes":"bearer","scope":"mail"} for XOAUTH2 and
//     {"status":"invalid_token"} for OAUTHBEARER, plus
//     "openid-configuration" when OpenIDConfigurationURL is set; after the
//     client's dummy response comes NO [AUTHENTICATIONFAILED]. An empty
//     dummy sent as "=" (go-imap's form of an empty response) is answered
//     BAD "Invalid base64 data in continued response" instead.
//   - when the introspection endpoint fails (HTTP 503), there is no
//     challenge: NO [UNAVAILABLE] Temporary authentication failure.
//
// Dovecot 2.4 checks tokens in the mechanism itself, configured with the
// global oauth2_* settings; that variant is written from the 2.4
// documentation and has not been run.
type OAuth2 struct {
	// IntrospectionURL is the RFC 7662 endpoint; http:// is fine on
	// 127.0.0.1.
	IntrospectionURL string
	// IntrospectionUser and IntrospectionPassword, when set, go into the
	// URL as HTTP Basic credentials (how Dovecot's documentation passes a
	// client ID and secret to introspection).
	IntrospectionUser, IntrospectionPassword string
	// UsernameAttribute is the introspection field holding the user;
	// default "username" (RFC 7662 section 2.2).
	UsernameAttribute string
	// ActiveAttribute and ActiveValue, when ActiveAttribute is set, make
	// Dovecot require that field to have that value ("active" = "true"
	// checks RFC 7662's active member).
	ActiveAttribute, ActiveValue string
	// OpenIDConfigurationURL is added to Dovecot's error challenge as
	// "openid-configuration" (RFC 7628 section 3.2.2).
	OpenIDConfigurationURL string
	// AuthCacheSize turns Dovecot's authentication cache on
	// (auth_cache_size, e.g. "1M") with a one-hour TTL, to test whether
	// token checks are cached.
	AuthCacheSize string
	// Debug logs every introspection request and answer (debug = yes,
	// auth_debug = yes) into the server's log.
	Debug bool
}

// oauth2ConfName is the passdb's configuration file in the server
// directory.
const oauth2ConfName = "dovecot-oauth2.conf.ext"

func (o *OAuth2) validate() error {
	if o == nil {
		return nil
	}
	u, err := url.Parse(o.IntrospectionURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("dovecottest: OAuth2.IntrospectionURL %q: want an http(s) URL", o.IntrospectionURL)
	}
	for _, s := range []string{o.UsernameAttribute, o.ActiveAttribute, o.ActiveValue, o.OpenIDConfigurationURL, o.IntrospectionUser, o.IntrospectionPassword} {
		if strings.ContainsAny(s, "\r\n") {
			return fmt.Errorf("dovecottest: OAuth2 setting %q has a line break", s)
		}
	}
	if o.AuthCacheSize != "" && !sizeRE.MatchString(o.AuthCacheSize) {
		return fmt.Errorf("dovecottest: OAuth2.AuthCacheSize %q: want digits with an optional k, M or G", o.AuthCacheSize)
	}
	return nil
}

// authMechanisms is the auth_mechanisms setting.
func (cfg Config) authMechanisms() string {
	if cfg.OAuth2 != nil {
		return "plain login xoauth2 oauthbearer"
	}
	return "plain login"
}

// introspectionURL returns the URL with the credentials in it.
func (o *OAuth2) introspectionURL() string {
	u, _ := url.Parse(o.IntrospectionURL) // validated
	if o.IntrospectionUser != "" {
		u.User = url.UserPassword(o.IntrospectionUser, o.IntrospectionPassword)
	}
	return u.String()
}

func (o *OAuth2) usernameAttribute() string {
	if o.UsernameAttribute == "" {
		return "username"
	}
	return o.UsernameAttribute
}

// oauth2Ext is dovecot-oauth2.conf.ext for Dovecot 2.3 (key = value
// lines, read by the oauth2 passdb).
func (o *OAuth2) oauth2Ext() string {
	var w confWriter
	w.line("# dovecottest: oauth2 passdb (Dovecot 2.3)")
	w.line("introspection_mode = post")
	w.line("introspection_url = %s", o.introspectionURL())
	w.line("username_attribute = %s", o.usernameAttribute())
	if o.ActiveAttribute != "" {
		w.line("active_attribute = %s", o.ActiveAttribute)
		w.line("active_value = %s", o.ActiveValue)
	}
	if o.OpenIDConfigurationURL != "" {
		w.line("openid_configuration_url = %s", o.OpenIDConfigurationURL)
	}
	w.line("timeout_msecs = 10000")
	if o.Debug {
		w.line("debug = yes")
	}
	return w.b.String()
}

// oauth2Passdb23 writes the oauth2 passdb and the settings around it for
// Dovecot 2.3. The password passdb is limited to PLAIN and LOGIN by
// passwdMechanisms.
func (w *confWriter) oauth2Passdb23(o *OAuth2, confPath string) {
	w.line("passdb {")
	w.line("  driver = oauth2")
	w.line("  mechanisms = xoauth2 oauthbearer")
	w.line("  args = %s", confPath)
	w.line("}")
	w.oauth2Common(o)
}

// oauth2Settings24 writes the 2.4 settings: the mechanism validates tokens
// itself (no passdb).
func (w *confWriter) oauth2Settings24(o *OAuth2) {
	w.line("oauth2_introspection_mode = post")
	w.line("oauth2_introspection_url = %s", quote(o.introspectionURL()))
	w.line("oauth2_username_attribute = %s", o.usernameAttribute())
	if o.ActiveAttribute != "" {
		w.line("oauth2_active_attribute = %s", o.ActiveAttribute)
		w.line("oauth2_active_value = %s", quote(o.ActiveValue))
		w.line("oauth2_force_introspection = yes")
	}
	if o.OpenIDConfigurationURL != "" {
		w.line("oauth2_openid_configuration_url = %s", quote(o.OpenIDConfigurationURL))
	}
	w.oauth2Common(o)
}

func (w *confWriter) oauth2Common(o *OAuth2) {
	if o.AuthCacheSize != "" {
		w.line("auth_cache_size = %s", o.AuthCacheSize)
		w.line("auth_cache_ttl = 1 hour")
		w.line("auth_cache_negative_ttl = 1 hour")
	}
	if o.Debug {
		w.line("auth_debug = yes")
	}
}
