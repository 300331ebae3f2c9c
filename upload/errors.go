package upload

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/internal/imapguard"
	"mailferry/upload/bulk"
)

// Errors the CLI maps to exit codes. Functions of this package wrap them
// with %w and context; test with errors.Is.
var (
	// ErrConfig is a usage or configuration problem: a bad URL, an unusable
	// CA file, a server that would need the password sent in clear text
	// without AllowPlaintext, a bad --include pattern. Exit code 2.
	ErrConfig = errors.New("configuration error")
	// ErrAuth is a failed login: wrong user name or password, or a server
	// refusing the login. Exit code 2.
	ErrAuth = errors.New("login failed")
	// ErrNoEncryption comes with ErrConfig: the server offers no
	// encryption (no STARTTLS on imap://) and AllowPlaintext is off, so
	// the password is not sent. What to do next depends on who asks (a
	// flag for the command line, a question to the provider for the
	// guided run); the text says neither.
	ErrNoEncryption = errors.New("the server offers no encrypted connection; the password is not sent unencrypted")
	// ErrOverQuota stops a run: the server answered [OVERQUOTA], nothing
	// more will fit. Exit code 1.
	ErrOverQuota = errors.New("the mailbox on the server is over its quota")
	// ErrVerify means the verification found source messages missing on
	// the server (or could not check a folder). Exit code 1.
	ErrVerify = errors.New("verification failed")
	// ErrGaveUp stops a run that retried a failing connection (or a
	// server that kept refusing new ones) for RetryTimeout. Exit code 1; a
	// re-run resumes.
	ErrGaveUp = errors.New("gave up")
	// ErrThrottled stops a run whose server kept asking it to slow down
	// for longer than RetryTimeout. Exit code 4 (come back later); a
	// re-run later resumes.
	ErrThrottled = errors.New("gave up waiting for the server")
	// ErrDailyLimit stops a run at the provider's limit on uploads over a
	// period (Gmail: about 500 MB of IMAP upload a day, then "[OVERQUOTA]
	// Account exceeded command or bandwidth limits"): nothing more goes
	// in today. Exit code 4 (come back later); a re-run later resumes.
	ErrDailyLimit = errors.New("the provider's upload limit for now is used up")
	// ErrServer stops a run whose server answered in a way the run cannot
	// go on with: a response that breaks the IMAP grammar, or one larger
	// or deeper than any honest server sends. Exit code 1.
	ErrServer = errors.New("the server's answer cannot be used")
	// ErrIncomplete means the run finished but some messages did not arrive
	// as complete copies of the source: quarantined after the server
	// refused them, or incomplete in the source itself. Exit code 3.
	ErrIncomplete = errors.New("some messages did not arrive as complete copies of the source")
)

// serverError returns the IMAP status response in err, if any.
func serverError(err error) *imap.Error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}

