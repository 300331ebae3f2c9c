package thunderbird

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Profile is one Thunderbird profile.
type Profile struct {
	// Name is the profile's name in profiles.ini ("default-release"), or
	// its directory name when there is no profiles.ini.
	Name string `json:"name"`
	// Dir is the profile directory.
	Dir string `json:"dir"`
	// Root is the directory holding profiles.ini; "" when unknown.
	Root string `json:"root,omitempty"`
	// Default is set on the profile Thunderbird opens: the default of an
	// install ([Install…] in profiles.ini or installs.ini), else the one
	// marked Default=1, else the only one.
	Default bool `json:"default,omitempty"`
	// Missing is set when the directory does not exist.
	Missing bool `json:"missing,omitempty"`
	// Note says more: a relocated absolute path, a lock.
	Note string `json:"note,omitempty"`
	// Program is the mail program whose profile it is (FindProfiles);
	// "" when unknown.
	Program string `json:"program,omitempty"`
}

// Root is a directory where a Mozilla mail program keeps its profiles
// (profiles.ini and the profile directories).
type Root struct {
	Dir string
	// Program names the mail program: Thunderbird (Betterbird uses the
	// same directories), SeaMonkey, Postbox, Icedove.
	Program string
}

// Programs that keep Thunderbird-format profiles.
const (
	ProgramThunderbird = "Thunderbird"
	ProgramBetterbird  = "Betterbird"
	ProgramSeaMonkey   = "SeaMonkey"
	ProgramPostbox     = "Postbox"
	ProgramIcedove     = "Icedove"
)

// Roots returns the directories where Thunderbird and the programs that
// share its profile format (Betterbird, SeaMonkey, Postbox, Debian's
// Icedove) keep their profiles on goos, for a user whose home directory is
// home; env looks up environment variables (os.Getenv, or a map in tests).
// Paths are joined with the host's separator, so a test on Linux can pass
// any goos. Where they live:
//
//   - Thunderbird: ~/.thunderbird, its Snap and Flatpak sandboxes and
//     $XDG_CONFIG_HOME/thunderbird on Linux; ~/Library/Thunderbird on
//     macOS; %APPDATA%\Thunderbird on Windows.
//   - Betterbird uses Thunderbird's directories, except its Flatpak, which
//     keeps them in ~/.var/app/eu.betterbird.Betterbird/.thunderbird.
//   - SeaMonkey: ~/.mozilla/seamonkey, ~/Library/Application
//     Support/SeaMonkey, %APPDATA%\Mozilla\SeaMonkey (as Thunderbird's own
//     SeaMonkey importer looks for them).
//   - Postbox: ~/Library/Application Support/Postbox and %APPDATA%\Postbox
//     (up to version 5), PostboxApp instead of Postbox from version 6 on.
//   - Icedove (Debian's rebranded Thunderbird until 2017): ~/.icedove, and
//     before that ~/.mozilla-thunderbird.
func Roots(home string, env func(string) string, goos string) []Root {
	if env == nil {
		env = func(string) string { return "" }
	}
	var out []Root
	add := func(program string, elems ...string) {
		if elems[0] == "" {
			return
		}
		out = append(out, Root{Dir: filepath.Join(elems...), Program: program})
	}
	switch goos {
	case "windows":
		appData := env("APPDATA")
		roaming := ""
		if home != "" {
			roaming = filepath.Join(home, "AppData", "Roaming")
		}
		for _, base := range []string{appData, roaming} {
			add(ProgramThunderbird, base, "Thunderbird")
		}
		for _, base := range []string{appData, roaming} {
			add(ProgramSeaMonkey, base, "Mozilla", "SeaMonkey")
			add(ProgramPostbox, base, "Postbox")
			add(ProgramPostbox, base, "PostboxApp")
		}
	case "darwin":
		add(ProgramThunderbird, home, "Library", "Thunderbird")
		add(ProgramSeaMonkey, home, "Library", "Application Support", "SeaMonkey")
		add(ProgramPostbox, home, "Library", "Application Support", "Postbox")
		add(ProgramPostbox, home, "Library", "Application Support", "PostboxApp")
	default: // Linux and the BSDs
		add(ProgramThunderbird, home, ".thunderbird")
		add(ProgramThunderbird, home, "snap", "thunderbird", "common", ".thunderbird")
		add(ProgramThunderbird, home, ".var", "app", "org.mozilla.Thunderbird", ".thunderbird")
		xdg := env("XDG_CONFIG_HOME")
		if xdg == "" && home != "" {
			xdg = filepath.Join(home, ".config")
		}
		add(ProgramThunderbird, xdg, "thunderbird")
		add(ProgramBetterbird, home, ".var", "app", "eu.betterbird.Betterbird", ".thunderbird")
		add(ProgramIcedove, home, ".icedove")
		add(ProgramIcedove, home, ".mozilla-thunderbird")
		add(ProgramSeaMonkey, home, ".mozilla", "seamonkey")
	}
	seen := map[string]bool{}
	uniq := out[:0]
	for _, r := range out {
		if !seen[r.Dir] {
			seen[r.Dir] = true
			uniq = append(uniq, r)
		}
	}
	return uniq
}

