// Package dovecottest runs a private, throwaway Dovecot for integration tests.
// It owns everything about starting, stopping and inspecting that server; the
// tests own what they do with it.
//
// # Use
//
//	srv := dovecottest.Start(t, dovecottest.Config{})     // "/" delimiter, Maildir++
//	c := srv.Dial(t)                                     // logged-in go-imap v2 client, TLS verified
//	... run the code under test against srv.TLSAddr (or srv.Addr + STARTTLS),
//	    user srv.User, password srv.Password, CA file srv.CAFile ...
//	msgs := srv.Fetch(t, "INBOX")                        // what Dovecot really stored, via doveadm
//
// For the command line under test: srv.URL("imaps") is
// "imaps://tester@127.0.0.1:PORT", srv.PasswordFile(t) a file holding the
// password, srv.CAFile the CA for --tls-ca. srv.Append(t, mailbox, msg,
// opts) seeds mail that did not come from the code under test.
//
// Start skips the test when Dovecot is not installed and fails it under
// CI=true (testutil.SkipOrFail). Everything is removed and the server stopped
// by t.Cleanup. Every Start gets its own directory, ports, certificate and mail
// home, so tests may run in parallel (t.Parallel) with one server each; never
// share a server's mailboxes between tests that assert on them.
//
// Server-side ground truth (Fetch, FetchAll, Mailboxes, Subscribed, Status,
// Doveadm) goes through `doveadm -c CONF` directly on the mail store, not
// through IMAP, so it is independent of the client under test. It works
// whether or not the daemon is running.
//
// Prepare writes the configuration without starting the daemon: Pipe then
// gives a pre-authenticated IMAP connection through `doveadm exec imap`
// (no port, no TLS, no login; a few tens of milliseconds per connection), good for fast tests
// of folder and message logic. Restart and Run start the daemon later.
//
// Stop and Restart keep the ports and the mail home, for tests that stop or
// restart the server in the middle of an upload.
//
// # What the server looks like
//
//   - Listens on 127.0.0.1 only: Addr is plain IMAP with STARTTLS, TLSAddr is
//     implicit TLS. The certificate (ECDSA P-256, SAN DNS:localhost,
//     IP:127.0.0.1, IP:127.0.0.2) is signed by a per-server CA in CAFile/CAPool.
//   - One user (User, Password) authenticating with PLAIN or LOGIN. Its mail
//     runs under uid/gid 61000 when the tests run as root (Dovecot refuses mail
//     access as root), or under the current user otherwise.
//   - Maildir (Maildir++ layout by default, LAYOUT=fs with Config.LayoutFS),
//     mail_fsync = never, INBOX in the one namespace with the configured
//     hierarchy delimiter. PanelLayout is the layout of hosting control
//     panels instead: namespace "INBOX." with ".", special-use folders
//     created and subscribed (Config.Prefix, Config.AutoSubscribe).
//   - Capabilities are Dovecot's (DefaultCapability); Config.Compress adds
//     COMPRESS=DEFLATE (built in and always on in 2.4), Config.NoLiteralPlus
//     and Config.NoMultiAppend take LITERAL+ and MULTIAPPEND away.
//   - Dovecot treats a connection whose remote and local IP are equal as
//     secure, so on 127.0.0.1 plaintext LOGIN works without STARTTLS even
//     when Config.PlainAuth is false. Config.StrictPlaintext moves the plain
//     listener to 127.0.0.2 so that Dovecot announces LOGINDISABLED there.
//   - Dovecot 2.3's Maildir stores messages with LF line endings (and serves
//     them with CRLF); StoredMessage.Text is the stored form, CRLF() the form
//     IMAP serves. Config.SaveCRLF stores CRLF instead.
//
// Observed with Dovecot 2.3.19 (tests in this package show each):
//   - Over an oversized synchronizing literal (go-imap v2 beta.8 sends one for
//     every message over 4 KB) Dovecot answers NO [LIMIT] before the "+";
//     the connection stays usable, but go-imap then closes its side.
//   - A connection cut inside an APPEND literal stores nothing.
//   - Stop and Restart end the imap processes too (SIGTERM to the whole
//     process group, as systemd does); clients see their connection closed.
//
// # Dovecot versions
//
// Start runs `dovecot --version` and writes a 2.3 configuration (tested on
// Debian 12's 2.3.19) or, for 2.4 and later, the 2.4 syntax
// (dovecot_config_version, mail_driver/mail_path, passwd_file_path,
// ssl_server_cert_file, auth_allow_cleartext, quota_mail_size). The 2.4
// variant is written from the 2.4 upgrade documentation and has not been run.
//
// The server's own files live in a short directory below os.TempDir (or /tmp
// when that path is long): Dovecot's UNIX sockets must fit in 108 bytes, which
// t.TempDir's names can exceed.
package dovecottest
