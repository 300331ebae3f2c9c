package bulk

import (
	"context"
	"errors"
	"net"
	"strings"

	"mailferry/internal/imapguard"
)

// ErrDetached is what ended a Client whose connection went on to another
// client (Detach).
var ErrDetached = errors.New("connection handed over to another client")

// Detach ends the client and hands its connection, authenticated (and
// compressed, after COMPRESS), to another IMAP client, such as go-imap's
// imapclient.New. The connection it returns yields first a synthesized
// greeting
//
//   - PREAUTH [CAPABILITY ...] ...
//
// with the capabilities as the server announced them after login (fresh:
// Detach asks once more, and the reader stops right after the answer, so
// no byte of the server's is lost), less STARTTLS and LOGINDISABLED, and
// less COMPRESS=DEFLATE while compression is on (or may be: on a Client
// from NewLoggedIn, which took the connection over): the next client takes the
// connection as authenticated and tries neither STARTTLS nor COMPRESS.
// Then it yields the server's stream (inflated), and writes go to it
// (deflated, each write flushed).
//
// No command may be in flight but those of StartList and StartNamespace:
// sent before Detach's own command, they are answered before it, so they
// are complete when Detach returns (one round trip for all of them).
// Commands on the Client after Detach fail with a LostError wrapping
// ErrDetached, and its Close leaves the connection open: closing it is
// the next client's job. imapguard.New on the returned connection guards
// the greeting and the stream; on an error the connection is closed.
func (c *Client) Detach(ctx context.Context) (net.Conn, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	busy := false
	for _, p := range c.pending {
		// LIST and NAMESPACE (StartList, StartNamespace) may still be in
		// flight: their answers come before Detach's own.
		busy = busy || c.collecting[p.op] == nil
	}
	c.mu.Unlock()
	if busy {
		return nil, errors.New("detach: commands are in flight")
	}
	cmd := &Command{op: "CAPABILITY", done: make(chan struct{}), Atomic: true}
	cmd.onTag = func(tag string) { c.detachTag = tag }
	err := c.writeLocked(cmd, func() error {
		_, err := c.bw.WriteString("CAPABILITY")
		return err
	})
	if err != nil {
		return nil, err
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		c.fail(ctx.Err())
		<-c.done
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.detached {
		return nil, &LostError{Sent: true, Err: c.err}
	}
	if c.answerTimer != nil {
		c.answerTimer.Stop()
	}
	var caps []string
	for _, name := range c.capNames {
		up := strings.ToUpper(name)
		// A client from NewLoggedIn cannot know whether compression is
		// on: it leaves COMPRESS out, as a client that turned it on does.
		compressed := c.z != nil || !c.loggedInHere
		if up == "STARTTLS" || up == "LOGINDISABLED" || (compressed && strings.HasPrefix(up, "COMPRESS=")) {
			continue
		}
		caps = append(caps, name)
	}
	if len(caps) == 0 {
		caps = []string{"IMAP4rev1"}
	}
	greeting := "* PREAUTH [CAPABILITY " + strings.Join(caps, " ") + "] authenticated by mailferry's bulk client\r\n"
	// What the reader had read beyond the answer (unsolicited data).
	buffered, _ := c.br.Peek(c.br.Buffered())
	return imapguard.WithPrefix(append([]byte(greeting), buffered...), c.src), nil
}
