// Package private writes the files and folders that hold a user's mail or
// facts about it (reports, quarantined messages, logs) so that only the
// user can read them: files 0600, folders 0700, and never through a
// symbolic link or into a folder anyone may write to, where another user
// could have planted a link or read what lands there.
package private

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// ErrLink is a symbolic link where a private file or folder goes.
var ErrLink = errors.New("is a symbolic link; give the file or folder itself")

// ErrNotRegular is something other than a regular file where a private
// file goes (a device, a pipe, a folder).
var ErrNotRegular = errors.New("is not a regular file")

// ErrShared is a folder that every user of this computer may write to.
var ErrShared = errors.New("is a folder every user of this computer may write to")

// WriteFile writes data to path, replacing what was there, readable and
// writable by the user alone: an existing file's mode becomes 0600 too
// (a report written over an old 0644 file would otherwise stay readable
// by everyone). A symbolic link or anything but a regular file at path is
// refused.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Create opens path for writing, truncated, with WriteFile's rules.
func Create(path string) (*os.File, error) {
	return open(path, os.O_TRUNC)
}

// Append opens path for appending, with WriteFile's rules: the logs of
// several runs stay together in one file.
func Append(path string) (*os.File, error) {
	return open(path, os.O_APPEND)
}

func open(path string, mode int) (*os.File, error) {
	if err := CheckFile(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|mode|oNoFollow, 0o600)
	if err != nil {
		return nil, err
	}
	// The file may have been there already, with its own mode; and the
	// check above and the open are two steps, so look at what was opened.
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	if err == nil && runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		err = f.Chmod(0o600)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckFile says whether a private file may be written at path: nothing
// is there yet, or a regular file (not a link). Commands check their
// output files before they start work that takes hours.
func CheckFile(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &fs.PathError{Op: "open", Path: path, Err: ErrLink}
	case !fi.Mode().IsRegular():
		return &fs.PathError{Op: "open", Path: path, Err: ErrNotRegular}
	}
	return nil
}

// MkdirAll makes dir and the folders above it that are missing, the new
// ones readable by the user alone. dir itself must not be a symbolic link
// nor a folder everyone may write to (the sticky /tmp included: mail does
// not belong there, and another user could have made the folder first);
// folders above it are the user's choice and are left as they are.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &fs.PathError{Op: "mkdir", Path: dir, Err: ErrLink}
	case !fi.IsDir():
		return &fs.PathError{Op: "mkdir", Path: dir, Err: fs.ErrExist}
	case runtime.GOOS != "windows" && fi.Mode().Perm()&0o002 != 0:
		return &fs.PathError{Op: "mkdir", Path: dir, Err: ErrShared}
	}
	return nil
}

// DataDir is the folder where mailferry keeps what it writes for the user
// when told no place: the user's data folder (XDG_DATA_HOME or
// ~/.local/share on Linux and BSD, ~/Library/Application Support on macOS,
// %LocalAppData% on Windows) joined with "mailferry".
func DataDir(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var base string
	switch runtime.GOOS {
	case "windows":
		base = getenv("LocalAppData")
		if base == "" {
			return "", errors.New("%LocalAppData% is not set")
		}
	case "darwin", "ios":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, "Library", "Application Support")
	default:
		base = getenv("XDG_DATA_HOME")
		if base == "" || !filepath.IsAbs(base) {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", err
			}
			base = filepath.Join(home, ".local", "share")
		}
	}
	return filepath.Join(base, "mailferry"), nil
}
