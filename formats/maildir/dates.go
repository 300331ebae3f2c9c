package maildir

import (
	"io"
	"os"
	"sort"
	"time"

	"mailferry/formats"
)

// Received dates of maildir messages: the file's modification time, unless
// a copy flattened the times of a whole folder (decideDates).

// altDate is the received date when the modification time is useless:
// the file name's seconds, else the top-most Received:, else Date:.
func altDate(base string, h formats.Header) (time.Time, formats.DateSource) {
	if t, ok := NameTime(base); ok {
		return t, formats.DateFileName
	}
	if t, ok := h.ReceivedDate(); ok && plausible(t) {
		return t, formats.DateReceived
	}
	if t, ok := h.Date(); ok && plausible(t) {
		return t, formats.DateHeader
	}
	return time.Time{}, formats.DateUnknown
}

// plausible rejects times no mail can have been received at: before 1990
// (an epoch-zero mtime from a broken copy) or more than a day ahead.
func plausible(t time.Time) bool {
	return !t.Before(time.Unix(minNameTime, 0)) && !t.After(time.Now().Add(24*time.Hour))
}

// readHead reads the start of a message up to the end of its header (at
// most maxHeader bytes).
func readHead(r io.Reader) []byte {
	var b []byte
	chunk := 16 << 10
	for len(b) < maxHeader {
		n := len(b)
		b = append(b, make([]byte, chunk)...)
		m, err := io.ReadFull(r, b[n:])
		b = b[:n+m]
		if err != nil || formats.HeaderEnd(b) >= 0 {
			break
		}
		chunk *= 2
	}
	return b
}

// maxHeader bounds how much of a message is searched for its header.
const maxHeader = 1 << 20

// decideDates marks the folders whose modification times were flattened
// by a copy: at least two files, all modification times within
// flattenWindow, but the names' or headers' dates spread wider. Folders
// that cannot tell by themselves (a single file, or files that did arrive
// within minutes) count as flattened when all their times lie within a
// flattened folder's cluster: the same copy made them. One
// warning per flattened folder says so.
func (r *Reader) decideDates() {
	type span struct{ lo, hi time.Time }
	var clusters []span
	for _, f := range r.folders {
		if len(f.files) < 2 {
			continue
		}
		lo, hi := mtimeSpan(f.files)
		if hi.Sub(lo) > flattenWindow {
			continue
		}
		var alts []time.Time
		for _, fe := range f.files {
			if t, ok := r.peekAltDate(fe); ok {
				alts = append(alts, t)
			}
		}
		if len(alts) < 2 {
			continue
		}
		sort.Slice(alts, func(i, j int) bool { return alts[i].Before(alts[j]) })
		if alts[len(alts)-1].Sub(alts[0]) <= flattenWindow {
			continue // they really did arrive within minutes
		}
		f.flattened = true
		clusters = append(clusters, span{lo, hi})
	}
	for _, f := range r.folders {
		if !f.flattened && len(f.files) > 0 {
			lo, hi := mtimeSpan(f.files)
			for _, c := range clusters {
				if !lo.Before(c.lo.Add(-flattenWindow)) && !hi.After(c.hi.Add(flattenWindow)) {
					f.flattened = true
					break
				}
			}
		}
		if f.flattened {
			lo, hi := mtimeSpan(f.files)
			r.opts.Warnf(formats.Pos{File: f.dir}, "the modification times of the %d file(s) of %s lie between %s and %s, though the messages arrived over a longer time: the maildir was copied without keeping times; using the time in the file name, else the Received:/Date: header, as the received date",
				len(f.files), f.box.Path, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
		}
	}
}

func mtimeSpan(files []file) (lo, hi time.Time) {
	for i, fe := range files {
		if i == 0 || fe.mtime.Before(lo) {
			lo = fe.mtime
		}
		if i == 0 || fe.mtime.After(hi) {
			hi = fe.mtime
		}
	}
	return lo, hi
}

// peekAltDate is altDate for the date decision, reading only the header
// when the name has no time.
func (r *Reader) peekAltDate(fe file) (time.Time, bool) {
	base, _, _ := ParseName(fe.name)
	if t, ok := NameTime(base); ok {
		return t, true
	}
	fh, err := os.Open(fe.path)
	if err != nil {
		return time.Time{}, false
	}
	defer fh.Close()
	t, src := altDate(base, formats.ParseHeader(readHead(fh)))
	return t, src != formats.DateUnknown
}

// flattenWindow is how close all modification times of a folder must lie
// to count as "copied without keeping times".
const flattenWindow = 5 * time.Minute
