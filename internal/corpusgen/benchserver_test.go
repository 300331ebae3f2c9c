package corpusgen

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mailferry/internal/dovecottest"
)

// TestBenchServer is not a test but bench.sh's private Dovecot, started
// through the shared harness so that the benchmark runs the server the
// integration tests run. It does nothing unless MAILFERRY_BENCH_SERVER
// names a directory: then it starts Dovecot (mail_fsync = optimized,
// as real servers; MAILFERRY_BENCH_FSYNC=no turns it off; with
// MAILFERRY_BENCH_COMPRESS=yes it offers COMPRESS=DEFLATE), writes
// DIR/server.env (shell variables: addresses, user, password file, CA,
// config and mail home for doveadm) and serves until DIR/stop exists or
// MAILFERRY_BENCH_MAX_MINUTES (default 120) have passed. Run it with
// -timeout 0.
func TestBenchServer(t *testing.T) {
	dir := os.Getenv("MAILFERRY_BENCH_SERVER")
	if dir == "" {
		t.Skip("bench.sh's Dovecot: set MAILFERRY_BENCH_SERVER=DIR to run it")
	}
	srv := dovecottest.Start(t, dovecottest.Config{
		Fsync:    os.Getenv("MAILFERRY_BENCH_FSYNC") != "no",
		Compress: os.Getenv("MAILFERRY_BENCH_COMPRESS") == "yes",
	})
	env := fmt.Sprintf("TLS_ADDR=%s\nPLAIN_ADDR=%s\nIMAP_USER=%s\nPASSWORD_FILE=%s\nCA_FILE=%s\nDOVECOT_CONF=%s\nMAIL_HOME=%s\nDOVECOT_VERSION=%q\n",
		srv.TLSAddr, srv.Addr, srv.User, srv.PasswordFile(t), srv.CAFile, srv.ConfPath, srv.Home, srv.Version)
	tmp := filepath.Join(dir, "server.env.tmp")
	if err := os.WriteFile(tmp, []byte(env), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "server.env")); err != nil {
		t.Fatal(err)
	}
	limit := 120
	if v, err := strconv.Atoi(os.Getenv("MAILFERRY_BENCH_MAX_MINUTES")); err == nil && v > 0 {
		limit = v
	}
	deadline := time.Now().Add(time.Duration(limit) * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(dir, "stop")); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("bench server: stopping after %d minutes", limit)
}
