package daemontest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

func TestUsers(t *testing.T) {
	def, err := Users(nil)
	if err != nil || len(def) != 1 || def[0].Name != DefaultUser || len(def[0].Password) != 24 {
		t.Errorf("Users(nil) = %+v, %v; want one %s with a 24-digit password", def, err, DefaultUser)
	}
	got, err := Users([]User{{Name: "a", Password: "pw"}, {Name: "b.c-d_1"}})
	if err != nil || got[0].Password != "pw" || got[1].Password == "" || got[1].Password == def[0].Password {
		t.Errorf("Users = %+v, %v; want the given password kept and a new random one", got, err)
	}
	for _, bad := range [][]User{{{Name: ""}}, {{Name: "Alice"}}, {{Name: "a b"}}, {{Name: "a"}, {Name: "a"}}, {{Name: "a", Password: "x\ny"}}} {
		if _, err := Users(bad); err == nil {
			t.Errorf("Users(%+v): want an error", bad)
		}
	}
}

func TestToCRLF(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb\n", "a\r\nb\r\n"},
		{"\n", "\r\n"},
		{"a\rb", "a\rb"},
	}
	for _, tt := range tests {
		if got := string(ToCRLF([]byte(tt.in))); got != tt.want {
			t.Errorf("ToCRLF(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	m := StoredMessage{Text: []byte("a\nb\n"), Flags: []string{"b", `\Seen`, "a"}}
	if string(m.CRLF()) != "a\r\nb\r\n" || !m.HasFlag(`\seen`) || m.HasFlag(`\Draft`) || !slices.Equal(m.SortedFlags(), []string{`\Seen`, "a", "b"}) {
		t.Errorf("StoredMessage helpers: CRLF %q, flags %q", m.CRLF(), m.SortedFlags())
	}
}

func TestNewBase(t *testing.T) {
	dir := t.TempDir()
	b, certs, err := NewBase(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Addr == b.TLSAddr || b.User != DefaultUser || b.Dir != dir {
		t.Errorf("NewBase = %+v", b)
	}
	data, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("ca.pem: %v", err)
	}
	block, _ = pem.Decode(certs.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: b.CAPool, DNSName: "localhost"}); err != nil {
		t.Errorf("server certificate does not verify against the CA: %v", err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Errorf("certificate: %v", err)
	}
	if u := b.URL("imap"); u != "imap://"+b.User+"@"+b.Addr {
		t.Errorf("URL(imap) = %q", u)
	}
	if u := b.URL("imaps"); u != "imaps://"+b.User+"@"+b.TLSAddr {
		t.Errorf("URL(imaps) = %q", u)
	}
}

// TestProcessStop checks that Stop ends the whole process group, children
// included, and that KillByEnv finds a detached helper by its marker.
func TestProcessStop(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p, err := StartProcess("test shell", exec.Command(sh, "-c", "sleep 60 & sleep 60 & wait"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !hasChildren(p.Pid()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.Exited(); err != nil {
		t.Fatalf("exited early: %v", err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if GroupAlive(p.Pid()) {
		t.Errorf("process group %d still alive after Stop", p.Pid())
	}
	if p.Exited() == nil {
		t.Errorf("Exited() = nil after Stop")
	}

	marker := "DAEMONTEST_MARK=" + NewPassword()
	cmd := exec.Command("sleep", "60")
	cmd.Env = append(os.Environ(), marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The environment is readable once the process has exec'd.
	var killed []int
	for deadline := time.Now().Add(5 * time.Second); len(killed) == 0 && time.Now().Before(deadline); {
		killed = KillByEnv(marker)
		time.Sleep(10 * time.Millisecond)
	}
	if !slices.Equal(killed, []int{cmd.Process.Pid}) {
		t.Errorf("KillByEnv = %v, want [%d]", killed, cmd.Process.Pid)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("the marked process survived KillByEnv")
	}
}

// hasChildren reports whether a process of group pgid other than pgid
// itself runs.
func hasChildren(pgid int) bool {
	found := false
	_ = eachProcess(func(pid int, st procStat) {
		if st.pgrp == pgid && pid != pgid {
			found = true
		}
	})
	return found
}

func TestLogTail(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "empty.log")
	if err := WriteFiles(File{Path: a, Data: []byte("1\n2\n3\n"), Mode: 0o600}, File{Path: b, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(a); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if got := LogTail(2, a, b, filepath.Join(dir, "missing")); got != "--- a.log (last 2 lines)\n2\n3\n" {
		t.Errorf("LogTail = %q", got)
	}
	if got := LogTail(2, b); got != "(logs are empty)" {
		t.Errorf("LogTail(empty) = %q", got)
	}
}
