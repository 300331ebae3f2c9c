package upload

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Security says how a connection is protected.
type Security string

// Connection security modes.
const (
	// ImplicitTLS is imaps://: TLS from the first byte (default port 993).
	ImplicitTLS Security = "tls"
	// StartTLS is imap://: a plain connection upgraded with STARTTLS
	// (default port 143). The password is never sent before the upgrade
	// unless Options.AllowPlaintext is set.
	StartTLS Security = "starttls"
)

// Target is an IMAP account to upload into, as given by --to.
type Target struct {
	User     string
	Host     string
	Port     int
	Security Security
}

// Addr is host:port for dialing.
func (t Target) Addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// String renders the target as a URL without any secret, for logs and
// reports: imaps://info@example.com@mail.example.com:993.
func (t Target) String() string {
	scheme := "imaps"
	if t.Security == StartTLS {
		scheme = "imap"
	}
	return scheme + "://" + t.User + "@" + t.Addr()
}

// ParseURL parses imaps://USER@HOST[:PORT] (implicit TLS, port 993) or
// imap://USER@HOST[:PORT] (STARTTLS, port 143). The user name may contain
// '@', raw or percent-encoded: the host starts after the last '@'. A
// password in the URL is refused: passwords must not appear on command
// lines. Errors wrap ErrConfig.
func ParseURL(s string) (Target, error) {
	var t Target
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return t, fmt.Errorf("%w: target %q: want imaps://USER@HOST[:PORT] or imap://USER@HOST[:PORT]", ErrConfig, s)
	}
	switch strings.ToLower(scheme) {
	case "imaps":
		t.Security, t.Port = ImplicitTLS, 993
	case "imap":
		t.Security, t.Port = StartTLS, 143
	default:
		return t, fmt.Errorf("%w: target %q: unknown scheme %q (want imaps or imap)", ErrConfig, s, scheme)
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if strings.Trim(rest[i:], "/") != "" {
			return t, fmt.Errorf("%w: target %q: unexpected path or query %q (folders are chosen with --prefix)", ErrConfig, s, rest[i:])
		}
		rest = rest[:i]
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return t, fmt.Errorf("%w: target %q: no user name (want %s://USER@HOST)", ErrConfig, s, scheme)
	}
	userinfo, hostport := rest[:at], rest[at+1:]
	// A ':' in the user part separates a password: refused, but say so
	// without echoing it.
	if strings.ContainsRune(userinfo, ':') {
		return t, fmt.Errorf("%w: target: the URL contains a password; give it with --password-file or MAILFERRY_PASSWORD, never on the command line", ErrConfig)
	}
	user, err := url.PathUnescape(userinfo)
	if err != nil {
		return t, fmt.Errorf("%w: target %q: bad user name: %w", ErrConfig, s, err)
	}
	if user == "" {
		return t, fmt.Errorf("%w: target %q: empty user name", ErrConfig, s)
	}
	if strings.ContainsAny(user, "\x00\r\n") {
		return t, fmt.Errorf("%w: target %q: control characters in user name", ErrConfig, s)
	}
	t.User = user
	host := hostport
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		port, perr := strconv.Atoi(p)
		if perr != nil || port <= 0 || port > 65535 {
			return t, fmt.Errorf("%w: target %q: bad port %q", ErrConfig, s, p)
		}
		host, t.Port = h, port
	} else if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		host = hostport[1 : len(hostport)-1]
	} else if strings.Contains(hostport, ":") && !strings.Contains(hostport, "]") && strings.Count(hostport, ":") == 1 {
		return t, fmt.Errorf("%w: target %q: bad host:port %q", ErrConfig, s, hostport)
	}
	if host == "" {
		return t, fmt.Errorf("%w: target %q: empty host", ErrConfig, s)
	}
	t.Host = host
	return t, nil
}
