// Package imapguard bounds what an IMAP server can make a client read. It
// owns a net.Conn wrapper that sits between the connection (TLS,
// COMPRESS) and an IMAP client that trusts the server, such as go-imap
// v2 beta.8: that client reads a response line into memory however long
// it is (a 1 GiB line costs it 2 GB), buffers literals of any announced
// size, parses body structures recursively without a depth bound (a FETCH
// answer nested ten million levels deep overflows the stack), and bounds
// only silence, so a server that answers slowly but never stops is never
// timed out.
//
// The guard follows the response grammar just far enough to frame
// responses (lines, literals, quoted strings, parentheses) and ends the
// connection with a *LimitError before its client gets the first byte
// past a limit:
//
//	g := imapguard.New(conn, imapguard.Limits{})   // defaults
//	c := imapclient.New(g, nil)
//	g.SetLimits(imapguard.Limits{MaxLiteral: 1 << 20}) // a header block at most
//	g.Expect(imapguard.Budget{Within: time.Minute})    // this answer, complete
//	... c.Fetch(...) ...
//	if errors.As(g.Err(), &le) { ... le.Limit, le.Max, le.Got ... }
//
// Limits bound each response (line, literal, response, nesting depth);
// a Budget bounds the answer to a command (its time, size and rate). Both
// can be changed while the connection lives: the caller knows what it
// asked for.
//
// Detach hands a connection over at a response boundary to another client
// (upload/bulk), and WithPrefix plus New take one over from a client that
// read ahead (upload/bulk's Detach): one login, one TLS session, one
// COMPRESS layer for both clients.
package imapguard
