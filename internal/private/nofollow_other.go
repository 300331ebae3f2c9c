//go:build !unix

package private

// oNoFollow: this system has no O_NOFOLLOW; the check before the open is
// all there is.
const oNoFollow = 0
