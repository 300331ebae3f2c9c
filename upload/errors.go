package upload

import (
	"context"
	"errors"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// Errors the CLI maps to exit codes (see ExitCode). Functions of this
// package wrap them with %w and context; test with errors.Is.
var (
	// ErrConfig is a usage or configuration problem: a bad URL, an unusable
	// CA file, a server that would need the password sent in clear text
	// without AllowPlaintext, a bad --include pattern. Exit code 2.
	ErrConfig = errors.New("configuration error")
	// ErrAuth is a failed login: wrong user name or password, or a server
	// refusing the login. Exit code 2.
	ErrAuth = errors.New("login failed")
	// ErrOverQuota stops a run: the server answered [OVERQUOTA], nothing
	// more will fit. Exit code 1.
	ErrOverQuota = errors.New("the mailbox on the server is over its quota")
	// ErrVerify means the verification found source messages missing on
	// the server (or could not check a folder). Exit code 1.
	ErrVerify = errors.New("verification failed")
	// ErrIncomplete means the run finished but some messages did not arrive
	// as complete copies of the source: quarantined after the server
	// refused them, or incomplete in the source itself. Exit code 3.
	ErrIncomplete = errors.New("some messages did not arrive as complete copies of the source")
)

// Exit codes of mailferry, as documented in --help and the README.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitIncomplete  = 3
	ExitInterrupted = 130
)

// ExitCode maps an error returned by Upload or Verify (or ParseURL) to the
// process exit code: nil 0, ErrConfig/ErrAuth 2, ErrIncomplete 3, a
// cancelled context 130, anything else 1.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrConfig), errors.Is(err, ErrAuth):
		return ExitUsage
	case errors.Is(err, ErrVerify), errors.Is(err, ErrOverQuota):
		return ExitFailure
	case errors.Is(err, ErrIncomplete):
		return ExitIncomplete
	default:
		return ExitFailure
	}
}

// serverError returns the IMAP status response in err, if any.
func serverError(err error) *imap.Error {
	var ie *imap.Error
	if errors.As(err, &ie) {
		return ie
	}
	return nil
}

// retryable is the one place that decides whether a failed command is
// worth retrying on a new connection. Only transport failures are: a
// dropped or timed-out connection, a server BYE. A tagged NO or BAD is
// final (retry false, err unchanged) while the connection is alive;
// [OVERQUOTA] becomes ErrOverQuota; configuration and login errors are
// final; a cancelled context is returned unwrapped.
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
	if ie := serverError(err); ie != nil {
		if ie.Code == imap.ResponseCodeOverQuota {
			return false, fmt.Errorf("%w: %s", ErrOverQuota, ie.Text)
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
