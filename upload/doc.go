// Package upload owns everything on the IMAP side of mailferry: parsing the
// target URL, connecting (TLS, STARTTLS, login), planning server folder
// names from the source mailboxes (Plan), uploading the message stream of a
// formats.Reader (Upload), verifying what the server holds against the
// source (Verify), and rehearsing all of it on an in-process memory server
// when no target is given.
//
// The identity of a message, for resuming and for verification, is its
// Fingerprint (see fingerprint.go): the SHA-256 of its normalized header
// block plus its exact size. Folders are multisets of fingerprints: a source
// holding the same message twice ends with two copies on the server, and a
// re-run adds none.
//
// The package never prints and never draws: it reports progress through
// Options.OnProgress, logs through the *slog.Logger it is given, and returns
// a Report (which marshals to the JSON of --report) and an error that
// ExitCode maps to the CLI's exit code.
package upload
