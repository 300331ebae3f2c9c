package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
	"mailferry/upload"
)

// Every signal that means "stop" (Ctrl-C, a kill from the system, the
// terminal window closed) stops the real binary the same clean way in the
// middle of an upload: the summary so far on stdout, how to resume on
// stderr, a report that adds up, no marker of a run in progress left
// behind, and exit code 130.
func TestStopSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	src, want := genMaildir(t, 2, 120, false, 1_000_000)
	total, totalBytes := 0, int64(0)
	for _, msgs := range want {
		total += len(msgs)
		for _, m := range msgs {
			totalBytes += int64(len(m))
		}
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{})
			p := faultproxy.Start(t, srv.TLSAddr)
			report := filepath.Join(t.TempDir(), "report.json")
			r := startMailferry(t, bin, srv, "imaps://"+srv.User+"@"+p.Addr(), src, "--report", report)
			// Hold the upload a third of the way, so that the signal comes
			// while messages are in flight.
			p.StallAfter(faultproxy.Up, totalBytes/3)
			deadline := time.Now().Add(30 * time.Second)
			for r.running() && !p.Stalled(faultproxy.Up) && time.Now().Before(deadline) {
				time.Sleep(2 * time.Millisecond)
			}
			if !r.running() {
				t.Fatalf("the run ended before the signal (exit %d)\n%s", r.code, r.stderr.String())
			}
			marker, _ := filepath.Glob(filepath.Join(srv.Dir, "cache", "mailferry", "*.running"))
			if len(marker) != 1 {
				t.Fatalf("markers of the running upload: %v, want one", marker)
			}
			if err := r.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := r.wait()
			p.CutAll()
			out, errOut := r.stdout.String(), r.stderr.String()
			if code != exitInterrupted {
				t.Fatalf("after %v: exit %d, want %d\n%s\n%s", sig, code, exitInterrupted, out, errOut)
			}
			if !strings.Contains(out, "Messages found: ") {
				t.Errorf("after %v: no summary on stdout:\n%s", sig, out)
			}
			if !strings.Contains(errOut, "Run the same command again to resume") {
				t.Errorf("after %v: no word on how to resume:\n%s", sig, errOut)
			}
			if _, err := os.Stat(marker[0]); !os.IsNotExist(err) {
				t.Errorf("after %v: the marker of the run is still there (%v)", sig, err)
			}
			var rep upload.Report
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatalf("after %v: no report: %v", sig, err)
			}
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if err := rep.CheckTotals(); err != nil {
				t.Errorf("after %v: report: %v", sig, err)
			}
			if rep.Totals.Uploaded >= total {
				t.Errorf("after %v: the report says all %d messages were uploaded; the signal came too late to test anything", sig, total)
			}
		})
	}
}
