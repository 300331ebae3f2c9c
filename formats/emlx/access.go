package emlx

import (
	"errors"
	"fmt"
	"io/fs"
)

// FullDiskAccessHint is what a user needs to know when macOS refuses to
// let mailferry read ~/Library/Mail (macOS 10.14 and later).
const FullDiskAccessHint = "macOS protects ~/Library/Mail: in System Settings > Privacy & Security > Full Disk Access, " +
	"allow the terminal (or mailferry), restart it and try again; or copy the Mail folder elsewhere and read the copy"

// AccessError is a permission error while reading an Apple Mail store. It
// wraps fs.ErrPermission (errors.Is works) and carries the hint.
type AccessError struct {
	Path string
	Err  error
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("read %s: %v (%s)", e.Path, e.Err, FullDiskAccessHint)
}

func (e *AccessError) Unwrap() error { return e.Err }

// IsAccessError reports whether err is (or wraps) an AccessError.
func IsAccessError(err error) bool {
	var ae *AccessError
	return errors.As(err, &ae)
}

// access wraps a permission error in an AccessError; others pass.
func access(path string, err error) error {
	if err != nil && errors.Is(err, fs.ErrPermission) && !IsAccessError(err) {
		return &AccessError{Path: path, Err: err}
	}
	return err
}