// retryable is the one place that decides whether a failed command is
// worth retrying. Transport failures are (a dropped or timed-out
// connection, a server BYE), on a new connection; so are the server's
// requests to slow down (see throttled), after a pause, returned as a
// *throttleError. Any other tagged NO or BAD is final (retry false, err
// unchanged) while the connection is alive; [OVERQUOTA] (storage full)
// becomes ErrOverQuota; configuration and login errors are final; a
// cancelled context is returned unwrapped.
//
// alive says whether the connection still works after the error: go-imap
// hands the last error of a dying connection to every pending command, so
// a NO seen on a dead connection may not be this command's answer, and the
// outcome must be checked on the server (retry true).
func retryable(ctx context.Context, err error, alive bool) (retry bool, _ error) {
	if err == nil {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if errors.Is(err, ErrAuth) || errors.Is(err, ErrConfig) || errors.Is(err, ErrOverQuota) {
		return false, err
	}
	var fe finalError
	if errors.As(err, &fe) {
		return false, fe.err
	}
	if protocolBroken(err) {
		// The same request gets the same answer: not a network failure.
		return false, fmt.Errorf("%w: %w", ErrServer, err)
	}
	var te *throttleError
	if errors.As(err, &te) {
		return true, err
	}
	if ie := serverError(err); ie != nil {
		switch classify(ie) {
		case answerOverQuota:
			return false, fmt.Errorf("%w: the server answered %s; nothing more will fit: free space on the server (or raise the quota), then run the same command again", ErrOverQuota, describe(ie))
		case answerThrottle:
			return true, newThrottleError(err, ie)
		}
		if ie.Type == imap.StatusResponseTypeBye || !alive {
			return true, err
		}
		return false, err
	}
	// Anything else is a failed connection (go-imap reports EOF, resets,
	// timeouts and a server BYE as plain errors on every pending command).
	return true, err
}

// protocolBroken reports an answer that breaks the IMAP grammar or the
// bounds mailferry keeps on what a server may send (a line, a literal or
// a nesting deeper than any honest server sends): retrying would get the
// same. A server that is merely slow to finish an answer (the answer's
// time or rate budget) may do better on a new connection, and is retried.
func protocolBroken(err error) bool {
	var le *imapguard.LimitError
	if errors.As(err, &le) {
		return le.Limit != imapguard.AnswerTime && le.Limit != imapguard.AnswerRate
	}
	return errors.Is(err, bulk.ErrProtocol) || errors.Is(err, imapguard.ErrMalformed)
}

// answer is the kind of a server's NO or BAD.
type answer int

const (
	answerRefused   answer = iota // final for this command (a message: quarantined)
	answerThrottle                // slow down and try again
	answerOverQuota               // storage full: nothing more will fit
)

// throttleCodes are response codes that mean "not now": [INUSE] (RFC 5530:
// the mailbox is locked by another session), [UNAVAILABLE] (RFC 5530: a
// temporary failure) and Gmail's [THROTTLED].
var throttleCodes = map[imap.ResponseCode]bool{
	imap.ResponseCodeInUse:       true,
	imap.ResponseCodeUnavailable: true,
	"THROTTLED":                  true,
}

// throttleText matches what servers say when they rate-limit without a
// code: Office 365 "NO Request is throttled. Suggested Backoff Time: 299609
// milliseconds" (https://github.com/imapsync/imapsync/issues/198), Gmail "[OVERQUOTA] Account exceeded
// command or bandwidth limits" (a rate limit despite the code:
// https://github.com/ljmerza/ha-email-sensor/issues/16), "too many requests", "rate limit",
// "try again later".
var throttleText = regexp.MustCompile(`(?i)throttl|rate[ -]?limit|\brate\b|too many|try again later|slow down|bandwidth|exceeded command`)

// periodLimitText matches a provider's limit on what an account may do
// over a period, as opposed to a storage quota or a short slow-down:
// Gmail's "[OVERQUOTA] Account exceeded command or bandwidth limits" (its
// daily IMAP upload limit, https://support.google.com/a/answer/1071518)
// and texts naming a daily or hourly limit.
var periodLimitText = regexp.MustCompile(`(?i)bandwidth limit|exceeded command|daily|per day|per hour|24 hours|sending quota|upload limit`)

// serverFailureText matches a refusal that names a failure of the server's
// own rather than anything about the message: Cyrus's "System I/O error"
// (its first APPENDs race to create its staging directory), "internal
// error", a temporary failure. The same message may well be taken a
// moment later.
var serverFailureText = regexp.MustCompile(`(?i)\bI/O error|internal (server )?error|temporar(y|ily) (failure|unavailable|error)|server ?bug`)

// serverFailure reports whether a refusal is the server's own failure
// (serverFailureText, or RFC 5530's [SERVERBUG]).
func serverFailure(err error) bool {
	ie := serverError(err)
	return ie != nil && ie.Type == imap.StatusResponseTypeNo &&
		(ie.Code == imap.ResponseCodeServerBug || serverFailureText.MatchString(ie.Text))
}

// quotaText matches a storage quota refusal from a server that sends no
// [OVERQUOTA] code.
var quotaText = regexp.MustCompile(`(?i)quota exceeded|over quota|exceeds? (the |your )?quota|mailbox (is )?full`)

// classify sorts a server's tagged NO or BAD (or BYE).
func classify(ie *imap.Error) answer {
	switch {
	case ie.Code == imap.ResponseCodeOverQuota && !throttleText.MatchString(ie.Text):
		return answerOverQuota
	case throttleCodes[ie.Code], ie.Code == imap.ResponseCodeOverQuota:
		return answerThrottle
	case ie.Code == imap.ResponseCodeLimit, ie.Code == imap.ResponseCodeTooBig:
		// A limit on this one message: it will never fit.
		return answerRefused
	case ie.Type == imap.StatusResponseTypeNo && throttleText.MatchString(ie.Text):
		return answerThrottle
	case ie.Type == imap.StatusResponseTypeNo && quotaText.MatchString(ie.Text):
		return answerOverQuota
	}
	return answerRefused
}

// loginThrottled reports whether a refused login is a "not now" (too many
// connections, a temporary failure) rather than wrong credentials. It is
// narrower than classify: "too many failed logins" must not be retried.
func loginThrottled(ie *imap.Error) bool {
	if throttleCodes[ie.Code] {
		return true
	}
	return !badLogin.MatchString(ie.Text) && loginBusy.MatchString(ie.Text)
}

var (
	badLogin  = regexp.MustCompile(`(?i)(login|logon|auth\w*) (attempt|fail)|fail\w* (login|logon|auth)|password|credential`)
	loginBusy = regexp.MustCompile(`(?i)simultaneous|connections|try again later|throttl`)
	// connectionLimit is the part of loginBusy that means "one connection
	// too many" (Dovecot: "Maximum number of connections from user+IP
	// exceeded"; others: "too many simultaneous connections"): giving up
	// on it suggests fewer connections.
	connectionLimit = regexp.MustCompile(`(?i)(number of|too many|simultaneous) (\w+ )?connections`)
)

// throttleError is a server's request to slow down, with the pause it
// suggests (0 when it suggests none).
type throttleError struct {
	err  error
	wait time.Duration
}

// suggestedWait matches Office 365's "Suggested Backoff Time: 299609
// milliseconds".
var suggestedWait = regexp.MustCompile(`(?i)backoff time:? *([0-9]+) *(ms|milliseconds?|s|seconds?)\b`)

func newThrottleError(err error, ie *imap.Error) *throttleError {
	te := &throttleError{err: err}
	if m := suggestedWait.FindStringSubmatch(ie.Text); m != nil {
		if n, perr := strconv.Atoi(m[1]); perr == nil {
			unit := time.Millisecond
			if strings.HasPrefix(strings.ToLower(m[2]), "s") {
				unit = time.Second
			}
			te.wait = time.Duration(n) * unit
		}
	}
	return te
}

func (e *throttleError) Error() string {
	return "the server asks to slow down: " + describe(e.err)
}

func (e *throttleError) Unwrap() error { return e.err }

// finalError marks an error that must not be retried, whatever it is.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

// describe renders a server's answer for a report: "NO [LIMIT] Message too
// large".
func describe(err error) string {
	if ie := serverError(err); ie != nil {
		if ie.Code != "" {
			return fmt.Sprintf("%s [%s] %s", ie.Type, ie.Code, ie.Text)
		}
		return fmt.Sprintf("%s %s", ie.Type, ie.Text)
	}
	return err.Error()
}
