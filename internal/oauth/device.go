package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

// DeviceCode is what the user needs to finish a device sign-in on another
// device (RFC 8628 section 3.2).
type DeviceCode struct {
	UserCode string
	// VerificationURI is where to type UserCode.
	VerificationURI string
	// VerificationURIComplete, when the provider gives it, already holds
	// the code (for a QR code or a click).
	VerificationURIComplete string
	// Expiry is when the code stops working.
	Expiry time.Time
	// Message is the provider's own instruction (Microsoft sends one), "".
	Message string
}

// DeviceOptions configure SignInDevice.
type DeviceOptions struct {
	// Out receives the instructions; nil discards them.
	Out io.Writer
	// Show, when set, is called with the code instead of printing to Out
	// (the guided run words it its own way).
	Show func(DeviceCode)

	// sleep waits between polls; tests replace it to run without waiting.
	sleep func(ctx context.Context, d time.Duration) error
}

type deviceAnswer struct {
	DeviceCode              string          `json:"device_code"`
	UserCode                string          `json:"user_code"`
	VerificationURI         string          `json:"verification_uri"`
	VerificationURL         string          `json:"verification_url"` // Google's older spelling
	VerificationURIComplete string          `json:"verification_uri_complete"`
	ExpiresIn               flexibleSeconds `json:"expires_in"`
	Interval                flexibleSeconds `json:"interval"`
	Message                 string          `json:"message"`
}

// SignInDevice signs in with the device authorization grant (RFC 8628):
// it asks for a code, tells the user where to type it (on any device with
// a browser), and polls the token endpoint every interval the provider
// asked for, 5 seconds longer after each slow_down (section 3.5), while
// the answer is authorization_pending, until the user finishes or the
// code expires. Errors: ErrNoDeviceFlow, ErrDenied (access_denied),
// ErrSignInExpired (expired_token, or the code's lifetime ran out),
// ctx.Err(), or the provider's *EndpointError.
func (c *Config) SignInDevice(ctx context.Context, o DeviceOptions) (*Token, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if c.Provider.NoDeviceFlow != "" {
		return nil, fmt.Errorf("%w: %s", ErrNoDeviceFlow, c.Provider.NoDeviceFlow)
	}
	if c.Provider.DeviceAuthURL == "" {
		return nil, fmt.Errorf("%w: %s has no device authorization endpoint", ErrNoDeviceFlow, c.Provider.Name)
	}
	ep := c.endpoint()
	form := c.clientForm(url.Values{"scope": {c.scope()}})
	body, err := ep.postForm(ctx, c.Provider.DeviceAuthURL, form)
	if err != nil {
		return nil, fmt.Errorf("ask for a device code: %w", err)
	}
	var da deviceAnswer
	if err := json.Unmarshal(body, &da); err != nil {
		return nil, fmt.Errorf("%s: device code answer is not JSON: %v", c.Provider.DeviceAuthURL, err)
	}
	if da.VerificationURI == "" {
		da.VerificationURI = da.VerificationURL
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, fmt.Errorf("%s: device code answer lacks device_code, user_code or verification_uri", c.Provider.DeviceAuthURL)
	}
	start := c.timeNow()
	lifetime := time.Duration(da.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = 15 * time.Minute // RFC 8628 makes expires_in required; be lenient
	}
	code := DeviceCode{
		UserCode: da.UserCode, VerificationURI: da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete, Expiry: start.Add(lifetime), Message: oneLine(da.Message),
	}
	if o.Show != nil {
		o.Show(code)
	} else if o.Out != nil {
		fmt.Fprintf(o.Out, "To sign in to %s, open %s on any device and enter the code\n\n  %s\n\n", c.Provider.Name, code.VerificationURI, code.UserCode)
		if code.VerificationURIComplete != "" {
			fmt.Fprintf(o.Out, "(or open %s, which has the code in it)\n", code.VerificationURIComplete)
		}
		fmt.Fprintf(o.Out, "The code works until %s. Waiting for you to finish…\n", code.Expiry.Format("15:04"))
	}

	// Section 3.2: "If no value is provided, clients MUST use 5 as the
	// default."
	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	sleep := o.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	poll := c.clientForm(url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"device_code": {da.DeviceCode},
	})
	for elapsed := time.Duration(0); ; {
		if elapsed+interval > lifetime {
			return nil, fmt.Errorf("%w: the code %s expired before the sign-in was finished", ErrSignInExpired, code.UserCode)
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, err
		}
		elapsed += interval
		tok, err := ep.token(ctx, c.Provider.TokenURL, poll, nil)
		switch {
		case err == nil:
			return tok, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case isCode(err, ErrAuthorizationPending):
		case isCode(err, ErrSlowDown):
			interval += 5 * time.Second
		case isCode(err, ErrAccessDenied):
			return nil, fmt.Errorf("%w: %w", ErrDenied, err)
		case isCode(err, ErrExpiredToken):
			return nil, fmt.Errorf("%w: %w", ErrSignInExpired, err)
		default:
			return nil, fmt.Errorf("wait for the device sign-in: %w", err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
