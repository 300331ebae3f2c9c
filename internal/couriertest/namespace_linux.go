//go:build linux

package couriertest

import (
	"os/exec"
	"syscall"
)

// holderCommand returns the command of the process that holds the
// server's private mount namespace: `sleep infinity` in a new mount
// namespace (Go also makes every mount in it private, so that the bind
// mounts made there stay there).
func holderCommand(sleepBin string) (*exec.Cmd, error) {
	cmd := exec.Command(sleepBin, "infinity")
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	return cmd, nil
}
