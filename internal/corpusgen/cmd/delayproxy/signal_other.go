//go:build !unix

package main

import "os"

// statsSignal: this system has no SIGUSR1; the counters are printed when
// the proxy stops.
var statsSignal os.Signal
