package cyrustest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/daemontest"
	"mailferry/internal/testutil"
)

// DefaultRoot is where .ci/install-test-servers unpacks Debian's
// cyrus-imapd package (which cannot be installed next to dovecot-imapd).
// MAILFERRY_CYRUS_ROOT overrides it; a system-wide installation (root "/")
// is used when neither holds imapd.
const DefaultRoot = "/opt/mailferry-test/cyrus-imapd"

// Timeouts for the daemon.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Config chooses how the test server behaves. The zero value is Debian 12's
// Cyrus IMAP as packaged (its /etc/imapd.conf): namespace "INBOX." with
// delimiter ".", munge8bit on, one user.
type Config struct {
	// Users are the accounts; a user with an empty Password gets a random
	// one. Empty means one user "tester". A user's INBOX is created at
	// the first login (Debian's autocreate_quota: 0).
	Users []daemontest.User
	// AltNamespace sets altnamespace: yes and unixhierarchysep: yes (the
	// upstream defaults of Cyrus 3): folders beside INBOX instead of
	// below it, namespace "" with delimiter "/".
	AltNamespace bool
	// Reject8Bit sets reject8bit: yes: a message with raw 8-bit bytes in
	// its header is refused instead of stored with those bytes replaced
	// by "X" (munge8bit, the default).
	Reject8Bit bool
	// SpecialUse creates Drafts, Sent, Trash, Junk and Archive with their
	// special-use attributes at the user's first login and subscribes
	// them (autocreate_inbox_folders, autocreate_subscribe_folders,
	// xlist-*).
	SpecialUse bool
	// Extra holds imapd.conf lines ("option: value") appended to the
	// generated configuration, e.g. "suppress_capabilities: MULTIAPPEND".
	Extra string
}

func (cfg Config) validate() error {
	for _, u := range cfg.Users {
		// Cyrus keeps a "." of a user name as "^" in mailbox names; the
		// ground-truth reader does not undo that.
		if strings.Contains(u.Name, ".") {
			return fmt.Errorf("cyrustest: user name %q: no \".\" please", u.Name)
		}
	}
	for _, l := range strings.Split(cfg.Extra, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.Contains(l, ":") {
			return fmt.Errorf("cyrustest: Extra line %q: want \"option: value\"", l)
		}
	}
	return nil
}

// Namespace returns the personal namespace prefix and hierarchy delimiter
// the configuration gives: ("INBOX.", '.') or, with AltNamespace, ("", '/').
func (cfg Config) Namespace() (prefix string, delim rune) {
	if cfg.AltNamespace {
		return "", '/'
	}
	return "INBOX.", '.'
}

// Server is one private Cyrus IMAP. Its fields are read-only. Addr offers
// STARTTLS and allows plaintext login (allowplaintext: yes).
type Server struct {
	daemontest.Base
	ConfPath string // imapd.conf, for `cyrus-tool -C`
	Version  string // the cyrus-imapd package version, when known (e.g. "3.6.1-4+deb12u5")

	cfg     Config
	bins    binaries
	uid     int // the cyrus user, which master runs the services and tools as
	gid     int
	logPath string

	mu   sync.Mutex
	proc *daemontest.Process // master; nil when stopped
}

// binaries are the programs a server runs.
type binaries struct {
	root       string // where cyrus-imapd is unpacked ("/" when installed)
	imapd      string
	master     string
	ctlCyrusdb string
	mbexamine  string
	saslpasswd string
}

const cyrusBin = "/usr/lib/cyrus/bin" // cyrus-common's programs

func findBinaries() (binaries, error) {
	var b binaries
	roots := []string{DefaultRoot, "/"}
	if r := os.Getenv("MAILFERRY_CYRUS_ROOT"); r != "" {
		roots = []string{r}
	}
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, cyrusBin, "imapd")); err == nil {
			b.root = r
			break
		}
	}
	if b.root == "" {
		return b, fmt.Errorf("cyrus-imapd's imapd not found in %s (run .ci/install-test-servers as root)", strings.Join(roots, " or "))
	}
	var errs []error
	find := func(dst *string, name string, dirs ...string) {
		p, err := daemontest.FindBinary(name, dirs...)
		*dst = p
		errs = append(errs, err)
	}
	find(&b.imapd, "imapd", filepath.Join(b.root, cyrusBin))
	find(&b.master, "master", cyrusBin)
	find(&b.ctlCyrusdb, "ctl_cyrusdb", cyrusBin)
	find(&b.mbexamine, "mbexamine", cyrusBin)
	find(&b.saslpasswd, "saslpasswd2", "/usr/sbin")
	if err := errors.Join(errs...); err != nil {
		return b, fmt.Errorf("%w (Debian: apt-get install cyrus-common sasl2-bin)", err)
	}
	return b, nil
}

