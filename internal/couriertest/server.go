package couriertest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/daemontest"
	"mailferry/internal/testutil"
)

// DefaultRoot is where .ci/install-test-servers unpacks Debian's
// courier-imap package (which cannot be installed next to dovecot-imapd).
// MAILFERRY_COURIER_ROOT overrides it; a system-wide installation (root
// "/") is used when neither holds imapd.
const DefaultRoot = "/opt/mailferry-test/courier-imap"

// Timeouts for the daemons.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Fixed paths compiled into Courier's authentication library (Debian 12,
// courier-authlib 0.71): authdaemond reads authdaemonrc and the userdb
// module its .dat files below etcDir; the daemon and its clients (the
// login processes) meet at the socket below runDir. The harness
// bind-mounts private directories over both, inside a mount namespace of
// its own.
const (
	etcDir = "/etc/courier"
	runDir = "/run/courier"
)

// Config chooses how the test server behaves. The zero value is Debian
// 12's Courier IMAP as packaged (its /etc/courier/imapd and imapd-ssl),
// with one user.
type Config struct {
	// Users are the accounts, each with a Maildir of its own; a user with
	// an empty Password gets a random one. Empty means one user "tester".
	Users []daemontest.User
	// MaxPerIP limits the connections from one client IP address
	// (couriertcpd -maxperip; MAXPERIP, Debian's default 20). One more
	// connection is accepted and closed at once, before any greeting.
	MaxPerIP int
	// Env sets imapd environment variables over Debian's defaults, e.g.
	// {"IMAP_EMPTYTRASH": ""}; see imapd(8). Values are taken as they are,
	// after Debian's files were read: IMAP_CAPABILITY_TLS, which those
	// derive from IMAP_CAPABILITY and which every TLS session announces,
	// must be set as well to change what a TLS client sees.
	Env map[string]string
}

func (cfg Config) validate() error {
	if cfg.MaxPerIP < 0 {
		return fmt.Errorf("couriertest: MaxPerIP %d: want 0 (Debian's default) or more", cfg.MaxPerIP)
	}
	for k, v := range cfg.Env {
		if !assignRE.MatchString(k+"=") || strings.ContainsAny(v, "\x00") {
			return fmt.Errorf("couriertest: environment variable %q: bad name or value", k)
		}
	}
	return nil
}

// Server is one private Courier IMAP. Its fields are read-only. Addr
// offers STARTTLS and allows LOGIN without TLS (Debian's
// IMAP_TLS_REQUIRED=0).
type Server struct {
	daemontest.Base
	Maildir string // the first user's Maildir (INBOX)
	Version string // the courier-imap package version, when known (e.g. "5.0.13+1.0.16-3+b6")

	cfg      Config
	bins     binaries
	mailUID  int
	mailGID  int
	gamID    string // GAM_CLIENT_ID of this server's imapd processes
	plainEnv []string
	tlsEnv   []string
	ulimitKB int

	mu    sync.Mutex
	procs []*daemontest.Process // running daemons, the namespace holder first; nil when stopped
}

// binaries are the programs a server runs.
type binaries struct {
	root        string // where courier-imap is unpacked ("/" when installed)
	imapd       string
	imaplogin   string
	couriertcpd string
	couriertls  string
	authdaemond string
	makedatprog string
	nsenter     string
	mount       string
	prlimit     string
	sleep       string
}

// findBinaries locates Courier's programs and the util-linux tools.
func findBinaries() (binaries, error) {
	var b binaries
	roots := []string{DefaultRoot, "/"}
	if r := os.Getenv("MAILFERRY_COURIER_ROOT"); r != "" {
		roots = []string{r}
	}
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, "usr/bin/imapd")); err == nil {
			b.root = r
			break
		}
	}
	if b.root == "" {
		return b, fmt.Errorf("courier-imap's imapd not found in %s (run .ci/install-test-servers as root)", strings.Join(roots, " or "))
	}
	var errs []error
	find := func(dst *string, name string, dirs ...string) {
		p, err := daemontest.FindBinary(name, dirs...)
		*dst = p
		errs = append(errs, err)
	}
	find(&b.imapd, "imapd", filepath.Join(b.root, "usr/bin"))
	find(&b.imaplogin, "imaplogin", filepath.Join(b.root, "usr/lib/courier/courier"))
	find(&b.couriertcpd, "couriertcpd", "/usr/sbin")
	find(&b.couriertls, "couriertls", "/usr/bin")
	find(&b.authdaemond, "authdaemond", "/usr/lib/courier/courier-authlib")
	find(&b.makedatprog, "makedatprog", "/usr/lib/courier/courier-authlib")
	find(&b.nsenter, "nsenter", "/usr/bin")
	find(&b.mount, "mount", "/usr/bin", "/bin")
	find(&b.prlimit, "prlimit", "/usr/bin")
	find(&b.sleep, "sleep", "/usr/bin", "/bin")
	if err := errors.Join(errs...); err != nil {
		return b, fmt.Errorf("%w (Debian: apt-get install courier-base courier-authdaemon courier-authlib-userdb gamin util-linux)", err)
	}
	return b, nil
}

