// Package daemontest holds what the test harnesses that run real IMAP
// daemons share (internal/dovecottest, internal/couriertest,
// internal/cyrustest): a throwaway CA and server certificate, free loopback
// ports, daemons in a process group of their own and how to stop them,
// waiting for a greeting, test users, and StoredMessage, the form in which
// every harness reports what a server really stored (read from its files,
// never through IMAP).
//
// It knows nothing about any one server; the harness packages own their
// configuration and their on-disk formats.
package daemontest
