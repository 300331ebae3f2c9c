//go:build unix

package mbox

import "syscall"

// processCPU returns the CPU time (user + system) the process used so far,
// in seconds: benchmarks report it beside wall time, which a loaded
// machine inflates.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
