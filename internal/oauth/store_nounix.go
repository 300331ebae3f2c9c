//go:build !unix

package oauth

import (
	"fmt"
	"io/fs"
	"os"
)

// privateModes: on Windows permissions are ACLs, which os.FileMode does
// not show; the user's profile directory is private by default.
const privateModes = false

// openPrivate opens name for reading, refusing a symbolic link.
func openPrivate(name string) (*os.File, error) {
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link; refusing to read it", name)
	}
	return os.Open(name)
}

func ownedByMe(fs.FileInfo) bool { return true }
