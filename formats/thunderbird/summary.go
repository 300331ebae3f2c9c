package thunderbird

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailferry/formats"
)

// Thunderbird shows a folder's messages as its .msf summary says when the
// summary is current for the folder's store, and rebuilds the summary from
// the mbox headers (X-Mozilla-Status, X-Mozilla-Keys) when it is not. The
// two disagree in real profiles (messages marked unread after an import
// from .eml files are unread in the summary and read in the headers), so
// the reader decides as Thunderbird does which one to believe.

// msfVersion is the only summary version Thunderbird accepts
// (kMsgDBVersion in nsMsgDatabase.h).
const msfVersion = 1

// timestampLeeway is how many seconds the mbox's modification time may lie
// from the one the summary recorded: the default of Thunderbird's
// mail.db_timestamp_leeway pref (mailnews.js: more than an hour, so that a
// daylight saving change does not invalidate every summary).
const timestampLeeway = 4000

// summaryCurrent applies Thunderbird's test of whether a summary is
// current (nsMsgDatabase::OpenInternal, nsMailDatabase::GetSummaryValid and
// the stores' IsSummaryFileValid):
//
//   - the summary's version is msfVersion and it is not marked forceReparse;
//   - IMAP folders (the ImapMail offline cache) are not checked further:
//     Thunderbird only checks local folders, their state lives on the
//     server and in the summary;
//   - a local mbox folder: the mbox's size equals the summary's folderSize
//     and numNewMsgs is not negative; an empty one is then current, any
//     other also needs its modification time within timestampLeeway
//     seconds of folderDate;
//   - a maildir folder: the summary says maildirValid, or the folder has
//     no cur/ directory and the summary no messages.
//
// mbox is the mbox file's information (nil for maildir folders). why says
// in words what decided, for scan.
func summaryCurrent(info *msfInfo, f *folder, mbox os.FileInfo) (current bool, why string) {
	switch {
	case info.Version != msfVersion:
		return false, fmt.Sprintf("summary (.msf) of version %d, which Thunderbird rebuilds", info.Version)
	case info.ForceReparse:
		return false, "summary (.msf) marked for rebuilding (forceReparse)"
	case f.acct.IMAPCache:
		return true, "IMAP folder: Thunderbird keeps its state in the summary (.msf)"
	case f.kind == kindMaildir:
		if info.MaildirValid {
			return true, "summary (.msf) marked valid for the maildir"
		}
		if _, err := os.Stat(filepath.Join(f.path, "cur")); err != nil && info.NumMsgs == 0 {
			return true, "new maildir folder without messages"
		}
		return false, "summary (.msf) not marked valid for the maildir (maildirValid)"
	case mbox == nil:
		return false, "no mbox to compare the summary (.msf) with"
	case info.FolderSize != mbox.Size():
		return false, fmt.Sprintf("summary (.msf) out of date: it was made for an mbox of %d bytes, the mbox has %d", info.FolderSize, mbox.Size())
	case info.NumUnread < 0:
		return false, "summary (.msf) has a negative unread count"
	case info.FolderSize == 0:
		return true, "summary (.msf) current for the empty mbox"
	}
	// Thunderbird compares 32-bit seconds as a signed difference.
	diff := int32(uint32(mbox.ModTime().Unix()) - info.FolderDate)
	if diff < 0 {
		diff = -diff
	}
	if diff > timestampLeeway {
		return false, fmt.Sprintf("summary (.msf) out of date: it was made for the mbox as of %s, the mbox was modified %s",
			time.Unix(int64(info.FolderDate), 0).UTC().Format(time.RFC3339), mbox.ModTime().UTC().Format(time.RFC3339))
	}
	return true, "summary (.msf) current: the mbox's size and modification time match it"
}

