// Package rehearsal is an IMAP server that runs in-process on 127.0.0.1
// and keeps, per message, only what an upload reads back: the header block
// (as fingerprint.Hasher reads it, in a temporary file), the exact size,
// flags and keywords, the internal date and the UID. The body is read and
// dropped, so its memory does not grow with the size of the mail: a
// 48-byte record per message, the distinct flag sets, and a few buffers
// per connection.
//
// upload.Upload uses it for a rehearsal (no target given); fast unit tests
// use it as a server that behaves like real ones: Options switches on one
// quirk of a real server or one limit of a provider at a time (a namespace
// prefix, refused characters, special-use folders, LITERAL- or
// synchronizing literals only, no MULTIAPPEND, rewritten or refused 8-bit
// headers, connection limits, size limits, daily upload budgets, throttles),
// and the profile functions (DovecotPrefix, Courier, Cyrus, Mox, Gmail,
// Microsoft365, ...) combine them with the real servers' texts.
//
// It serves what the uploader sends: CAPABILITY, LOGIN, AUTHENTICATE
// (PLAIN, XOAUTH2), ID, ENABLE, COMPRESS DEFLATE, NAMESPACE, LIST and LSUB
// (with the RFC 5258 options), CREATE, SUBSCRIBE, STATUS, SELECT, EXAMINE,
// UNSELECT, FETCH of UID, FLAGS, INTERNALDATE, RFC822.SIZE and the header
// (BODY[HEADER], HEADER.FIELDS, partial), APPEND and MULTIAPPEND, NOOP and
// LOGOUT. Commands that change or search what is stored (SEARCH, STORE,
// COPY, MOVE, EXPUNGE, RENAME, DELETE, IDLE, ...) and body fetches are
// answered NO [CANNOT]. Folders are never deleted and messages never
// expunged, so sequence numbers are positions.
//
// Server.Messages and Server.Folders read back what the server holds,
// without IMAP.
package rehearsal
