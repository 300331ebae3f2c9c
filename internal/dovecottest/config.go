package dovecottest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Config chooses how the test server behaves. The zero value is a Dovecot
// with "/" as hierarchy delimiter, Maildir++ on disk, no special-use folders,
// no limits.
type Config struct {
	// Delimiter is the IMAP hierarchy delimiter: "/" (default) or ".".
	Delimiter string
	// LayoutFS stores folders as directories (maildir:~/Maildir:LAYOUT=fs),
	// which accepts dots in names. The default Maildir++ layout refuses a
	// "." inside a name with "[CANNOT] Character not allowed in mailbox
	// name: '.'" when the delimiter is "/".
	LayoutFS bool
	// SpecialUse declares special-use attributes (RFC 6154) per mailbox
	// name, e.g. {"Sent Items": `\Sent`}. Names use Delimiter for levels.
	SpecialUse map[string]string
	// AutoCreate makes Dovecot create the SpecialUse mailboxes from the
	// start (auto = create). They are not subscribed: subscribing is the
	// client's job.
	AutoCreate bool
	// MaxMailSize limits the size of one message through the quota plugin
	// (quota_max_mail_size, e.g. "100k"). A larger APPEND is answered
	// "NO [LIMIT] Mail size is larger than the maximum size allowed by
	// server configuration".
	MaxMailSize string
	// QuotaStorage limits the user's total storage (quota rule
	// *:storage=..., e.g. "1M"); an APPEND beyond it gets NO [OVERQUOTA].
	QuotaStorage string
	// PlainAuth allows plaintext authentication without TLS
	// (disable_plaintext_auth = no). Note that Dovecot counts a loopback
	// connection as secure anyway; see StrictPlaintext.
	PlainAuth bool
	// StrictPlaintext moves the plain listener (Addr) to 127.0.0.2, so that
	// Dovecot does not count connections to it as secure: without PlainAuth
	// it then announces LOGINDISABLED until STARTTLS. Linux only (the
	// whole 127.0.0.0/8 is local there).
	StrictPlaintext bool
	// LiteralMinus announces LITERAL- instead of LITERAL+
	// (imap_literal_minus = yes): non-synchronizing literals only up to
	// 4096 bytes.
	LiteralMinus bool
	// Capability overrides the capabilities announced after login
	// (imap_capability), e.g. "+XFOO" to add one, or a full list to drop
	// some (such as MULTIAPPEND).
	Capability string
	// SaveCRLF stores messages with CRLF line endings (mail_save_crlf =
	// yes); Dovecot's default stores LF.
	SaveCRLF bool
	// Fsync uses Dovecot's default mail_fsync = optimized instead of
	// never. Use it for benchmarks compared with real servers.
	Fsync bool
	// MaxUserIPConnections limits the IMAP connections of one user from one
	// IP (mail_max_userip_connections); 0 means 100. Dovecot refuses the
	// login of one more with "Maximum number of connections from user+IP
	// exceeded".
	MaxUserIPConnections int
	// ExtraConfig is appended verbatim to the generated configuration.
	ExtraConfig string

	// Prefix is the inbox namespace's prefix, e.g. "INBOX." for the layout
	// of hosting control panels (see PanelLayout); empty means none. It must
	// end with the delimiter. SpecialUse names are written without it, as
	// in Dovecot's own mailbox blocks: {"Sent": `\Sent`} is INBOX.Sent.
	Prefix string
	// AutoSubscribe makes Dovecot create and subscribe the SpecialUse
	// mailboxes (auto = subscribe); it wins over AutoCreate.
	AutoSubscribe bool
	// Compress loads the imap_zlib plugin, which announces
	// COMPRESS=DEFLATE (RFC 4978) after login. Dovecot 2.4 has COMPRESS
	// built in and always on, so there it changes nothing.
	Compress bool
	// NoLiteralPlus and NoMultiAppend leave LITERAL+ (RFC 7888) and
	// MULTIAPPEND (RFC 3502) out of the capabilities announced after
	// login, like servers that lack them. They set imap_capability to
	// DefaultCapability without them, plus what this configuration's
	// plugins and special-use folders would have added (a set
	// imap_capability hides those otherwise). Not with Capability.
	NoLiteralPlus, NoMultiAppend bool
	// OAuth2, when set, also accepts OAuth 2.0 access tokens (XOAUTH2 and
	// OAUTHBEARER) checked by introspection; see OAuth2.
	OAuth2 *OAuth2
}

