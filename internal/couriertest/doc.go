// Package couriertest runs a private, throwaway Courier IMAP (Debian 12:
// courier-imap 5.0.13 with courier-authlib 0.71) for integration tests, as
// internal/dovecottest does for Dovecot.
package couriertest
