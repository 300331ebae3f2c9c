// Command delayproxy relays TCP connections to a loopback address with an
// added round-trip time, for bench.sh's "real network" line:
//
//	delayproxy -rtt 20ms -to 127.0.0.1:993
//
// It prints the address it listens on (127.0.0.1, a free port) on the
// first line of standard output and runs until SIGINT or SIGTERM. It uses internal/faultproxy, which only connects to
// loopback addresses.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"mailferry/internal/faultproxy"
)

func main() {
	rtt := flag.Duration("rtt", 20*time.Millisecond, "round-trip time to add (half each way)")
	to := flag.String("to", "", "loopback address to relay to (required)")
	flag.Parse()
	if *to == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "delayproxy: need -to HOST:PORT")
		os.Exit(2)
	}
	p, err := faultproxy.New(*to)
	if err != nil {
		fmt.Fprintf(os.Stderr, "delayproxy: %v\n", err)
		os.Exit(1)
	}
	p.SetLatency(faultproxy.Both, *rtt/2)
	fmt.Println(p.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	_ = p.Close()
}
