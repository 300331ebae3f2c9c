package dovecottest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/daemontest"
	"mailferry/internal/testutil"
)

// Test user defaults.
const (
	defaultUser     = "tester"
	defaultPassword = "secret-password"
	// mailUID is the uid/gid of the mail files when the tests run as root;
	// it need not exist in /etc/passwd.
	mailUID = 61000
)

// Timeouts for the daemon.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is one private Dovecot. Its fields are read-only.
type Server struct {
	Addr     string // 127.0.0.1:port (127.0.0.2 with StrictPlaintext): plain IMAP, STARTTLS available
	TLSAddr  string // 127.0.0.1:port: implicit TLS
	User     string
	Password string
	CAFile   string         // PEM of the CA that signed the server certificate
	CAPool   *x509.CertPool // the same CA, for tls.Config.RootCAs
	ConfPath string         // dovecot.conf, for `doveadm -c` and `dovecot -c`
	Dir      string         // everything of this server: config, logs, sockets, mail home
	Home     string         // the user's mail home (Maildir below it)
	LogPath  string         // Dovecot's log file
	Version  string         // `dovecot --version` output, e.g. "2.3.19.1 (9b53102964)"

	cfg        Config
	dovecotBin string
	doveadmBin string
	stderrPath string // the daemon's stdout and stderr

	mu   sync.Mutex
	proc *daemontest.Process // one run of `dovecot -F`; nil when stopped
}

// Binaries returns the paths of dovecot and doveadm, looking in PATH and
// then in /usr/sbin and /usr/bin (a non-root PATH often lacks /usr/sbin).
func Binaries() (dovecot, doveadm string, err error) {
	find := func(name string) (string, error) {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
		for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found in PATH or /usr/sbin, /usr/bin", name)
	}
	if dovecot, err = find("dovecot"); err != nil {
		return "", "", err
	}
	if doveadm, err = find("doveadm"); err != nil {
		return "", "", err
	}
	return dovecot, doveadm, nil
}

// Start starts a private Dovecot for this test and returns it running and
// accepting connections. Without Dovecot it skips the test (fails it under
// CI=true). t.Cleanup stops the server and removes its directory; when the
// test failed, the tail of Dovecot's log is logged first.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	// A port picked free can be taken by someone else before Dovecot binds
	// it; then try again with new ports.
	for attempt := 1; ; attempt++ {
		s := Prepare(t, cfg)
		err := s.Run()
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(err.Error(), "Address already in use") {
			t.Logf("dovecottest: port taken, retrying: %v", err)
			continue
		}
		t.Fatalf("dovecottest: start: %v", err)
	}
}

// Prepare writes a server's configuration, certificate, user and mail home
// like Start, but does not start the daemon: Pipe, Doveadm, Fetch and the
// other doveadm-based helpers work without it; Run or Restart starts it.
func Prepare(t testing.TB, cfg Config) *Server {
	t.Helper()
	if _, _, err := Binaries(); err != nil {
		testutil.SkipOrFail(t, "dovecot is not installed (Debian: apt-get install dovecot-imapd): %v", err)
	}
	dir, err := daemontest.ShortTempDir("dovecottest-")
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	s, err := Setup(dir, cfg)
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("dovecottest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("dovecottest: stop: %v", err)
		}
		if t.Failed() {
			t.Logf("dovecottest: tail of %s:\n%s", s.LogPath, s.LogTail(40))
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("dovecottest: remove %s: %v", dir, err)
		}
	})
	return s
}

