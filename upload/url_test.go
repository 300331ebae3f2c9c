package upload

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Target
		err  string // substring of the error; "" means success
	}{
		{"imaps default port", "imaps://joe@mail.example.com", Target{User: "joe", Host: "mail.example.com", Port: 993, Security: ImplicitTLS}, ""},
		{"imap default port", "imap://joe@mail.example.com", Target{User: "joe", Host: "mail.example.com", Port: 143, Security: StartTLS}, ""},
		{"explicit port", "imaps://joe@mail.example.com:10993", Target{User: "joe", Host: "mail.example.com", Port: 10993, Security: ImplicitTLS}, ""},
		{"raw @ in user", "imaps://info@example.com@mail.example.com", Target{User: "info@example.com", Host: "mail.example.com", Port: 993, Security: ImplicitTLS}, ""},
		{"encoded @ in user", "imaps://info%40example.com@mail.example.com:993", Target{User: "info@example.com", Host: "mail.example.com", Port: 993, Security: ImplicitTLS}, ""},
		{"upper-case scheme", "IMAPS://joe@h", Target{User: "joe", Host: "h", Port: 993, Security: ImplicitTLS}, ""},
		{"ipv6", "imap://joe@[::1]:1143", Target{User: "joe", Host: "::1", Port: 1143, Security: StartTLS}, ""},
		{"ipv6 no port", "imap://joe@[::1]", Target{User: "joe", Host: "::1", Port: 143, Security: StartTLS}, ""},
		{"trailing slash", "imaps://joe@h/", Target{User: "joe", Host: "h", Port: 993, Security: ImplicitTLS}, ""},
		{"password refused", "imaps://joe:secret@h", Target{}, "contains a password"},
		{"no user", "imaps://mail.example.com", Target{}, "no user name"},
		{"empty user", "imaps://@h", Target{}, "empty user"},
		{"bad scheme", "https://joe@h", Target{}, "unknown scheme"},
		{"no scheme", "joe@h", Target{}, "want imaps://"},
		{"bad port", "imaps://joe@h:99999", Target{}, "bad port"},
		{"empty port", "imaps://joe@h:", Target{}, "bad port"},
		{"path", "imaps://joe@h/INBOX", Target{}, "unexpected path"},
		{"empty host", "imaps://joe@", Target{}, "empty host"},
		{"bad escape", "imaps://jo%zz@h", Target{}, "bad user name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseURL(%q) error = %v, want one containing %q", tt.in, err, tt.err)
				}
				if !errors.Is(err, ErrConfig) {
					t.Errorf("ParseURL(%q) error %v does not wrap ErrConfig", tt.in, err)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("ParseURL(%q) error %q leaks the password", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseURL(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestTargetString(t *testing.T) {
	tg, err := ParseURL("imap://info%40example.com@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tg.String(), "imap://info@example.com@mail.example.com:143"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
