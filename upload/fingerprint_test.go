package upload

import (
	"strings"
	"testing"

	"mailferry/upload/fingerprint"
)

func fpOf(t *testing.T, s string) (Fingerprint, string) {
	t.Helper()
	fp, id, err := fingerprint.Of(strings.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	return fp, id
}

func TestServerSetTake(t *testing.T) {
	a, _ := fpOf(t, "From: a\r\n\r\nx\r\n")
	b, _ := fpOf(t, "From: b\r\n\r\nx\r\n")
	s := newServerSet()
	s.add(Identity{Fingerprint: a})
	s.add(Identity{Fingerprint: a})
	s.add(Identity{Fingerprint: Fingerprint{Header: fingerprint.EmptyHeader, Size: b.Size}})
	if _, how := s.take(Identity{Fingerprint: a}, matchWeak); how == matchNone {
		t.Fatal("first copy of a not taken")
	}
	if _, how := s.take(Identity{Fingerprint: a}, matchWeak); how == matchNone {
		t.Fatal("second copy of a not taken")
	}
	// The third take of a falls back to the header-less message of the same size.
	if key, how := s.take(Identity{Fingerprint: a}, matchWeak); how != matchSize || key.Header != fingerprint.EmptyHeader {
		t.Fatalf("size-only match: key %v how %v", key, how)
	}
	if _, how := s.take(Identity{Fingerprint: b}, matchWeak); how != matchNone {
		t.Fatal("b taken from an exhausted set")
	}
	if s.remaining() != 0 {
		t.Errorf("remaining = %d, want 0", s.remaining())
	}
}

func TestCompare(t *testing.T) {
	a, _ := fpOf(t, "From: a\r\n\r\nx\r\n")
	b, _ := fpOf(t, "From: b\r\n\r\nx\r\n")
	c, _ := fpOf(t, "From: c\r\n\r\nx\r\n")
	set := newServerSet()
	set.ids = map[Fingerprint]string{}
	set.add(Identity{Fingerprint: a, MessageID: "<a>"})
	set.add(Identity{Fingerprint: c, MessageID: "<c>"})
	set.add(Identity{Fingerprint: c, MessageID: "<c>"})
	src := []*sourceEntry{
		{id: Identity{Fingerprint: a}, msgID: "<a>"},
		{id: Identity{Fingerprint: a}, msgID: "<a>"}, // a second copy: missing
		{id: Identity{Fingerprint: b}, msgID: "<b>", state: entryQuarantined},
		{id: Identity{Fingerprint: c}, state: entryQuarantined}, // on the server anyway: not extra
	}
	v := compare(src, set)
	if v.Status != StatusMissing || len(v.Missing) != 1 || v.Expected != 2 || v.Extra != 1 || v.OnServer != 3 {
		t.Errorf("compare = %+v, want 1 missing of 2 expected, 1 extra, 3 on server", v)
	}
	if len(v.ExtraIDs) != 1 || v.ExtraIDs[0] != "<c>" {
		t.Errorf("ExtraIDs = %q, want [<c>]", v.ExtraIDs)
	}
}
