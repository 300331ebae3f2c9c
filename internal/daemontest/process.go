package daemontest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Process is one daemon started in a process group of its own, so that it
// can be stopped together with every child it forked (login processes,
// per-connection servers), and so that a Ctrl-C of `go test` does not
// reach it first.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
}

// StartProcess starts cmd in a new process group; name is used in errors.
// cmd's Stdout and Stderr are the caller's choice (usually a log file).
// Other SysProcAttr settings of cmd are kept.
func StartProcess(name string, cmd *exec.Cmd) (*Process, error) {
	ownProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id, which is also the id of its process group.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited returns an error saying that the process exited (with its exit
// status) if it has, nil while it runs.
func (p *Process) Exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v", p.name, p.err)
	default:
		return nil
	}
}

// Stop ends the process and every process of its group and waits until
// they are gone, so that their ports are free again. It sends SIGTERM to the
// group, repeated until the leader has exited (a daemon may fork a new
// child meanwhile, which would otherwise keep it waiting), then waits for
// the rest of the group; whatever is left after timeout is killed, and
// that is reported as an error. Stopping a stopped process does nothing.
func (p *Process) Stop(timeout time.Duration) error {
	pgid := p.Pid()
	var err error
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for done := false; !done; {
		_ = signalGroup(pgid, sigTerm)
		select {
		case <-p.done:
			done = true
		case <-tick.C:
			if time.Now().After(deadline) {
				err = fmt.Errorf("%s (pid %d) did not stop within %v after SIGTERM; killed", p.name, pgid, timeout)
				_ = signalGroup(pgid, sigKill)
				<-p.done
				done = true
			}
		}
	}
	// Children may outlive the leader briefly (login processes hold the
	// listening sockets too); wait until the whole group is gone.
	deadline = time.Now().Add(timeout)
	for GroupAlive(pgid) {
		if time.Now().After(deadline) {
			_ = signalGroup(pgid, sigKill)
			if err == nil {
				err = fmt.Errorf("children of %s (process group %d) outlived it; killed", p.name, pgid)
			}
			deadline = time.Now().Add(timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return err
}

// GroupAlive reports whether a process of group pgid is still running.
// Zombies do not count: they hold no sockets, and children orphaned by a
// daemon are reaped by init, sometimes seconds later.
func GroupAlive(pgid int) bool {
	if signalGroup(pgid, sigZero) != nil {
		return false
	}
	alive := false
	err := eachProcess(func(pid int, stat procStat) {
		if stat.pgrp == pgid && stat.state != "Z" && stat.state != "X" {
			alive = true
		}
	})
	if err != nil {
		return true // no /proc: trust kill
	}
	return alive
}

// procStat is what GroupAlive and KillByEnv need from /proc/PID/stat.
type procStat struct {
	state string
	pgrp  int
}

// eachProcess calls f for every process in /proc whose stat is readable.
func eachProcess(f func(pid int, stat procStat)) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid pgrp ...; comm may contain spaces and ")".
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(data[i+1:]))
		if len(fields) < 3 {
			continue
		}
		pgrp, err := strconv.Atoi(fields[2])
		if err != nil {
			continue
		}
		f(pid, procStat{state: fields[0], pgrp: pgrp})
	}
	return nil
}

// KillByEnv sends SIGTERM to every live process whose environment holds
// the exact entry env ("NAME=value") and returns their pids. It is for
// helpers that a daemon spawns outside its process group (they detach with
// setsid) but that inherit a marker variable unique to one test server:
// only processes carrying that marker are touched.
func KillByEnv(env string) []int {
	var killed []int
	_ = eachProcess(func(pid int, stat procStat) {
		if stat.state == "Z" || stat.state == "X" {
			return
		}
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil {
			return
		}
		for _, e := range bytes.Split(data, []byte{0}) {
			if string(e) == env {
				if p, err := os.FindProcess(pid); err == nil && p.Signal(sigTerm) == nil {
					killed = append(killed, pid)
				}
				return
			}
		}
	})
	return killed
}
