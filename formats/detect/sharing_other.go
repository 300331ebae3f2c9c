//go:build !windows

package detect

import (
	"errors"
	"syscall"
)

// isSharingViolation reports whether err is a file locked by another
// process. Only Windows refuses reads of open files; elsewhere EAGAIN from a
// mandatory lock is the nearest thing.
func isSharingViolation(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == syscall.EAGAIN
}
