//go:build unix

package main

import "syscall"

// oNoFollow makes opening the --log file fail when its last element is a
// symbolic link, closing the gap between openLogFile's check and the open.
const oNoFollow = syscall.O_NOFOLLOW
