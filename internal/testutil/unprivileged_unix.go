//go:build unix

package testutil

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// AsUnprivileged runs the test named name again as the user nobody when
// the tests run as root (CI does), for which permission bits mean
// nothing, and reports whether it did: the caller then returns. The copy
// runs from a copy of the test binary in a directory nobody may enter,
// with env added to its environment (for example where the parent put
// files nobody can read, since the copy may not reach the repository's).
func AsUnprivileged(t testing.TB, name string, env ...string) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(unprivilegedEnv) != "" {
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "mailferry-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	if err := copyFile(exe, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), unprivilegedEnv+"=1", "TMPDIR="+os.TempDir()), env...)
	const nobody = 65534
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s as the user nobody: %v\n%s", name, err, out)
	}
	return true
}

// unprivilegedEnv marks the copy of a test that runs as an ordinary user.
const unprivilegedEnv = "MAILFERRY_TEST_UNPRIVILEGED"

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
