//go:build !unix

package emlx

import "testing"

// asUnprivileged: outside Unix the tests do not run as root.
func asUnprivileged(t *testing.T, name string) bool { return false }
