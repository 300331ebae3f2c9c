package upload

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// imapAppender sends every message with go-imap's APPEND on the worker's
// go-imap connection: one command per message, Pipeline of them in flight;
// go-imap waits for the server's continuation before every literal over
// 4 KiB. It is the fallback for a server the bulk client cannot follow.
type imapAppender struct {
	w        *worker
	inflight []*pendingAppend
}

// pendingAppend is an APPEND whose answer has not been read.
type pendingAppend struct {
	j   *job
	cmd *imapclient.AppendCommand
}

func newIMAPAppender(w *worker) *imapAppender { return &imapAppender{w: w} }

func (a *imapAppender) pending() int                       { return len(a.inflight) }
func (a *imapAppender) flushable() bool                    { return false }
func (a *imapAppender) answered() <-chan struct{}          { return nil }
func (a *imapAppender) close(bool)                         {}
func (a *imapAppender) flush(context.Context) appendResult { return appendResult{} }

// broken hands back every job in flight as unknown: the connection broke.
func (a *imapAppender) broken(cause error, tried ...*job) appendResult {
	r := appendResult{lost: cause, tried: tried}
	for _, p := range a.inflight {
		r.unknown = append(r.unknown, p.j)
	}
	a.inflight = nil
	return r
}

func (a *imapAppender) send(ctx context.Context, j *job) appendResult {
	cn, err := a.w.imapReady(ctx, j.fs)
	if err != nil {
		return a.broken(err, j)
	}
	opts := &imap.AppendOptions{Flags: j.flags, Time: j.date}
	j.sent = time.Now()
	cmd := cn.c.Append(j.fs.server, j.size, opts)
	rc, err := j.spool.Open()
	var werr error
	if err == nil {
		_, werr = io.Copy(cmd, rc)
		_ = rc.Close()
	}
	if cerr := cmd.Close(); werr == nil {
		werr = cerr
	}
	if err != nil {
		// Our own spool failed: the command went out short and the
		// connection is unusable.
		r := a.broken(err)
		r.failed = append(r.failed, refusal{j: j, err: fmt.Errorf("read spooled message: %w", err)})
		return r
	}
	if werr != nil {
		if serverError(werr) != nil {
			// The server answered the literal's continuation with NO:
			// this message was not stored. go-imap then closes the
			// connection, so the others in flight are checked after a
			// reconnect.
			r := a.broken(werr)
			r.refused = append(r.refused, refusal{j: j, err: werr})
			return r
		}
		return a.broken(werr, j)
	}
	a.inflight = append(a.inflight, &pendingAppend{j: j, cmd: cmd})
	if len(a.inflight) >= a.w.rn.opts.pipeline() {
		return a.wait(ctx)
	}
	return appendResult{}
}

// wait waits for the answer to the oldest APPEND in flight.
func (a *imapAppender) wait(ctx context.Context) appendResult {
	if len(a.inflight) == 0 {
		return appendResult{}
	}
	p := a.inflight[0]
	a.inflight = a.inflight[1:]
	_, err := p.cmd.Wait()
	if err == nil {
		return appendResult{stored: []*job{p.j}}
	}
	alive := a.w.cn.alive()
	if ie := serverError(err); ie != nil && alive && ie.Type != imap.StatusResponseTypeBye {
		// A tagged NO or BAD on a working connection: this message alone.
		return appendResult{refused: []refusal{{j: p.j, err: err}}}
	}
	// go-imap hands the last error of a dying connection to every pending
	// command: a NO seen on a dead connection may not be this command's
	// answer, so its outcome is checked on the server.
	return a.broken(err, p.j)
}

// stop waits for the answers in flight (the connection's life bounds the
// wait) and hands every job back.
func (a *imapAppender) stop() appendResult {
	var r appendResult
	for _, p := range a.inflight {
		if _, err := p.cmd.Wait(); err == nil {
			r.stored = append(r.stored, p.j)
		} else {
			r.unknown = append(r.unknown, p.j)
		}
	}
	a.inflight = nil
	return r
}

// imapReady makes sure the worker's go-imap connection works and has the
// folder selected (Dovecot charges more per APPEND into a folder not
// selected; README, Performance).
func (w *worker) imapReady(ctx context.Context, fs *folderState) (*conn, error) {
	if err := w.ensureConn(ctx); err != nil {
		return nil, err
	}
	if w.cn.selected == fs.server && !w.cn.readOnly {
		return w.cn, nil
	}
	_, exists, err := w.cn.selectFolder(fs.server, false)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, fmt.Errorf("folder %q does not exist on the server", fs.server)
	}
	return w.cn, nil
}
