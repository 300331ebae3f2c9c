//go:build !unix

package main

// oNoFollow: this system has no O_NOFOLLOW; openLogFile's check of the
// path is all there is.
const oNoFollow = 0
