package emlx

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Detect reports whether path holds an Apple Mail store this package
// reads, looking at content, not only names: an .emlx file that starts
// with a byte count; ~/Library/Mail or a V<n> directory; a .mbox
// directory with Messages/ inside (at any depth) or an exported mbox file
// beside table_of_contents; a directory with .emlx files (directly, in
// Messages/, or in a subdirectory of either kind). It reads little: a few directory levels and file heads.
func Detect(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return isEmlxName(path) && emlxHead(path)
	}
	if v := newestVersion(path); v != "" && isMailRoot(v) {
		return true
	}
	if versionDir.MatchString(filepath.Base(path)) || hasChild(path, "MailData") {
		return true
	}
	if isMboxDir(filepath.Base(path)) && mboxBundle(path) {
		return true
	}
	if dirHasEmlx(path) || dirHasEmlx(filepath.Join(path, "Messages")) {
		return true
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return false
	}
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if isMboxDir(e.Name()) && mboxBundle(p) || dirHasEmlx(p) || dirHasEmlx(filepath.Join(p, "Messages")) {
			return true
		}
	}
	return false
}

// mboxBundle reports whether a .mbox directory is an export bundle or has
// .emlx files in a Messages directory within a few levels.
func mboxBundle(dir string) bool {
	if isFile(filepath.Join(dir, "mbox")) && isFile(filepath.Join(dir, "table_of_contents")) {
		return true
	}
	return findMessages(dir, 0)
}

func findMessages(dir string, depth int) bool {
	if depth > 7 {
		return false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "Attachments" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if e.Name() == "Messages" && dirHasEmlx(p) || findMessages(p, depth+1) {
			return true
		}
	}
	return false
}

// dirHasEmlx reports whether dir directly holds an .emlx file whose
// content starts like one.
func dirHasEmlx(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	tried := 0
	for _, e := range entries {
		if e.IsDir() || !isEmlxName(e.Name()) {
			continue
		}
		if emlxHead(filepath.Join(dir, e.Name())) {
			return true
		}
		if tried++; tried >= 3 {
			return false
		}
	}
	return false
}

func hasChild(dir, name string) bool { return isDir(filepath.Join(dir, name)) }

func emlxHead(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 512)
	n, err := io.ReadFull(f, b)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return false
	}
	return looksLikeEmlx(b[:n])
}
