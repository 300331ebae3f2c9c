package detect

import (
	"errors"
	"syscall"
)

// isSharingViolation reports whether err is Windows refusing a file that
// another process has open without sharing it (ERROR_SHARING_VIOLATION, 32)
// or has locked (ERROR_LOCK_VIOLATION, 33).
func isSharingViolation(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == 32 || errno == 33)
}