// Start starts a private Courier IMAP for this test and returns it running
// and accepting connections on both ports. Without Courier, or when the
// tests do not run as root, it skips the test (fails it under CI=true).
// t.Cleanup stops the server and removes its directory; when the test
// failed, the tail of the logs is logged first.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	if os.Geteuid() != 0 {
		testutil.SkipOrFail(t, "couriertest needs root (a mount namespace for Courier's fixed paths, daemons that change user)")
	}
	if _, err := findBinaries(); err != nil {
		testutil.SkipOrFail(t, "couriertest: %v", err)
	}
	if _, err := holderCommand("sleep"); err != nil {
		testutil.SkipOrFail(t, "couriertest: %v", err)
	}
	return daemontest.Start(t, "couriertest", func(dir string) (*Server, error) { return Setup(dir, cfg) })
}

// Setup writes a server into dir (which must exist and be empty) without
// starting it: the user database, the certificate, the Maildirs, and the
// imapd environment. It is the part of Start that needs no testing.TB;
// the caller runs Run, then Stop, and removes dir.
func Setup(dir string, cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bins, err := findBinaries()
	if err != nil {
		return nil, err
	}
	// The mail user must have a name in /etc/passwd: imapd watches
	// folders through libgamin, whose socket is named after the user, and
	// without a name every SELECT stalls. Courier's own system account
	// has one and is what STARTTLS already runs as.
	uid, gid, err := daemontest.SystemUser("courier")
	if err != nil {
		return nil, fmt.Errorf("couriertest: %w (made by courier-base)", err)
	}
	base, certs, err := daemontest.NewBase(dir, cfg.Users)
	if err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	dir = base.Dir
	s := &Server{
		Base:    base,
		Maildir: filepath.Join(dir, "mail", base.User, "Maildir"),
		Version: readVersion(bins.root),
		cfg:     cfg,
		bins:    bins,
		mailUID: uid,
		mailGID: gid,
		gamID:   "mailferry-" + filepath.Base(dir),
	}

	for _, d := range []string{"etc/shared", "run/authdaemon"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	pem := append(append([]byte(nil), certs.KeyPEM...), certs.CertPEM...)
	files := []daemontest.File{
		// couriertls reads the key and certificate from one file, as the
		// courier user for STARTTLS.
		{Path: filepath.Join(dir, "imapd.pem"), Data: pem, Mode: 0o600},
		{Path: filepath.Join(dir, "etc/authdaemonrc"), Data: []byte(authdaemonrc), Mode: 0o644},
	}
	// GnuTLS's Diffie-Hellman parameters, which Debian generates at
	// installation; without them couriertls offers ECDHE only.
	if dh, err := os.ReadFile(filepath.Join(etcDir, "dhparams.pem")); err == nil {
		files = append(files, daemontest.File{Path: filepath.Join(dir, "etc/dhparams.pem"), Data: dh, Mode: 0o644})
	}
	for _, n := range []string{"authdaemond.log", "imapd.log", "imapd-ssl.log"} {
		files = append(files, daemontest.File{Path: filepath.Join(dir, n), Mode: 0o644})
	}
	if err := daemontest.WriteFiles(files...); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	if err := os.Chown(filepath.Join(dir, "imapd.pem"), uid, gid); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	if err := os.Chown(filepath.Join(dir, "run/authdaemon"), uid, gid); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	if err := os.Chmod(filepath.Join(dir, "run/authdaemon"), 0o750); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	if err := s.writeUserdb(); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	for _, u := range s.Users {
		home := filepath.Join(dir, "mail", u.Name)
		for _, d := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(home, "Maildir", d), 0o700); err != nil {
				return nil, fmt.Errorf("couriertest: %w", err)
			}
		}
		if err := daemontest.ChownAll(home, uid, gid); err != nil {
			return nil, fmt.Errorf("couriertest: %w", err)
		}
	}
	if err := os.Chown(filepath.Join(dir, "mail"), uid, gid); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	if err := s.makeEnv(); err != nil {
		return nil, fmt.Errorf("couriertest: %w", err)
	}
	return s, nil
}

// authdaemonrc is authdaemond's configuration: Debian's, with the userdb
// module only (Debian's default is PAM, i.e. the system's accounts).
const authdaemonrc = `# couriertest: Debian 12's authdaemonrc with authmodulelist="authuserdb"
authmodulelist="authuserdb"
authmodulelistorig="authuserdb authpam authpgsql authldap authmysql authsqlite authcustom authpipe"
daemons=5
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
`

