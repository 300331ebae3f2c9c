package daemontest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"
)

// FreePorts returns one port per IP that was free on that address a moment
// ago. A daemon may still find it taken when it binds; harnesses retry the
// start then.
func FreePorts(ips ...string) ([]int, error) {
	ports := make([]int, 0, len(ips))
	for _, ip := range ips {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("pick a free port on %s: %w", ip, err)
		}
		// Keep it open until all are picked, so that two calls for the
		// same IP cannot return the same port.
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Greets connects to addr and reads an untagged OK greeting (then the
// daemon's login process and its authentication are up), then logs out.
// Connecting may take a second, the greeting greetTimeout: a daemon that
// execs a server process per connection can be slow to answer on a busy
// machine, and giving up early only starts more of them.
func Greets(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(greetTimeout))
	return readGreeting(c)
}

// GreetsTLS is Greets over implicit TLS (without verifying the
// certificate: it checks that the daemon is up, not who it is).
func GreetsTLS(addr string) error {
	raw, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer raw.Close()
	_ = raw.SetDeadline(time.Now().Add(greetTimeout))
	c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("TLS handshake: %w", err)
	}
	return readGreeting(c)
}

// greetTimeout bounds a TLS handshake and the wait for a greeting.
const greetTimeout = 15 * time.Second

func readGreeting(c net.Conn) error {
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	// Polite: lets the server log a logout instead of an abrupt disconnect.
	_, _ = c.Write([]byte("a LOGOUT\r\n"))
	return nil
}

// WaitReady polls until every check returns nil. It gives up when alive
// returns an error (a daemon exited) or after timeout, returning the last
// error seen.
func WaitReady(timeout time.Duration, alive func() error, checks ...func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := alive(); err != nil {
			return fmt.Errorf("during start-up: %w", err)
		}
		var err error
		for _, check := range checks {
			if err = check(); err != nil {
				break
			}
		}
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Accepts reports whether a TCP connection to addr can be opened.
func Accepts(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}
