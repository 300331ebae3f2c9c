package oauth

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Flags are the OAuth settings of the command line. Register adds them to
// a FlagSet; cmd reads them back from the struct.
type Flags struct {
	// Browser: --oauth2, sign in through the browser (authorization code
	// with PKCE and a loopback redirect).
	Browser bool
	// Device: --oauth2-device, sign in with a code typed on another
	// device (Microsoft only: Google refuses mail in its device flow).
	Device bool
	// TokenCommand: --oauth2-token-command CMD, a program printing an
	// access token.
	TokenCommand string
	// ClientID: --oauth2-client-id ID.
	ClientID string
	// ClientSecretFile: --oauth2-client-secret-file FILE (Google desktop
	// clients). The secret itself is never an argument.
	ClientSecretFile string
	// Tenant: --oauth2-tenant T, the Microsoft tenant (a domain or tenant
	// ID) for app registrations limited to one organisation.
	Tenant string
	// Remember: --remember, keep the sign-in for the next runs.
	Remember bool
}

// Environment variables read by Client.
const (
	EnvClientID         = "MAILFERRY_OAUTH2_CLIENT_ID"
	EnvClientSecret     = "MAILFERRY_OAUTH2_CLIENT_SECRET"
	EnvClientSecretFile = "MAILFERRY_OAUTH2_CLIENT_SECRET_FILE"
)

// Register adds the flags to fs.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.Browser, "oauth2", false, "sign in through your browser (OAuth 2.0) instead of a password: Microsoft 365, Outlook.com, Gmail")
	fs.BoolVar(&f.Device, "oauth2-device", false, "sign in with a code typed into a browser on any device (Microsoft only)")
	fs.StringVar(&f.TokenCommand, "oauth2-token-command", "", "run `CMD` (no shell) and use the access token it prints")
	fs.StringVar(&f.ClientID, "oauth2-client-id", "", "the OAuth client `ID` registered for mailferry (or "+EnvClientID+")")
	fs.StringVar(&f.ClientSecretFile, "oauth2-client-secret-file", "", "read the OAuth client secret from `FILE` (Google; or "+EnvClientSecret+")")
	fs.StringVar(&f.Tenant, "oauth2-tenant", "", "Microsoft tenant: your organisation's domain or tenant `ID` (default: from the address)")
	fs.BoolVar(&f.Remember, "remember", false, "keep the sign-in (in the system keychain) so that the next runs need no browser; mailferry logout forgets it")
}

// Enabled reports whether an OAuth sign-in was asked for.
func (f *Flags) Enabled() bool { return f.Browser || f.Device || f.TokenCommand != "" }

// ErrUsage marks a bad combination of flags (exit code 2).
var ErrUsage = errors.New("usage")

// Validate checks the combination of flags.
func (f *Flags) Validate() error {
	n := 0
	for _, b := range []bool{f.Browser, f.Device, f.TokenCommand != ""} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		return fmt.Errorf("%w: choose one of --oauth2, --oauth2-device and --oauth2-token-command", ErrUsage)
	case f.TokenCommand != "" && f.Remember:
		return fmt.Errorf("%w: --remember keeps a browser or device sign-in; a token command keeps its own", ErrUsage)
	case n == 0 && (f.ClientID != "" || f.ClientSecretFile != "" || f.Tenant != "" || f.Remember):
		return fmt.Errorf("%w: --oauth2-client-id, --oauth2-client-secret-file, --oauth2-tenant and --remember go with --oauth2 or --oauth2-device", ErrUsage)
	}
	if f.TokenCommand != "" {
		if _, err := SplitCommand(f.TokenCommand); err != nil {
			return fmt.Errorf("%w: --oauth2-token-command: %w", ErrUsage, err)
		}
	}
	return nil
}

// BuiltinClients are client IDs compiled into a build by whoever
// distributes mailferry with its own registrations. cmd holds them as
// variables set with -ldflags -X, e.g.
//
//	go build -ldflags "-X main.oauthMicrosoftClientID=... -X main.oauthGoogleClientID=... -X main.oauthGoogleClientSecret=..."
//
// Google's desktop-app client secret is not confidential by Google's own
// account (it ships inside every copy of the app), so baking it in is
// what Google expects; it still never comes from the command line.
type BuiltinClients struct {
	Microsoft    string
	Google       string
	GoogleSecret string
}

// Client returns the OAuth client for provider p: the ID from
// --oauth2-client-id, else MAILFERRY_OAUTH2_CLIENT_ID, else the build's
// for p's kind; the secret from MAILFERRY_OAUTH2_CLIENT_SECRET, else the
// file of --oauth2-client-secret-file or MAILFERRY_OAUTH2_CLIENT_SECRET_FILE
// (first line), else the build's Google secret when the build's Google ID
// is used. getenv nil means os.Getenv. No ID at all is ErrNoClientID.
func (f *Flags) Client(p Provider, getenv func(string) string, b BuiltinClients) (Client, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c Client
	builtin := false
	switch {
	case f.ClientID != "":
		c.ID = f.ClientID
	case getenv(EnvClientID) != "":
		c.ID = getenv(EnvClientID)
	case p.Kind == KindMicrosoft && b.Microsoft != "":
		c.ID, builtin = b.Microsoft, true
	case p.Kind == KindGoogle && b.Google != "":
		c.ID, builtin = b.Google, true
	default:
		return Client{}, fmt.Errorf("%w for %s: give --oauth2-client-id (docs/oauth.md says how to register one in a few minutes)", ErrNoClientID, p.Name)
	}
	c.ID = strings.TrimSpace(c.ID)
	file := f.ClientSecretFile
	if file == "" {
		file = getenv(EnvClientSecretFile)
	}
	switch {
	case getenv(EnvClientSecret) != "":
		c.Secret = NewSecret(strings.TrimSpace(getenv(EnvClientSecret)))
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return Client{}, fmt.Errorf("read the client secret: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimSpace(line); line == "" {
			return Client{}, fmt.Errorf("read the client secret: %s is empty", file)
		}
		c.Secret = NewSecret(line)
	case builtin && p.Kind == KindGoogle && b.GoogleSecret != "":
		c.Secret = NewSecret(b.GoogleSecret)
	}
	return c, nil
}