// Setup writes a server into dir (which must exist, be empty and be
// traversable by the mail user, e.g. mode 0711) without starting it, and
// picks two free ports. It is the part of Prepare that needs no testing.TB,
// for benchmark scripts; the caller removes dir after Stop.
func Setup(dir string, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	dovecotBin, doveadmBin, err := Binaries()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(dovecotBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("run %s --version: %w", dovecotBin, err)
	}
	version := strings.TrimSpace(string(out))
	v, err := parseVersion(version)
	if err != nil {
		return nil, err
	}

	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	l := layout{
		instance:   "dovecottest-" + filepath.Base(dir),
		baseDir:    filepath.Join(dir, "run"),
		stateDir:   filepath.Join(dir, "state"),
		logPath:    filepath.Join(dir, "dovecot.log"),
		passwdPath: filepath.Join(dir, "passwd"),
		certPath:   filepath.Join(dir, "cert.pem"),
		keyPath:    filepath.Join(dir, "key.pem"),
		oauth2Path: filepath.Join(dir, oauth2ConfName),
		home:       filepath.Join(dir, "home"),
		plainIP:    "127.0.0.1",
		uid:        mailUID,
		gid:        mailUID,
	}
	// "login/imap-urlauth" is the longest socket name below base_dir.
	if n := len(l.baseDir) + len("/login/imap-urlauth"); n >= 108 {
		return nil, fmt.Errorf("setup: %s is too long for Dovecot's socket paths (%d bytes, limit 107)", l.baseDir, n)
	}
	if cfg.StrictPlaintext {
		l.plainIP = "127.0.0.2"
	}
	for _, d := range []string{"/usr/lib/dovecot", "/usr/libexec/dovecot", "/usr/local/libexec/dovecot"} {
		if _, err := os.Stat(filepath.Join(d, "pop3-login")); err == nil {
			l.pop3 = true
		}
	}
	if os.Geteuid() != 0 {
		// Dovecot runs as the current user: mail, login and internal
		// processes all under one uid, no chroot.
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("setup: look up current user: %w", err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			return nil, fmt.Errorf("setup: look up current group: %w", err)
		}
		l.nonRoot, l.userName, l.groupName = true, u.Username, g.Name
		l.uid, l.gid = os.Geteuid(), os.Getegid()
	}
	ports, err := daemontest.FreePorts(l.plainIP, "127.0.0.1")
	if err != nil {
		return nil, err
	}
	l.plainPort, l.tlsPort = ports[0], ports[1]

	certs, err := daemontest.NewCertificates()
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	caPath := filepath.Join(dir, "ca.pem")
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{caPath, certs.CAPEM, 0o644},
		{l.certPath, certs.CertPEM, 0o644},
		{l.keyPath, certs.KeyPEM, 0o600},
		// passwd-file: user:{scheme}password:uid:gid:gecos:home:shell:extra
		{l.passwdPath, fmt.Appendf(nil, "%s:{PLAIN}%s:%d:%d::%s::\n", defaultUser, defaultPassword, l.uid, l.gid, l.home), 0o644},
		// Pre-created and world-writable so that processes running as the
		// mail user (doveadm exec imap, doveadm) can append to it too.
		{l.logPath, nil, 0o666},
		{filepath.Join(dir, "dovecot.conf"), []byte(configText(v, cfg, l)), 0o644},
	}
	if cfg.OAuth2 != nil && !v.atLeast24() {
		files = append(files, struct {
			path string
			data []byte
			mode os.FileMode
		}{l.oauth2Path, []byte(cfg.OAuth2.oauth2Ext()), 0o644})
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
		if err := os.Chmod(f.path, f.mode); err != nil { // umask
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	for _, d := range []string{l.stateDir, filepath.Join(l.home, "Maildir")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("setup: %w", err)
		}
	}
	if !l.nonRoot {
		for _, d := range []string{l.home, filepath.Join(l.home, "Maildir")} {
			if err := os.Chown(d, l.uid, l.gid); err != nil {
				return nil, fmt.Errorf("setup: chown mail home: %w", err)
			}
		}
	}
	return &Server{
		Addr:       net.JoinHostPort(l.plainIP, strconv.Itoa(l.plainPort)),
		TLSAddr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(l.tlsPort)),
		User:       defaultUser,
		Password:   defaultPassword,
		CAFile:     caPath,
		CAPool:     certs.Pool(),
		ConfPath:   filepath.Join(dir, "dovecot.conf"),
		Dir:        dir,
		Home:       l.home,
		LogPath:    l.logPath,
		Version:    version,
		cfg:        cfg,
		dovecotBin: dovecotBin,
		doveadmBin: doveadmBin,
		stderrPath: filepath.Join(dir, "dovecot.stderr"),
	}, nil
}