// RootCandidates returns the directories of Roots.
func RootCandidates(home string, env func(string) string, goos string) []string {
	var out []string
	for _, r := range Roots(home, env, goos) {
		out = append(out, r.Dir)
	}
	return out
}

// FindProfiles looks in the usual places (Roots) and returns every
// profile found, the default one of each root marked, with the program
// that keeps it. A root without profiles.ini still yields the profile
// directories below it. Unreadable roots are reported in the error
// (joined), the other profiles are still returned.
func FindProfiles(home string, env func(string) string, goos string) ([]Profile, error) {
	var all []Profile
	var errs []error
	for _, root := range Roots(home, env, goos) {
		st, err := os.Stat(root.Dir)
		if err != nil || !st.IsDir() {
			continue
		}
		ps, err := ReadRoot(root.Dir)
		if err != nil {
			errs = append(errs, err)
		}
		for i := range ps {
			ps[i].Program = root.Program
		}
		all = append(all, ps...)
	}
	return all, errors.Join(errs...)
}

// ReadRoot returns the profiles of a Thunderbird root: those listed in its
// profiles.ini (with installs.ini consulted for the default), or, without
// profiles.ini, the directories below it (or below its Profiles/) that look
// like profiles.
func ReadRoot(root string) ([]Profile, error) {
	data, err := os.ReadFile(filepath.Join(root, "profiles.ini"))
	if errors.Is(err, fs.ErrNotExist) {
		return scanProfileDirs(root), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read profiles.ini: %w", err)
	}
	installs, _ := os.ReadFile(filepath.Join(root, "installs.ini"))
	ps := ParseProfilesINI(data, installs, root)
	for i := range ps {
		if st, err := os.Stat(ps[i].Dir); err != nil || !st.IsDir() {
			if alt := relocateProfile(root, ps[i].Dir); alt != "" {
				ps[i].Note = fmt.Sprintf("profiles.ini says %s; using %s", ps[i].Dir, alt)
				ps[i].Dir = alt
			} else {
				ps[i].Missing = true
			}
		}
	}
	return ps, nil
}

