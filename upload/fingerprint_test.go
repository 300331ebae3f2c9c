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
	s.add(a, "")
	s.add(a, "")
	s.add(Fingerprint{Header: fingerprint.EmptyHeader, Size: b.Size}, "")
	if _, ok := s.take(a); !ok {
		t.Fatal("first copy of a not taken")
	}
	if _, ok := s.take(a); !ok {
		t.Fatal("second copy of a not taken")
	}
	// The third take of a falls back to the header-less message of the same size.
	if key, ok := s.take(a); !ok || key.Header != fingerprint.EmptyHeader {
		t.Fatalf("weak match: key %v ok %v", key, ok)
	}
	if _, ok := s.take(b); ok {
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
	set.add(a, "<a>")
	set.add(c, "<c>")
	set.add(c, "<c>")
	src := []*sourceEntry{
		{fp: a, msgID: "<a>"},
		{fp: a, msgID: "<a>"}, // a second copy: missing
		{fp: b, msgID: "<b>", state: entryQuarantined},
		{fp: c, state: entryQuarantined}, // on the server anyway: not extra
	}
	v := compare(src, set)
	if v.Status != StatusMissing || len(v.Missing) != 1 || v.Expected != 2 || v.Extra != 1 || v.OnServer != 3 {
		t.Errorf("compare = %+v, want 1 missing of 2 expected, 1 extra, 3 on server", v)
	}
	if len(v.ExtraIDs) != 1 || v.ExtraIDs[0] != "<c>" {
		t.Errorf("ExtraIDs = %q, want [<c>]", v.ExtraIDs)
	}
}