// Config returns the configuration the server was made with.
func (s *Server) Config() Config { return s.cfg }

// Running reports whether the daemon is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Run starts the daemon (`dovecot -F -c CONF`) and waits until the plain
// port greets and the TLS port accepts connections. It fails if the server
// is already running.
func (s *Server) Run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("dovecot is already running")
	}
	logf, err := os.OpenFile(s.stderrPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open stderr file: %w", err)
	}
	cmd := exec.Command(s.dovecotBin, "-F", "-c", s.ConfPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = logf, logf
	p, err := daemontest.StartProcess("dovecot", cmd)
	logf.Close() // the child has its own copy
	if err != nil {
		return err
	}
	s.proc = p
	// The plain listener's greeting means the login process and auth are up.
	err = daemontest.WaitReady(startTimeout, p.Exited,
		func() error { return daemontest.Greets(s.Addr) },
		func() error { return daemontest.Accepts(s.TLSAddr) })
	if err != nil {
		s.stopLocked()
		return fmt.Errorf("dovecot: %w\n%s", err, s.LogTail(20))
	}
	return nil
}

// Stop stops the daemon and waits until it and its children have exited,
// so that the ports are free again. Mail and configuration stay. Stopping
// a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	p := s.proc
	if p == nil {
		return nil
	}
	s.proc = nil
	// SIGTERM to the whole process group, as systemd stops a service: the
	// master alone leaves its imap processes running for up to ~10 s
	// (Dovecot 2.3), holding connections from before a Restart open.
	return p.Stop(stopTimeout)
}

// Restart stops the daemon (if running) and starts it again on the same
// ports with the same mail home.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatalf("dovecottest: restart: %v", err)
	}
	if err := s.Run(); err != nil {
		t.Fatalf("dovecottest: restart: %v", err)
	}
}

// Close stops the daemon; for users of Setup. It does not remove Dir.
func (s *Server) Close() error { return s.Stop() }

// TLSConfig returns a client TLS configuration trusting only the server's
// CA, for ServerName "localhost" (the certificate also holds 127.0.0.1 and
// 127.0.0.2, for clients that verify the dialled IP).
func (s *Server) TLSConfig() *tls.Config { return daemontest.TLSConfig(s.CAPool) }

// Dial returns a go-imap v2 client logged in over implicit TLS (verified
// against CAFile), for assertions. t.Cleanup closes it.
func (s *Server) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	return daemontest.DialLogin(t, s.TLSAddr, s.TLSConfig(), s.User, s.Password, func() string { return s.LogTail(20) })
}

// URL returns the server's address as mailferry's --to takes it:
// "imaps://tester@127.0.0.1:port" for scheme "imaps" (implicit TLS) or
// "imap://tester@127.0.0.1:port" for "imap" (STARTTLS).
func (s *Server) URL(scheme string) string {
	return daemontest.URL(scheme, s.User, s.Addr, s.TLSAddr)
}

// PasswordFile writes the password (no newline) into a file of its own (mode 0600) and
// returns its path, for --password-file.
func (s *Server) PasswordFile(t testing.TB) string {
	t.Helper()
	return daemontest.PasswordFile(t, s.Password)
}

// LogTail returns the last n lines of Dovecot's log and of the daemon's
// stderr, for failure messages.
func (s *Server) LogTail(n int) string {
	return daemontest.LogTail(n, s.LogPath, s.stderrPath)
}
