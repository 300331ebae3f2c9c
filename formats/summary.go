package formats

import (
	"context"
	"io"
	"slices"
)

// FolderSummary counts what one source mailbox holds.
type FolderSummary struct {
	Mailbox *Mailbox `json:"-"`
	// Messages are the messages the user sees: skipped and quarantined
	// ones not included.
	Messages   int            `json:"messages"`
	Bytes      int64          `json:"bytes"`
	Read       int            `json:"read"`
	Flagged    int            `json:"flagged"`
	Incomplete int            `json:"incomplete"`
	Skipped    map[string]int `json:"skipped,omitempty"`
	// Quarantined counts, by reason, what the source holds that is kept
	// but never uploaded (Message.Quarantine).
	Quarantined map[string]int     `json:"quarantined,omitempty"`
	Dates       map[DateSource]int `json:"dates,omitempty"`
	Keywords    map[string]int     `json:"keywords,omitempty"`
	// FlagSource and FlagNote are the mailbox's, once it has been read
	// (see Mailbox.FlagSource).
	FlagSource FlagSource `json:"flag_source,omitempty"`
	FlagNote   string     `json:"flag_note,omitempty"`
}

// Summary is what a whole source holds, folder by folder, in the order the
// reader reported the mailboxes.
type Summary struct {
	Folders  []*FolderSummary
	Warnings []Warning
	Totals   FolderSummary
}

// Summarize reads r to the end and counts its messages. onMessage, when not
// nil, sees every message (for progress). Per-message bytes are not read:
// Size is enough.
func Summarize(ctx context.Context, r Reader, onMessage func(*Message)) (*Summary, error) {
	boxes, err := r.Mailboxes(ctx)
	if err != nil {
		return nil, err
	}
	s := &Summary{}
	byBox := map[*Mailbox]*FolderSummary{}
	add := func(b *Mailbox) *FolderSummary {
		fs := &FolderSummary{Mailbox: b}
		byBox[b] = fs
		s.Folders = append(s.Folders, fs)
		return fs
	}
	for _, b := range boxes {
		add(b)
	}
	for {
		m, err := r.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		if onMessage != nil {
			onMessage(m)
		}
		fs := byBox[m.Mailbox]
		if fs == nil { // a reader that forgot a mailbox: still count it
			fs = add(m.Mailbox)
		}
		fs.count(m)
		s.Totals.count(m)
	}
	for _, fs := range s.Folders {
		fs.FlagSource, fs.FlagNote = fs.Mailbox.FlagSource, fs.Mailbox.FlagNote
	}
	return s, nil
}

func (fs *FolderSummary) count(m *Message) {
	if m.Quarantine != "" {
		if fs.Quarantined == nil {
			fs.Quarantined = map[string]int{}
		}
		fs.Quarantined[m.Quarantine]++
		return
	}
	if m.Skip != "" {
		if fs.Skipped == nil {
			fs.Skipped = map[string]int{}
		}
		fs.Skipped[m.Skip]++
		return
	}
	fs.Messages++
	fs.Bytes += m.Size
	if slices.Contains(m.Flags, `\Seen`) {
		fs.Read++
	}
	if slices.Contains(m.Flags, `\Flagged`) {
		fs.Flagged++
	}
	if m.Incomplete != "" {
		fs.Incomplete++
	}
	if fs.Dates == nil {
		fs.Dates = map[DateSource]int{}
	}
	src := m.DateSource
	if src == DateUnknown {
		src = "none"
	}
	fs.Dates[src]++
	for _, f := range m.Flags {
		if len(f) > 0 && f[0] != '\\' {
			if fs.Keywords == nil {
				fs.Keywords = map[string]int{}
			}
			fs.Keywords[f]++
		}
	}
}

// SkippedTotal is the number of skipped messages over all reasons.
func (fs *FolderSummary) SkippedTotal() int {
	n := 0
	for _, c := range fs.Skipped {
		n += c
	}
	return n
}

// QuarantinedTotal is the number of quarantined items over all reasons.
func (fs *FolderSummary) QuarantinedTotal() int {
	n := 0
	for _, c := range fs.Quarantined {
		n += c
	}
	return n
}
