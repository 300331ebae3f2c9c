//go:build !unix

package daemontest

import (
	"errors"
	"os/exec"
	"syscall"
)

// The daemons run on Unix only; on other systems the harnesses compile (so
// that `go vet` for Windows covers the tests that import them) and skip.

func ownProcessGroup(cmd *exec.Cmd) {}

func signalGroup(pgid int, sig syscall.Signal) error {
	return errors.New("daemontest: process groups are not supported on this system")
}

const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
	sigZero = syscall.Signal(0)
)

// RunAs does nothing where there are no Unix users.
func RunAs(cmd *exec.Cmd, uid, gid int) {}
