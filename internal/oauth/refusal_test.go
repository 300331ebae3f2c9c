package oauth

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// The providers' own answers to a password login, as users reported them.
func TestExplainLoginRefusal(t *testing.T) {
	tests := []struct {
		host, code, text string
		want             Remedy // 0: not explained (maybe just a wrong password)
		provider         Kind
	}{
		{"outlook.office365.com", "", "LOGIN failed.", UseOAuth, KindMicrosoft},
		{"outlook.office365.com", "", "AUTHENTICATE failed.", UseOAuth, KindMicrosoft},
		{"imap-mail.outlook.com", "", "LOGIN failed.", UseOAuth, KindMicrosoft},
		{"outlook.office365.com", "", "User is authenticated but not connected.", SignInAsMailboxOwner, KindMicrosoft},
		{"mail.example.com", "", "Basic authentication is disabled for this mailbox", UseOAuth, KindOther},
		{"imap.gmail.com", "ALERT", "Application-specific password required: https://support.google.com/accounts/answer/185833 (Failure)", UseAppPasswordOrOAuth, KindGoogle},
		{"imap.gmail.com", "ALERT", "Please log in via your web browser: https://support.google.com/mail/accounts/answer/78754 (Failure)", UseAppPasswordOrOAuth, KindGoogle},
		{"imap.gmail.com", "WEBALERT", "Web login required.", UseAppPasswordOrOAuth, KindGoogle},
		{"imap.gmail.com", "AUTHENTICATIONFAILED", "Invalid credentials (Failure)", UseAppPasswordOrOAuth, KindGoogle},
		{"mail.example.com", "AUTHENTICATIONFAILED", "Authentication failed.", 0, KindOther},
		{"mail.example.com", "", "LOGIN failed.", 0, KindOther},
	}
	for _, tt := range tests {
		e := ExplainLoginRefusal(tt.host, tt.code, tt.text)
		if tt.want == 0 {
			if e != nil {
				t.Errorf("ExplainLoginRefusal(%s, %q) = %v, want nil", tt.host, tt.text, e)
			}
			continue
		}
		if e == nil || e.Remedy != tt.want || e.Provider != tt.provider {
			t.Errorf("ExplainLoginRefusal(%s, %q) = %+v, want remedy %d from %v", tt.host, tt.text, e, tt.want, tt.provider)
			continue
		}
		msg := e.Error()
		if !strings.Contains(msg, tt.text) {
			t.Errorf("message does not quote the server: %s", msg)
		}
		switch tt.want {
		case UseOAuth:
			if !strings.Contains(msg, "--oauth2") {
				t.Errorf("message does not say --oauth2: %s", msg)
			}
		case UseAppPasswordOrOAuth:
			if !strings.Contains(msg, "app password") || !strings.Contains(msg, "--oauth2") {
				t.Errorf("message does not offer both ways: %s", msg)
			}
		}
	}
}

func TestExplainIMAPError(t *testing.T) {
	ie := &imap.Error{Type: imap.StatusResponseTypeNo, Text: "LOGIN failed."}
	err := ExplainIMAPError("outlook.office365.com", fmt.Errorf("login: %w", ie))
	var pe *PasswordRefusedError
	if !errors.As(err, &pe) || pe.Remedy != UseOAuth || !errors.Is(err, ie) {
		t.Errorf("ExplainIMAPError = %v, want a PasswordRefusedError wrapping the server's answer", err)
	}
	plain := errors.New("connection reset")
	if got := ExplainIMAPError("outlook.office365.com", plain); got != plain {
		t.Errorf("a network error was changed: %v", got)
	}
}
