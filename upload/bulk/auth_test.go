package bulk

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"testing"

	"github.com/emersion/go-sasl"
)

// stepMech is a made-up SASL mechanism: it answers each challenge from a
// table and records what it was asked.
type stepMech struct {
	name    string
	ir      []byte
	answers map[string]stepAnswer
	asked   []string
}

type stepAnswer struct {
	resp []byte
	err  error
}

func (m *stepMech) Start() (string, []byte, error) { return m.name, m.ir, nil }

func (m *stepMech) Next(challenge []byte) ([]byte, error) {
	m.asked = append(m.asked, string(challenge))
	a, ok := m.answers[string(challenge)]
	if !ok {
		return nil, errors.New("unexpected challenge")
	}
	return a.resp, a.err
}

var errMechFailed = errors.New("the mechanism gave up")

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestAuthenticate runs SASL exchanges against scripted servers: what the
// client sends, what the mechanism is asked, and what Authenticate returns.
func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name   string
		caps   string
		mech   func() sasl.Client
		server []string // alternately: the line the client must send, the server's reply ("" = none)
		want   error    // nil, errMechFailed, or a *StatusError (matched by type)
		asked  []string // challenges the step mechanism saw
	}{
		{
			name: "PLAIN with SASL-IR",
			caps: "IMAP4rev1 SASL-IR AUTH=PLAIN",
			mech: func() sasl.Client { return sasl.NewPlainClient("", "alice", "secret") },
			server: []string{
				"B1 AUTHENTICATE PLAIN " + b64("\x00alice\x00secret"), "B1 OK [CAPABILITY IMAP4rev1 LITERAL+] logged in",
			},
		},
		{
			name: "PLAIN without SASL-IR",
			caps: "IMAP4rev1 AUTH=PLAIN",
			mech: func() sasl.Client { return sasl.NewPlainClient("", "alice", "secret") },
			server: []string{
				"B1 AUTHENTICATE PLAIN", "+ ",
				b64("\x00alice\x00secret"), "B1 OK logged in",
				"B2 CAPABILITY", "* CAPABILITY IMAP4rev1 LITERAL+\r\nB2 OK done",
			},
		},
		{
			name: "empty initial response",
			caps: "IMAP4rev1 SASL-IR",
			mech: func() sasl.Client { return &stepMech{name: "X-EMPTY", ir: []byte{}} },
			server: []string{
				"B1 AUTHENTICATE X-EMPTY =", "B1 OK [CAPABILITY IMAP4rev1] in",
			},
		},
		{
			name: "challenges",
			caps: "IMAP4rev1",
			mech: func() sasl.Client {
				return &stepMech{name: "X-STEPS", answers: map[string]stepAnswer{"": {resp: []byte("first")}, "c2": {resp: nil}, "c3": {resp: []byte("third")}}}
			},
			server: []string{
				"B1 AUTHENTICATE X-STEPS", "+",
				b64("first"), "+ " + b64("c2"),
				"", "+ " + b64("c3"),
				b64("third"), "B1 OK [CAPABILITY IMAP4rev1] in",
			},
			asked: []string{"", "c2", "c3"},
		},
		{
			name: "error challenge answered with a dummy response",
			caps: "IMAP4rev1 SASL-IR",
			mech: func() sasl.Client {
				return &stepMech{name: "X-OAUTH", ir: []byte("token"), answers: map[string]stepAnswer{`{"status":"401"}`: {resp: []byte{1}, err: errMechFailed}}}
			},
			server: []string{
				"B1 AUTHENTICATE X-OAUTH " + b64("token"), "+ " + b64(`{"status":"401"}`),
				b64("\x01"), "B1 NO [AUTHENTICATIONFAILED] invalid token",
			},
			want:  errMechFailed,
			asked: []string{`{"status":"401"}`},
		},
		{
			name: "mechanism error cancels",
			caps: "IMAP4rev1",
			mech: func() sasl.Client {
				return &stepMech{name: "X-STEPS", answers: map[string]stepAnswer{"": {err: errMechFailed}}}
			},
			server: []string{
				"B1 AUTHENTICATE X-STEPS", "+ ",
				"*", "B1 BAD authentication cancelled",
			},
			want:  errMechFailed,
			asked: []string{""},
		},
		{
			name: "refused",
			caps: "IMAP4rev1 SASL-IR AUTH=PLAIN",
			mech: func() sasl.Client { return sasl.NewPlainClient("", "alice", "wrong") },
			server: []string{
				"B1 AUTHENTICATE PLAIN " + b64("\x00alice\x00wrong"), "B1 NO [AUTHENTICATIONFAILED] Authentication failed.",
			},
			want: &StatusError{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mismatch := make(chan string, 1)
			c := scripted(t, "* OK [CAPABILITY "+tc.caps+"] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
				for i := 0; i+1 < len(tc.server); i += 2 {
					if got := readCmd(br); got != tc.server[i] {
						mismatch <- "client sent " + got + ", want " + tc.server[i]
						return
					}
					if tc.server[i+1] != "" {
						io.WriteString(w, tc.server[i+1]+"\r\n")
					}
				}
				mismatch <- ""
				readCmd(br)
			})
			mech := tc.mech()
			err := c.Authenticate(context.Background(), mech)
			if m := <-mismatch; m != "" {
				t.Fatal(m)
			}
			var se *StatusError
			switch want := tc.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if !c.Has("IMAP4rev1") {
					t.Errorf("capabilities after login: %v", c.Caps())
				}
			case *StatusError:
				if !errors.As(err, &se) || se.Type != "NO" {
					t.Fatalf("Authenticate: %v, want a NO", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Fatalf("Authenticate: %v, want %v", err, want)
				}
			}
			if sm, ok := mech.(*stepMech); ok && len(sm.asked) != len(tc.asked) {
				t.Errorf("mechanism asked %q, want %q", sm.asked, tc.asked)
			} else if ok {
				for i := range tc.asked {
					if sm.asked[i] != tc.asked[i] {
						t.Errorf("challenge %d: %q, want %q", i, sm.asked[i], tc.asked[i])
					}
				}
			}
			if c.Err() != nil {
				t.Errorf("connection ended: %v", c.Err())
			}
		})
	}
}

// TestAuthenticateCancelled: a context that ends in the middle of the
// exchange ends the connection (it is in no known state).
func TestAuthenticateCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := scripted(t, "* OK [CAPABILITY IMAP4rev1] hi", Options{}, func(br *bufio.Reader, w io.Writer) {
		readCmd(br)
		io.WriteString(w, "+ "+b64("c")+"\r\n")
		readCmd(br)
		cancel() // and never answer
		readCmd(br)
	})
	mech := &stepMech{name: "X-STEPS", answers: map[string]stepAnswer{"c": {resp: []byte("r")}}}
	err := c.Authenticate(ctx, mech)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Authenticate: %v, want context.Canceled", err)
	}
	if c.Err() == nil {
		t.Errorf("the connection still works after a cancelled exchange")
	}
}
