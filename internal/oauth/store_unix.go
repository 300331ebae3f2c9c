//go:build unix

package oauth

import (
	"io/fs"
	"os"
	"syscall"
)

// privateModes: file modes say who may read a file.
const privateModes = true

// openPrivate opens name for reading without following a symbolic link
// (O_NOFOLLOW: a link planted in its place fails with ELOOP).
func openPrivate(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// ownedByMe reports whether fi's file belongs to the effective user.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}
