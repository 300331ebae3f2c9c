// Command delayproxy relays TCP connections to a loopback address with an
// added round-trip time and, optionally, a bandwidth limit on the link all
// connections share, for bench.sh's "real network" lines:
//
//	delayproxy -rtt 20ms -to 127.0.0.1:993
//	delayproxy -rtt 30ms -up 20mbit -down 100mbit -to 127.0.0.1:993
//
// It prints the address it listens on (127.0.0.1, a free port) on the
// first line of standard output and runs until SIGINT or SIGTERM. It
// counts the bytes that cross it: on SIGUSR1, and once more when it stops,
// it prints a line
//
//	up=BYTES down=BYTES connections=N
//
// to standard output (totals since it started: a benchmark takes the
// difference around each run). It uses internal/faultproxy, which only
// connects to loopback addresses.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mailferry/internal/faultproxy"
)

func main() {
	rtt := flag.Duration("rtt", 20*time.Millisecond, "round-trip time to add (half each way)")
	to := flag.String("to", "", "loopback address to relay to (required)")
	upRate := flag.String("up", "", "bandwidth client to server, e.g. 20mbit, 2.5MB (bytes/s), 0 or empty for none")
	downRate := flag.String("down", "", "bandwidth server to client, as -up")
	flag.Parse()
	if *to == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "delayproxy: need -to HOST:PORT")
		os.Exit(2)
	}
	up, err := parseRate(*upRate)
	if err != nil {
		fmt.Fprintf(os.Stderr, "delayproxy: -up: %v\n", err)
		os.Exit(2)
	}
	down, err := parseRate(*downRate)
	if err != nil {
		fmt.Fprintf(os.Stderr, "delayproxy: -down: %v\n", err)
		os.Exit(2)
	}
	p, err := faultproxy.New(*to)
	if err != nil {
		fmt.Fprintf(os.Stderr, "delayproxy: %v\n", err)
		os.Exit(1)
	}
	p.SetLatency(faultproxy.Both, *rtt/2)
	p.SetBandwidth(faultproxy.Up, up)
	p.SetBandwidth(faultproxy.Down, down)
	fmt.Println(p.Addr())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if statsSignal != nil {
		signal.Notify(sig, statsSignal)
	}
	for s := range sig {
		printStats(os.Stdout, p.Stats())
		if statsSignal == nil || s != statsSignal {
			break
		}
	}
	_ = p.Close()
}

// printStats writes the counters as one line.
func printStats(w io.Writer, st faultproxy.Stats) {
	fmt.Fprintf(w, "up=%d down=%d connections=%d\n", st.Up, st.Down, st.Accepted)
}

// parseRate reads a bandwidth: a number with a unit, bits per second
// (bit, kbit, mbit, gbit; 1000-based, as links are sold) or bytes per
// second (B, kB, MB, GB; 1000-based too), e.g. "20mbit" is 2,500,000
// bytes per second. "" and "0" mean no limit (0).
func parseRate(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	units := []struct {
		suffix string
		bytes  float64 // bytes per second per unit
	}{
		{"kbit", 1e3 / 8}, {"mbit", 1e6 / 8}, {"gbit", 1e9 / 8}, {"bit", 1.0 / 8},
		{"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok && strings.HasSuffix(u.suffix, "bit") {
			num, ok = strings.CutSuffix(strings.ToLower(s), u.suffix)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bad rate %q: want a number and a unit such as 20mbit or 2.5MB", s)
		}
		r := int64(v * u.bytes)
		if r <= 0 && v > 0 {
			return 0, fmt.Errorf("rate %q is below one byte per second", s)
		}
		return r, nil
	}
	return 0, errors.New("bad rate " + strconv.Quote(s) + ": want a unit: bit, kbit, mbit, gbit (bits/s) or B, kB, MB, GB (bytes/s)")
}
