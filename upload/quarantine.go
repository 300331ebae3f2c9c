package upload

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"mailferry/internal/private"
)

// QuarantineFolderName is the quarantine folder's name beside a report.
// Without a report or a folder given, refused messages go to "quarantine"
// in mailferry's folder of the user's data folder (private.DataDir): a
// private place, where the current folder may be shared or a link.
const QuarantineFolderName = "mailferry-quarantine"

// Reasons a message is quarantined without asking the server.
const (
	ReasonNUL = "contains NUL bytes, which IMAP does not allow in a message"
	// ReasonNotUploadable prefixes the reason of a message Verify finds
	// that Upload would quarantine without sending it.
	ReasonNotUploadable = "not uploadable (quarantined by upload): "
)

// Reasons of Report failures when a run stops early (interrupted, over
// quota, given up): the message was not sent, or sent without an answer.
// A re-run takes care of both.
const (
	ReasonStopped     = "not done: the run stopped"
	ReasonUnconfirmed = "not confirmed: the run stopped while it was being sent (a re-run checks whether it arrived)"
)

// quarantine writes refused messages to DIR/<folder path>/<n>.eml. Folder
// names come from the source and may be hostile: every element is made
// safe (safeElement) and the result is checked to stay below DIR.
type quarantine struct {
	dir    string
	dirErr error // why there is no quarantine folder
	off    bool  // dry run and rehearsal write nothing
	mu     sync.Mutex
	ready  bool // dir was made and checked
}

func newQuarantine(o *Options) *quarantine {
	dir, err := o.quarantineDir()
	return &quarantine{dir: dir, dirErr: err, off: o.DryRun}
}

// save writes the message read from r and returns the file's path.
func (q *quarantine) save(folder []string, r io.Reader) (string, error) {
	if q.off {
		return "", nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.dirErr != nil {
		return "", fmt.Errorf("quarantine: %w", q.dirErr)
	}
	if !q.ready {
		// The folder itself is checked: a link there, or a folder anyone
		// may write to, would hand the mail to someone else.
		if err := private.MkdirAll(q.dir); err != nil {
			return "", fmt.Errorf("quarantine: %w", err)
		}
		q.ready = true
	}
	dir, err := quarantineDir(q.dir, folder)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	for n := 1; ; n++ {
		name := filepath.Join(dir, strconv.Itoa(n)+".eml")
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("quarantine: %w", err)
		}
		_, err = io.Copy(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("quarantine: write %s: %w", name, err)
		}
		return name, nil
	}
}

// quarantineDir is the directory for a folder's refused messages: root
// joined with the folder's elements made safe. It never leaves root.
func quarantineDir(root string, folder []string) (string, error) {
	parts := []string{root}
	for _, e := range folder {
		parts = append(parts, safeElement(e))
	}
	if len(folder) == 0 {
		parts = append(parts, "_")
	}
	dir := filepath.Join(parts...)
	rel, err := filepath.Rel(root, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("quarantine: folder %q would leave %s", folder, root)
	}
	return dir, nil
}

// windowsReserved are device names Windows refuses as file names, with or
// without an extension.
var windowsReserved = map[string]bool{
	"CON": true, "PRN": true, "AUX": true, "NUL": true, "CONIN$": true, "CONOUT$": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true,
}

// safeElement turns a folder name into one safe file-name element on every
// operating system: no separators, no NUL or control characters, none of
// Windows' reserved characters, no leading or trailing dots or spaces (so
// never "." or ".."), no reserved device names, at most 100 bytes.
func safeElement(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f,
			strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(b.String(), ". ")
	if len(out) > 100 {
		cut := 100
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimRight(out[:cut], ". ")
	}
	if out == "" {
		return "_"
	}
	base, _, _ := strings.Cut(out, ".")
	if windowsReserved[strings.ToUpper(strings.TrimRight(base, " "))] {
		out = "_" + out
	}
	return out
}
