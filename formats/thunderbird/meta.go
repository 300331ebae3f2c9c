package thunderbird

import (
	"strings"
	"time"

	"mailferry/formats"
	"mailferry/formats/mbox"
)

// applyMeta sets a message's flags, skip and incomplete state, and date
// from its header, From_ line, summary record and file time. With
// fromSummary (the summary is current and has rec), flags and tags are
// the summary's, as Thunderbird shows them. Otherwise they are the
// headers' (X-Mozilla-Status and X-Mozilla-Status2, else Status:; tags
// from X-Mozilla-Keys), plus the tags of rec, as Thunderbird's rebuild of
// a stale summary keeps them. Junk state lives only in the summary and is
// taken from rec either way.
func (r *Reader) applyMeta(m *formats.Message, f *folder, h formats.Header, fromLine string, mtime time.Time, rec *msfMsg, fromSummary bool) {
	var flags uint32
	var keys []string
	if fromSummary && rec != nil {
		flags, keys = rec.Flags, rec.Keywords
	} else {
		var ok bool
		if flags, ok = mozStatus(h); !ok {
			flags, _ = berkeleyStatus(h)
		}
		keys = mozKeys(h)
		if rec != nil {
			keys = append(keys, rec.Keywords...)
		}
	}
	m.Flags = imapFlags(flags)
	if flags&flagRedirected != 0 && fromSummary {
		m.Flags = addFlag(m.Flags, "$Redirected")
	}
	if f.box.Special == formats.SpecialDrafts {
		m.Flags = addFlag(m.Flags, `\Draft`)
	}
	if rec != nil {
		switch {
		case rec.JunkScore == "100":
			keys = append(keys, "$Junk")
		case rec.JunkScore == "0" && rec.JunkFrom == "user":
			keys = append(keys, "$NotJunk")
		}
	}
	for _, k := range keys {
		kw, changed := formats.SanitizeKeyword(k)
		if changed {
			r.warnf(m.Pos, "tag %q is not a valid IMAP keyword; uploaded as %q", k, kw)
		}
		if kw != "" && !strings.HasPrefix(kw, `\`) {
			m.Flags = addFlag(m.Flags, kw)
		}
	}
	switch {
	case flags&flagExpunged != 0:
		m.Skip = formats.SkipDeleted
	case flags&flagIMAPDeleted != 0 && f.acct.IMAPCache:
		m.Skip = SkipIMAPDeleted
	}
	if flags&flagPartial != 0 {
		m.Incomplete = IncompletePartial
	}
	m.Date, m.DateSource = r.receivedDate(h, fromLine, mtime)
}

// receivedDate picks the received date: the top-most Received:
// header, the Date: header, the From_ line, the file's mtime. A date more
// than a day in the future is a broken clock and is passed over.
func (r *Reader) receivedDate(h formats.Header, fromLine string, mtime time.Time) (time.Time, formats.DateSource) {
	limit := time.Now().Add(24 * time.Hour) // only to reject broken dates, never used as a date
	if t, ok := h.ReceivedDate(); ok && t.Before(limit) {
		return t, formats.DateReceived
	}
	if t, ok := h.Date(); ok && t.Before(limit) {
		return t, formats.DateHeader
	}
	if fromLine != "" {
		if _, t, ok := mbox.ParseFromLine(fromLine, time.UTC); ok {
			if t.Before(tbUTCSince) {
				_, t, ok = mbox.ParseFromLine(fromLine, r.opts.Location)
			}
			if ok && t.Before(limit) {
				return t, formats.DateFromLine
			}
		}
	}
	if !mtime.IsZero() && mtime.Before(limit) {
		return mtime, formats.DateFileMtime
	}
	return time.Time{}, formats.DateUnknown
}
