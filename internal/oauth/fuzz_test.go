package oauth

import (
	"strings"
	"testing"
)

// A command line that splits, quoted back word by word, splits into the
// same words; nothing panics.
func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{`oama access me@example.com`, `pass show "mail/my account"`, `cmd 'it''s' "a \"b\" \$c"`, `a\ b`, `x | y`, `"`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommand(s)
		if err != nil {
			return
		}
		if len(words) == 0 {
			t.Fatalf("SplitCommand(%q) = no words, no error", s)
		}
		var quoted []string
		for _, w := range words {
			quoted = append(quoted, "'"+strings.ReplaceAll(w, "'", `'\''`)+"'")
		}
		again, err := SplitCommand(strings.Join(quoted, " "))
		if err != nil || strings.Join(again, "\x00") != strings.Join(words, "\x00") {
			t.Errorf("SplitCommand(%q) = %q, quoted back %q, %v", s, words, again, err)
		}
	})
}

// Whatever a server sends as a challenge, the client answers at most once,
// with the mechanism's dummy response, or refuses it; nothing panics.
func FuzzSASLNext(f *testing.F) {
	for _, s := range []string{`{"status":"invalid_token","scope":"example_scope"}`, `{"status":"401","schemes":"bearer","scope":"mail"}`, `{}`, `[]`, `null`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, mech := range []Mechanism{OAuthBearer, XOAuth2} {
			c := NewSASLClient(mech, "u@example.com", NewSecret("tok"), "", 0)
			resp, err := c.Next([]byte(s))
			if err != nil {
				if c.Refusal() != nil {
					t.Errorf("refused challenge %q recorded as %+v", s, c.Refusal())
				}
				continue
			}
			want := map[Mechanism]string{OAuthBearer: "\x01", XOAuth2: ""}[mech]
			if string(resp) != want || c.Refusal() == nil || c.Refusal().Status == "" {
				t.Errorf("%s: Next(%q) = %q, refusal %+v", mech, s, resp, c.Refusal())
			}
		}
	})
}

// A damaged keychain item or file never has its content quoted in the
// error (it may hold a token).
func FuzzDecodeRecord(f *testing.F) {
	good, _ := encodeRecord(testRecord("me@example.com"))
	for _, s := range [][]byte{good, []byte(`{"v":1}`), []byte(`not json secret-token-xyz`), nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b, "me@example.com")
		if err == nil {
			if normalAccount(r.Account) != "me@example.com" {
				t.Errorf("decoded another account's record %+v", r)
			}
			return
		}
		if len(b) >= 8 && strings.Contains(err.Error(), string(b)) {
			t.Errorf("error quotes the stored bytes: %v", err)
		}
	})
}
