package oauth

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func testRecord(account string) *Record {
	return &Record{Account: account, ClientID: "cid", TokenURL: "https://login.example.com/token", Scope: "mail offline_access",
		Refresh: NewSecret("rt-" + strings.Repeat("x", 40) + "-very-secret"), Saved: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
}

// storeRoundTrip checks Save, Load, Delete and the not-stored case of any
// store.
func storeRoundTrip(t *testing.T, s Store) {
	t.Helper()
	if _, err := s.Load("me@example.com"); !errors.Is(err, ErrNotStored) {
		t.Fatalf("Load before Save: %v, want ErrNotStored", err)
	}
	r := testRecord("Me@Example.com")
	if err := s.Save(r); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := s.Load("me@example.com")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !got.Refresh.Equal(r.Refresh) || got.ClientID != r.ClientID || got.TokenURL != r.TokenURL || got.Scope != r.Scope || !got.Saved.Equal(r.Saved) {
		t.Errorf("Load = %+v, want %+v", got, r)
	}
	// Saving again replaces.
	r2 := testRecord("me@example.com")
	r2.Refresh = NewSecret("rotated")
	if err := s.Save(r2); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Load("me@example.com"); got == nil || got.Refresh.Reveal() != "rotated" {
		t.Errorf("Load after a second Save = %+v", got)
	}
	if _, err := s.Load("other@example.com"); !errors.Is(err, ErrNotStored) {
		t.Errorf("Load of another account: %v", err)
	}
	if err := s.Delete("me@example.com"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Load("me@example.com"); !errors.Is(err, ErrNotStored) {
		t.Errorf("Load after Delete: %v", err)
	}
	if err := s.Delete("me@example.com"); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
	if err := s.Save(&Record{Account: "me@example.com"}); err == nil {
		t.Error("Save of a record without refresh token: no error")
	}
	if err := s.Save(testRecord(`bad"account`)); err == nil {
		t.Error("Save with a quote in the account: no error")
	}
}

func TestFileStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config", "mailferry", "oauth")
	s := &FileStore{Dir: dir}
	storeRoundTrip(t, s)
	if err := s.Save(testRecord("me@example.com")); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
	name, _ := s.fileName("me@example.com")
	if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want the one file (no temporary files left)", len(entries))
	}

	// A directory opened to others is closed again.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("me@example.com"); err != nil {
		t.Errorf("Load from a 0755 directory: %v", err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v after Load, want 0700", fi.Mode().Perm())
	}
	// A file others could read is refused: its secret may be known.
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("me@example.com"); err == nil || !strings.Contains(err.Error(), "can be read by other users") {
		t.Errorf("Load of a 0644 file: %v", err)
	}
	os.Chmod(name, 0o600)
}

// Links planted in place of the file or the directory are refused, for
// reading and for writing.
func TestFileStoreRefusesLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	base := t.TempDir()
	elsewhere := filepath.Join(base, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o700); err != nil {
		t.Fatal(err)
	}
	linked := filepath.Join(base, "linked")
	if err := os.Symlink(elsewhere, linked); err != nil {
		t.Fatal(err)
	}
	ls := &FileStore{Dir: linked}
	if err := ls.Save(testRecord("me@example.com")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Save into a linked directory: %v", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Error("something was written through the link")
	}

	s := &FileStore{Dir: filepath.Join(base, "real")}
	if err := s.Save(testRecord("me@example.com")); err != nil {
		t.Fatal(err)
	}
	name, _ := s.fileName("me@example.com")
	target := filepath.Join(elsewhere, "planted.json")
	b, _ := os.ReadFile(name)
	os.WriteFile(target, b, 0o600)
	os.Remove(name)
	if err := os.Symlink(target, name); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("me@example.com"); err == nil {
		t.Error("Load followed a symbolic link")
	}
	if err := s.Save(testRecord("me@example.com")); err == nil {
		t.Error("Save wrote over a symbolic link")
	}
}

// fakeTools puts fake security and secret-tool commands on PATH that keep
// items in files and log their argv.
func fakeTools(t *testing.T) (dir, argvLog string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake keychain commands are shell scripts")
	}
	dir = t.TempDir()
	argvLog = filepath.Join(dir, "argv.log")
	items := filepath.Join(dir, "items")
	os.Mkdir(items, 0o700)
	// security: -i reads command lines (split with quotes, like
	// security's own parser) from stdin.
	script(t, dir, "security", `log="`+argvLog+`"; items="`+items+`"
printf 'security %s\n' "$*" >> "$log"
run() {
  cmd=$1; shift; svc=; acct=; pw=; show=
  while [ $# -gt 0 ]; do
    case $1 in
      -s) svc=$2; shift;; -a) acct=$2; shift;; -w) if [ $# -gt 1 ]; then pw=$2; shift; else show=1; fi;;
      -l|-j) shift;; -U) ;;
    esac; shift
  done
  f="$items/$svc-$acct"
  case $cmd in
    add-generic-password) printf '%s' "$pw" > "$f";;
    find-generic-password) [ -f "$f" ] || { echo "security: SecKeychainSearchCopyNext: The specified item could not be found in the keychain." >&2; return 44; }; cat "$f"; echo;;
    delete-generic-password) [ -f "$f" ] || return 44; rm "$f";;
  esac
}
if [ "$1" = -i ]; then
  st=0
  while IFS= read -r line; do eval "set -- $line"; run "$@"; st=$?; [ $st = 0 ] || echo "$1: returned $st" >&2; done
  exit $st
fi
run "$@"
`)
	script(t, dir, "secret-tool", `log="`+argvLog+`"; items="`+items+`"
printf 'secret-tool %s\n' "$*" >> "$log"
cmd=$1; shift
[ "$cmd" = store ] && shift
f="$items/$2-$4"
case $cmd in
  store) cat > "$f";;
  lookup) [ -f "$f" ] || exit 1; cat "$f";;
  clear) [ -f "$f" ] || exit 1; rm "$f";;
esac
`)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir, argvLog
}

