//go:build unix

package thunderbird

import (
	"os"
	"syscall"
)

// parentLockHeld asks, without taking a lock itself (F_GETLK only tests),
// whether another process holds a POSIX lock on path, as Mozilla's profile
// lock does on .parentlock. known is false when the file is missing or the
// question cannot be asked.
func parentLockHeld(path string) (held, known bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &lk); err != nil {
		return false, false
	}
	return lk.Type != syscall.F_UNLCK, true
}