// Start starts a private Cyrus IMAP for this test and returns it running
// and accepting connections on both ports. Without Cyrus, or when the
// tests do not run as root, it skips the test (fails it under CI=true).
// t.Cleanup stops the server and removes its directory.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "cyrustest needs root (Cyrus's master runs its services as the cyrus user)")
	}
	if _, err := findBinaries(); err != nil {
		testutil.SkipOrFail(t, "cyrustest: %v", err)
	}
	return daemontest.Start(t, "cyrustest", func(dir string) (*Server, error) { return Setup(dir, cfg) })
}

// Setup writes a server into dir (which must exist, be empty and be
// traversable by the cyrus user) without starting it: imapd.conf,
// cyrus.conf, the users' sasldb, the certificate. The caller runs Run,
// then Stop, and removes dir.
func Setup(dir string, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	uid, gid, err := daemontest.SystemUser("cyrus")
	if err != nil {
		return nil, fmt.Errorf("cyrustest: %w (made by cyrus-common)", err)
	}
	base, certs, err := daemontest.NewBase(dir, cfg.Users)
	if err != nil {
		return nil, fmt.Errorf("cyrustest: %w", err)
	}
	dir = base.Dir
	s := &Server{
		Base:     base,
		ConfPath: filepath.Join(dir, "etc/imapd.conf"),
		Version:  readVersion(bins.root),
		cfg:      cfg,
		bins:     bins,
		uid:      uid,
		gid:      gid,
		logPath:  filepath.Join(dir, "master.log"),
	}
	// lib/socket: every imapd binds lib/socket/idle.PID for IDLE
	// notifications (and logs "bind: No such file or directory" without it).
	// spool/stage./: imapd 3.6 creates the partition's stage directory at
	// the first APPEND; two connections appending first at the same time
	// race, and the loser answers "NO System I/O error" ("couldn't create
	// stage directory: File exists", then the message file is not
	// retried). A server that has ever stored mail has it.
	for _, d := range []string{"etc", "lib/socket", "spool/stage.", "sieve", "run/proc", "run/lock", "run/socket"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			return nil, fmt.Errorf("cyrustest: %w", err)
		}
	}
	err = daemontest.WriteFiles(
		daemontest.File{Path: filepath.Join(dir, "etc/cert.pem"), Data: certs.CertPEM, Mode: 0o644},
		daemontest.File{Path: filepath.Join(dir, "etc/key.pem"), Data: certs.KeyPEM, Mode: 0o600},
		daemontest.File{Path: s.ConfPath, Data: []byte(s.imapdConf()), Mode: 0o644},
		daemontest.File{Path: filepath.Join(dir, "etc/cyrus.conf"), Data: []byte(s.cyrusConf()), Mode: 0o644},
		daemontest.File{Path: s.logPath, Mode: 0o644},
	)
	if err != nil {
		return nil, fmt.Errorf("cyrustest: %w", err)
	}
	for _, u := range s.Users {
		// saslpasswd2 reads the password from stdin with -p (never argv).
		cmd := exec.Command(bins.saslpasswd, "-p", "-c", "-f", filepath.Join(dir, "etc/sasldb2"), "-u", "localhost", u.Name)
		cmd.Stdin = strings.NewReader(u.Password)
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cyrustest: saslpasswd2 %s: %w\n%s", u.Name, err, out)
		}
	}
	// Everything belongs to the cyrus user, which master runs imapd as.
	if err := daemontest.ChownAll(dir, uid, gid); err != nil {
		return nil, fmt.Errorf("cyrustest: %w", err)
	}
	if err := os.Chmod(filepath.Join(dir, "etc/sasldb2"), 0o600); err != nil {
		return nil, fmt.Errorf("cyrustest: %w", err)
	}
	return s, nil
}

