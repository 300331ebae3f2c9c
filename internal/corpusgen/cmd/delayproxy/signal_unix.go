//go:build unix

package main

import (
	"os"
	"syscall"
)

// statsSignal asks a running proxy for its counters (kill -USR1).
var statsSignal os.Signal = syscall.SIGUSR1