// DefaultCapability is what Dovecot 2.3 (checked with 2.3.19) announces
// after login when imap_capability is not set, before plugins (QUOTA,
// COMPRESS=DEFLATE) and special-use mailboxes (SPECIAL-USE) add theirs.
const DefaultCapability = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY " +
	"THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT " +
	"CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES " +
	"WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE " +
	"SAVEDATE LITERAL+ NOTIFY"

// capabilityOverride returns the imap_capability NoLiteralPlus and
// NoMultiAppend ask for, or "" when they are off.
func (cfg Config) capabilityOverride() string {
	if !cfg.NoLiteralPlus && !cfg.NoMultiAppend {
		return ""
	}
	var caps []string
	for _, c := range strings.Fields(DefaultCapability) {
		if (c == "LITERAL+" && cfg.NoLiteralPlus) || (c == "MULTIAPPEND" && cfg.NoMultiAppend) {
			continue
		}
		caps = append(caps, c)
	}
	if len(cfg.SpecialUse) > 0 {
		caps = append(caps, "SPECIAL-USE")
	}
	if cfg.MaxMailSize != "" || cfg.QuotaStorage != "" {
		caps = append(caps, "QUOTA")
	}
	if cfg.Compress {
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	return strings.Join(caps, " ")
}

// PanelLayout returns the configuration hosting control panels (cPanel,
// Plesk) give Dovecot: one namespace "INBOX." with delimiter ".", so every
// folder lives below INBOX (INBOX.Sent), Maildir++ on disk, and the
// special-use folders INBOX.Drafts, INBOX.Sent, INBOX.Trash, INBOX.spam
// (\Junk) and INBOX.Archive created and subscribed for every user.
func PanelLayout() Config {
	return Config{
		Delimiter: ".",
		Prefix:    "INBOX.",
		SpecialUse: map[string]string{
			"Drafts":  `\Drafts`,
			"Sent":    `\Sent`,
			"Trash":   `\Trash`,
			"spam":    `\Junk`,
			"Archive": `\Archive`,
		},
		AutoSubscribe: true,
	}
}

var (
	sizeRE     = regexp.MustCompile(`^[0-9]+[kKmMgG]?$`)
	specialUse = regexp.MustCompile(`^\\[A-Za-z]+( \\[A-Za-z]+)*$`)
)

func (cfg Config) delimiter() string {
	if cfg.Delimiter == "" {
		return "/"
	}
	return cfg.Delimiter
}

func (cfg Config) validate() error {
	if d := cfg.delimiter(); d != "/" && d != "." {
		return fmt.Errorf("dovecottest: delimiter %q: want \"/\" or \".\"", d)
	}
	for _, s := range []string{cfg.MaxMailSize, cfg.QuotaStorage} {
		if s != "" && !sizeRE.MatchString(s) {
			return fmt.Errorf("dovecottest: size %q: want digits with an optional k, M or G", s)
		}
	}
	for name, use := range cfg.SpecialUse {
		if name == "" || strings.ContainsAny(name, "\"\\\r\n{}") {
			return fmt.Errorf("dovecottest: special-use mailbox name %q: empty or has characters the config cannot hold", name)
		}
		if !specialUse.MatchString(use) {
			return fmt.Errorf("dovecottest: special-use %q for %q: want e.g. `\\Sent`", use, name)
		}
	}
	if strings.ContainsAny(cfg.Capability, "\r\n") {
		return fmt.Errorf("dovecottest: capability %q: has a line break", cfg.Capability)
	}
	if cfg.Capability != "" && (cfg.NoLiteralPlus || cfg.NoMultiAppend) {
		return fmt.Errorf("dovecottest: Capability and NoLiteralPlus/NoMultiAppend both set: put the list you want in Capability")
	}
	if cfg.Prefix != "" && (!strings.HasSuffix(cfg.Prefix, cfg.delimiter()) || strings.ContainsAny(cfg.Prefix, "\"\\\r\n{} ")) {
		return fmt.Errorf("dovecottest: namespace prefix %q: want a name ending with the delimiter %q", cfg.Prefix, cfg.delimiter())
	}
	return cfg.OAuth2.validate()
}

// layout holds the paths and numbers a configuration refers to.
type layout struct {
	instance            string
	baseDir, stateDir   string
	logPath, passwdPath string
	certPath, keyPath   string
	oauth2Path          string // dovecot-oauth2.conf.ext (Config.OAuth2, 2.3)
	home                string
	plainIP             string // listener address of Addr
	pop3                bool   // the pop3 package is installed
	plainPort, tlsPort  int
	uid, gid            int
	// nonRoot: Dovecot runs as the current user, whose names these are.
	nonRoot             bool
	userName, groupName string
}

// dovecotVersion holds the major and minor version of `dovecot --version`
// output such as "2.3.19.1 (9b53102964)".
type dovecotVersion struct{ major, minor int }

func parseVersion(out string) (dovecotVersion, error) {
	f := strings.Fields(out)
	if len(f) == 0 {
		return dovecotVersion{}, fmt.Errorf("dovecottest: empty dovecot --version output")
	}
	parts := strings.Split(f[0], ".")
	if len(parts) < 2 {
		return dovecotVersion{}, fmt.Errorf("dovecottest: dovecot version %q: want major.minor", f[0])
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return dovecotVersion{}, fmt.Errorf("dovecottest: dovecot version %q: want major.minor", f[0])
	}
	return dovecotVersion{major, minor}, nil
}

func (v dovecotVersion) atLeast24() bool {
	return v.major > 2 || (v.major == 2 && v.minor >= 4)
}

// confWriter builds a Dovecot configuration text.
type confWriter struct{ b strings.Builder }

func (w *confWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format+"\n", args...)
}

