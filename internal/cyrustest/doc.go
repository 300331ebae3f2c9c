// Package cyrustest runs a private, throwaway Cyrus IMAP (Debian 12:
// cyrus-imapd 3.6) for integration tests, as internal/dovecottest does for
// Dovecot.
package cyrustest
