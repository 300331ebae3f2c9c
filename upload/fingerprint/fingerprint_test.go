package fingerprint

import (
	"bytes"
	"strings"
	"testing"
)

func fpOf(t *testing.T, s string) (Fingerprint, string) {
	t.Helper()
	fp, id, err := Of(strings.NewReader(s), int64(len(s)))
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
	if headerOf(t, "") != EmptyHeader {
		t.Errorf("empty message does not hash to EmptyHeader")
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
		hh := NewHasher()
		for i := 0; i < len(msg); i += step {
			hh.Write([]byte(msg[i:min(i+step, len(msg))]))
		}
		h, id2 := hh.Sum()
		if h != whole.Header || id2 != id {
			t.Errorf("written %d bytes at a time: %x %q, want %x %q", step, h[:4], id2, whole.Header[:4], id)
		}
	}
	// A reused hasher starts over.
	hh := NewHasher()
	hh.Write([]byte("Subject: other\r\n\r\n"))
	hh.Sum()
	hh.Reset()
	hh.Write([]byte(msg))
	if h, _ := hh.Sum(); h != whole.Header {
		t.Errorf("reset hasher gives a different hash")
	}
}

func TestFingerprintLongLine(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", MaxHeaderLine+10) + "\r\n"
	a := headerOf(t, "From: a\r\n"+long+"Subject: 1\r\n\r\n")
	b := headerOf(t, "From: a\r\n"+long+"Subject: 2\r\n\r\n")
	if a != b || a != headerOf(t, "From: a\r\n\r\n") {
		t.Errorf("a line over %d bytes must end the header", MaxHeaderLine)
	}
	// Binary garbage without newlines stops early instead of buffering.
	hh := NewHasher()
	hh.Write(bytes.Repeat([]byte{'z'}, 3*MaxHeaderLine))
	if !hh.Done() || len(hh.line) > 2*MaxHeaderLine {
		t.Errorf("hasher kept %d bytes of one line", len(hh.line))
	}
}

func identity(t *testing.T, s string) Identity {
	t.Helper()
	id, err := IdentityOf(strings.NewReader(s), int64(len(s)))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// What servers do to a message as they store it, and which key still
// recognises it.
func TestIdentityOfChangedMessages(t *testing.T) {
	orig := "Message-ID: <1@x>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0100\r\nFrom: J\xc3\xbcrgen <j@x>\r\nSubject: Gr\xc3\xbc\xc3\x9fe\r\n\r\nbody\r\n"
	tests := []struct {
		name               string
		stored             string
		exact, loose, weak bool
	}{
		{"stored as sent", orig, true, true, true},
		{"Cyrus munge8bit: each 8-bit byte becomes X", strings.NewReplacer("\xc3\xbc", "XX", "\xc3\x9f", "XX").Replace(orig), false, true, true},
		{"8-bit bytes become one ?", strings.NewReplacer("\xc3\xbc", "?", "\xc3\x9f", "?").Replace(orig), false, false, true},
		{"a header line added", "Return-Path: <j@x>\r\n" + orig, false, false, true},
		{"another message", strings.Replace(orig, "<1@x>", "<2@x>", 1), false, false, false},
	}
	a := identity(t, orig)
	for _, tt := range tests {
		b := identity(t, tt.stored)
		if got := a.Fingerprint == b.Fingerprint; got != tt.exact {
			t.Errorf("%s: exact match %v, want %v", tt.name, got, tt.exact)
		}
		if got := a.Loose == b.Loose; got != tt.loose {
			t.Errorf("%s: loose match %v, want %v", tt.name, got, tt.loose)
		}
		if got := a.Weak == b.Weak; got != tt.weak {
			t.Errorf("%s: weak match %v, want %v", tt.name, got, tt.weak)
		}
	}
	if id := identity(t, "Subject: no id\r\n\r\n"); id.Weak != ([32]byte{}) {
		t.Errorf("a message without Message-ID has a weak key")
	}
}
