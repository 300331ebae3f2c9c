package oauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// No printed form of a Secret shows its value, also inside structs
// (exported and unexported fields), errors, JSON and slog.
func TestSecretNeverPrinted(t *testing.T) {
	const value = "ya29.very-secret-token"
	s := NewSecret(value)
	type outer struct {
		Public  Secret
		private Secret
		Tok     *Token
	}
	o := outer{Public: s, private: s, Tok: &Token{Access: s, Refresh: s}}
	var forms []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%T"} {
		forms = append(forms, fmt.Sprintf(verb, s), fmt.Sprintf(verb, o), fmt.Sprintf(verb, &o), fmt.Sprintf(verb, []Secret{s}))
	}
	forms = append(forms, fmt.Errorf("failed with %v", s).Error(), s.String(), s.GoString())
	j, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	forms = append(forms, string(j))
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("token", "tok", s, "outer", o)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("token", "tok", s)
	forms = append(forms, logged.String())
	for _, f := range forms {
		if strings.Contains(f, value) || strings.Contains(f, fmt.Sprintf("%x", value)) {
			t.Errorf("printed form leaks the secret: %s", f)
		}
	}
	if got := fmt.Sprint(s); got != "[redacted]" {
		t.Errorf("fmt.Sprint(secret) = %q, want [redacted]", got)
	}
	if s.Reveal() != value || !s.Equal(NewSecret(value)) || s.IsZero() {
		t.Errorf("Reveal/Equal/IsZero do not give the value back")
	}
	var zero Secret
	if !zero.IsZero() || zero.String() != "" || NewSecret("") != zero {
		t.Errorf("the empty secret is not zero or prints %q", zero.String())
	}
}
