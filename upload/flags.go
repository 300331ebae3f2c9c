package upload

import (
	"regexp"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Keyword warnings.
const (
	reasonKeywordInvalid = "not a valid IMAP keyword (spaces, special or non-ASCII characters): not sent"
	reasonKeywordRefused = "the server keeps no new keywords in this folder (no \\* in PERMANENTFLAGS): not sent"
	reasonFlagUnknown    = "not a flag IMAP lets a client set: not sent"
)

var systemFlags = map[string]imap.Flag{
	`\seen`:     imap.FlagSeen,
	`\answered`: imap.FlagAnswered,
	`\flagged`:  imap.FlagFlagged,
	`\draft`:    imap.FlagDraft,
	`\deleted`:  imap.FlagDeleted,
}

// validKeyword reports whether s is an IMAP atom that servers accept as a
// keyword: printable ASCII without atom-specials (RFC 3501 flag-keyword;
// Dovecot refuses 8-bit atoms, go-imap fails the whole command on an
// invalid one).
func validKeyword(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`(){%*"\]`, c) >= 0 {
			return false
		}
	}
	return true
}

// appendFlags turns a message's flags into what APPEND may send to this
// folder, recording (once per folder) what it leaves out. Call with the
// ledger's lock held (ledger.flagsFor).
func (fs *folderState) appendFlags(flags []string) []imap.Flag {
	var out []imap.Flag
	drop := func(reason, f string) {
		if fs.dropped == nil {
			fs.dropped = map[string]map[string]bool{}
		}
		if fs.dropped[reason] == nil {
			fs.dropped[reason] = map[string]bool{}
		}
		fs.dropped[reason][f] = true
	}
	seen := map[imap.Flag]bool{}
	for _, f := range flags {
		var flag imap.Flag
		switch {
		case strings.HasPrefix(f, `\`):
			sf, ok := systemFlags[strings.ToLower(f)]
			if !ok {
				drop(reasonFlagUnknown, f)
				continue
			}
			flag = sf
		case !validKeyword(f):
			drop(reasonKeywordInvalid, f)
			continue
		case !fs.anyKW && !hasFlag(fs.permanent, f):
			drop(reasonKeywordRefused, f)
			continue
		case fs.refusedKW[strings.ToLower(f)] != "":
			drop(fs.refusedKW[strings.ToLower(f)], f)
			continue
		default:
			flag = imap.Flag(f)
		}
		key := imap.Flag(strings.ToLower(string(flag)))
		if !seen[key] {
			seen[key] = true
			out = append(out, flag)
		}
	}
	return out
}

// keywordRefusal matches a server's refusal of a message for one of its
// keywords (Dovecot: "NO [CANNOT] Keyword length too long"; others speak of
// an invalid keyword or flag).
var keywordRefusal = regexp.MustCompile(`(?i)\bkeywords?\b|\bflags?\b`)

// dropKeyword takes the longest keyword off a job the server refused for
// its keywords, remembers it as refused in the job's folder (so that no
// other message sends it) and reports it; false when the job has no
// keyword left. Long keywords are the ones servers refuse.
func (l *ledger) dropKeyword(j *job, answer string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	longest := -1
	for i, f := range j.flags {
		if !strings.HasPrefix(string(f), `\`) && (longest < 0 || len(f) > len(j.flags[longest])) {
			longest = i
		}
	}
	if longest < 0 {
		return false
	}
	kw := string(j.flags[longest])
	j.flags = append(j.flags[:longest:longest], j.flags[longest+1:]...)
	fs := j.fs
	if fs.refusedKW == nil {
		fs.refusedKW = map[string]string{}
	}
	reason := "the server refused it (" + answer + "): not sent"
	fs.refusedKW[strings.ToLower(kw)] = reason
	if fs.dropped == nil {
		fs.dropped = map[string]map[string]bool{}
	}
	if fs.dropped[reason] == nil {
		fs.dropped[reason] = map[string]bool{}
	}
	fs.dropped[reason][kw] = true
	return true
}

func hasFlag(l []imap.Flag, f string) bool {
	for _, x := range l {
		if strings.EqualFold(string(x), f) {
			return true
		}
	}
	return false
}