// readVersion returns the package version .ci/install-test-servers wrote
// beside the unpacked package, or "" for a system installation.
func readVersion(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// imapdConf is Debian 12's /etc/imapd.conf with this server's paths, a
// private sasldb and the options of Config.
func (s *Server) imapdConf() string {
	d := s.Dir
	yesNo := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# cyrustest: Debian 12's imapd.conf with private paths")
	line("configdirectory: %s", filepath.Join(d, "lib"))
	line("proc_path: %s", filepath.Join(d, "run/proc"))
	line("mboxname_lockpath: %s", filepath.Join(d, "run/lock"))
	line("defaultpartition: default")
	line("partition-default: %s", filepath.Join(d, "spool"))
	line("altnamespace: %s", yesNo(s.cfg.AltNamespace))
	line("unixhierarchysep: %s", yesNo(s.cfg.AltNamespace))
	line("lmtp_downcase_rcpt: yes")
	line("allowanonymouslogin: no")
	line("popminpoll: 1")
	line("autocreate_quota: 0")
	line("umask: 077")
	line("sieveusehomedir: false")
	line("sievedir: %s", filepath.Join(d, "sieve"))
	line("hashimapspool: true")
	line("allowplaintext: yes")
	line("servername: localhost")
	line("sasl_pwcheck_method: auxprop")
	line("sasl_auxprop_plugin: sasldb")
	line("sasl_sasldb_path: %s", filepath.Join(d, "etc/sasldb2"))
	line("sasl_mech_list: PLAIN LOGIN")
	line("sasl_auto_transition: no")
	line("tls_server_cert: %s", filepath.Join(d, "etc/cert.pem"))
	line("tls_server_key: %s", filepath.Join(d, "etc/key.pem"))
	line("tls_session_timeout: 1440")
	line("lmtpsocket: %s", filepath.Join(d, "run/socket/lmtp"))
	line("idlesocket: %s", filepath.Join(d, "run/socket/idle"))
	line("notifysocket: %s", filepath.Join(d, "run/socket/notify"))
	line("syslog_prefix: cyrustest")
	if s.cfg.Reject8Bit {
		line("reject8bit: yes")
	}
	if s.cfg.SpecialUse {
		folders := "Drafts | Sent | Trash | Junk | Archive"
		line("autocreate_inbox_folders: %s", folders)
		line("autocreate_subscribe_folders: %s", folders)
		for _, f := range []string{"Drafts", "Sent", "Trash", "Junk", "Archive"} {
			line("xlist-%s: %s", strings.ToLower(f), f)
		}
	}
	if s.cfg.Extra != "" {
		line("%s", s.cfg.Extra)
	}
	return b.String()
}

// cyrusConf is master's configuration, Debian's for IMAP: the database
// recovery at start, and the two IMAP listeners whose imapd processes
// serve up to 30 connections each (-U 30); no POP3, LMTP, sieve or HTTP.
func (s *Server) cyrusConf() string {
	plainPort, tlsPort := s.Ports()
	return fmt.Sprintf(`# cyrustest
START {
  recover cmd="%[1]s -C %[2]s -r"
}
SERVICES {
  imap  cmd="%[3]s -U 30 -C %[2]s" listen="127.0.0.1:%[4]s" prefork=0 maxchild=100
  imaps cmd="%[3]s -s -U 30 -C %[2]s" listen="127.0.0.1:%[5]s" prefork=0 maxchild=100
}
EVENTS {
}
`, s.bins.ctlCyrusdb, s.ConfPath, s.bins.imapd, plainPort, tlsPort)
}

// Run starts master and waits until both listeners greet. It fails if the
// server is already running.
func (s *Server) Run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return errors.New("cyrus is already running")
	}
	f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own copy
	// -D keeps stdout and stderr (the log file); services log to syslog.
	cmd := exec.Command(s.bins.master, "-D", "-C", s.ConfPath, "-M", filepath.Join(s.Dir, "etc/cyrus.conf"),
		"-p", filepath.Join(s.Dir, "run/master.pid"))
	cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = s.Dir
	p, err := daemontest.StartProcess("cyrus master", cmd)
	if err != nil {
		return err
	}
	s.proc = p
	err = daemontest.WaitReady(startTimeout, p.Exited,
		func() error { return daemontest.Greets(s.Addr) },
		func() error { return daemontest.GreetsTLS(s.TLSAddr) })
	if err != nil {
		_ = s.stopLocked()
		return fmt.Errorf("cyrus: %w\n%s", err, s.LogTail(20))
	}
	return nil
}

// Stop stops master and waits until it and its services have exited, so
// that the ports are free again. Mail and configuration stay. Stopping a
// stopped server does nothing.
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
	return p.Stop(stopTimeout)
}

// Restart stops master (if running) and starts it again on the same ports
// with the same mail.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	daemontest.Restart(t, "cyrustest", s)
}

// Config returns the configuration the server was made with.
func (s *Server) Config() Config { return s.cfg }

// Dial returns a go-imap v2 client logged in as User over implicit TLS
// (verified against CAFile), for assertions. t.Cleanup closes it.
func (s *Server) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	return s.DialLogin(t, func() string { return s.LogTail(20) })
}

// LogTail returns the last n lines of master's output (the services log
// to syslog, which tests do not capture), for failure messages.
func (s *Server) LogTail(n int) string {
	return daemontest.LogTail(n, s.logPath)
}
