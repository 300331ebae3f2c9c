//go:build !linux

package couriertest

import (
	"errors"
	"os/exec"
)

// holderCommand: private mount namespaces exist on Linux only; elsewhere
// Start skips (Courier's authentication library has fixed paths that only
// a private mount namespace can redirect without touching the system).
func holderCommand(sleepBin string) (*exec.Cmd, error) {
	return nil, errors.New("couriertest needs Linux mount namespaces")
}
