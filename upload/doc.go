// Package upload owns everything on the IMAP side of mailferry: parsing the
// target URL, connecting (TLS, STARTTLS, login, OAuth, COMPRESS), planning
// server folder names from the source mailboxes, uploading the message
// stream of a formats.Reader (Upload), verifying what the server holds
// against the source (Verify), and rehearsing all of it on an in-process
// server that keeps only headers (package rehearsal) when no target is
// given.
//
// Where each part lives, in the order a run meets them:
//
//   - upload.go, verify.go, rehearse.go, preview.go: the entry points
//     (Upload, Verify, the rehearsal, PlanOn for scan); options.go,
//     errors.go (the typed errors and the exit-code map), url.go.
//   - run.go: what Upload and Verify share from start to end (setup,
//     prepare, track, finish); settle.go: the marker of a run in progress.
//   - dial.go, login.go, conn.go, progressconn.go: one dialer for every
//     connection, the bulk client first, handed to go-imap after login;
//     every read bounded (internal/imapguard), every wait timed.
//   - discover.go, folders.go, and package plan: the server's namespace,
//     delimiter, special-use folders and name rules; one plan for every
//     command; folders created and subscribed.
//   - fetch.go, serverset.go, and package fingerprint: the pre-scan of a
//     folder and the multiset of message identities it yields.
//   - dispatch.go, lanes.go, worker.go, appender.go, bulkappend.go,
//     imapappend.go: each message admitted (already there, skipped,
//     quarantined) or sent over one of the connections, in MULTIAPPEND
//     batches where possible; a broken connection's messages checked and
//     sent again at most maxTries times.
//   - ledger.go: the one owner of every outcome, under its own lock;
//     progress published outside it. report.go: the Report and its totals.
//   - retry.go: what is retried (transport failures, requests to slow
//     down, a provider's limit for the day) and for how long.
//   - flags.go (flags and keywords), quarantine.go (refused messages kept
//     privately), fullcheck.go (messages compared byte for byte).
//
// The identity of a message, for resuming and for verification, is its
// fingerprint (package fingerprint): the SHA-256 of its normalized header
// block plus its exact size, with looser forms for servers that rewrite
// what they store. Folders are multisets of fingerprints: a source holding
// the same message twice ends with two copies on the server, and a re-run
// adds none.
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
// APPEND goes through upload/bulk (bulkappend.go): pipelined, with
// LITERAL+ and in MULTIAPPEND batches where the server offers them; each
// worker hands its logged-in go-imap connection over to the bulk client
// when it starts appending, so a worker holds one connection. A batch is
// stored wholly or not at all, so the check after a broken connection
// (below) stays exact; a refused batch goes again one message per command.
// go-imap's APPEND remains as the fallback for a server the bulk client
// cannot follow.
//
// Every folder's messages go over all the connections (lanes.go: a
// message's connection is chosen by its size, so that a check after a
// broken connection judges only that connection's messages); servers that
// allow fewer connections than asked get as many as they allow.
//
// Verification reads the server back with the same FETCH as the pre-scan.
//
// Round trips: on a distant server every wait for an answer costs a round
// trip in which nothing moves, so commands that do not need each other's
// answers go in one flight: NAMESPACE, LIST and the hand-over to go-imap
// (discover.go); every CREATE and SUBSCRIBE of one level of the folder
// tree, with one SELECT of a new folder whose PERMANENTFLAGS stand for all
// the folders the run created (which hold nothing and are not
// pre-scanned; folders.go); a folder's SELECT and its FETCH (fetch.go); a
// bulk connection's SELECT and its first APPEND. The other connections are
// opened as soon as the first has logged in and stay with the bulk
// client; the verify pass goes on with the upload's connections, and the
// run ends without waiting for the answers to LOGOUT. TestFlights checks
// the flights against a gate that holds the server's answers back.
//
// Connections: go-imap v2 takes no context, so every connection is closed
// when the run's context ends (APPENDs in flight get a few seconds to be
// answered first, so that their outcome is known). go-imap's fixed
// deadlines are replaced by a progress deadline (Options.IOTimeout, see
// progressConn): a connection on which nothing moves for that long is
// reset. Only transport failures and a server's requests to slow down are
// retried (retryable decides, classify sorts a server's NO): a broken
// connection is replaced with exponential backoff for at most
// RetryTimeout; the worker then waits a moment, fetches the folder again,
// counts the messages in flight that landed and sends the others again
// (a message whose connection broke maxTries times is quarantined).
// [INUSE], [UNAVAILABLE], [THROTTLED] and rate-limit texts (also Gmail's
// bandwidth [OVERQUOTA]) pause every worker with backoff and resend;
// storage [OVERQUOTA] stops the run; [LIMIT] and [TOOBIG] quarantine the
// one message. A run that stops early leaves the server consistent: the
// next run's pre-scan sees what arrived, so re-running the same command is
// always the way to resume.
//
// There is no local journal: the pre-scan (one FETCH of sizes and headers
// per folder, a few percent of the mail's size) is what makes a re-run
// safe, a journal could only skip parts of it, and the verification after
// the upload fetches the same data anyway. The one local file is a marker
// of a run in progress (settle.go): found at start, it means the previous
// run was killed, and the run first waits until the server's folders stop
// growing, so that APPENDs the killed process had already handed to the
// kernel land before the pre-scan instead of being sent twice.
//
// The package never prints and never draws: it reports progress through
// Options.OnProgress, logs through the *slog.Logger it is given, and returns
// a Report (which marshals to the JSON of --report) and an error that
// ExitCode maps to the CLI's exit code.
package upload
