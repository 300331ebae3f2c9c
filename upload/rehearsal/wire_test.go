package rehearsal

import (
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

func TestModifiedUTF7(t *testing.T) {
	tests := []struct{ utf8, mutf7 string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"a&b", "a&-b"},
		{"日本語", "&ZeVnLIqe-"},
		// RFC 3501 section 5.1.3's example.
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"😀", "&2D3eAA-"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := encodeMailbox(tt.utf8); got != tt.mutf7 {
			t.Errorf("encodeMailbox(%q) = %q, want %q", tt.utf8, got, tt.mutf7)
		}
		if got, err := decodeMailbox(tt.mutf7); err != nil || got != tt.utf8 {
			t.Errorf("decodeMailbox(%q) = %q, %v; want %q", tt.mutf7, got, err, tt.utf8)
		}
	}
	for _, bad := range []string{"&Jjo", "&AGE-", "&2D0-", "a\x80b", "tab\there", "&ZeV-", "&*-"} {
		if got, err := decodeMailbox(bad); err == nil {
			t.Errorf("decodeMailbox(%q) = %q, want an error", bad, got)
		}
	}
}

func FuzzModifiedUTF7(f *testing.F) {
	for _, s := range []string{"Entw&APw-rfe", "&ZeVnLIqe-", "&-", "&2D3eAA-", "plain"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := decodeMailbox(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(u) {
			t.Fatalf("decodeMailbox(%q) = %q, not UTF-8", s, u)
		}
		if back, err := decodeMailbox(encodeMailbox(u)); err != nil || back != u {
			t.Fatalf("round trip of %q: %q, %v", u, back, err)
		}
	})
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"INBOX", "*", true},
		{"a/b/c", "*", true},
		{"a/b/c", "%", false},
		{"a", "%", true},
		{"a/b", "a/%", true},
		{"a/b/c", "a/%", false},
		{"a/b/c", "a/*", true},
		{"a/b/c", "a/%/c", true},
		{"abc", "a%c", true},
		{"abc", "a%d", false},
		{"", "", true},
		{"x", "", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "*a*a*a*a*a*a*a*a*a*a*a*a*b", false},
	}
	for _, tt := range tests {
		if got := match(tt.name, tt.pattern, '/'); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.name, tt.pattern, got, tt.want)
		}
	}
}

// FuzzSession feeds arbitrary client bytes to a session: it must answer
// without panicking and end when the client goes away.
func FuzzSession(f *testing.F) {
	seeds := []string{
		"a LOGIN rehearsal pw\r\nb SELECT INBOX\r\nc FETCH 1:* (UID RFC822.SIZE BODY.PEEK[HEADER])\r\n",
		"a LOGIN rehearsal pw\r\nb APPEND INBOX (\\Seen kw) \" 5-Mar-2014 10:11:12 +0100\" {14+}\r\nSubject: x\r\n\r\n {3+}\r\nabc\r\n",
		"a LOGIN rehearsal pw\r\nb LIST (SPECIAL-USE) \"\" (\"*\" \"%\") RETURN (CHILDREN STATUS (MESSAGES SIZE))\r\n",
		"a LOGIN {9+}\r\nrehearsal {2+}\r\npw\r\nb CREATE \"a&APw-/b\"\r\nc STATUS a (MESSAGES UIDNEXT APPENDLIMIT)\r\n",
		"a AUTHENTICATE PLAIN AHJlaGVhcnNhbABwdw==\r\nb COMPRESS DEFLATE\r\n",
		"a LOGIN rehearsal pw\r\nb EXAMINE INBOX\r\nc UID FETCH 1:*,3 (FLAGS BODY[HEADER.FIELDS (Subject \"From\")]<0.10>)\r\n",
		"* \r\n{5}\r\n)))\r\na ID (\"x\" NIL)\r\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	srv, err := Start(Options{Password: "pw", TempDir: f.TempDir(), MaxConnections: 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		ss := &session{srv: srv, a: srv.a, w: newWire(server), capture: newCapture(srv.headers)}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = ss.run()
			server.Close()
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session did not end after the client left; input %q", in)
		}
		if ss.authed {
			srv.mu.Lock()
			srv.loggedIn-- // as serve does
			srv.mu.Unlock()
		}
	})
}

// lineMeter measures lines without their CRLF, whatever the reads'
// boundaries (a CRLF split between two reads included).
func TestLineMeter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"0123456789\r\nab\r\n", 10},
		{"ab\r\n0123456789\r\n", 10},
		{"ab\r\n0123456789", 10},
		{"ab\n0123456789\n", 10},
		{"\r\n\r\n", 0},
	} {
		for _, one := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tc.in)
			if one {
				r = iotest.OneByteReader(r)
			}
			m := &lineMeter{r: r}
			if _, err := io.Copy(io.Discard, m); err != nil {
				t.Fatal(err)
			}
			if m.longest != tc.want {
				t.Errorf("%q (byte by byte: %v): longest %d, want %d", tc.in, one, m.longest, tc.want)
			}
		}
	}
}
