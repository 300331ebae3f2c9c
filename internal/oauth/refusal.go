package oauth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Remedy is what a user should do instead of logging in with a password.
type Remedy int

const (
	// UseOAuth: the provider no longer takes passwords over IMAP; sign in
	// with --oauth2.
	UseOAuth Remedy = iota + 1
	// UseAppPasswordOrOAuth: Gmail takes an app password (which needs
	// 2-Step Verification on the account) or the OAuth sign-in, never the
	// account's normal password.
	UseAppPasswordOrOAuth
	// SignInAsMailboxOwner: the sign-in worked, but for an account that
	// has no access to this mailbox (Microsoft's "User is authenticated
	// but not connected.").
	SignInAsMailboxOwner
)

// PasswordRefusedError is a refused login explained: the provider's own
// words (ServerText) told us that the password way is closed, and Remedy
// says which way is open. It wraps the server's answer.
type PasswordRefusedError struct {
	Server     string // host:port or host
	Provider   Kind
	Remedy     Remedy
	ServerText string
	Err        error
}

func (e *PasswordRefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused the login (%q): ", e.Server, e.ServerText)
	switch e.Remedy {
	case UseOAuth:
		if e.Provider == KindMicrosoft {
			b.WriteString("Microsoft no longer accepts passwords for IMAP (Microsoft 365 and Outlook.com turned it off); ")
		} else {
			b.WriteString("this server no longer accepts passwords for IMAP; ")
		}
		b.WriteString("sign in through your browser instead: run mailferry again with --oauth2 (docs/oauth.md says what it needs)")
	case UseAppPasswordOrOAuth:
		b.WriteString("Gmail does not accept your normal Google password here. Either sign in through your browser with --oauth2, " +
			"or create an app password (Google Account → Security → 2-Step Verification → App passwords; it needs 2-Step Verification) " +
			"and give that instead of your password; if you already used an app password, check that it was typed without its spaces")
	case SignInAsMailboxOwner:
		b.WriteString("the sign-in worked but for an account that cannot open this mailbox; sign in again (mailferry logout, then --oauth2) as the mailbox's owner, " +
			"and check that the user name given to mailferry is that same address")
	}
	return b.String()
}

func (e *PasswordRefusedError) Unwrap() error { return e.Err }

// serverKind tells Microsoft's and Google's IMAP servers by name.
func serverKind(host string) Kind {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	switch {
	case h == "imap.gmail.com", h == "imap.googlemail.com":
		return KindGoogle
	case h == "outlook.office365.com", h == "outlook.office.com", h == "imap-mail.outlook.com",
		strings.HasSuffix(h, ".outlook.com"), strings.HasSuffix(h, ".office365.com"):
		return KindMicrosoft
	}
	return KindOther
}

// ExplainLoginRefusal explains a refused password login from the server's
// host name, its response code (e.g. "AUTHENTICATIONFAILED", "ALERT") and
// text. It returns nil when the answer is not one whose meaning is known:
// then the password may simply be wrong. The texts are the providers'
// (collected from users' reports of imapsync, mbsync, Thunderbird and
// others):
//
//   - outlook.office365.com: "LOGIN failed." / "AUTHENTICATE failed." to
//     a password, since Microsoft turned basic authentication off for
//     Exchange Online and Outlook.com (16 September 2024);
//   - any server: texts naming basic authentication as disabled or
//     blocked;
//   - imap.gmail.com: "[ALERT] Application-specific password required:
//     https://support.google.com/accounts/answer/185833 (Failure)" (an
//     account with 2-Step Verification), "[ALERT] Please log in via your
//     web browser: ..." and "[WEBALERT ...] Web login required." (Google
//     blocked the password sign-in), and "[AUTHENTICATIONFAILED] Invalid
//     credentials (Failure)" (a wrong password, or the normal password,
//     which Gmail no longer takes from mail programs).
func ExplainLoginRefusal(host, code, text string) *PasswordRefusedError {
	t := strings.ToLower(text)
	e := &PasswordRefusedError{Server: host, Provider: serverKind(host), ServerText: strings.TrimSpace(text)}
	switch {
	case strings.Contains(t, "basic authentication is disabled"), strings.Contains(t, "basicauthblocked"),
		strings.Contains(t, "basic auth") && strings.Contains(t, "disabled"):
		e.Remedy = UseOAuth
	case e.Provider == KindGoogle && (strings.Contains(t, "application-specific password required") ||
		strings.Contains(t, "log in via your web browser") || strings.Contains(t, "web login required") ||
		strings.EqualFold(code, "AUTHENTICATIONFAILED") || strings.Contains(t, "invalid credentials")):
		e.Remedy = UseAppPasswordOrOAuth
	case e.Provider == KindMicrosoft && (strings.Contains(t, "login failed") || strings.Contains(t, "authenticate failed")):
		e.Remedy = UseOAuth
	case e.Provider == KindMicrosoft && strings.Contains(t, "user is authenticated but not connected"):
		e.Remedy = SignInAsMailboxOwner
	default:
		return nil
	}
	return e
}

// ExplainIMAPError wraps a go-imap error of a password login (or of the
// first command after an OAuth login, for "not connected") into a
// *PasswordRefusedError when ExplainLoginRefusal knows its meaning, and
// returns err unchanged otherwise.
func ExplainIMAPError(host string, err error) error {
	var ie *imap.Error
	if !errors.As(err, &ie) {
		return err
	}
	if e := ExplainLoginRefusal(host, string(ie.Code), ie.Text); e != nil {
		e.Err = err
		return e
	}
	return err
}
