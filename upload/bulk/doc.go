// Package bulk is a minimal IMAP client for the upload hot path: on one
// connection it logs in, selects the target mailbox and sends APPENDs
// pipelined, with non-synchronizing literals ({n+}) where the server
// announces LITERAL+ (LITERAL-: up to 4096 bytes) and in MULTIAPPEND
// batches (RFC 3502) where it announces MULTIAPPEND. Everything else
// (LIST, CREATE, FETCH for resume and verify) stays with go-imap: go-imap
// v2 beta.8 waits for the server's "+" before every literal over 4 KB and
// has no MULTIAPPEND, which costs two round trips per message.
//
// It also owns the wire level of a connection for both clients: TLS or
// STARTTLS (New, NewStartTLS), Login or Authenticate with any SASL
// mechanism (SASL-IR, challenges, a server's error challenge), then
// COMPRESS=DEFLATE (RFC 4978) where offered. Detach hands that
// connection, authenticated and compressed, to go-imap with a
// synthesized PREAUTH greeting (through internal/imapguard, which bounds
// what go-imap reads); NewLoggedIn takes one back.
//
// What the server sends is bounded: a line of 64 KB, a response of 8 MB,
// and, while commands wait, Options.Timeout from the last write or answer
// to the next answer, which untagged responses do not extend. Breaking a
// bound ends the connection with an error holding an
// *imapguard.LimitError.
//
// Message bodies are streamed from Item.Open while the command is written;
// nothing is buffered beyond what is in flight, and the bytes sent and not
// yet answered are bounded (Options.MaxInFlightBytes).
//
// What a caller can know about each command (Command, Wait):
//   - OK: stored; with UIDPLUS the UIDs in order (APPENDUID).
//   - *StatusError (NO/BAD with its response code: LIMIT, OVERQUOTA,
//     TRYCREATE, CANNOT, ...): nothing of the command was stored; a
//     MULTIAPPEND is atomic, so one refused message refuses its batch
//     (the caller then sends the batch's messages again one by one).
//   - *LostError: the connection ended first. Sent false: the command was
//     not written completely and nothing was stored. Sent true: it may
//     have been stored, and then wholly (Command.Atomic): a recheck that
//     finds one message of the batch on the server finds all of them, so
//     re-sending exactly the ones not found never duplicates.
package bulk
