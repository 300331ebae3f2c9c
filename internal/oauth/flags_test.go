package oauth

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestFlagsValidate(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"--oauth2"}, true},
		{[]string{"--oauth2", "--remember", "--oauth2-client-id", "x", "--oauth2-tenant", "contoso.com"}, true},
		{[]string{"--oauth2-device", "--remember"}, true},
		{[]string{"--oauth2-token-command", "oama access me@example.com"}, true},
		{[]string{"--oauth2", "--oauth2-device"}, false},
		{[]string{"--oauth2-token-command", "x", "--remember"}, false},
		{[]string{"--oauth2-token-command", "pass show x | head -1"}, false},
		{[]string{"--remember"}, false},
		{[]string{"--oauth2-client-id", "x"}, false},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f Flags
		f.Register(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatal(err)
		}
		err := f.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrUsage)) {
			t.Errorf("Validate(%q) = %v, want ok=%v", tt.args, err, tt.ok)
		}
	}
}

func TestFlagsClient(t *testing.T) {
	secretFile := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secretFile, []byte("from-file\nignored\n"), 0o600)
	builtin := BuiltinClients{Microsoft: "ms-build", Google: "g-build", GoogleSecret: "g-build-secret"}
	tests := []struct {
		name       string
		flags      Flags
		env        map[string]string
		p          Provider
		wantID     string
		wantSecret string
		wantErr    error
	}{
		{"flag wins", Flags{ClientID: "flag"}, map[string]string{EnvClientID: "env"}, Microsoft(""), "flag", "", nil},
		{"environment", Flags{}, map[string]string{EnvClientID: "env"}, Microsoft(""), "env", "", nil},
		{"build's Microsoft ID", Flags{}, nil, Microsoft(""), "ms-build", "", nil},
		{"build's Google ID and secret", Flags{}, nil, Google(), "g-build", "g-build-secret", nil},
		{"own ID never gets the build's secret", Flags{ClientID: "mine"}, nil, Google(), "mine", "", nil},
		{"secret from the environment", Flags{ClientID: "mine"}, map[string]string{EnvClientSecret: " s3 "}, Google(), "mine", "s3", nil},
		{"secret from a file", Flags{ClientID: "mine", ClientSecretFile: secretFile}, nil, Google(), "mine", "from-file", nil},
		{"secret file from the environment", Flags{ClientID: "mine"}, map[string]string{EnvClientSecretFile: secretFile}, Google(), "mine", "from-file", nil},
		{"nothing", Flags{}, nil, Provider{Kind: KindOther, Name: "ISP"}, "", "", ErrNoClientID},
	}
	for _, tt := range tests {
		c, err := tt.flags.Client(tt.p, func(k string) string { return tt.env[k] }, builtin)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || c.ID != tt.wantID || c.Secret.Reveal() != tt.wantSecret {
			t.Errorf("%s: Client = {%s %q}, %v; want {%s %q}", tt.name, c.ID, c.Secret.Reveal(), err, tt.wantID, tt.wantSecret)
		}
	}
	if _, err := (&Flags{ClientID: "x", ClientSecretFile: filepath.Join(t.TempDir(), "missing")}).Client(Google(), nil, BuiltinClients{}); err == nil {
		t.Error("a missing secret file is no error")
	}
}
