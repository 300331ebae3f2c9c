// Package testutil holds helpers shared by the tests of several packages:
// finding the shared real-world corpus and the project's testdata, and the
// rule that a missing dependency skips a test on a developer's machine but
// fails it under CI=true.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run under CI (CI=true), where missing
// dependencies are failures, never skips.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test on a developer's machine and fails it under CI.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// ProjectRoot returns the directory holding go.mod.
func ProjectRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Testdata returns the path of rel below the project's testdata directory.
func Testdata(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(ProjectRoot(t), "testdata", filepath.FromSlash(rel))
}

// Corpus returns the path of rel in the corpus of real mail-store files
// kept beside the repository (shared/corpus in the project root's parent
// folder; it is not part of the repository, see testdata/README.md). Without the corpus the test is skipped, except under
// CI=true, where it fails. Tests must only read there.
func Corpus(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(ProjectRoot(t)), "shared", "corpus", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		SkipOrFail(t, "shared corpus not available: %v", err)
	}
	return p
}
