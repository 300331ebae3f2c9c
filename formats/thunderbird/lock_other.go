//go:build !unix

package thunderbird

// parentLockHeld cannot test POSIX locks here; Windows uses parent.lock.
func parentLockHeld(path string) (held, known bool) { return false, false }
