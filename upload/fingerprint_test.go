package upload

import (
	"bytes"
	"strings"
	"testing"
)

func fpOf(t *testing.T, s string) (Fingerprint, string) {
	t.Helper()
	fp, id, err := FingerprintOf(strings.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	return fp, id
}

func headerOf(t *testing.T, s string) [32]byte {
	fp, _ := fpOf(t, s)
	return fp.Header
}

func TestFingerprintHeader(t *testing.T) {
	base := "From: a@x\r\nSubject: hi\r\n\r\nbody\r\n"
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"body does not count", base, "From: a@x\r\nSubject: hi\r\n\r\nother body\r\n", true},
		{"LF and CRLF", base, "From: a@x\nSubject: hi\n\nbody\n", true},
		{"server adds a blank line to a header-only message", "From: a@x\r\nSubject: hi\r\n", "From: a@x\r\nSubject: hi\r\n\r\n", true},
		{"header as the server returns it", base, "From: a@x\r\nSubject: hi\r\n\r\n", true},
		{"a header differs", base, "From: a@x\r\nSubject: ho\r\n\r\nbody\r\n", false},
		{"header order matters", base, "Subject: hi\r\nFrom: a@x\r\n\r\nbody\r\n", false},
		{"folding is kept", "Subject: a\r\n b\r\n\r\n", "Subject: a b\r\n\r\n", false},
		{"a malformed line ends the header", "From: a@x\r\nnot a header line\r\nSubject: x\r\n\r\n", "From: a@x\r\n\r\n", true},
		{"no header at all", "just text\r\nmore\r\n", "", true},
		{"trailing CRs", "From: a@x\r\r\n\r\n", "From: a@x\r\n\r\n", true},
		{"same Message-ID, different Received", "Received: by a\r\nMessage-ID: <1@x>\r\n\r\n", "Received: by b\r\nMessage-ID: <1@x>\r\n\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := headerOf(t, tt.a), headerOf(t, tt.b)
			if (a == b) != tt.same {
				t.Errorf("header hashes of %q and %q: equal = %v, want %v", tt.a, tt.b, a == b, tt.same)
			}
		})
	}
	if headerOf(t, "") != emptyHeader {
		t.Errorf("empty message does not hash to emptyHeader")
	}
}

func TestFingerprintSizeCounts(t *testing.T) {
	a, _ := fpOf(t, "From: a\r\n\r\nx\r\n")
	b, _ := fpOf(t, "From: a\r\n\r\nxy\r\n")
	if a == b {
		t.Errorf("messages of different sizes share fingerprint %v", a)
	}
	if a.Header != b.Header {
		t.Errorf("same header, different header hash")
	}
}

func TestFingerprintStreaming(t *testing.T) {
	msg := "Received: from x\r\n\tby y\r\nMessage-ID:\r\n <folded@id>\r\nSubject: s\r\n\r\nbody\r\n"
	whole, id := fpOf(t, msg)
	if id != "<folded@id>" {
		t.Errorf("Message-ID = %q, want <folded@id>", id)
	}
	for _, step := range []int{1, 2, 3, 7} {
		hh := newHeaderHasher()
		for i := 0; i < len(msg); i += step {
			hh.Write([]byte(msg[i:min(i+step, len(msg))]))
		}
		h, id2 := hh.sum()
		if h != whole.Header || id2 != id {
			t.Errorf("written %d bytes at a time: %x %q, want %x %q", step, h[:4], id2, whole.Header[:4], id)
		}
	}
	// A reused hasher starts over.
	hh := newHeaderHasher()
	hh.Write([]byte("Subject: other\r\n\r\n"))
	hh.sum()
	hh.reset()
	hh.Write([]byte(msg))
	if h, _ := hh.sum(); h != whole.Header {
		t.Errorf("reset hasher gives a different hash")
	}
}

func TestFingerprintLongLine(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", maxHeaderLine+10) + "\r\n"
	a := headerOf(t, "From: a\r\n"+long+"Subject: 1\r\n\r\n")
	b := headerOf(t, "From: a\r\n"+long+"Subject: 2\r\n\r\n")
	if a != b || a != headerOf(t, "From: a\r\n\r\n") {
		t.Errorf("a line over %d bytes must end the header", maxHeaderLine)
	}
	// Binary garbage without newlines stops early instead of buffering.
	hh := newHeaderHasher()
	hh.Write(bytes.Repeat([]byte{'z'}, 3*maxHeaderLine))
	if !hh.done || len(hh.line) > 2*maxHeaderLine {
		t.Errorf("hasher kept %d bytes of one line", len(hh.line))
	}
}

func TestServerSetTake(t *testing.T) {
	a, _ := fpOf(t, "From: a\r\n\r\nx\r\n")
	b, _ := fpOf(t, "From: b\r\n\r\nx\r\n")
	s := newServerSet()
	s.add(a, "")
	s.add(a, "")
	s.add(Fingerprint{Header: emptyHeader, Size: b.Size}, "")
	if _, ok := s.take(a); !ok {
		t.Fatal("first copy of a not taken")
	}
	if _, ok := s.take(a); !ok {
		t.Fatal("second copy of a not taken")
	}
	// The third take of a falls back to the header-less message of the same size.
	if key, ok := s.take(a); !ok || key.Header != emptyHeader {
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
