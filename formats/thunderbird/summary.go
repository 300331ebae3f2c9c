package thunderbird

import (
	"mailferry/formats"
	"strings"
)

// msfIndex is a folder's summary, indexed for matching messages.
type msfIndex struct {
	byOffset map[int64]*msfMsg
	byToken  map[string]*msfMsg
	count    int
	used     int
}

// loadMSF reads a folder's summary for enrichment; a broken one is
// reported and ignored.
func (r *Reader) loadMSF(f *folder) *msfIndex {
	if f.msf == "" {
		return nil
	}
	info, err := readMSF(f.msf)
	if err != nil {
		r.warnf(formats.Pos{File: r.relPath(f.msf)}, "summary file not used (tags and junk state only in it are lost): %v", err)
		return nil
	}
	ix := &msfIndex{byOffset: map[int64]*msfMsg{}, byToken: map[string]*msfMsg{}, count: len(info.Msgs)}
	for _, m := range info.Msgs {
		if m.Offset >= 0 {
			ix.byOffset[m.Offset] = m
		}
		if m.Token != "" {
			ix.byToken[m.Token] = m
		}
	}
	return ix
}

// match finds the summary's record of a message, checking the Message-ID
// when both have one (a stale summary must not lend its flags to another
// message).
func (ix *msfIndex) match(m *msfMsg, h formats.Header) *msfMsg {
	if ix == nil || m == nil {
		return nil
	}
	if id, ok := h.Get("Message-ID"); ok && m.MessageID != "" {
		if strings.Trim(strings.TrimSpace(id), "<>") != m.MessageID {
			return nil
		}
	}
	ix.used++
	return m
}
