package daemontest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// User is a test account on a server.
type User struct {
	Name     string
	Password string
}

// DefaultUser is the name of the account a harness makes when its
// configuration names none.
const DefaultUser = "tester"

// NewPassword returns a random password of 24 hex digits: nothing a test
// could hard-code, and easy to search for in logs and reports that must
// not contain it.
func NewPassword() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// Users returns the accounts of a configuration: users as given, with an
// empty Password replaced by a new random one, or one DefaultUser when
// users is empty. Names must be non-empty lower-case letters, digits, ".",
// "_" or "-" (what every server's user database accepts), and unique.
func Users(users []User) ([]User, error) {
	if len(users) == 0 {
		return []User{{Name: DefaultUser, Password: NewPassword()}}, nil
	}
	out := make([]User, len(users))
	seen := map[string]bool{}
	for i, u := range users {
		if u.Name == "" || strings.Trim(u.Name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			return nil, fmt.Errorf("user name %q: want lower-case letters, digits, '.', '_' or '-'", u.Name)
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("user %q given twice", u.Name)
		}
		seen[u.Name] = true
		if strings.ContainsAny(u.Password, "\x00\r\n") {
			return nil, fmt.Errorf("password of %q: has a NUL or line break", u.Name)
		}
		if u.Password == "" {
			u.Password = NewPassword()
		}
		out[i] = u
	}
	return out, nil
}