// quote returns s as a Dovecot config string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// configText returns dovecot.conf for the given version.
func configText(v dovecotVersion, cfg Config, l layout) string {
	if v.atLeast24() {
		return config24(cfg, l)
	}
	return config23(cfg, l)
}

// common writes the settings whose syntax is the same in 2.3 and 2.4.
func (w *confWriter) common(cfg Config, l layout) {
	w.line("instance_name = %s", quote(l.instance))
	w.line("base_dir = %s", l.baseDir)
	w.line("state_dir = %s", l.stateDir)
	w.line("log_path = %s", l.logPath)
	w.line("info_log_path = %s", l.logPath)
	w.line("listen = 127.0.0.1")
	w.line("shutdown_clients = yes")
	w.line("auth_mechanisms = %s", cfg.authMechanisms())
	w.line("auth_verbose = yes")
	w.line("first_valid_uid = %d", l.uid)
	w.line("last_valid_uid = %d", l.uid)
	w.line("first_valid_gid = %d", l.gid)
	w.line("last_valid_gid = %d", l.gid)
	// mail_uid/gid/home make `doveadm exec imap` and doveadm with USER set
	// work without a userdb lookup, i.e. without the daemon.
	w.line("mail_uid = %d", l.uid)
	w.line("mail_gid = %d", l.gid)
	w.line("mail_home = %s", l.home)
	if cfg.Fsync {
		w.line("mail_fsync = optimized")
	} else {
		w.line("mail_fsync = never")
	}
	if cfg.SaveCRLF {
		w.line("mail_save_crlf = yes")
	}
	if cfg.LiteralMinus {
		w.line("imap_literal_minus = yes")
	}
	if cfg.Capability != "" {
		w.line("imap_capability = %s", cfg.Capability)
	}
	if c := cfg.capabilityOverride(); c != "" {
		w.line("imap_capability = %s", c)
	}
	if l.nonRoot {
		w.line("default_internal_user = %s", l.userName)
		w.line("default_internal_group = %s", l.groupName)
		w.line("default_login_user = %s", l.userName)
	}
}

