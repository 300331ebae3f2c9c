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
// Bytes policy: a message is sent exactly as the reader yields it
// (formats.Message.Open: CRLF line endings, final CRLF; bare CRs and LFs are
// the readers' job); nothing is added or re-serialized. A message holding a
// NUL byte is never sent (IMAP forbids NUL in a literal without BINARY, and
// Gmail drops the connection on one): it is quarantined with ReasonNUL. A
// message the server refuses (tagged NO) is written to the quarantine
// directory with the server's answer in the Report, and the run goes on;
// [OVERQUOTA] stops the run.
//
// Connections: go-imap v2 takes no context, so every connection is closed
// when the run's context ends (APPENDs in flight get a few seconds to be
// answered first); go-imap sets its own deadlines (30 s per response, 5 min
// per literal). Only transport failures are retried (retryable decides):
// the worker reconnects with exponential backoff, fetches the folder again,
// counts the messages in flight that landed and sends the others again.
//
// The package never prints and never draws: it reports progress through
// Options.OnProgress, logs through the *slog.Logger it is given, and returns
// a Report (which marshals to the JSON of --report) and an error that
// ExitCode maps to the CLI's exit code.
package upload
