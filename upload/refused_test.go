package upload

import (
	"testing"

	"github.com/emersion/go-imap/v2"
)

func TestRefusedCharacterTexts(t *testing.T) {
	tests := []struct {
		text string
		want rune
		ok   bool
	}{
		{"Character not allowed in mailbox name: '.'", '.', true},
		{"Invalid mailbox name: Name must not have '/' characters", '/', true},
		{"Mailbox name must not contain '%'", '%', true},
		{"Mailbox exists", 0, false},
	}
	for _, tt := range tests {
		err := &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: tt.text}
		got, ok := refusedCharacter(err)
		if got != tt.want || ok != tt.ok {
			t.Errorf("refusedCharacter(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}
