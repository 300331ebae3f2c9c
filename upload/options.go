package upload

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"mailferry/internal/oauth"
	"mailferry/internal/private"
	"mailferry/upload/plan"
)

// Options configure Upload and Verify. The zero value (plus a Target and a
// Password) is a sensible configuration.
type Options struct {
	// Target is the account to upload into. Nil makes Upload rehearse on an
	// in-process rehearsal server; Verify needs a target.
	Target *Target
	// Password for the target. It is never logged or reported.
	Password string
	// CAFile adds the PEM certificates in this file to the system roots.
	CAFile string
	// InsecureSkipVerify turns off TLS certificate verification (the CLI
	// warns).
	InsecureSkipVerify bool
	// AllowPlaintext allows sending the password over imap:// when the
	// server offers no STARTTLS.
	AllowPlaintext bool
	// Tokens, when set, signs in with OAuth 2.0 access tokens from it
	// (SASL XOAUTH2 or OAUTHBEARER, as the server offers) instead of the
	// password; a token the server refuses is refreshed once per login.
	Tokens oauth.TokenSource
	// NoCompress keeps COMPRESS=DEFLATE (RFC 4978) off even where the
	// server offers it.
	NoCompress bool

	// SourceID names the source (the CLI passes its absolute path). With the
	// target account it names the marker file that tells a re-run that an
	// upload did not end (see settle.go); "" is allowed.
	SourceID string
	// cacheDir replaces os.UserCacheDir() for the marker file: for tests.
	cacheDir string

	// Plan chooses and names the folders (--prefix, --include, --exclude).
	Plan plan.Options

	// Connections is the number of connections used in parallel (default
	// 4); every folder goes over all of them (lanes.go), 1 keeps the source
	// order on the server.
	Connections int
	// Pipeline is the number of APPENDs in flight on one connection
	// (default 8). go-imap v2 waits for the server's continuation on every
	// message over 4 KiB, so pipelining mostly helps small messages.
	Pipeline int
	// FullVerify compares every message byte for byte with the server's
	// copy (streamed; no memory per message), instead of its header and
	// size only. Upload always compares a random sample this way.
	FullVerify bool
	// DryRun connects, logs in, plans and reads everything, and creates and
	// uploads nothing.
	DryRun bool
	// QuarantineDir receives the messages the server refuses, as
	// <dir>/<folder>/<n>.eml; "" means "quarantine" in mailferry's folder
	// of the user's data folder. The folder is made readable by the user
	// alone; a link or a folder anyone may write to is refused. Nothing
	// is written there in a dry run or a rehearsal.
	QuarantineDir string
	// TempDir is where messages too large for memory are spooled ("" means
	// os.TempDir()).
	TempDir string
	// MemLimit is the largest message held in memory while in flight;
	// larger ones are spooled to TempDir (default 1 MiB).
	MemLimit int
	// InFlightBytes bounds the memory of all messages in flight together
	// (default 32 MiB).
	InFlightBytes int64
	// IOTimeout is how long a connection may make no progress (no byte
	// received while an answer is awaited, no byte accepted while sending)
	// before it counts as broken and is replaced (default 60 s). It
	// replaces go-imap's fixed deadlines; a large message that keeps moving
	// never times out.
	IOTimeout time.Duration
	// RetryTimeout is how long a broken connection is retried (with
	// exponential backoff), and how long a server that keeps asking to slow
	// down is waited for, before the run gives up (default 2 minutes). The
	// very first connection is not retried when nothing answers at all (a
	// wrong host or port).
	RetryTimeout time.Duration

	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// goIMAPAppend sends every message with go-imap's APPEND (one
	// synchronizing literal per message over 4 KiB, no MULTIAPPEND)
	// instead of the bulk path: for tests of that path.
	goIMAPAppend bool
	// onSubmit, when set, is told the worker, folder and number of messages
	// of every APPEND command the bulk path sent: for tests.
	onSubmit func(worker int, folder string, items int)
	// onSpares, when set, is told how many spare connections (opened
	// while the folders were created) went to workers (tests).
	onSpares func(given int)

	// OnProgress, when set, is called as messages are read and finished,
	// one call at a time, on a goroutine of its own: a snapshot that
	// arrives while one is being shown replaces older ones not yet shown,
	// and the last snapshot is shown before Upload or Verify returns.
	OnProgress func(Progress)
}

// Phase is a phase of a run, for progress display.
type Phase string

// The phases of a run, in order.
const (
	PhasePrepare Phase = "prepare" // connect, learn the server, plan, pre-scan
	PhaseUpload  Phase = "upload"
	PhaseVerify  Phase = "verify"
)

// Progress is a snapshot of a run for progress display.
type Progress struct {
	Phase Phase
	// Folder is the server folder of the latest message.
	Folder string
	// Found is the number of messages read from the source so far, and
	// FoundBytes their size.
	Found      int
	FoundBytes int64
	// Done is the number of messages finished (uploaded, already there,
	// skipped, quarantined or failed), DoneBytes their size.
	Done      int
	DoneBytes int64
	// Uploaded and UploadedBytes count the messages sent.
	Uploaded      int
	UploadedBytes int64
}

func (o *Options) connections() int {
	if o.Connections <= 0 {
		return 4
	}
	return o.Connections
}

func (o *Options) pipeline() int {
	if o.Pipeline <= 0 {
		return 8
	}
	return o.Pipeline
}

func (o *Options) memLimit() int {
	if o.MemLimit <= 0 {
		return 1 << 20
	}
	return o.MemLimit
}

func (o *Options) inFlightBytes() int64 {
	if o.InFlightBytes <= 0 {
		return 32 << 20
	}
	return o.InFlightBytes
}

func (o *Options) retryTimeout() time.Duration {
	if o.RetryTimeout <= 0 {
		return 2 * time.Minute
	}
	return o.RetryTimeout
}

func (o *Options) ioTimeout() time.Duration {
	if o.IOTimeout <= 0 {
		return 60 * time.Second
	}
	return o.IOTimeout
}

func (o *Options) quarantineDir() (string, error) {
	if o.QuarantineDir != "" {
		return o.QuarantineDir, nil
	}
	data, err := private.DataDir(nil)
	if err != nil {
		return "", fmt.Errorf("no folder for quarantined messages: %w", err)
	}
	return filepath.Join(data, "quarantine"), nil
}
