package thunderbird

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseProfilesINI(t *testing.T) {
	root := filepath.FromSlash("/home/bob/.thunderbird")
	tests := []struct {
		name     string
		ini      string
		installs string
		want     []string // name|dir|default
	}{
		{
			name: "one relative profile, no default marks",
			ini:  "[General]\nStartWithLastProfile=1\n\n[Profile0]\nName=default\nIsRelative=1\nPath=abc.default\n",
			want: []string{"default|" + filepath.Join(root, "abc.default") + "|true"},
		},
		{
			name: "Default=1 marks the legacy default",
			ini:  "[Profile0]\nName=a\nIsRelative=1\nPath=a.a\n\n[Profile1]\nName=b\nIsRelative=1\nPath=b.b\nDefault=1\n",
			want: []string{"a|" + filepath.Join(root, "a.a") + "|false", "b|" + filepath.Join(root, "b.b") + "|true"},
		},
		{
			name: "install default wins over Default=1; backslashes",
			ini: "[Install4F96D1932A9F858E]\nDefault=Profiles/new.default-release\nLocked=1\n\n" +
				"[Profile1]\nName=default\nIsRelative=1\nPath=Profiles\\old.default\nDefault=1\n\n" +
				"[Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/new.default-release\n\n[General]\nVersion=2\n",
			want: []string{"default|" + filepath.Join(root, "Profiles", "old.default") + "|false", "default-release|" + filepath.Join(root, "Profiles", "new.default-release") + "|true"},
		},
		{
			name:     "installs.ini only, Windows separators in both",
			ini:      "[Profile0]\r\nName=default\r\nIsRelative=1\r\nPath=Profiles\\x.default\r\nDefault=1\r\n\r\n[Profile1]\r\nName=esr\r\nIsRelative=1\r\nPath=Profiles\\y.default-esr\r\n",
			installs: "[6F193CCC56814779]\r\nDefault=Profiles/Y.default-esr\r\nLocked=1\r\n",
			want:     []string{"default|" + filepath.Join(root, "Profiles", "x.default") + "|false", "esr|" + filepath.Join(root, "Profiles", "y.default-esr") + "|true"},
		},
		{
			name: "absolute path kept; no name uses the directory",
			ini:  "; comment\n[Profile0]\nIsRelative=0\nPath=/data/tb/zz.work\n",
			want: []string{"zz.work|/data/tb/zz.work|true"},
		},
		{
			name: "BOM and sections without Path",
			ini:  "\xef\xbb\xbf[Profile0]\nName=broken\n\n[Profile1]\nName=ok\nPath=ok.ok\n",
			want: []string{"ok|" + filepath.Join(root, "ok.ok") + "|true"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var installs []byte
			if tt.installs != "" {
				installs = []byte(tt.installs)
			}
			ps := ParseProfilesINI([]byte(tt.ini), installs, root)
			var got []string
			for _, p := range ps {
				got = append(got, p.Name+"|"+p.Dir+"|"+boolStr(p.Default))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("profiles:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestRoots(t *testing.T) {
	home := filepath.FromSlash("/h")
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	linux := func(xdg string) []string {
		return []string{
			"Thunderbird|/h/.thunderbird",
			"Thunderbird|/h/snap/thunderbird/common/.thunderbird",
			"Thunderbird|/h/.var/app/org.mozilla.Thunderbird/.thunderbird",
			"Thunderbird|" + xdg + "/thunderbird",
			"Betterbird|/h/.var/app/eu.betterbird.Betterbird/.thunderbird",
			"Icedove|/h/.icedove",
			"Icedove|/h/.mozilla-thunderbird",
			"SeaMonkey|/h/.mozilla/seamonkey",
		}
	}
	tests := []struct {
		goos string
		env  map[string]string
		want []string
	}{
		{"linux", nil, linux("/h/.config")},
		{"linux", map[string]string{"XDG_CONFIG_HOME": "/x"}, linux("/x")},
		{"freebsd", nil, linux("/h/.config")},
		{"darwin", nil, []string{
			"Thunderbird|/h/Library/Thunderbird",
			"SeaMonkey|/h/Library/Application Support/SeaMonkey",
			"Postbox|/h/Library/Application Support/Postbox",
			"Postbox|/h/Library/Application Support/PostboxApp",
		}},
		{"windows", map[string]string{"APPDATA": "/w/AppData/Roaming"}, []string{
			"Thunderbird|/w/AppData/Roaming/Thunderbird",
			"Thunderbird|/h/AppData/Roaming/Thunderbird",
			"SeaMonkey|/w/AppData/Roaming/Mozilla/SeaMonkey",
			"Postbox|/w/AppData/Roaming/Postbox",
			"Postbox|/w/AppData/Roaming/PostboxApp",
			"SeaMonkey|/h/AppData/Roaming/Mozilla/SeaMonkey",
			"Postbox|/h/AppData/Roaming/Postbox",
			"Postbox|/h/AppData/Roaming/PostboxApp",
		}},
		{"windows", nil, []string{
			"Thunderbird|/h/AppData/Roaming/Thunderbird",
			"SeaMonkey|/h/AppData/Roaming/Mozilla/SeaMonkey",
			"Postbox|/h/AppData/Roaming/Postbox",
			"Postbox|/h/AppData/Roaming/PostboxApp",
		}},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range Roots(home, env(tt.env), tt.goos) {
			got = append(got, r.Program+"|"+filepath.ToSlash(r.Dir))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Roots(%s, %v) =\n %q\nwant\n %q", tt.goos, tt.env, got, tt.want)
		}
		if dirs := RootCandidates(home, env(tt.env), tt.goos); len(dirs) != len(got) {
			t.Errorf("RootCandidates(%s) has %d entries, Roots %d", tt.goos, len(dirs), len(got))
		}
	}
}

// The programs that share Thunderbird's profile format are found where
// they keep their profiles, and say which program they belong to.
func TestFindProfilesSiblings(t *testing.T) {
	home := t.TempDir()
	prof := func(root, dir string) {
		mkfile(t, filepath.Join(root, "profiles.ini"), "[Profile0]\nName=default\nIsRelative=1\nPath="+dir+"\nDefault=1\n")
		mkfile(t, filepath.Join(root, filepath.FromSlash(dir), "prefs.js"), `user_pref("mail.server.server1.type", "none");`)
	}
	prof(filepath.Join(home, ".icedove"), "ab.default")
	prof(filepath.Join(home, ".mozilla-thunderbird"), "cd.default")
	prof(filepath.Join(home, ".mozilla", "seamonkey"), "ef.default")
	prof(filepath.Join(home, ".var", "app", "eu.betterbird.Betterbird", ".thunderbird"), "gh.default-release")
	ps, err := FindProfiles(home, nil, "linux")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		rel, _ := filepath.Rel(home, p.Dir)
		got = append(got, p.Program+"|"+filepath.ToSlash(rel))
	}
	want := []string{
		"Betterbird|.var/app/eu.betterbird.Betterbird/.thunderbird/gh.default-release",
		"Icedove|.icedove/ab.default",
		"Icedove|.mozilla-thunderbird/cd.default",
		"SeaMonkey|.mozilla/seamonkey/ef.default",
	}
	if !slices.Equal(got, want) {
		t.Errorf("FindProfiles = %q, want %q", got, want)
	}
	for _, goos := range []string{"darwin", "windows"} {
		h := t.TempDir()
		env := map[string]string{"APPDATA": filepath.Join(h, "AppData", "Roaming")}
		var roots []string
		if goos == "darwin" {
			roots = []string{filepath.Join(h, "Library", "Application Support", "SeaMonkey"), filepath.Join(h, "Library", "Application Support", "PostboxApp")}
		} else {
			roots = []string{filepath.Join(env["APPDATA"], "Mozilla", "SeaMonkey"), filepath.Join(env["APPDATA"], "Postbox")}
		}
		for _, r := range roots {
			prof(r, "Profiles/xy.default")
		}
		ps, err := FindProfiles(h, func(k string) string { return env[k] }, goos)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 || ps[0].Program != ProgramSeaMonkey || ps[1].Program != ProgramPostbox || !ps[0].Default {
			t.Errorf("%s: FindProfiles = %+v, want a SeaMonkey and a Postbox profile", goos, ps)
		}
	}
}

func mkfile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFindProfiles(t *testing.T) {
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			home := t.TempDir()
			var root string
			env := map[string]string{}
			switch goos {
			case "linux":
				root = filepath.Join(home, "snap", "thunderbird", "common", ".thunderbird")
				// a second root without profiles.ini: the directory is scanned
				mkfile(t, filepath.Join(home, ".thunderbird", "q1.default", "prefs.js"), `user_pref("mail.accountmanager.accounts", "account1");`)
			case "darwin":
				root = filepath.Join(home, "Library", "Thunderbird")
			case "windows":
				env["APPDATA"] = filepath.Join(home, "AppData", "Roaming")
				root = filepath.Join(env["APPDATA"], "Thunderbird")
			}
			mkfile(t, filepath.Join(root, "profiles.ini"), "[Profile0]\nName=default-release\nIsRelative=1\nPath=Profiles/ab.default-release\n\n[Profile1]\nName=gone\nIsRelative=0\nPath=C:\\Users\\x\\AppData\\Roaming\\Thunderbird\\Profiles\\cd.default\n\n[Install1]\nDefault=Profiles/ab.default-release\n")
			mkfile(t, filepath.Join(root, "Profiles", "ab.default-release", "prefs.js"), "")
			ps, err := FindProfiles(home, func(k string) string { return env[k] }, goos)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				rel := p.Dir
				if filepath.IsAbs(p.Dir) {
					rel, _ = filepath.Rel(home, p.Dir)
				}
				got = append(got, p.Name+"|"+filepath.ToSlash(rel)+"|"+boolStr(p.Default)+"|"+boolStr(p.Missing))
			}
			rootRel, _ := filepath.Rel(home, root)
			want := []string{
				"default-release|" + filepath.ToSlash(rootRel) + "/Profiles/ab.default-release|true|false",
				`gone|C:\Users\x\AppData\Roaming\Thunderbird\Profiles\cd.default|false|true`,
			}
			if goos == "linux" {
				want = append([]string{"q1.default|.thunderbird/q1.default|true|false"}, want...)
			}
			if !slices.Equal(got, want) {
				t.Errorf("FindProfiles:\n got  %q\n want %q", got, want)
			}
		})
	}
}

