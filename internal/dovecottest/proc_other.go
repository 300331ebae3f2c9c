//go:build !unix

package dovecottest

import (
	"errors"
	"os/exec"
	"syscall"
)

// Dovecot runs on Unix only; on other systems the harness compiles (so that
// `go vet` for Windows covers the tests that import it) and Start skips.

func ownProcessGroup(cmd *exec.Cmd) {}

func signalGroup(pgid int, sig syscall.Signal) error {
	return errors.New("dovecottest: process groups are not supported on this system")
}

const (
	sigTerm = syscall.Signal(15)
	sigKill = syscall.Signal(9)
	sigZero = syscall.Signal(0)
)
