// Package couriertest runs a private, throwaway Courier IMAP (Debian 12:
// courier-imap 5.0.13 with courier-authlib 0.71) for integration tests, as
// internal/dovecottest does for Dovecot.
//
// # Use
//
//	srv := couriertest.Start(t, couriertest.Config{})
//	c := srv.Dial(t)                   // logged-in go-imap v2 client, TLS verified
//	... run the code under test against srv.TLSAddr (or srv.Addr + STARTTLS),
//	    user srv.User, password srv.Password, CA file srv.CAFile ...
//	msgs := srv.Fetch(t, "INBOX.Sent") // what Courier stored, read from the Maildir
//
// Start skips the test when Courier is missing or the tests do not run as
// root, and fails it under CI=true (testutil.SkipOrFail). Every Start gets
// its own directory, ports, certificate, users and Maildirs, so tests may
// run in parallel with one server each. t.Cleanup stops the daemons and
// removes everything.
//
// # How it runs
//
// courier-imap cannot be installed next to dovecot-imapd (both provide
// imap-server), so .ci/install-test-servers unpacks its .deb into
// DefaultRoot; the rest comes from installed packages (courier-base:
// couriertcpd, couriertls; courier-authdaemon and courier-authlib-userdb:
// authdaemond and its userdb module). The harness does what Debian's init
// scripts do, in Go: it reads /etc/courier/imapd and imapd-ssl from the
// unpacked package for the imapd environment, starts authdaemond, then one
// couriertcpd per listener (the TLS one through couriertls) under Debian's
// address-space limit (IMAP_ULIMITD, with prlimit).
//
// courier-authlib has fixed paths: authdaemond reads
// /etc/courier/authdaemonrc and /etc/courier/userdb.dat, and the login
// processes reach it at /run/courier/authdaemon/socket. Instead of
// changing the system's files, every server runs in a mount namespace of
// its own (held by a `sleep infinity`), in which the server's etc/ and
// run/ directories are bind-mounted over /etc/courier and /run/courier;
// the daemons are started in it with nsenter. The only system-wide effect
// is creating the empty mount points when they are missing. This needs
// root and Linux.
//
// Users live in a private userdb ({SHA256} password hashes, written with
// makedatprog); their mail runs as the system user "courier", because
// imapd watches folders through libgamin, whose socket is named after the
// user: a uid without a name in /etc/passwd makes every SELECT stall.
// Each server's imapd processes get their own GAM_CLIENT_ID, so that the
// gam_server they spawn (which leaves the process group) is found and
// stopped with the server.
//
// # What the server looks like (observed with 5.0.13; tests show each)
//
//   - One namespace "INBOX." with delimiter "."; also #shared. and shared.
//     (other users' shared folders, where CREATE is not allowed).
//   - Capabilities after login: IMAP4rev1 UIDPLUS CHILDREN NAMESPACE
//     THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE (AUTH=PLAIN
//     under TLS) ACL ACL2=UNION ENABLE UTF8=ACCEPT: no LITERAL+,
//     MULTIAPPEND, SPECIAL-USE, LIST-EXTENDED or COMPRESS. LIST with
//     RETURN options is answered "NO Error in IMAP command received by
//     server.".
//   - CREATE refuses, each with a bare NO and no response code: a name
//     outside INBOX. or with "/" or an empty level ("Invalid mailbox
//     name."), INBOX ("INBOX already exists!"), an existing folder
//     ("Cannot create this folder.": there is no [ALREADYEXISTS]). It
//     creates INBOX.a.b without INBOX.a, which LIST shows as \Noselect.
//     "inbox.x" is INBOX.x.
//   - Messages are stored with LF line endings (RFC822.SIZE counts CRLF),
//     8-bit header bytes unchanged; the internal date is the file's
//     modification time.
//   - Debian's IMAP_EMPTYTRASH=Trash:7: at every login, messages in
//     INBOX.Trash whose file is more than 7 days old by ctime (arrival or
//     last flag change, not the internal date) are deleted.
//   - MaxPerIP (Debian: 20): one connection more from the same address is
//     closed before the greeting (the client reads EOF).
//   - A wrong password is answered "NO Login failed." (after a delay; see
//     the README).
package couriertest
