package private

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestWriteFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	dir := t.TempDir()
	fresh := filepath.Join(dir, "fresh.json")
	if err := WriteFile(fresh, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, fresh); m != 0o600 {
		t.Errorf("new file mode %o, want 600", m)
	}

	old := filepath.Join(dir, "old.json")
	if err := os.WriteFile(old, []byte("an older, longer report"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(old, []byte("short")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(old); string(b) != "short" {
		t.Errorf("existing file holds %q, want it replaced", b)
	}
	if m := mode(t, old); m != 0o600 {
		t.Errorf("existing 0644 file left at %o, want 600", m)
	}

	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("x")); !errors.Is(err, ErrLink) {
		t.Errorf("through a link: %v, want ErrLink", err)
	}
	dangling := filepath.Join(dir, "dangling.json")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(dangling, []byte("x")); !errors.Is(err, ErrLink) {
		t.Errorf("through a dangling link: %v, want ErrLink", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); !os.IsNotExist(err) {
		t.Errorf("the dangling link's target was created: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" || mode(t, target) != 0o644 {
		t.Errorf("link target changed: %q %o", b, mode(t, target))
	}
	if err := WriteFile(dir, []byte("x")); err == nil {
		t.Error("writing onto a folder succeeded")
	}

	logf := filepath.Join(dir, "run.log")
	for _, line := range []string{"one\n", "two\n"} {
		f, err := Append(logf)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(line)
		f.Close()
	}
	if b, _ := os.ReadFile(logf); string(b) != "one\ntwo\n" {
		t.Errorf("appended log holds %q", b)
	}
}

func TestMkdirAll(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	dir := t.TempDir()
	deep := filepath.Join(dir, "a", "b")
	if err := MkdirAll(deep); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{filepath.Join(dir, "a"), deep} {
		if m := mode(t, d); m != 0o700 {
			t.Errorf("%s mode %o, want 700", d, m)
		}
	}
	if err := MkdirAll(deep); err != nil {
		t.Errorf("again: %v", err)
	}

	elsewhere := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink(elsewhere, link); err != nil {
		t.Fatal(err)
	}
	if err := MkdirAll(link); !errors.Is(err, ErrLink) {
		t.Errorf("a link: %v, want ErrLink", err)
	}

	for name, m := range map[string]os.FileMode{"open": 0o777, "sticky": 0o777 | os.ModeSticky} {
		shared := filepath.Join(dir, name)
		if err := os.Mkdir(shared, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(shared, m); err != nil {
			t.Fatal(err)
		}
		if err := MkdirAll(shared); !errors.Is(err, ErrShared) {
			t.Errorf("%s folder: %v, want ErrShared", name, err)
		}
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if err := MkdirAll(file); err == nil {
		t.Error("a file where the folder goes was accepted")
	}
}

func TestDataDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Linux rules")
	}
	env := map[string]string{"XDG_DATA_HOME": "/data/home"}
	got, err := DataDir(func(k string) string { return env[k] })
	if err != nil || got != "/data/home/mailferry" {
		t.Errorf("with XDG_DATA_HOME: %q, %v", got, err)
	}
	env["XDG_DATA_HOME"] = "relative/ignored"
	home, _ := os.UserHomeDir()
	got, err = DataDir(func(k string) string { return env[k] })
	if err != nil || got != filepath.Join(home, ".local", "share", "mailferry") {
		t.Errorf("with a relative XDG_DATA_HOME: %q, %v", got, err)
	}
}
