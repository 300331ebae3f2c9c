package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Record is what is kept of a sign-in between runs (--remember): the
// refresh token, and which client and provider it belongs to (a refresh
// token works only with the client it was issued to). The access token is
// not kept: it lives an hour, and a refresh at the start of the next run
// costs one request.
type Record struct {
	Account  string // the e-mail address
	ClientID string
	TokenURL string
	Scope    string
	Refresh  Secret
	Saved    time.Time
}

// Token returns the record's token (no access token yet: the first
// RefreshingSource.Token refreshes).
func (r *Record) Token() *Token { return &Token{Refresh: r.Refresh, Scope: r.Scope} }

// Matches reports whether the record belongs to cfg's client and
// provider; a record of another client must not be used (the provider
// would refuse it anyway, with a less clear error).
func (r *Record) Matches(cfg *Config) bool {
	return r.ClientID == cfg.Client.ID && r.TokenURL == cfg.Provider.TokenURL
}

// NewRecord makes the record of a sign-in of account with cfg.
func NewRecord(account string, cfg *Config, tok *Token, now time.Time) *Record {
	return &Record{Account: normalAccount(account), ClientID: cfg.Client.ID, TokenURL: cfg.Provider.TokenURL,
		Scope: tok.Scope, Refresh: tok.Refresh, Saved: now.UTC()}
}

// Store keeps records between runs. Implementations never put a secret
// into a command's argv, a log or an error.
type Store interface {
	// Load returns the record of account, or an error wrapping
	// ErrNotStored.
	Load(account string) (*Record, error)
	// Save stores r, replacing what was stored for r.Account.
	Save(r *Record) error
	// Delete removes the record of account; deleting nothing is no error.
	Delete(account string) error
	// Where says where records are kept, for the user ("the macOS
	// Keychain", "/home/me/.config/mailferry/oauth").
	Where() string
}

// ErrNotStored means no sign-in is remembered for the account.
var ErrNotStored = errors.New("no remembered sign-in")

// keychainService is the service name of mailferry's keychain items.
const keychainService = "mailferry"

// recordJSON is the stored form, secrets revealed: it is written only into
// a keychain or a private file.
type recordJSON struct {
	Version  int       `json:"v"`
	Account  string    `json:"account"`
	ClientID string    `json:"client_id"`
	TokenURL string    `json:"token_url"`
	Scope    string    `json:"scope,omitempty"`
	Refresh  string    `json:"refresh_token"`
	Saved    time.Time `json:"saved"`
}

func encodeRecord(r *Record) ([]byte, error) {
	if r.Refresh.IsZero() {
		return nil, errors.New("nothing to remember: the provider gave no refresh token")
	}
	return json.Marshal(recordJSON{Version: 1, Account: r.Account, ClientID: r.ClientID, TokenURL: r.TokenURL,
		Scope: r.Scope, Refresh: r.Refresh.Reveal(), Saved: r.Saved})
}

func decodeRecord(b []byte, account string) (*Record, error) {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil || j.Version != 1 {
		// Never quote b: it holds the token.
		return nil, errors.New("the remembered sign-in is damaged (not mailferry's format); run mailferry logout and sign in again")
	}
	if normalAccount(j.Account) != normalAccount(account) {
		return nil, fmt.Errorf("%w for %s (the stored record is %s's)", ErrNotStored, account, j.Account)
	}
	return &Record{Account: j.Account, ClientID: j.ClientID, TokenURL: j.TokenURL, Scope: j.Scope,
		Refresh: NewSecret(j.Refresh), Saved: j.Saved}, nil
}

// normalAccount is the key an address is stored under.
func normalAccount(a string) string { return strings.ToLower(strings.TrimSpace(a)) }

// accountKey returns the key account is stored under, checked.
func accountKey(account string) (string, error) {
	a := normalAccount(account)
	return a, checkAccount(a)
}

// checkAccount keeps an account usable as a keychain attribute and a file
// name part: an e-mail address, no controls, quotes or separators.
func checkAccount(a string) error {
	if a == "" || len(a) > 254 {
		return fmt.Errorf("account %q: want an e-mail address", a)
	}
	for _, r := range a {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"'\/:*?<>|`, r) {
			return fmt.Errorf("account %q: has a character that cannot be a key of the store", a)
		}
	}
	return nil
}

// StoreOptions configure OpenStore. The zero value picks the operating
// system's keychain where there is one, else a private file under the
// user's config directory.
type StoreOptions struct {
	// Dir is the directory of the file store; "" means
	// os.UserConfigDir()/mailferry/oauth.
	Dir string
	// FileOnly skips the keychain (e.g. a flag or a test).
	FileOnly bool
	// Getenv reads the environment (DBUS_SESSION_BUS_ADDRESS decides
	// whether a Secret Service can be reached); nil means os.Getenv.
	Getenv func(string) string
}

// OpenStore returns the store for this machine: the macOS Keychain (via
// /usr/bin/security), the Windows Credential Manager, the Secret Service
// on Linux and BSD (via secret-tool, when installed and a session bus is
// there), else files readable only by the user.
func OpenStore(o StoreOptions) (Store, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if !o.FileOnly {
		switch runtime.GOOS {
		case "darwin":
			if _, err := exec.LookPath("security"); err == nil {
				return MacKeychain{}, nil
			}
		case "windows":
			return credentialManager{}, nil
		default:
			if _, err := exec.LookPath("secret-tool"); err == nil && getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
				return SecretService{}, nil
			}
		}
	}
	dir := o.Dir
	if dir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return nil, fmt.Errorf("find a place for remembered sign-ins: %w", err)
		}
		dir = filepath.Join(cfg, "mailferry", "oauth")
	}
	return &FileStore{Dir: dir}, nil
}

// AllStores returns the store OpenStore picks and, when that is a
// keychain, the file store too: what Forget should clean (an earlier run
// may have used the file store, e.g. before secret-tool was installed).
func AllStores(o StoreOptions) ([]Store, error) {
	s, err := OpenStore(o)
	if err != nil {
		return nil, err
	}
	if _, ok := s.(*FileStore); ok {
		return []Store{s}, nil
	}
	o.FileOnly = true
	f, err := OpenStore(o)
	if err != nil {
		return []Store{s}, nil // no config directory: nothing can be there
	}
	return []Store{s, f}, nil
}

// Forget removes account's remembered sign-in from every store it may be
// in (the keychain and the file store: an earlier run may have used
// either), for "mailferry logout". It returns the record it found (so that
// the caller can revoke its refresh token at the provider), or nil.
func Forget(account string, stores ...Store) (*Record, error) {
	var found *Record
	var errs []error
	for _, s := range stores {
		if r, err := s.Load(account); err == nil && found == nil {
			found = r
		}
		if err := s.Delete(account); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.Where(), err))
		}
	}
	return found, errors.Join(errs...)
}
