package upload

import (
	"context"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailferry/formats"
)

// job is one message on its way to the server. It holds the message's
// bytes (in memory or spooled to a file) until the server answered.
type job struct {
	fs     *folderState
	e      *sourceEntry
	flags  []imap.Flag
	date   time.Time
	spool  *formats.Spool
	size   int64
	weight int64
	// tries counts the connections that broke while the job was being
	// sent or in flight (see worker.lost).
	tries int
	// failures counts the refusals that named a failure of the server's
	// own (serverFailure), each followed by another try.
	failures int
	sent     time.Time // when its APPEND was last sent
	// key is the server-side key the job was found by after a broken
	// connection (landed); else its own fingerprint counts.
	key    Fingerprint
	landed bool
}

// An appender sends messages into the selected folder of one connection.
// There are two: the bulk path (bulkappend.go: upload/bulk, LITERAL+,
// MULTIAPPEND batches, the default) and go-imap's pipelined APPEND
// (imapappend.go: the fallback for a server the bulk client cannot
// follow). Each owns the state of its messages in flight; it never
// records an outcome itself, but hands every job back in an appendResult:
// stored, refused, to send again, or of unknown outcome because the
// connection broke. The worker (worker.go) decides what each means for
// the run.
type appender interface {
	// send hands over one job. It may return before the server answered.
	send(ctx context.Context, j *job) appendResult
	// wait sends what the appender still collects and waits for the
	// oldest answer.
	wait(ctx context.Context) appendResult
	// flushable reports that nothing is in flight while messages are
	// collected: the server is idle, so the worker should send them now
	// (flush) rather than wait for more.
	flushable() bool
	// flush sends what the appender collects, without waiting for
	// answers.
	flush(ctx context.Context) appendResult
	// answered is ready once the oldest command in flight has its answer;
	// nil when the appender cannot tell (the worker then waits).
	answered() <-chan struct{}
	// pending is the number of jobs handed over and not yet handed back.
	pending() int
	// stop ends the appender when the run stops: the commands in flight
	// get until the connection's end (stopGrace) to be answered; jobs not
	// answered come back as unknown, jobs not sent as again.
	stop() appendResult
	// close ends the connection: politely when the upload is done, else
	// with a reset (see bulkConn.close).
	close(polite bool)
}

// appendResult is what became of jobs an appender had: every job it was
// given comes back in exactly one of these lists, once.
type appendResult struct {
	// stored: the server confirmed them.
	stored []*job
	// refused: the server answered NO or BAD to the command of this one
	// message: nothing was stored.
	refused []refusal
	// failed: our side could not send them (a spooled message that could
	// not be read again).
	failed []refusal
	// again: nothing of these was stored; send them again (a refused
	// batch goes again one message per command, see job.tries).
	again []*job
	// lost is set when the connection broke (or could not be made):
	// tried are the jobs whose command was being sent, unknown those in
	// flight; their outcome is unknown until the server is checked.
	lost    error
	tried   []*job
	unknown []*job
	// fatal is set when the run cannot go on (connecting failed for
	// good); again holds the jobs.
	fatal error
	// fallback is set when this appender cannot work with the server: the
	// worker changes to go-imap's APPEND (again holds the jobs).
	fallback error
}

// refusal is the server's answer to a job it did not store.
type refusal struct {
	j   *job
	err error
}

// add appends o to r.
func (r *appendResult) add(o appendResult) {
	r.stored = append(r.stored, o.stored...)
	r.refused = append(r.refused, o.refused...)
	r.failed = append(r.failed, o.failed...)
	r.again = append(r.again, o.again...)
	r.tried = append(r.tried, o.tried...)
	r.unknown = append(r.unknown, o.unknown...)
	if r.lost == nil {
		r.lost = o.lost
	}
	if r.fallback == nil {
		r.fallback = o.fallback
	}
	if r.fatal == nil {
		r.fatal = o.fatal
	}
}
