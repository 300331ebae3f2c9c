package upload

import (
	"fmt"

	"github.com/emersion/go-imap/v2"

	"mailferry/upload/fingerprint"
)

// Identity is the identity of a message (see package fingerprint).
type Identity = fingerprint.Identity

// serverSet is the multiset of the messages of one server folder, by
// their fingerprint (the key), with indexes by the looser keys of their
// Identity so that a message the server changed as it stored it is still
// found.
type serverSet struct {
	count map[Fingerprint]int
	loose map[[32]byte][]Fingerprint // Identity.Loose -> keys
	weak  map[[32]byte][]Fingerprint // Identity.Weak -> keys
	ids   map[Fingerprint]string     // a Message-ID per key, for reports
	// uids, when not nil, collects the server's UIDs per key (for the
	// sample compared in full).
	uids  map[Fingerprint][]imap.UID
	total int
}

func newServerSet() *serverSet {
	return &serverSet{count: map[Fingerprint]int{}, loose: map[[32]byte][]Fingerprint{}, weak: map[[32]byte][]Fingerprint{}}
}

func (s *serverSet) add(id Identity) {
	k := id.Fingerprint
	if s.count[k] == 0 {
		s.index(k, id.Loose, id.Weak)
	}
	s.count[k]++
	s.total++
	if id.MessageID != "" && s.ids != nil {
		if _, ok := s.ids[k]; !ok {
			s.ids[k] = id.MessageID
		}
	}
}

// index records the looser keys of a message (a zero key is none).
func (s *serverSet) index(k Fingerprint, loose, weak [32]byte) {
	if loose != ([32]byte{}) {
		s.loose[loose] = append(s.loose[loose], k)
	}
	if weak != ([32]byte{}) {
		s.weak[weak] = append(s.weak[weak], k)
	}
}

// match is how a source message was found on the server.
type match int

const (
	matchNone match = iota
	// matchExact: the same header and size.
	matchExact
	// matchSize: the same size, on a server that returned an empty header
	// (go-imap's memory server cannot parse a malformed one).
	matchSize
	// matchLoose: the same size and header but for 8-bit bytes the server
	// replaced (Cyrus munge8bit).
	matchLoose
	// matchWeak: the same Message-ID, Date and From; the server changed
	// other header lines or the size.
	matchWeak
)

// changed says what the server changed in a message it stored, for a
// match that is not exact (and "" for one that is).
func (m match) changed(source, server Fingerprint) string {
	switch m {
	case matchLoose:
		return "the server replaced 8-bit characters in its header fields"
	case matchWeak:
		if d := server.Size - source.Size; d != 0 {
			return fmt.Sprintf("the server changed its header (%+d bytes)", d)
		}
		return "the server changed its header"
	}
	return ""
}

// take removes one server message matching id, trying the keys from the
// strictest to the loosest up to most, and returns its key and how it
// matched. Every level but matchWeak requires the same size, so that a
// take after a broken connection (reconcile, up to matchLoose) stays
// within the messages of one lane (lanes.go).
func (s *serverSet) take(id Identity, most match) (Fingerprint, match) {
	fp := id.Fingerprint
	if s.count[fp] > 0 {
		s.count[fp]--
		return fp, matchExact
	}
	weak := Fingerprint{Header: fingerprint.EmptyHeader, Size: fp.Size}
	if s.count[weak] > 0 {
		s.count[weak]--
		return weak, matchSize
	}
	if most >= matchLoose && id.Loose != ([32]byte{}) {
		for _, k := range s.loose[id.Loose] {
			if k.Size == fp.Size && s.count[k] > 0 {
				s.count[k]--
				return k, matchLoose
			}
		}
	}
	if most >= matchWeak && id.Weak != ([32]byte{}) {
		for _, k := range s.weak[id.Weak] {
			if s.count[k] > 0 {
				s.count[k]--
				return k, matchWeak
			}
		}
	}
	return Fingerprint{}, matchNone
}

// keep removes the messages whose key is not kept (their index entries
// stay, and take skips them).
func (s *serverSet) keep(kept func(Fingerprint) bool) {
	for k, c := range s.count {
		if !kept(k) {
			delete(s.count, k)
			s.total -= c
		}
	}
}

// merge adds the messages of o.
func (s *serverSet) merge(o *serverSet) {
	for k, c := range o.count {
		if c > 0 {
			s.count[k] += c
			s.total += c
		}
	}
	for l, ks := range o.loose {
		s.loose[l] = append(s.loose[l], ks...)
	}
	for w, ks := range o.weak {
		s.weak[w] = append(s.weak[w], ks...)
	}
}

// remaining is the number of messages not taken.
func (s *serverSet) remaining() int {
	n := 0
	for _, c := range s.count {
		n += c
	}
	return n
}
