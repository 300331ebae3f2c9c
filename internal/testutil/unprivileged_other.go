//go:build !unix

package testutil

import "testing"

// AsUnprivileged: outside Unix the tests do not run as root.
func AsUnprivileged(t testing.TB, name string, env ...string) bool { return false }