// relocateProfile finds a profile whose absolute path in profiles.ini is
// from another machine (or a Windows path read on Linux) by its last path
// element, below root or root/Profiles.
func relocateProfile(root, dir string) string {
	base := lastElem(dir)
	if base == "" {
		return ""
	}
	for _, c := range []string{filepath.Join(root, "Profiles", base), filepath.Join(root, base)} {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	return ""
}

// lastElem returns the last element of a path written with / or \.
func lastElem(p string) string {
	p = strings.TrimRight(strings.ReplaceAll(p, `\`, "/"), "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func scanProfileDirs(root string) []Profile {
	var ps []Profile
	for _, base := range []string{root, filepath.Join(root, "Profiles")} {
		ents, err := os.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range ents {
			d := filepath.Join(base, e.Name())
			if isDir(d) && looksLikeProfile(d) {
				ps = append(ps, Profile{Name: e.Name(), Dir: d, Root: root})
			}
		}
	}
	if len(ps) == 1 {
		ps[0].Default = true
	}
	return ps
}

// iniSection is one [section] of an INI file.
type iniSection struct {
	Name string
	Keys map[string]string
}

// parseINI reads Mozilla's INI files: [Section] headers, Key=Value lines,
// ';' and '#' comments, CRLF or LF, an optional UTF-8 BOM.
func parseINI(data []byte) []iniSection {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var out []iniSection
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == ';' || line[0] == '#':
		case line[0] == '[' && strings.HasSuffix(line, "]"):
			out = append(out, iniSection{Name: strings.TrimSpace(line[1 : len(line)-1]), Keys: map[string]string{}})
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok && len(out) > 0 {
				out[len(out)-1].Keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return out
}

// ParseProfilesINI interprets profiles.ini (and installs.ini, which may be
// nil) of the root directory root. Relative paths (IsRelative=1) may use /
// or \ and are resolved against root; absolute ones are kept as written.
// The default is the profile an install uses ([Install…] Default= in
// profiles.ini, then installs.ini), else the one with Default=1, else the
// only profile.
func ParseProfilesINI(profilesINI, installsINI []byte, root string) []Profile {
	var ps []Profile
	var rawPaths []string
	legacyDefault := -1
	var installDefaults []string
	for _, s := range parseINI(profilesINI) {
		switch {
		case strings.HasPrefix(strings.ToLower(s.Name), "profile"):
			path := s.Keys["Path"]
			if path == "" {
				continue
			}
			p := Profile{Name: s.Keys["Name"], Root: root}
			if s.Keys["IsRelative"] == "0" {
				p.Dir = path
			} else {
				p.Dir = filepath.Join(root, filepath.FromSlash(strings.ReplaceAll(path, `\`, "/")))
			}
			if p.Name == "" {
				p.Name = lastElem(path)
			}
			if s.Keys["Default"] == "1" && legacyDefault < 0 {
				legacyDefault = len(ps)
			}
			ps = append(ps, p)
			rawPaths = append(rawPaths, path)
		case strings.HasPrefix(strings.ToLower(s.Name), "install"):
			if d := s.Keys["Default"]; d != "" {
				installDefaults = append(installDefaults, d)
			}
		}
	}
	for _, s := range parseINI(installsINI) {
		if d := s.Keys["Default"]; d != "" {
			installDefaults = append(installDefaults, d)
		}
	}
	def := -1
	for _, d := range installDefaults {
		for i, raw := range rawPaths {
			if samePath(raw, d) {
				def = i
				break
			}
		}
		if def >= 0 {
			break
		}
	}
	if def < 0 {
		def = legacyDefault
	}
	if def < 0 && len(ps) == 1 {
		def = 0
	}
	if def >= 0 {
		ps[def].Default = true
	}
	return ps
}

// samePath compares two paths as written in INI files: / and \ alike,
// letters case-insensitively (Windows), trailing separators ignored.
func samePath(a, b string) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.TrimRight(strings.ReplaceAll(s, `\`, "/"), "/"))
	}
	return norm(a) == norm(b)
}

// looksLikeProfile reports whether dir is a Thunderbird profile: a prefs.js
// that mentions mail accounts, or Mail/ or ImapMail/ holding mail folders.
func looksLikeProfile(dir string) bool {
	if b, err := readHead(filepath.Join(dir, "prefs.js"), 1<<20); err == nil {
		if bytes.Contains(b, []byte(`"mail.`)) {
			return true
		}
	}
	for _, sub := range []string{"Mail", "ImapMail"} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if d := filepath.Join(dir, sub, e.Name()); isDir(d) && looksLikeFolderDir(d) {
				return true
			}
		}
	}
	return false
}

// LockStatus reports whether Thunderbird may be running on the profile in
// dir, as a sentence for the user, or "" when no lock is found. Mozilla
// keeps a "lock" symlink (Linux), ".parentlock" (macOS, Linux) and
// "parent.lock" (Windows) while a profile is open
// (docs/thunderbird.md, Lock files). A crash leaves them behind, so the
// answer is "may": Thunderbird rewrites mbox files in place while it runs
// (flag changes, compaction).
func LockStatus(dir string) string {
	if dir == "" {
		return ""
	}
	var found []string
	if st, err := os.Lstat(filepath.Join(dir, "lock")); err == nil {
		what := "lock"
		if st.Mode()&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(filepath.Join(dir, "lock")); err == nil {
				what = fmt.Sprintf("lock -> %s", target)
			}
		}
		found = append(found, what)
	}
	if _, err := os.Lstat(filepath.Join(dir, "parent.lock")); err == nil {
		found = append(found, "parent.lock")
	}
	// .parentlock stays after a clean exit on Linux and macOS; it only
	// means something when another process holds a lock on it.
	if held, known := parentLockHeld(filepath.Join(dir, ".parentlock")); known && held {
		found = append(found, ".parentlock (locked)")
	}
	if len(found) == 0 {
		return ""
	}
	sort.Strings(found)
	return fmt.Sprintf("Thunderbird may be running on profile %s (found %s); it rewrites mbox files in place, so close Thunderbird or read a copy (a lock left by a crash is harmless)", dir, strings.Join(found, ", "))
}

// readHead reads up to n bytes from the start of a file.
func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	m, err := io.ReadFull(f, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:m], err
}