// msfIndex is a folder's summary, indexed for matching messages.
type msfIndex struct {
	current  bool // Thunderbird would show what the summary says
	byOffset map[int64]*msfMsg
	byToken  map[string]*msfMsg
	byID     map[string]*msfMsg
	count    int
	matched  int // messages read that have a record (current summaries)
	missing  int // messages read that have none (current summaries)
}

// loadMSF reads a folder's summary and decides, as Thunderbird does,
// whether it is current for the folder's store (mbox: the mbox file's
// information; nil for maildir folders). It records the decision in the
// folder's mailbox (FlagSource, FlagNote). A broken summary is reported
// and ignored; nil means there is none to use.
func (r *Reader) loadMSF(f *folder, mbox os.FileInfo) *msfIndex {
	box := f.box
	box.FlagSource = formats.FlagsFromHeaders
	if f.msf == "" {
		box.FlagNote = "no summary file (.msf)"
		return nil
	}
	info, err := readMSF(f.msf)
	if err != nil {
		box.FlagNote = fmt.Sprintf("summary file (.msf) unreadable: %v", err)
		r.warnf(formats.Pos{File: r.relPath(f.msf)}, "summary file not used (tags and junk state only in it are lost): %v", err)
		return nil
	}
	ix := &msfIndex{byOffset: map[int64]*msfMsg{}, byToken: map[string]*msfMsg{}, byID: map[string]*msfMsg{}, count: len(info.Msgs)}
	ix.current, box.FlagNote = summaryCurrent(info, f, mbox)
	if ix.current {
		box.FlagSource = formats.FlagsFromSummary
	}
	for _, m := range info.Msgs {
		if m.Offset >= 0 {
			ix.byOffset[m.Offset] = m
		}
		if m.Token != "" {
			ix.byToken[m.Token] = m
		}
		if m.MessageID != "" && ix.byID[m.MessageID] == nil {
			ix.byID[m.MessageID] = m
		}
	}
	return ix
}

// record finds the summary's record of a message. A current summary ties
// its rows to messages by their store token (the mbox offset of the From_
// line, or the maildir file name; byStore), checked against the
// Message-ID when both have one. A stale summary is what Thunderbird's
// rebuild copies tags and junk state from, by Message-ID
// (nsParseMailbox.cpp, FinalizeHeaders: GetMsgHdrForMessageID on the
// backup database).
func (ix *msfIndex) record(byStore *msfMsg, h formats.Header) *msfMsg {
	if ix == nil {
		return nil
	}
	id, hasID := h.Get("Message-ID")
	id = strings.Trim(strings.TrimSpace(id), "<>")
	if !ix.current {
		if !hasID || id == "" {
			return nil
		}
		return ix.byID[id]
	}
	if byStore != nil && hasID && byStore.MessageID != "" && id != byStore.MessageID {
		byStore = nil // another message now lies where the summary says
	}
	return byStore
}

// tally counts, for a current summary, the messages read with and without
// a record (deleted ones not counted).
func (ix *msfIndex) tally(rec *msfMsg, m *formats.Message) {
	if ix == nil || !ix.current || m.Skip == formats.SkipDeleted || m.Quarantine != "" {
		return
	}
	if rec != nil {
		ix.matched++
	} else {
		ix.missing++
	}
}

// finish warns when a current summary and the folder disagree about
// which messages there are. what names the folder's messages ("the mbox
// holds", "the folder holds").
func (ix *msfIndex) finish(r *Reader, f *folder, what string) {
	if ix == nil || !ix.current || f.acct.IMAPCache {
		return // an offline cache holds fewer bodies than headers by design
	}
	if ix.missing > 0 {
		r.warnf(formats.Pos{File: f.rel}, "%s %d message(s) that the current summary (.msf) does not list: Thunderbird does not show them (deleted, awaiting compaction?); they are read, with the flags of their own headers", what, ix.missing)
	}
	if n := ix.count - ix.matched; n > 0 {
		r.warnf(formats.Pos{File: f.rel}, "the summary (.msf) lists %d message(s) that are not in the folder's store; nothing to read for them", n)
	}
}
