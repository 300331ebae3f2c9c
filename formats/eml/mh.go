package eml

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MH folders (nmh, mh-e, Sylpheed, Claws Mail, Evolution's MH accounts)
// are directories of message files named 1, 2, 3, ... The eml reader reads
// them as it reads other files without an extension that plainly are
// messages; this file adds what is particular to them: their flags, kept
// in the folder's .mh_sequences file, and the order of their numbers.

// MHSequencesFile is the file in an MH folder that lists its sequences
// ("unseen: 3-5 9").
const MHSequencesFile = ".mh_sequences"

// mhFlags are the flags of an MH folder's messages by number, from the
// sequences nmh and Claws Mail keep: a message in "unseen" is unread
// (every other one read), one in "flagged" flagged, one in "replied"
// answered.
type mhFlags struct {
	unseen, flagged, replied map[int]bool
}

// maxSequencesSize bounds the .mh_sequences file read; real ones are a few
// lines.
const maxSequencesSize = 1 << 20

// readMHFlags reads the .mh_sequences of dir; nil when there is none (then
// the folder's messages get the default flags of the reader).
func readMHFlags(dir string) *mhFlags {
	f, err := os.Open(filepath.Join(dir, MHSequencesFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxSequencesSize {
		return nil
	}
	return parseMHSequences(f)
}

// parseMHSequences parses "name: ranges" lines; a line that starts with
// white space continues the one before (nmh folds long sequences).
func parseMHSequences(r io.Reader) *mhFlags {
	seqs := map[string]string{}
	last := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxSequencesSize)
	for sc.Scan() {
		line := sc.Text()
		if line != "" && (line[0] == ' ' || line[0] == '\t') && last != "" {
			seqs[last] += " " + line
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		last = strings.ToLower(strings.TrimSpace(name))
		seqs[last] = value
	}
	return &mhFlags{
		unseen:  mhRanges(seqs["unseen"]),
		flagged: mhRanges(seqs["flagged"]),
		replied: mhRanges(seqs["replied"]),
	}
}

// maxRange bounds one range of a sequence, so that a damaged "1-999999999"
// does not fill memory; MH folders do not hold that many messages.
const maxRange = 1 << 20

// mhRanges parses "1-3 7 9-10" into the set of message numbers.
func mhRanges(s string) map[int]bool {
	out := map[int]bool{}
	for _, f := range strings.Fields(s) {
		lo, hi, isRange := strings.Cut(f, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 1 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > maxRange {
				continue
			}
		}
		for n := a; n <= b; n++ {
			out[n] = true
		}
	}
	return out
}

// flags returns the flags of message number n.
func (m *mhFlags) flags(n int) []string {
	var fl []string
	if !m.unseen[n] {
		fl = append(fl, `\Seen`)
	}
	if m.replied[n] {
		fl = append(fl, `\Answered`)
	}
	if m.flagged[n] {
		fl = append(fl, `\Flagged`)
	}
	return fl
}

// mhNumber returns the message number of an MH message file name: digits
// only, not starting with 0.
func mhNumber(name string) (int, bool) {
	if name == "" || name[0] == '0' || len(name) > 9 {
		return 0, false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < '0' || name[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(name)
	return n, err == nil
}

// IsMHMessage reports whether path is a message file of an MH folder: a
// regular file named by a number (1, 2, 3, ...) that starts like a
// message.
func IsMHMessage(path string) bool {
	if _, ok := mhNumber(filepath.Base(path)); !ok {
		return false
	}
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular() && fileLooksLikeMail(path)
}

// sortMH puts the numbered files of an MH folder in the order of their
// numbers (10 after 9); other files keep their place after them.
func sortMH(files []file) {
	slices.SortStableFunc(files, func(a, b file) int {
		na, oka := mhNumber(filepath.Base(a.path))
		nb, okb := mhNumber(filepath.Base(b.path))
		switch {
		case oka && okb:
			return na - nb
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
}

// mhDeleted reports the name nmh's rmm gives a deleted message: its number
// behind a ',' (or '#' with some configurations).
func mhDeleted(name string) bool {
	if len(name) < 2 || name[0] != ',' && name[0] != '#' {
		return false
	}
	_, ok := mhNumber(name[1:])
	return ok
}