func TestRelocatedProfile(t *testing.T) {
	root := t.TempDir()
	mkfile(t, filepath.Join(root, "profiles.ini"), "[Profile0]\nName=moved\nIsRelative=0\nPath=C:\\Users\\x\\AppData\\Roaming\\Thunderbird\\Profiles\\mv.default\nDefault=1\n")
	mkfile(t, filepath.Join(root, "Profiles", "mv.default", "prefs.js"), "")
	ps, err := ReadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Dir != filepath.Join(root, "Profiles", "mv.default") || ps[0].Missing || !strings.Contains(ps[0].Note, "profiles.ini says") {
		t.Errorf("ReadRoot = %+v, want the profile found below Profiles/ with a note", ps)
	}
}

func TestLockStatus(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string)
		want  string // substring; "" means no lock reported
	}{
		{"none", func(string) {}, ""},
		{"stale .parentlock alone is normal on Linux and macOS", func(d string) { mkfile(t, filepath.Join(d, ".parentlock"), "") }, ""},
		{"lock symlink", func(d string) {
			if err := os.Symlink("127.0.1.1:+4242", filepath.Join(d, "lock")); err != nil {
				t.Skip("no symlinks here:", err)
			}
		}, "lock -> 127.0.1.1:+4242"},
		{"windows parent.lock", func(d string) { mkfile(t, filepath.Join(d, "parent.lock"), "") }, "parent.lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(dir)
			got := LockStatus(dir)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("LockStatus = %q, want %q", got, tt.want)
			}
			if tt.want != "" && !strings.Contains(got, "may be running") {
				t.Errorf("LockStatus = %q, want it to say Thunderbird may be running", got)
			}
		})
	}
}
