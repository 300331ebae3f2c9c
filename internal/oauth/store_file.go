package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileStore keeps each record in its own file, mode 0600, in Dir (mode
// 0700, created if missing). It refuses what another user could have
// prepared or can read: a symbolic link in place of the directory or a
// file, a directory or file owned by someone else, or one that group or
// others may access (a directory it owns is tightened to 0700; a file is
// refused, since its secret may already have been read). Files are
// replaced atomically (temporary file, then rename). On Windows, where
// modes mean little, the directory under the user's profile is private by
// its ACL; links are refused all the same.
type FileStore struct {
	Dir string
}

// Where returns the directory.
func (s *FileStore) Where() string { return s.Dir }

// fileName is the account's file: the address made safe, and a short hash
// so that two addresses that map to the same safe name do not collide.
func (s *FileStore) fileName(account string) (string, error) {
	a, err := accountKey(account)
	if err != nil {
		return "", err
	}
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("@.-_+", r) {
			return r
		}
		return '_'
	}, a)
	sum := sha256.Sum256([]byte(a))
	return filepath.Join(s.Dir, safe+"-"+hex.EncodeToString(sum[:4])+".json"), nil
}

// ensureDir creates Dir with mode 0700 (and its parents) and checks it.
func (s *FileStore) ensureDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.Dir, err)
	}
	return s.checkDir()
}

func (s *FileStore) checkDir() error {
	fi, err := os.Lstat(s.Dir)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link; refusing to keep sign-ins there (remove it, mailferry creates the directory itself)", s.Dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", s.Dir)
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("%s belongs to another user; refusing to keep sign-ins there", s.Dir)
	}
	if privateModes && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(s.Dir, 0o700); err != nil {
			return fmt.Errorf("%s is open to other users and cannot be made private: %w", s.Dir, err)
		}
	}
	return nil
}

// Load reads account's record.
func (s *FileStore) Load(account string) (*Record, error) {
	name, err := s.fileName(account)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s", ErrNotStored, account)
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	f, err := openPrivate(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w for %s", ErrNotStored, account)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file; refusing to read it", name)
	case !ownedByMe(fi):
		return nil, fmt.Errorf("%s belongs to another user; refusing to read it", name)
	case privateModes && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("%s can be read by other users (mode %v), so its sign-in may be known to them; delete it (mailferry logout) and sign in again", name, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	r, err := decodeRecord(b, account)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// Save writes r's file atomically.
func (s *FileStore) Save(r *Record) error {
	name, err := s.fileName(r.Account)
	if err != nil {
		return err
	}
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if err := s.ensureDir(); err != nil {
		return err
	}
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (a link?); refusing to write over it", name)
	}
	// CreateTemp makes the file with O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("write into %s: %w", s.Dir, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if err := tmp.Chmod(0o600); err != nil && privateModes {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// Delete removes account's file.
func (s *FileStore) Delete(account string) error {
	name, err := s.fileName(account)
	if err != nil {
		return err
	}
	if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}
