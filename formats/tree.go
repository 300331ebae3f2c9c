package formats

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TreeFile is one regular file of a directory tree of message files.
type TreeFile struct {
	Path    string
	Size    int64
	ModTime time.Time
}

// TreeDir is one directory of such a tree, as a folder.
type TreeDir struct {
	// Path is the folder path: the directories below the root, or for the
	// root's own files a folder named after the root directory.
	Path  Folder
	Dir   string
	Files []TreeFile
}

// TreeOptions control ListTree.
type TreeOptions struct {
	// MaxDepth bounds the walk; deeper directories are not read (with a
	// warning).
	MaxDepth int
	// Ignore, when set, names files and directories to leave out besides
	// dot-files (which are always left out).
	Ignore func(name string) bool
	// FolderName, when set, turns a directory's name into its folder's
	// name (MailMate's "Name.mailbox" is "Name").
	FolderName func(dir string) string
	// Warn receives what was skipped and why; nil discards it.
	Warn func(pos Pos, format string, args ...any)
}

// ListTree lists a directory tree of message files (a folder of .eml or
// .msg files, as exporters write them): every directory below root is a
// folder, empty ones too, and the root's own files go into a folder named
// after the root, which is only listed when it has files. Symbolic links
// are never followed (a link in a copied or hostile tree may point at any
// file of this computer, or loop); they and files that are not regular are
// skipped with a warning. It fails when root or a directory
// in it cannot be listed.
func ListTree(root string, o TreeOptions) ([]TreeDir, error) {
	if o.FolderName == nil {
		o.FolderName = func(dir string) string { return dir }
	}
	if o.Warn == nil {
		o.Warn = func(Pos, string, ...any) {}
	}
	var dirs []TreeDir
	var walk func(dir string, path Folder, depth int) error
	walk = func(dir string, path Folder, depth int) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("read folder directory: %w", err)
		}
		var files []TreeFile
		var subdirs []string
		for _, e := range entries {
			name := e.Name()
			p := filepath.Join(dir, name)
			if strings.HasPrefix(name, ".") || (o.Ignore != nil && o.Ignore(name)) {
				continue
			}
			if e.IsDir() {
				subdirs = append(subdirs, name)
				continue
			}
			if e.Type()&fs.ModeSymlink != 0 {
				// Never followed: a link in a copied or hostile tree may
				// point at any file of this computer (or loop).
				o.Warn(Pos{File: p}, "symbolic link not followed")
				continue
			}
			st, err := os.Lstat(p)
			switch {
			case err != nil:
				o.Warn(Pos{File: p}, "skipped: %v", err)
				continue
			case !st.Mode().IsRegular():
				o.Warn(Pos{File: p}, "skipped: not a regular file")
				continue
			}
			files = append(files, TreeFile{Path: p, Size: st.Size(), ModTime: st.ModTime()})
		}
		switch {
		case path != nil:
			dirs = append(dirs, TreeDir{Path: path, Dir: dir, Files: files})
		case len(files) > 0:
			abs, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("read folder directory: %w", err)
			}
			dirs = append(dirs, TreeDir{Path: Folder{o.FolderName(filepath.Base(abs))}, Dir: dir, Files: files})
		}
		for _, name := range subdirs {
			sub := filepath.Join(dir, name)
			if depth+1 >= o.MaxDepth {
				o.Warn(Pos{File: sub}, "directory nested deeper than %d levels not read", o.MaxDepth)
				continue
			}
			if err := walk(sub, append(slices.Clone(path), o.FolderName(name)), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, nil, 0); err != nil {
		return nil, err
	}
	return dirs, nil
}

// FindInTree reports whether match accepts a regular file in dir or in
// the directories below it, down to maxDepth levels, for detection: it
// looks at no more than budget entries, so that a huge tree costs little,
// skips dot-entries, and enters only the directories enter accepts (all
// when enter is nil).
func FindInTree(dir string, maxDepth, budget int, enter func(name string) bool, match func(path string) bool) bool {
	found := false
	var visit func(dir string, depth int)
	visit = func(dir string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			if found || budget <= 0 {
				return
			}
			budget--
			name := e.Name()
			switch {
			case strings.HasPrefix(name, "."):
			case e.IsDir():
				if depth < maxDepth && (enter == nil || enter(name)) {
					visit(filepath.Join(dir, name), depth+1)
				}
			case e.Type().IsRegular():
				found = match(filepath.Join(dir, name))
			}
		}
	}
	visit(dir, 0)
	return found
}

// SpecialByName derives a folder's role from its name, for stores that
// keep folders as plain directories (EML and .msg exports): only
// top-level folders count, compared case-insensitively with the names
// mail programs (Outlook, Thunderbird, Apple Mail) give them.
func SpecialByName(path Folder) Special {
	if len(path) != 1 {
		return SpecialNone
	}
	switch strings.ToLower(path[0]) {
	case "inbox":
		return SpecialInbox
	case "sent", "sent items", "sent messages", "sent mail":
		return SpecialSent
	case "drafts", "draft":
		return SpecialDrafts
	case "trash", "deleted items", "deleted messages", "bin":
		return SpecialTrash
	case "junk", "spam", "junk e-mail", "junk email":
		return SpecialJunk
	case "archive", "archives":
		return SpecialArchive
	case "templates":
		return SpecialTemplates
	case "outbox":
		return SpecialOutbox
	}
	return SpecialNone
}