// writeUserdb writes the users into userdb.dat and userdbshadow.dat with
// makedatprog, in the text format makeuserdb(8) feeds it: "name<TAB>
// field=value|...", a "." line at the end. Passwords are stored as
// {SHA256} hashes, one of the schemes courier-authlib checks.
func (s *Server) writeUserdb() error {
	var db, shadow bytes.Buffer
	for _, u := range s.Users {
		home := filepath.Join(s.Dir, "mail", u.Name)
		fmt.Fprintf(&db, "%s\tuid=%d|gid=%d|home=%s|mail=%s\n", u.Name, s.mailUID, s.mailGID, home, filepath.Join(home, "Maildir"))
		sum := sha256.Sum256([]byte(u.Password))
		fmt.Fprintf(&shadow, "%s\tsystempw={SHA256}%s\n", u.Name, base64.StdEncoding.EncodeToString(sum[:]))
	}
	for _, f := range []struct {
		name string
		text *bytes.Buffer
	}{{"userdb", &db}, {"userdbshadow", &shadow}} {
		f.text.WriteString(".\n")
		dat := filepath.Join(s.Dir, "etc", f.name+".dat")
		cmd := exec.Command(s.bins.makedatprog, "-", dat+".tmp", dat)
		cmd.Stdin = f.text
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("makedatprog %s: %w\n%s", dat, err, out)
		}
		if err := os.Chmod(dat, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// makeEnv builds the environment of the two listeners as Debian's init
// scripts do: /etc/courier/imapd, then imapd-ssl, then STARTTLS on the
// plain port only, then this server's paths, then Config.Env.
func (s *Server) makeEnv() error {
	var env envFile
	for _, f := range []string{"etc/courier/imapd", "etc/courier/imapd-ssl"} {
		if err := env.parseEnvFile(filepath.Join(s.bins.root, f)); err != nil {
			return fmt.Errorf("read Debian's imapd settings: %w", err)
		}
	}
	env.set("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
	env.set("TLS_CERTFILE", filepath.Join(s.Dir, "imapd.pem"))
	env.set("TLS_CACHEFILE", "") // Debian's is one file below /var/lib/courier for all
	// Marks this server's imapd processes and the gam_server they spawn
	// (which detaches from the process group): see Stop.
	env.set("GAM_CLIENT_ID", s.gamID)
	if s.cfg.MaxPerIP > 0 {
		env.set("MAXPERIP", strconv.Itoa(s.cfg.MaxPerIP))
	}
	plain, implicit := env.clone(), env.clone()
	plain.set("IMAP_STARTTLS", env.values["IMAPDSTARTTLS"])
	implicit.set("IMAP_TLS", "1")
	for _, e := range []*envFile{plain, implicit} {
		for _, k := range sortedKeys(s.cfg.Env) {
			e.set(k, s.cfg.Env[k])
		}
	}
	s.plainEnv, s.tlsEnv = plain.environ(), implicit.environ()
	// Debian's init scripts run the listeners under `ulimit -v
	// $IMAP_ULIMITD` (KiB of address space).
	if v := plain.values["IMAP_ULIMITD"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("IMAP_ULIMITD %q: %w", v, err)
		}
		s.ulimitKB = n
	}
	for _, need := range []string{"MAXDAEMONS", "MAXPERIP"} {
		if _, err := strconv.Atoi(plain.values[need]); err != nil {
			return fmt.Errorf("%s %q in Debian's imapd settings: %w", need, plain.values[need], err)
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
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

// Run starts the daemons and waits until both listeners greet. It fails
// if the server is already running.
func (s *Server) Run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs != nil {
		return errors.New("courier is already running")
	}
	err := s.start()
	if err != nil {
		_ = s.stopLocked()
		return fmt.Errorf("%w\n%s", err, s.LogTail(20))
	}
	return nil
}

func (s *Server) start() error {
	// 1. A mount namespace in which the fixed paths are this server's.
	holder, err := holderCommand(s.bins.sleep)
	if err != nil {
		return err
	}
	p, err := daemontest.StartProcess("mount namespace holder", holder)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	ns := strconv.Itoa(p.Pid())
	// The mount points must exist on the system; /run/courier is made by
	// courier-base's tmpfiles.d entry, which a system without systemd
	// never ran.
	for _, d := range []string{etcDir, runDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("make mount point: %w", err)
		}
	}
	for _, m := range [][2]string{{filepath.Join(s.Dir, "etc"), etcDir}, {filepath.Join(s.Dir, "run"), runDir}} {
		out, err := exec.Command(s.bins.nsenter, "-t", ns, "-m", "--", s.bins.mount, "--bind", m[0], m[1]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("bind %s over %s in the server's mount namespace: %w\n%s", m[0], m[1], err, out)
		}
	}
	inNS := func(args ...string) []string { return append([]string{s.bins.nsenter, "-t", ns, "-m", "--"}, args...) }

	// 2. authdaemond, reading the private authdaemonrc and userdb.
	if err := s.startProcess("authdaemond", "authdaemond.log", []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"}, inNS(s.bins.authdaemond)); err != nil {
		return err
	}
	socket := filepath.Join(s.Dir, "run/authdaemon/socket")
	err = daemontest.WaitReady(startTimeout, s.exited, func() error { _, err := os.Stat(socket); return err })
	if err != nil {
		return fmt.Errorf("authdaemond: %w", err)
	}

	// 3. The listeners, as Debian's init scripts start them.
	listener := func(port string, env []string, login ...string) []string {
		args := []string{s.bins.couriertcpd, "-address=127.0.0.1",
			"-maxprocs=" + envValue(env, "MAXDAEMONS"), "-maxperip=" + envValue(env, "MAXPERIP"),
			"-nodnslookup", "-noidentlookup", port}
		args = append(args, login...)
		args = append(args, s.bins.imaplogin, s.bins.imapd, envValue(env, "MAILDIRPATH"))
		if s.ulimitKB > 0 {
			limit := strconv.Itoa(s.ulimitKB * 1024)
			args = append([]string{s.bins.prlimit, "--as=" + limit + ":" + limit, "--"}, args...)
		}
		return inNS(args...)
	}
	plainPort, tlsPort := s.Ports()
	if err := s.startProcess("couriertcpd (imap)", "imapd.log", s.plainEnv, listener(plainPort, s.plainEnv)); err != nil {
		return err
	}
	if err := s.startProcess("couriertcpd (imaps)", "imapd-ssl.log", s.tlsEnv,
		listener(tlsPort, s.tlsEnv, s.bins.couriertls, "-server", "-tcpd", "-user=courier")); err != nil {
		return err
	}
	return daemontest.WaitReady(startTimeout, s.exited,
		func() error { return daemontest.Greets(s.Addr) },
		func() error { return daemontest.GreetsTLS(s.TLSAddr) })
}

func envValue(env []string, name string) string {
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, name+"="); ok {
			return v
		}
	}
	return ""
}

// startProcess starts argv with env, its output appended to the log file.
func (s *Server) startProcess(name, log string, env, argv []string) error {
	f, err := os.OpenFile(filepath.Join(s.Dir, log), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close() // the child has its own copy
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = s.Dir
	p, err := daemontest.StartProcess(name, cmd)
	if err != nil {
		return err
	}
	s.procs = append(s.procs, p)
	return nil
}

// exited reports the first of the server's daemons that has exited.
func (s *Server) exited() error {
	for _, p := range s.procs {
		if err := p.Exited(); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops the daemons and waits until they and their children have
// exited, so that the ports are free again. Mail and configuration stay.
// Stopping a stopped server does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopLocked()
}

func (s *Server) stopLocked() error {
	var errs []error
	// Listeners first (no new logins), the namespace holder last.
	for i := len(s.procs) - 1; i >= 0; i-- {
		errs = append(errs, s.procs[i].Stop(stopTimeout))
	}
	s.procs = nil
	// gam_server, which imapd spawns to watch folders, detaches from the
	// process group; it carries this server's GAM_CLIENT_ID.
	daemontest.KillByEnv("GAM_CLIENT_ID=" + s.gamID)
	return errors.Join(errs...)
}

// Restart stops the daemons (if running) and starts them again on the same
// ports with the same mail.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	daemontest.Restart(t, "couriertest", s)
}

// Config returns the configuration the server was made with.
func (s *Server) Config() Config { return s.cfg }

// Dial returns a go-imap v2 client logged in as User over implicit TLS
// (verified against CAFile), for assertions. t.Cleanup closes it.
func (s *Server) Dial(t testing.TB) *imapclient.Client {
	t.Helper()
	return s.DialLogin(t, func() string { return s.LogTail(20) })
}

// LogTail returns the last n lines of the daemons' logs, for failure
// messages.
func (s *Server) LogTail(n int) string {
	return daemontest.LogTail(n, filepath.Join(s.Dir, "authdaemond.log"),
		filepath.Join(s.Dir, "imapd.log"), filepath.Join(s.Dir, "imapd-ssl.log"))
}

// MaildirOf returns the Maildir of one of Users.
func (s *Server) MaildirOf(user string) Maildir {
	return Maildir{Path: filepath.Join(s.Dir, "mail", user, "Maildir")}
}
