package upload

import "testing"

func TestRefusedCharacter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want rune
		ok   bool
	}{
		{"dovecot dot", imapErr("NO", "CANNOT", "Character not allowed in mailbox name: '.'"), '.', true},
		{"no code", imapErr("NO", "", "Character not allowed in mailbox name: '/'"), '/', true},
		{"other cannot", imapErr("NO", "CANNOT", "Invalid mailbox name"), 0, false},
		{"other code", imapErr("NO", "NOPERM", "not allowed: 'x'"), 0, false},
		{"not a server error", errString("Character not allowed in mailbox name: '.'"), 0, false},
	}
	for _, tt := range tests {
		r, ok := refusedCharacter(tt.err)
		if r != tt.want || ok != tt.ok {
			t.Errorf("%s: refusedCharacter = %q, %v; want %q, %v", tt.name, r, ok, tt.want, tt.ok)
		}
	}
}
