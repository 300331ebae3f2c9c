package upload

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"mailferry/formats"

	"mailferry/upload/plan"
)

// Mode says what a Report is of.
type Mode string

// Report modes.
const (
	ModeUpload Mode = "upload"
	ModeVerify Mode = "verify"
)

// Verify statuses of a folder, as printed at the start of its line.
const (
	StatusMatch   = "=" // the server holds every source message
	StatusMissing = "-" // source messages are missing on the server
	StatusExtra   = "+" // all there, and the server holds more (not an error)
	StatusError   = "!" // the folder could not be checked
	// StatusDuplicates: all there, but the server holds more copies of
	// some source messages than the source does.
	StatusDuplicates = "2"
)

// Report is the outcome of Upload or Verify; it marshals to the JSON of
// --report. Every message found in the source ends in exactly one bucket:
// found = uploaded + already on server + skipped + quarantined + failed
// (failed only when the run stopped early or a message could not be read);
// CheckTotals checks that.
type Report struct {
	// Mode is "upload" or "verify".
	Mode Mode `json:"mode"`
	// Target is the server as a URL without secrets.
	Target    string `json:"target"`
	Rehearsal bool   `json:"rehearsal,omitempty"`
	// DryRun: nothing was created or appended; "uploaded" counts what a
	// real run would upload.
	DryRun   bool      `json:"dry_run,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Stopped says why the run ended early, in words; empty when it ran to
	// the end. StopReason says it as a code.
	Stopped    string     `json:"stopped,omitempty"`
	StopReason StopReason `json:"stop_reason,omitempty"`
	// Connections is how many connections the upload could use: those
	// asked (ConnectionsAsked, --connections), or fewer when the server
	// refused more (lanes.go).
	Connections      int `json:"connections,omitempty"`
	ConnectionsAsked int `json:"connections_asked,omitempty"`
	// Verified says whether the verification ran.
	Verified bool `json:"verified"`
	// FullCheck says how many messages verification compared byte for
	// byte: FullyChecked of them, all (FullVerify) or a random sample.
	FullCheck    string          `json:"full_check,omitempty"`
	FullyChecked int             `json:"fully_checked,omitempty"`
	Folders      []*FolderReport `json:"folders"`
	// Excluded are the source folders left out by --include/--exclude.
	Excluded []string `json:"excluded,omitempty"`
	// Renames are the folders whose names had to change on the server.
	Renames []plan.Rename `json:"renames,omitempty"`
	// UndecodableFolders are folders on the server whose names are not
	// valid modified UTF-7: no command can name them, so they were left
	// alone (neither read nor written).
	UndecodableFolders []string `json:"undecodable_server_folders,omitempty"`
	// NameRules says what the run learned about the server's rules for
	// folder names, and how (a test folder created and deleted).
	NameRules []string `json:"name_rules,omitempty"`
	// KeywordWarnings are keywords (tags) not stored on the server, once per
	// folder.
	KeywordWarnings []KeywordWarning `json:"keyword_warnings,omitempty"`
	Totals          Totals           `json:"totals"`
	// Files accounts for every file under the source (read as mail, no
	// mail, not read with the reason); set by the caller, which read the
	// source, when the source was read to the end.
	Files *formats.FileLedger `json:"files,omitempty"`
}

// FolderReport is one server folder.
type FolderReport struct {
	// Sources are the source folders (DisplayPath) mapped to this folder.
	Sources []string `json:"sources"`
	// Server is the folder's name on the server.
	Server string `json:"server"`
	// Created says the run created the folder.
	Created bool `json:"created,omitempty"`
	// Error says why the folder could not be created: its messages were
	// not uploaded.
	Error string `json:"error,omitempty"`
	// NotMail says why the source folder holds no mail (a calendar): it
	// was not created on the server (Server is empty) and its items are
	// counted as skipped.
	NotMail string `json:"not_mail,omitempty"`
	// Found is the number of source messages for this folder.
	Found    int `json:"found"`
	Uploaded int `json:"uploaded"`
	// Already counts source messages the server held before this run.
	Already int `json:"already_on_server"`
	// Skipped counts messages not uploaded by reason (deleted in the
	// source, not a mail message).
	Skipped     map[string]int `json:"skipped,omitempty"`
	Quarantined []Problem      `json:"quarantined,omitempty"`
	// Failed are messages that could not be read, or were not done because
	// the run stopped.
	Failed []Problem `json:"failed,omitempty"`
	// Incomplete are messages uploaded (or already there) although the
	// source itself holds only part of them.
	Incomplete []Problem `json:"incomplete,omitempty"`
	// NoDate counts messages uploaded without a received date: the server
	// gave them its own time.
	NoDate int `json:"no_date,omitempty"`
	// Bytes is the size of the messages uploaded.
	Bytes int64 `json:"bytes_uploaded"`
	// ServerBefore and ServerAfter are the number of messages in the folder
	// before the upload and at verification (-1 unknown).
	ServerBefore int           `json:"server_before"`
	ServerAfter  int           `json:"server_after"`
	Verify       *FolderVerify `json:"verify,omitempty"`
}

// StopReason says why a run stopped before its end.
type StopReason string

// Why runs stop.
const (
	StopInterrupted StopReason = "interrupted"   // Ctrl-C, a signal
	StopLogin       StopReason = "login-refused" // wrong user name or password, or a login the server refuses
	StopConfig      StopReason = "configuration" // a URL, a certificate, a folder pattern to fix
	StopOverQuota   StopReason = "over-quota"    // the mailbox on the server is full
	StopThrottled   StopReason = "throttled"     // the server kept asking to slow down
	StopDailyLimit  StopReason = "daily-limit"   // the provider's upload limit for the day is used up
	StopConnection  StopReason = "connection"    // the connection kept failing
	StopSource      StopReason = "source"        // the source could not be read
	StopServer      StopReason = "server"        // the server answered something the run cannot go on with
)

// RunAgainHelps reports whether running the same command again (now, or
// later for a server that asked to slow down) can get further, without
// the user changing anything first.
func (r StopReason) RunAgainHelps() bool {
	switch r {
	case StopInterrupted, StopThrottled, StopDailyLimit, StopConnection:
		return true
	}
	return false
}

// stopReason classifies the error that stopped a run.
func stopReason(err error) StopReason {
	var me *formats.MessageError
	switch {
	case errors.Is(err, context.Canceled):
		return StopInterrupted
	case errors.Is(err, ErrAuth):
		return StopLogin
	case errors.Is(err, ErrConfig):
		return StopConfig
	case errors.Is(err, ErrOverQuota):
		return StopOverQuota
	case errors.Is(err, ErrDailyLimit):
		return StopDailyLimit
	case errors.Is(err, ErrThrottled):
		return StopThrottled
	case errors.Is(err, ErrGaveUp):
		return StopConnection
	case errors.As(err, &me), errors.Is(err, errReadSource):
		return StopSource
	}
	return StopServer
}

// ProblemCode says what kind of problem a Problem is; code branches on
// it, people read Reason.
type ProblemCode string

// Problem codes.
const (
	// ProblemRefused: the server refused the message (quarantined).
	ProblemRefused ProblemCode = "refused"
	// ProblemNUL: the message holds NUL bytes, which IMAP does not allow
	// (quarantined, never sent).
	ProblemNUL ProblemCode = "nul"
	// ProblemConnection: the connection broke every time the message was
	// sent (quarantined).
	ProblemConnection ProblemCode = "connection"
	// ProblemNotMessage: bytes of the source that are not a message (text
	// before the first From_ line of an mbox file): kept in the
	// quarantine folder, never sent.
	ProblemNotMessage ProblemCode = "not-a-message"
	// ProblemUnreadable: the message could not be read from the source.
	ProblemUnreadable ProblemCode = "unreadable"
	// ProblemFolderRefused: the server refused to create the message's
	// folder under any name.
	ProblemFolderRefused ProblemCode = "folder-refused"
	// ProblemUnsent: our side could not send the message.
	ProblemUnsent ProblemCode = "unsent"
	// ProblemStopped: not done, because the run stopped; a re-run sends it.
	ProblemStopped ProblemCode = "stopped"
	// ProblemUnconfirmed: sent without an answer when the run stopped; a
	// re-run checks whether it arrived.
	ProblemUnconfirmed ProblemCode = "unconfirmed"
	// ProblemIncomplete: the source itself holds only part of the message
	// (uploaded as it is).
	ProblemIncomplete ProblemCode = "incomplete"
	// ProblemMissing: verification did not find the message on the server.
	ProblemMissing ProblemCode = "missing"
	// ProblemBodyDiffers: the server's copy has the same header and size
	// but other bytes.
	ProblemBodyDiffers ProblemCode = "body-differs"
	// ProblemChanged: the message is on the server, changed by the server
	// as it stored it.
	ProblemChanged ProblemCode = "changed"
)

// NotDone reports whether the problem is work a stopped run did not get
// to, which running the same command again takes care of.
func (c ProblemCode) NotDone() bool { return c == ProblemStopped || c == ProblemUnconfirmed }

// Problem is a message that needs the user's attention.
type Problem struct {
	// Pos is where the message is in the source (file:line (#index)).
	Pos       string `json:"pos"`
	MessageID string `json:"message_id,omitempty"`
	Reason    string `json:"reason"`
	// File is the quarantined copy, when one was written.
	File string `json:"file,omitempty"`
	// Code is the kind of problem (Reason says it in words).
	Code ProblemCode `json:"code,omitempty"`
}

// FolderVerify is the verification of one folder: the multiset of source
// fingerprints against the server's.
type FolderVerify struct {
	Status string `json:"status"`
	// Expected is the number of source messages that should be on the
	// server (found minus skipped, quarantined and failed).
	Expected int `json:"expected"`
	// OnServer is the number of messages the server holds.
	OnServer int `json:"on_server"`
	// Missing are source messages not on the server.
	Missing []Problem `json:"missing,omitempty"`
	// BodyDiffers are source messages whose server copy has the same
	// header and size but other bytes (found by the full check).
	BodyDiffers []Problem `json:"body_differs,omitempty"`
	// Changed are source messages on the server that the server changed
	// as it stored them (Reason says what): not missing, not a copy of the
	// source's bytes either.
	Changed []Problem `json:"changed,omitempty"`
	// Duplicates counts server messages that are copies of source
	// messages beyond the source's count of them.
	Duplicates int `json:"duplicates,omitempty"`
	// Extra counts server messages not from the source; ExtraIDs lists up
	// to maxExtraIDs of their Message-IDs.
	Extra    int      `json:"extra"`
	ExtraIDs []string `json:"extra_message_ids,omitempty"`
	Error    string   `json:"error,omitempty"`
}

const maxExtraIDs = 50

// KeywordWarning lists the keywords of one folder that were not stored.
type KeywordWarning struct {
	Server   string   `json:"server"`
	Keywords []string `json:"keywords"`
	Reason   string   `json:"reason"`
}

// Totals sum the folders.
type Totals struct {
	Folders        int   `json:"folders"`
	FoldersCreated int   `json:"folders_created"`
	Found          int   `json:"found"`
	Uploaded       int   `json:"uploaded"`
	Already        int   `json:"already_on_server"`
	Skipped        int   `json:"skipped"`
	Quarantined    int   `json:"quarantined"`
	Failed         int   `json:"failed"`
	Incomplete     int   `json:"incomplete"`
	NoDate         int   `json:"no_date"`
	Bytes          int64 `json:"bytes_uploaded"`
	// Excluded counts messages of excluded folders (not in Found).
	Excluded int `json:"excluded_messages"`
	Missing  int `json:"missing"`
	Changed  int `json:"changed,omitempty"`
	// Duplicates counts copies on the server beyond the source's count.
	Duplicates int `json:"duplicates,omitempty"`
	Extra      int `json:"extra"`
	// Mismatched counts folders whose status is "-" or "!".
	Mismatched int `json:"mismatched_folders"`
}

// SkippedTotal is the number of skipped messages of a folder.
func (f *FolderReport) SkippedTotal() int {
	n := 0
	for _, c := range f.Skipped {
		n += c
	}
	return n
}

// sum recomputes Totals from the folders.
func (r *Report) sum() {
	excluded := r.Totals.Excluded
	t := Totals{Excluded: excluded, Folders: len(r.Folders)}
	for _, f := range r.Folders {
		if f.Created {
			t.FoldersCreated++
		}
		t.Found += f.Found
		t.Uploaded += f.Uploaded
		t.Already += f.Already
		t.Skipped += f.SkippedTotal()
		t.Quarantined += len(f.Quarantined)
		t.Failed += len(f.Failed)
		t.Incomplete += len(f.Incomplete)
		t.NoDate += f.NoDate
		t.Bytes += f.Bytes
		if v := f.Verify; v != nil {
			t.Missing += len(v.Missing) + len(v.BodyDiffers)
			t.Changed += len(v.Changed)
			t.Duplicates += v.Duplicates
			t.Extra += v.Extra
			if v.Status == StatusMissing || v.Status == StatusError {
				t.Mismatched++
			}
		}
	}
	sort.Slice(r.KeywordWarnings, func(i, j int) bool { return r.KeywordWarnings[i].Server < r.KeywordWarnings[j].Server })
	r.Totals = t
}

// CheckTotals checks that every message is in exactly one bucket, per
// folder and in the totals: found = uploaded + already + skipped +
// quarantined + failed.
//
// For a Verify report, already counts the messages found on the server,
// and the missing ones are a bucket of their own.
func (r *Report) CheckTotals() error {
	var t Totals
	for _, f := range r.Folders {
		sum := f.Uploaded + f.Already + f.SkippedTotal() + len(f.Quarantined) + len(f.Failed)
		if r.Mode == ModeVerify && f.Verify != nil {
			sum += len(f.Verify.Missing)
		}
		if f.Found != sum {
			return fmt.Errorf("folder %q: found %d, but uploaded %d + already %d + skipped %d + quarantined %d + failed %d = %d",
				f.Server, f.Found, f.Uploaded, f.Already, f.SkippedTotal(), len(f.Quarantined), len(f.Failed), sum)
		}
		t.Found += f.Found
		t.Uploaded += f.Uploaded
		t.Already += f.Already
		t.Skipped += f.SkippedTotal()
		t.Quarantined += len(f.Quarantined)
		t.Failed += len(f.Failed)
	}
	got := r.Totals
	if got.Found != t.Found || got.Uploaded != t.Uploaded || got.Already != t.Already ||
		got.Skipped != t.Skipped || got.Quarantined != t.Quarantined || got.Failed != t.Failed {
		return fmt.Errorf("totals %+v do not match the folders (found %d, uploaded %d, already %d, skipped %d, quarantined %d, failed %d)",
			got, t.Found, t.Uploaded, t.Already, t.Skipped, t.Quarantined, t.Failed)
	}
	sum := got.Uploaded + got.Already + got.Skipped + got.Quarantined + got.Failed
	if r.Mode == ModeVerify {
		sum += got.Missing
	}
	if got.Found != sum {
		return fmt.Errorf("totals: found %d, but the buckets add up to %d", got.Found, sum)
	}
	return nil
}

// Err is the verdict of a finished run: ErrVerify when a folder is missing
// messages or could not be checked, ErrIncomplete when messages were
// quarantined, failed or incomplete in the source, else nil. Extra
// messages on the server are not an error.
func (r *Report) Err() error {
	t := r.Totals
	switch {
	case t.Mismatched > 0:
		return fmt.Errorf("%w: %d folder(s) do not match, %d message(s) missing on the server", ErrVerify, t.Mismatched, t.Missing)
	case t.Duplicates > 0:
		return fmt.Errorf("%w: the server holds %d duplicate(s) of source messages", ErrVerify, t.Duplicates)
	case t.Quarantined > 0 || t.Incomplete > 0 || t.Failed > 0:
		return fmt.Errorf("%w: %d quarantined, %d incomplete in the source, %d failed", ErrIncomplete, t.Quarantined, t.Incomplete, t.Failed)
	}
	return nil
}