// services writes the listeners. A listener's own address is "address" in
// 2.3 and "listen" in 2.4 (struct inet_listener_settings in dovecot/core).
func (w *confWriter) services(cfg Config, l layout, v24 bool) {
	w.line("service imap-login {")
	if l.nonRoot {
		w.line("  chroot =")
	}
	w.line("  inet_listener imap {")
	if l.plainIP != "127.0.0.1" {
		if v24 {
			w.line("    listen = %s", l.plainIP)
		} else {
			w.line("    address = %s", l.plainIP)
		}
	}
	w.line("    port = %d", l.plainPort)
	w.line("  }")
	w.line("  inet_listener imaps {")
	w.line("    port = %d", l.tlsPort)
	w.line("    ssl = yes")
	w.line("  }")
	w.line("}")
	// protocols = imap keeps pop3, lmtp and submission from starting even
	// when their packages are installed; zero ports make doubly sure (only
	// when pop3 is installed: 2.4 may not know the service otherwise).
	if l.pop3 {
		w.line("service pop3-login {")
		w.line("  inet_listener pop3 {")
		w.line("    port = 0")
		w.line("  }")
		w.line("  inet_listener pop3s {")
		w.line("    port = 0")
		w.line("  }")
		w.line("}")
	}
	w.line("protocol imap {")
	maxConns := cfg.MaxUserIPConnections
	if maxConns <= 0 {
		maxConns = 100
	}
	w.line("  mail_max_userip_connections = %d", maxConns)
	w.line("}")
	if l.nonRoot {
		w.line("service anvil {")
		w.line("  chroot =")
		w.line("}")
	}
}

func (w *confWriter) specialUse(cfg Config, indent string) {
	for _, name := range sortedKeys(cfg.SpecialUse) {
		w.line("%smailbox %s {", indent, quote(name))
		w.line("%s  special_use = %s", indent, cfg.SpecialUse[name])
		switch {
		case cfg.AutoSubscribe:
			w.line("%s  auto = subscribe", indent)
		case cfg.AutoCreate:
			w.line("%s  auto = create", indent)
		}
		w.line("%s}", indent)
	}
}

// config23 is the Dovecot 2.3 configuration (checked with 2.3.19).
func config23(cfg Config, l layout) string {
	var w confWriter
	w.line("# dovecottest: Dovecot 2.3 configuration")
	w.line("protocols = imap")
	w.common(cfg, l)
	w.line("ssl = yes")
	w.line("ssl_cert = <%s", l.certPath)
	w.line("ssl_key = <%s", l.keyPath)
	if cfg.PlainAuth {
		w.line("disable_plaintext_auth = no")
	} else {
		w.line("disable_plaintext_auth = yes")
	}
	loc := "maildir:~/Maildir"
	if cfg.LayoutFS {
		loc += ":LAYOUT=fs"
	}
	w.line("mail_location = %s", loc)
	w.line("passdb {")
	w.line("  driver = passwd-file")
	w.line("  args = scheme=PLAIN %s", l.passwdPath)
	if cfg.OAuth2 != nil {
		w.line("  mechanisms = plain login")
	}
	w.line("}")
	if cfg.OAuth2 != nil {
		w.oauth2Passdb23(cfg.OAuth2, l.oauth2Path)
	}
	w.line("userdb {")
	w.line("  driver = passwd-file")
	w.line("  args = %s", l.passwdPath)
	w.line("}")
	w.line("namespace inbox {")
	w.line("  inbox = yes")
	w.line("  separator = %s", cfg.delimiter())
	if cfg.Prefix != "" {
		w.line("  prefix = %s", cfg.Prefix)
	}
	w.specialUse(cfg, "  ")
	w.line("}")
	if cfg.MaxMailSize != "" || cfg.QuotaStorage != "" {
		w.line("mail_plugins = $mail_plugins quota")
		w.line("protocol imap {")
		w.line("  mail_plugins = $mail_plugins imap_quota")
		w.line("}")
		w.line("plugin {")
		w.line("  quota = count:User quota")
		w.line("  quota_vsizes = yes")
		if cfg.QuotaStorage != "" {
			w.line("  quota_rule = *:storage=%s", cfg.QuotaStorage)
		}
		if cfg.MaxMailSize != "" {
			w.line("  quota_max_mail_size = %s", cfg.MaxMailSize)
		}
		w.line("}")
	}
	if cfg.Compress {
		w.line("protocol imap {")
		w.line("  mail_plugins = $mail_plugins imap_zlib")
		w.line("}")
	}
	w.services(cfg, l, false)
	if cfg.ExtraConfig != "" {
		w.line("%s", cfg.ExtraConfig)
	}
	return w.b.String()
}

