//go:build unix

package private

import "syscall"

// oNoFollow makes the open fail when the last element of the path is a
// symbolic link, closing the gap between the check and the open.
const oNoFollow = syscall.O_NOFOLLOW
