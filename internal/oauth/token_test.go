package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpointAnswers(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		status      int
		ctype, body string
		wantExpiry  time.Duration // 0: no expiry
		wantCode    ErrorCode     // "": success or a plain error
		wantErr     string
	}{
		{name: "RFC 6749 5.1", status: 200, ctype: "application/json", body: `{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600}`,
			wantErr: "not Bearer"},
		{name: "bearer", status: 200, ctype: "application/json;charset=UTF-8", body: `{"access_token":"a","token_type":"Bearer","expires_in":3599,"scope":"mail"}`,
			wantExpiry: 3599 * time.Second},
		{name: "expires_in as a string", status: 200, ctype: "application/json", body: `{"access_token":"a","token_type":"bearer","expires_in":"3600"}`,
			wantExpiry: time.Hour},
		{name: "no expires_in", status: 200, ctype: "application/json", body: `{"access_token":"a"}`},
		{name: "no access token", status: 200, ctype: "application/json", body: `{"token_type":"bearer"}`, wantErr: "no access_token"},
		{name: "RFC 6749 5.2 error", status: 400, ctype: "application/json", body: `{"error":"invalid_grant","error_description":"AADSTS70000: revoked\r\nTrace ID: x"}`,
			wantCode: ErrInvalidGrant, wantErr: "AADSTS70000: revoked"},
		{name: "form-encoded error", status: 400, ctype: "application/x-www-form-urlencoded", body: `error=invalid_client&error_description=bad`, wantCode: ErrInvalidClient},
		{name: "HTML error page", status: 502, ctype: "text/html", body: `<html>Bad gateway</html>`, wantErr: "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.ctype)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			ep := endpointClient{now: func() time.Time { return now }}
			tok, err := ep.token(context.Background(), srv.URL+"/token", url.Values{"grant_type": {"x"}}, &Token{Refresh: NewSecret("old")})
			if tt.wantCode != "" {
				var ee *EndpointError
				if !errors.As(err, &ee) || ee.Code != tt.wantCode || ee.Status != tt.status {
					t.Fatalf("err = %v, want code %s", err, tt.wantCode)
				}
			}
			if tt.wantErr != "" || tt.wantCode != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "Trace ID") {
					t.Fatalf("err = %v, want it to say %q (first line only)", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var wantExp time.Time
			if tt.wantExpiry > 0 {
				wantExp = now.Add(tt.wantExpiry)
			}
			if tok.Access.Reveal() != "a" || !tok.Expiry.Equal(wantExp) || tok.Refresh.Reveal() != "old" {
				t.Errorf("token = %+v (expiry %v), want access a, expiry %v, the old refresh token kept", tok, tok.Expiry, wantExp)
			}
		})
	}
}