// config24 is the Dovecot 2.4 configuration, written from the 2.3-to-2.4
// upgrade notes (doc.dovecot.org/2.4.0/installation/upgrade/2.3-to-2.4.html).
// Untested: only 2.3 is installed where this was written.
func config24(cfg Config, l layout) string {
	var w confWriter
	// Must be the first setting in 2.4.
	w.line("dovecot_config_version = 2.4.0")
	w.line("dovecot_storage_version = 2.4.0")
	w.line("# dovecottest: Dovecot 2.4 configuration (untested)")
	w.line("protocols = imap")
	w.common(cfg, l)
	w.line("ssl = yes")
	w.line("ssl_server_cert_file = %s", l.certPath)
	w.line("ssl_server_key_file = %s", l.keyPath)
	if cfg.PlainAuth {
		w.line("auth_allow_cleartext = yes")
	} else {
		w.line("auth_allow_cleartext = no")
	}
	w.line("mail_driver = maildir")
	w.line("mail_path = ~/Maildir")
	if cfg.LayoutFS {
		w.line("mailbox_list_layout = fs")
	}
	w.line("passdb passwd-file {")
	w.line("  default_password_scheme = PLAIN")
	w.line("  passwd_file_path = %s", l.passwdPath)
	w.line("}")
	if cfg.OAuth2 != nil {
		w.oauth2Settings24(cfg.OAuth2)
	}
	w.line("userdb passwd-file {")
	w.line("  passwd_file_path = %s", l.passwdPath)
	w.line("}")
	w.line("namespace inbox {")
	w.line("  inbox = yes")
	w.line("  separator = %s", cfg.delimiter())
	if cfg.Prefix != "" {
		w.line("  prefix = %s", cfg.Prefix)
	}
	w.specialUse(cfg, "  ")
	w.line("}")
	if cfg.MaxMailSize != "" || cfg.QuotaStorage != "" {
		w.line("mail_plugins {")
		w.line("  quota = yes")
		w.line("}")
		w.line("protocol imap {")
		w.line("  mail_plugins {")
		w.line("    imap_quota = yes")
		w.line("  }")
		w.line("}")
		w.line("quota %s {", quote("User quota"))
		w.line("  driver = count")
		if cfg.QuotaStorage != "" {
			w.line("  storage_size = %s", cfg.QuotaStorage)
		}
		w.line("}")
		if cfg.MaxMailSize != "" {
			w.line("quota_mail_size = %s", cfg.MaxMailSize)
		}
	}
	// No Compress block: 2.4 has COMPRESS built in (the imap_zlib plugin
	// is gone) and always announces it.
	w.services(cfg, l, true)
	if cfg.ExtraConfig != "" {
		w.line("%s", cfg.ExtraConfig)
	}
	return w.b.String()
}
