package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// scripted is a token endpoint answering polls from a script, recording
// what it was sent.
type scripted struct {
	mu      sync.Mutex
	answers []string // error codes; "ok" is a token
	forms   []map[string][]string
}

func (s *scripted) handler(device string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/device", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(device))
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.forms = append(s.forms, r.PostForm)
		a := "expired_token"
		if len(s.answers) > 0 {
			a, s.answers = s.answers[0], s.answers[1:]
		}
		w.Header().Set("Content-Type", "application/json")
		if a == "ok" {
			w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":"3600","refresh_token":"rt"}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": a})
	})
	return mux
}

// The poller waits the interval, 5 s more after every slow_down (RFC 8628
// section 3.5), keeps polling while pending, and stops on the outcomes.
func TestSignInDevicePolling(t *testing.T) {
	const device = `{"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":60,"interval":2,"message":"Go there."}`
	tests := []struct {
		name      string
		device    string
		answers   []string
		wantWaits []time.Duration
		wantErr   error // nil: a token
	}{
		{"pending then granted", device, []string{"authorization_pending", "authorization_pending", "ok"}, []time.Duration{2e9, 2e9, 2e9}, nil},
		{"slow_down adds 5 s for good", device, []string{"slow_down", "authorization_pending", "slow_down", "ok"}, []time.Duration{2e9, 7e9, 7e9, 12e9}, nil},
		{"declined", device, []string{"authorization_pending", "access_denied"}, []time.Duration{2e9, 2e9}, ErrDenied},
		{"expired_token", device, []string{"expired_token"}, []time.Duration{2e9}, ErrSignInExpired},
		// 60 s lifetime: after 30 polls at 2 s the code has run out.
		{"lifetime runs out", device, strings.Fields(strings.Repeat("authorization_pending ", 40)), nil, ErrSignInExpired},
		// No interval given: 5 s (section 3.2); Google's verification_url.
		{"defaults", `{"device_code":"dc","user_code":"X","verification_url":"https://www.google.com/device","expires_in":30}`,
			[]string{"ok"}, []time.Duration{5e9}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &scripted{answers: tt.answers}
			srv := httptest.NewServer(s.handler(tt.device))
			defer srv.Close()
			cfg := &Config{
				Provider: Provider{Name: "Test", TokenURL: srv.URL + "/token", DeviceAuthURL: srv.URL + "/device", Scopes: []string{"mail", "offline_access"}},
				Client:   Client{ID: "cid"},
			}
			var waits []time.Duration
			var out bytes.Buffer
			tok, err := cfg.SignInDevice(context.Background(), DeviceOptions{
				Out:   &out,
				sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("SignInDevice: %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || tok.Access.Reveal() != "at" || tok.Refresh.Reveal() != "rt" || tok.Expiry.IsZero() {
				t.Fatalf("SignInDevice = %+v, %v; want the token", tok, err)
			}
			if tt.wantWaits != nil && !equalDurations(waits, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
			}
			if !strings.Contains(out.String(), "enter the code") || !strings.Contains(out.String(), "/device") {
				t.Errorf("instructions = %q", out.String())
			}
			for _, f := range s.forms {
				if f["grant_type"][0] != "urn:ietf:params:oauth:grant-type:device_code" || f["device_code"][0] != "dc" || f["client_id"][0] != "cid" {
					t.Errorf("poll form = %v", f)
				}
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Google has no device flow for mail: the error says so before any
// request.
func TestSignInDeviceGoogle(t *testing.T) {
	cfg := &Config{Provider: Google(), Client: Client{ID: "x"}, HTTP: &http.Client{Transport: failTransport{t}}}
	if _, err := cfg.SignInDevice(context.Background(), DeviceOptions{}); !errors.Is(err, ErrNoDeviceFlow) {
		t.Errorf("SignInDevice with Google: %v, want ErrNoDeviceFlow", err)
	}
}

type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no network in this test")
}

func failClient(t *testing.T) *http.Client { return &http.Client{Transport: failTransport{t}} }
