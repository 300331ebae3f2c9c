package daemontest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ShortTempDir makes a directory named prefix+random below os.TempDir, or
// below /tmp when that path is long: UNIX socket paths inside it must fit
// in 108 bytes, which t.TempDir's names can exceed. The directory has mode
// 0711, so that a daemon's unprivileged mail user can traverse it. The
// caller removes it.
func ShortTempDir(prefix string) (string, error) {
	base := os.TempDir()
	if len(base) > 40 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, prefix)
	if err != nil {
		return "", fmt.Errorf("make server directory: %w", err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", fmt.Errorf("make server directory: %w", err)
	}
	return dir, nil
}

// File is one file a harness writes into a server's directory.
type File struct {
	Path string
	Data []byte
	Mode os.FileMode
}

// WriteFiles writes each file with exactly its mode (not reduced by the
// umask), replacing what is there.
func WriteFiles(files ...File) error {
	for _, f := range files {
		if err := os.WriteFile(f.Path, f.Data, f.Mode); err != nil {
			return err
		}
		if err := os.Chmod(f.Path, f.Mode); err != nil {
			return err
		}
	}
	return nil
}

// ChownAll changes the owner of root and everything below it.
func ChownAll(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// FindBinary returns the first executable regular file named name in the
// given directories, then in PATH.
func FindBinary(name string, dirs ...string) (string, error) {
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found in %s or PATH", name, strings.Join(dirs, ", "))
}

// LogTail returns the last n lines of each non-empty file, each under a
// header naming it, for failure messages.
func LogTail(n int, paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(p), len(lines), strings.Join(lines, "\n"))
	}
	if b.Len() == 0 {
		return "(logs are empty)"
	}
	return b.String()
}

// PasswordFile writes password (no newline) into a file of its own (mode
// 0600) in a test directory and returns its path, for --password-file.
func PasswordFile(t testing.TB, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(password), 0o600); err != nil {
		t.Fatalf("write password file: %v", err)
	}
	return p
}
