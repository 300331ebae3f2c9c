package upload

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/internal/imapguard"
	"mailferry/upload/bulk"
)

// A logged-in connection is used by one of two clients at a time, and
// handed between them without logging in again (dial.go):
//
//   - conn: go-imap, for everything but APPEND (LIST, CREATE, the
//     pre-scan's FETCH, the check after a broken connection, verify),
//     reading through an imapguard.Conn that bounds every line, literal
//     and nesting depth the server sends and, per command, how long and
//     how large its answer may be (budgets below);
//   - bulkConn: upload/bulk, the APPEND hot path (pipelined, LITERAL+,
//     MULTIAPPEND batches), with bounded reads of its own.
//
// Under both: TLS, the deflate stream when COMPRESS is on, and a
// progressConn that enforces Options.IOTimeout on silence.

// conn is one logged-in go-imap connection, closed when the run's
// connections end.
type conn struct {
	c        *imapclient.Client
	g        *imapguard.Conn
	stop     func() bool
	raw      net.Conn // the TCP connection (a *progressConn)
	caps     imap.CapSet
	timeout  time.Duration
	selected string // mailbox selected (or examined), "" for none
	readOnly bool
}

// alive reports whether the connection can still take commands.
func (cn *conn) alive() bool {
	if cn == nil {
		return false
	}
	select {
	case <-cn.c.Closed():
		return false
	default:
		return cn.c.State() != imap.ConnStateLogout
	}
}

// close logs out politely when the connection still works (LOGOUT and
// its answer), then closes it.
func (cn *conn) close() { cn.logout(true) }

// closeNow says LOGOUT when the connection still works and closes it
// without waiting for the answer: for the end of a run, when nothing
// more is asked.
func (cn *conn) closeNow() { cn.logout(false) }

// logout sends LOGOUT, waits for its answer when asked to, and closes
// the connection; a connection that does not take the command (or
// answer it) within two seconds is closed all the same.
func (cn *conn) logout(answer bool) {
	if cn == nil {
		return
	}
	cn.stop()
	if cn.alive() {
		cn.expect(cn.small())
		within(logoutWait, func() {
			cmd := cn.c.Logout()
			if answer {
				_ = cmd.Wait()
			}
		})
	}
	_ = cn.c.Close()
}

// logoutWait bounds the goodbye of a connection that is being closed.
const logoutWait = 2 * time.Second

// within runs f and waits for it at most d (the caller then closes what
// f may still be blocked on).
func within(d time.Duration, f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
	}
}

// Budgets for the answers to go-imap's commands: a server that keeps
// talking without answering (an endless "* OK ..." every 50 ms, a huge
// header dripping in) is cut off like one that went silent.

// maxSmallAnswer bounds the answer to a command about folders (LIST,
// CREATE, SELECT, STATUS, NAMESPACE): a LIST of a hundred thousand
// folders fits.
const maxSmallAnswer = 64 << 20

// small is the budget of a command about folders: it completes within
// twice the I/O timeout (30 s at least) and holds at most maxSmallAnswer
// bytes.
func (cn *conn) small() imapguard.Budget {
	return imapguard.Budget{Within: max(2*cn.timeout, 30*time.Second), MaxBytes: maxSmallAnswer}
}

// smallFlight is the budget of n commands about folders sent at once:
// n answers, each as small()'s.
func (cn *conn) smallFlight(n int) imapguard.Budget {
	b := cn.small()
	b.Within *= time.Duration(n)
	b.MaxBytes *= int64(n)
	b.Answers = n
	return b
}

// headerFetch is the budget of the pre-scan's FETCH of n messages' sizes
// and headers: at most 256 KiB a message (a header block may be large,
// never larger than the 64 MiB literal the guard allows) and at least
// 4 KiB a second once the server started answering.
func (cn *conn) headerFetch(n uint32) imapguard.Budget {
	return imapguard.Budget{MaxBytes: int64(n)*(256<<10) + maxSmallAnswer, MinRate: 4 << 10, Grace: max(cn.timeout, 10*time.Second)}
}

// expect sets the budget of the next command's answer.
func (cn *conn) expect(b imapguard.Budget) {
	if cn.g != nil {
		cn.g.Expect(b)
	}
}

// guardErr returns the guard's reason for closing the connection (a
// *imapguard.LimitError: the server sent more, or longer, than allowed)
// in place of the error go-imap saw, which only carries it as text.
func (cn *conn) guardErr(err error) error {
	if err == nil || cn.g == nil {
		return err
	}
	if gerr := cn.g.Err(); gerr != nil {
		return errors.Join(gerr, err)
	}
	return err
}

// closeNow ends an idle bulk connection at the end of a run: LOGOUT
// without waiting for the answer (see bulk.Client.LogoutNoWait).
func (bc *bulkConn) closeNow() {
	if bc == nil {
		return
	}
	bc.stop()
	if bc.alive() {
		// No reset after it: that would drop the LOGOUT still queued. A
		// connection that does not take it within two seconds is closed
		// all the same.
		within(logoutWait, bc.c.LogoutNoWait)
	}
	_ = bc.c.Close()
}

// bulkConn is one logged-in connection of the APPEND hot path
// (upload/bulk).
type bulkConn struct {
	c        *bulk.Client
	raw      net.Conn // the TCP connection under TLS, for a reset
	stop     func() bool
	selected string
	// answered is set once the server answered an APPEND on it: the bulk
	// client can follow this server.
	answered bool
}

func (bc *bulkConn) sawAnswer() {
	if bc != nil {
		bc.answered = true
	}
}

// alive reports whether the connection can still take commands.
func (bc *bulkConn) alive() bool {
	return bc != nil && bc.c.Err() == nil
}

// close ends the connection: politely (LOGOUT) when polite and nothing is
// in flight, else with a TCP reset, so that what our side still holds
// unsent never reaches the server after a reconnect has checked what
// landed (see progressConn.check).
func (bc *bulkConn) close(polite bool) {
	if bc == nil {
		return
	}
	bc.stop()
	if polite && bc.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), logoutWait)
		_ = bc.c.Logout(ctx)
		cancel()
	}
	resetConn(bc.raw)
	_ = bc.c.Close()
}