// The keychain stores through their commands: everything round-trips and
// the secret never appears in a command line.
func TestCommandKeychains(t *testing.T) {
	for _, s := range []Store{MacKeychain{}, SecretService{}} {
		t.Run(s.Where(), func(t *testing.T) {
			_, argvLog := fakeTools(t)
			storeRoundTrip(t, s)
			log, err := os.ReadFile(argvLog)
			if err != nil || len(log) == 0 {
				t.Fatalf("the fake command was not run: %v", err)
			}
			for _, secret := range []string{"very-secret", "rotated", "cm90YXRlZA"} {
				if strings.Contains(string(log), secret) {
					t.Errorf("a secret is in a command line:\n%s", log)
				}
			}
		})
	}
}

// What the keychain refuses or breaks is an error, never a leak.
func TestCommandKeychainFailures(t *testing.T) {
	dir, _ := fakeTools(t)
	r := testRecord("me@example.com")
	r.Refresh = NewSecret(strings.Repeat("y", 4000))
	if err := (MacKeychain{}).Save(r); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("MacKeychain.Save of a 4000-byte token: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "items", "mailferry-me@example.com"), []byte("not base64 ***"), 0o600)
	if _, err := (MacKeychain{}).Load("me@example.com"); err == nil || strings.Contains(err.Error(), "***") {
		t.Errorf("Load of a damaged item: %v", err)
	}
	if _, err := (SecretService{}).Load("me@example.com"); err == nil || strings.Contains(err.Error(), "***") {
		t.Errorf("SecretService.Load of a damaged item: %v", err)
	}
	t.Setenv("PATH", t.TempDir()) // no keychain commands at all
	if err := (SecretService{}).Save(testRecord("me@example.com")); err == nil {
		t.Error("Save without secret-tool: no error")
	}
}

// Forget removes the record from every store and returns it for
// revocation; OpenStore falls back to files without a keychain.
func TestForgetAndOpenStore(t *testing.T) {
	fakeTools(t)
	files := &FileStore{Dir: filepath.Join(t.TempDir(), "oauth")}
	if err := files.Save(testRecord("me@example.com")); err != nil {
		t.Fatal(err)
	}
	if err := (SecretService{}).Save(testRecord("me@example.com")); err != nil {
		t.Fatal(err)
	}
	r, err := Forget("me@example.com", SecretService{}, files)
	if err != nil || r == nil || r.ClientID != "cid" {
		t.Fatalf("Forget = %+v, %v", r, err)
	}
	for _, s := range []Store{SecretService{}, files} {
		if _, err := s.Load("me@example.com"); !errors.Is(err, ErrNotStored) {
			t.Errorf("%s still has the record: %v", s.Where(), err)
		}
	}
	if r, err := Forget("me@example.com", files); r != nil || err != nil {
		t.Errorf("Forget of nothing = %+v, %v", r, err)
	}

	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	s, err := OpenStore(StoreOptions{Dir: files.Dir, Getenv: getenv})
	if runtime.GOOS == "linux" && (err != nil || s.Where() != files.Dir) {
		t.Errorf("OpenStore without a session bus = %v, %v; want the file store", s, err)
	}
	env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/run/user/1000/bus"
	s, _ = OpenStore(StoreOptions{Dir: files.Dir, Getenv: getenv})
	if runtime.GOOS == "linux" {
		if _, ok := s.(SecretService); !ok {
			t.Errorf("OpenStore with secret-tool and a session bus = %T", s)
		}
	}
	if s, _ := OpenStore(StoreOptions{Dir: files.Dir, Getenv: getenv, FileOnly: true}); s.Where() != files.Dir {
		t.Errorf("OpenStore(FileOnly) = %s", s.Where())
	}
	if all, err := AllStores(StoreOptions{Dir: files.Dir, Getenv: getenv}); runtime.GOOS == "linux" && (err != nil || len(all) != 2 || all[1].Where() != files.Dir) {
		t.Errorf("AllStores = %v, %v; want the keyring and the file store", all, err)
	}
}
