package dovecottest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/internal/testutil"
)

func TestParseFetch(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    []StoredMessage
		wantErr string
	}{
		{
			name: "empty",
			out:  "",
		},
		{
			name: "two messages, text with form feed and field-like lines",
			out: "mailbox: INBOX\nuid: 1\nguid: g1\nflags: \\Seen \\Recent kw\ndate.received.unixtime: 1394019296\nsize.virtual: 12\nsize.physical: 10\ntext:\na\f\ntext:\nb" +
				"\f\n" +
				"mailbox: Sent Items\nuid: 7\nguid: g2\nflags: \ndate.received.unixtime: 0\nsize.virtual: 0\nsize.physical: 0\ntext:\n",
			want: []StoredMessage{
				{Mailbox: "INBOX", UID: 1, GUID: "g1", Flags: []string{`\Seen`, "kw"}, Received: time.Unix(1394019296, 0).UTC(), Size: 12, Text: []byte("a\f\ntext:\nb")},
				{Mailbox: "Sent Items", UID: 7, GUID: "g2", Received: time.Unix(0, 0).UTC(), Text: []byte{}},
			},
		},
		{
			name:    "size.physical too large",
			out:     "mailbox: INBOX\nuid: 1\nsize.physical: 99\ntext:\nabc",
			wantErr: "does not fit",
		},
		{
			name:    "size.physical too small",
			out:     "mailbox: INBOX\nuid: 1\nsize.physical: 1\ntext:\nabc",
			wantErr: "record separator",
		},
		{
			name:    "text before size",
			out:     "mailbox: INBOX\ntext:\nabc",
			wantErr: "does not fit",
		},
		{
			name:    "unknown field",
			out:     "color: red\n",
			wantErr: "unexpected field",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFetch([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFetch() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFetch() error = %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("parseFetch() = %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				g, w := got[i], tt.want[i]
				if g.Mailbox != w.Mailbox || g.UID != w.UID || g.GUID != w.GUID || !g.Received.Equal(w.Received) ||
					g.Size != w.Size || !bytes.Equal(g.Text, w.Text) || strings.Join(g.Flags, " ") != strings.Join(w.Flags, " ") {
					t.Errorf("message %d = %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestCRLF(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"LF", "a\nb\n", "a\r\nb\r\n"},
		{"already CRLF", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"leading LF", "\nx", "\r\nx"},
		{"bare CR kept", "a\rb\n", "a\rb\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(StoredMessage{Text: []byte(tt.in)}.CRLF()); got != tt.want {
				t.Errorf("CRLF(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in     string
		want   dovecotVersion
		want24 bool
		err    bool
	}{
		{"2.3.19.1 (9b53102964)\n", dovecotVersion{2, 3}, false, false},
		{"2.4.1-4 (7d8c0e5759)", dovecotVersion{2, 4}, true, false},
		{"3.0.0", dovecotVersion{3, 0}, true, false},
		{"", dovecotVersion{}, false, true},
		{"banana", dovecotVersion{}, false, true},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.in)
		if (err != nil) != tt.err || got != tt.want || got.atLeast24() != tt.want24 {
			t.Errorf("parseVersion(%q) = %v (2.4: %v), %v; want %v (2.4: %v), error %v", tt.in, got, got.atLeast24(), err, tt.want, tt.want24, tt.err)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"dot", Config{Delimiter: "."}, true},
		{"backslash delimiter", Config{Delimiter: `\`}, false},
		{"size", Config{MaxMailSize: "100k", QuotaStorage: "1M"}, true},
		{"bad size", Config{MaxMailSize: "100 kB"}, false},
		{"special use", Config{SpecialUse: map[string]string{"Sent Items": `\Sent`}}, true},
		{"special use without backslash", Config{SpecialUse: map[string]string{"Sent": "Sent"}}, false},
		{"quote in name", Config{SpecialUse: map[string]string{`a"b`: `\Sent`}}, false},
		{"capability with newline", Config{Capability: "IMAP4rev1\nfoo = bar"}, false},
		{"panel layout", PanelLayout(), true},
		{"prefix without delimiter", Config{Prefix: "INBOX"}, false},
		{"prefix with the other delimiter", Config{Prefix: "INBOX."}, false},
		{"capability and a switch", Config{Capability: "IMAP4rev1", NoLiteralPlus: true}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.validate(); (err == nil) != tt.ok {
			t.Errorf("%s: validate() = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

// TestConfigText checks the version-specific settings of both variants, and
// that the installed Dovecot accepts the variant for its version
// (`doveconf -n`).
func TestConfigText(t *testing.T) {
	cfg := Config{StrictPlaintext: true, Delimiter: ".", LayoutFS: true, SpecialUse: map[string]string{"Sent Items": `\Sent`}, AutoCreate: true, MaxMailSize: "100k", QuotaStorage: "1M"}
	l := layout{instance: "x", baseDir: "/tmp/x/run", stateDir: "/tmp/x/state", logPath: "/tmp/x/log", passwdPath: "/tmp/x/passwd",
		certPath: "/tmp/x/cert.pem", keyPath: "/tmp/x/key.pem", home: "/tmp/x/home", plainIP: "127.0.0.2", pop3: true, plainPort: 1143, tlsPort: 1993, uid: 61000, gid: 61000}
	tests := []struct {
		name      string
		v         dovecotVersion
		want, not []string
	}{
		{
			name: "2.3",
			v:    dovecotVersion{2, 3},
			want: []string{"mail_location = maildir:~/Maildir:LAYOUT=fs", "ssl_cert = </tmp/x/cert.pem", "separator = .",
				"mailbox \"Sent Items\" {", `special_use = \Sent`, "auto = create", "quota_max_mail_size = 100k",
				"quota_rule = *:storage=1M", "disable_plaintext_auth = yes", "port = 1143", "port = 1993", "mail_fsync = never",
				"address = 127.0.0.2", "service pop3-login {"},
			not: []string{"dovecot_config_version", "mail_driver"},
		},
		{
			name: "2.4",
			v:    dovecotVersion{2, 4},
			want: []string{"mail_driver = maildir", "mail_path = ~/Maildir", "mailbox_list_layout = fs", "ssl_server_cert_file = /tmp/x/cert.pem",
				"passwd_file_path = /tmp/x/passwd", "quota_mail_size = 100k", "storage_size = 1M", "auth_allow_cleartext = no",
				"listen = 127.0.0.2"},
			not: []string{"mail_location", "ssl_cert = <", "plugin {", "disable_plaintext_auth", "address ="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := configText(tt.v, cfg, l)
			if tt.v.atLeast24() && !strings.HasPrefix(text, "dovecot_config_version = ") {
				t.Errorf("2.4 config does not start with dovecot_config_version:\n%s", text)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("config lacks %q:\n%s", w, text)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(text, n) {
					t.Errorf("config has %q:\n%s", n, text)
				}
			}
		})
	}

	t.Run("accepted by installed doveconf", func(t *testing.T) {
		dovecotBin, _, err := Binaries()
		if err != nil {
			testutil.SkipOrFail(t, "dovecot not installed: %v", err)
		}
		out, err := exec.Command(dovecotBin, "--version").Output()
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseVersion(string(out))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		l2 := l
		l2.baseDir, l2.stateDir = filepath.Join(dir, "run"), filepath.Join(dir, "state")
		l2.certPath, l2.keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		for _, p := range []string{l2.certPath, l2.keyPath} {
			if err := os.WriteFile(p, []byte("placeholder\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, "dovecot.conf")
		if err := os.WriteFile(path, []byte(configText(v, cfg, l2)), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(dovecotBin, "-n", "-c", path).CombinedOutput(); err != nil {
			t.Fatalf("dovecot -n -c: %v\n%s", err, out)
		}
	})
}

// TestConfigTextLayouts checks the settings of the namespace prefix,
// auto-subscribed special-use folders, the compression plugin and the
// capability switches in both variants.
func TestConfigTextLayouts(t *testing.T) {
	cfg := PanelLayout()
	cfg.Compress, cfg.NoLiteralPlus = true, true
	l := layout{instance: "x", baseDir: "/tmp/x/run", stateDir: "/tmp/x/state", logPath: "/tmp/x/log", passwdPath: "/tmp/x/passwd",
		certPath: "/tmp/x/cert.pem", keyPath: "/tmp/x/key.pem", home: "/tmp/x/home", plainIP: "127.0.0.1", plainPort: 1143, tlsPort: 1993, uid: 61000, gid: 61000}
	common := []string{"prefix = INBOX.", "separator = .", `mailbox "spam" {`, `special_use = \Junk`, "auto = subscribe", "imap_capability = IMAP4rev1 "}
	tests := []struct {
		v         dovecotVersion
		want, not []string
	}{
		{dovecotVersion{2, 3}, append(slices.Clone(common), "mail_plugins = $mail_plugins imap_zlib"), []string{"imap_compress", "auto = create", "LITERAL+"}},
		{dovecotVersion{2, 4}, slices.Clone(common), []string{"imap_zlib", "imap_compress", "auto = create", "LITERAL+"}},
	}
	for _, tt := range tests {
		text := configText(tt.v, cfg, l)
		for _, w := range tt.want {
			if !strings.Contains(text, w) {
				t.Errorf("%d.%d config lacks %q:\n%s", tt.v.major, tt.v.minor, w, text)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(text, n) {
				t.Errorf("%d.%d config has %q:\n%s", tt.v.major, tt.v.minor, n, text)
			}
		}
		for _, c := range []string{"COMPRESS=DEFLATE", "SPECIAL-USE", "MULTIAPPEND"} {
			if !strings.Contains(text, c) {
				t.Errorf("%d.%d imap_capability lacks %s:\n%s", tt.v.major, tt.v.minor, c, text)
			}
		}
	}
}
