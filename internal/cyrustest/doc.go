// Package cyrustest runs a private, throwaway Cyrus IMAP (Debian 12:
// cyrus-imapd 3.6.1) for integration tests, as internal/dovecottest does
// for Dovecot.
//
// # Use
//
//	srv := cyrustest.Start(t, cyrustest.Config{AltNamespace: true})
//	c := srv.Dial(t)             // logged-in go-imap v2 client, TLS verified
//	... run the code under test against srv.TLSAddr (or srv.Addr + STARTTLS),
//	    user srv.User, password srv.Password, CA file srv.CAFile ...
//	msgs := srv.Fetch(t, "Sent") // what Cyrus stored, read with mbexamine and the spool
//	subs := srv.Subscribed(t)    // the subscriptions, read from the user's sub.db
//
// Start skips the test when Cyrus is missing or the tests do not run as
// root, and fails it under CI=true (testutil.SkipOrFail). Every Start gets
// its own directory (configuration, databases, spool, sockets), ports,
// certificate and sasldb, so tests may run in parallel with one server
// each. t.Cleanup stops master and removes everything. Nothing outside
// the server's directory is touched.
//
// # How it runs
//
// cyrus-imapd cannot be installed next to dovecot-imapd (both provide
// imap-server), so .ci/install-test-servers unpacks its .deb (imapd) into
// DefaultRoot; master, the database tools and mbexamine come from the
// installed cyrus-common, saslpasswd2 from sasl2-bin. imapd.conf is
// Debian's with private paths; cyrus.conf runs only the two IMAP
// listeners, as Debian does (imapd -U 30). master runs as root and starts
// the services as the cyrus user, which owns the server's directory.
// Cyrus logs to syslog only; LogTail shows master's own output.
//
// # What the server looks like (observed with 3.6.1; tests show each)
//
//   - Debian's configuration: personal namespace "INBOX." with ".", other
//     users "user.", shared "". AltNamespace (altnamespace and
//     unixhierarchysep, upstream's defaults): "" with "/", other users
//     "Other Users/", shared "Shared Folders/".
//   - Capabilities include LITERAL+, MULTIAPPEND, SPECIAL-USE,
//     CREATE-SPECIAL-USE, LIST-EXTENDED, COMPRESS=DEFLATE, UTF8 is not
//     offered; after a plaintext login on the plain port it also lists
//     LOGINDISABLED.
//   - munge8bit (the default): every byte of 0x80 and above in the
//     top-level header becomes "X" when a message is stored (size
//     unchanged); MIME part headers and the body are kept. Reject8Bit
//     refuses such a message with "NO Message contains non-ASCII
//     characters in headers". Bare LF line endings ("NO Message contains
//     bare newlines") and NUL bytes ("NO Message contains NUL
//     characters") are always refused.
//   - CREATE, Debian's namespace: outside INBOX. "NO Permission denied";
//     "/", "%", "\" or a quote in a name "NO Invalid mailbox name"; an
//     existing name "NO Mailbox already exists" (no [ALREADYEXISTS]);
//     empty levels collapse ("INBOX.a..b" is INBOX.a.b) and a trailing
//     "." is dropped; parents are created as real mailboxes.
//     AltNamespace: "^" is refused (Cyrus keeps a "." inside a name as
//     "^"), "." is an ordinary character, "//" collapses.
//   - SpecialUse: Drafts, Sent, Trash, Junk and Archive appear at the
//     first login, subscribed; their attributes are sent in lower case
//     (\sent, \junk); a second \Sent mailbox is refused with "NO [USEATTR]
//     SPECIAL-USE flag conflict".
//   - imapd creates the partition's stage directory (spool/stage./) at
//     the first APPEND; of two connections doing that at once, one
//     answers "NO System I/O error". Setup creates it, as a server that
//     has ever stored mail has it.
//   - DELETE renames the mailbox into DELETED.user... with the time in
//     seconds as its suffix (Debian's delete_mode: delayed): deleting a
//     mailbox of the same name twice within a second is refused with "NO
//     Mailbox already exists".
//   - A user's INBOX is created at the first login (autocreate_quota: 0);
//     before it the ground truth lists no mailboxes.
//   - A wrong password is answered "NO Login failed: authentication
//     failure" (after a delay; see the README).
package cyrustest
