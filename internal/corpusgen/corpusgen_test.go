package corpusgen

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/maildir"
	"mailferry/formats/mbox"
	"mailferry/formats/thunderbird"
)

// digest generates a corpus and hashes everything about it.
func digest(opts Options) (sum [32]byte, n int) {
	h := sha256.New()
	g := New(opts)
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		n++
		h.Write([]byte(m.Date.String()))
		for _, f := range m.Flags {
			h.Write([]byte(f))
		}
		h.Write(m.Data)
	}
	copy(sum[:], h.Sum(nil))
	return sum, n
}

func TestDeterministic(t *testing.T) {
	base := Options{Seed: 1, Messages: 300, HugeEvery: 100}
	a, _ := digest(base)
	b, _ := digest(base)
	if a != b {
		t.Fatalf("two corpora with the same options differ")
	}
	other := base
	other.Seed = 2
	if c, _ := digest(other); c == a {
		t.Errorf("seeds 1 and 2 gave the same corpus")
	}
}

func TestCounts(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		wantN     int // -1: only check the byte target
		wantBytes int64
	}{
		{"messages", Options{Seed: 3, Messages: 123}, 123, 0},
		{"one by default", Options{Seed: 3}, 1, 0},
		{"bytes", Options{Seed: 3, Bytes: 2 << 20, HugeEvery: -1}, -1, 2 << 20},
		{"messages before bytes", Options{Seed: 3, Messages: 5, Bytes: 1 << 30}, 5, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.opts)
			n := 0
			var total, last int64
			for {
				m, ok := g.Next()
				if !ok {
					break
				}
				n++
				if m.Index != n {
					t.Errorf("message %d has Index %d", n, m.Index)
				}
				last = int64(len(m.Data))
				total += last
			}
			if tc.wantN >= 0 && n != tc.wantN {
				t.Errorf("generated %d messages, want %d", n, tc.wantN)
			}
			if tc.wantBytes > 0 && (total < tc.wantBytes || total-last >= tc.wantBytes) {
				t.Errorf("generated %d bytes (last message %d), want the first total >= %d", total, last, tc.wantBytes)
			}
		})
	}
}

// TestMix checks the size mix and the message shape on 1000 messages.
func TestMix(t *testing.T) {
	g := New(Options{Seed: 9, Messages: 1000, HugeEvery: 500})
	var small, attach, huge int
	var prev time.Time
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		size := len(m.Data)
		switch {
		case size >= HugeSize:
			huge++
		case bytes.Contains(m.Data, []byte("Content-Disposition: attachment")):
			attach++
			if size < 100<<10 || size > 2<<20+32<<10 {
				t.Errorf("message %d: attachment message of %d bytes, want 100 KB to 2 MB", m.Index, size)
			}
		default:
			small++
			if size < 2<<10 || size > 24<<10 {
				t.Errorf("message %d: text message of %d bytes, want about 2-20 KB", m.Index, size)
			}
		}
		if !m.Date.After(prev) || m.Date.Nanosecond() != 0 || m.Date.Location() != time.UTC {
			t.Errorf("message %d: date %v after %v: want increasing whole UTC seconds", m.Index, m.Date, prev)
		}
		prev = m.Date
		if bytes.HasPrefix(m.Data, []byte("From ")) || !bytes.HasSuffix(m.Data, []byte("\n")) || bytes.HasSuffix(m.Data, []byte("\n\n")) || bytes.Contains(m.Data, []byte("\r")) {
			t.Errorf("message %d: want LF lines, ending in one LF, not starting with From", m.Index)
		}
	}
	if huge != 2 {
		t.Errorf("%d huge messages, want 2", huge)
	}
	if attach < 40 || attach > 110 {
		t.Errorf("%d attachment messages of 1000, want about %v%%", attach, 100*DefaultAttachmentRate)
	}
	if small+attach+huge != 1000 {
		t.Errorf("counted %d messages", small+attach+huge)
	}
}

// TestTextMix checks MixText on 1000 messages: no attachment and nothing
// huge, plain text, multipart/alternative and HTML-only messages in about
// the documented shares and sizes, lines mail can carry, and a corpus that
// differs from the default mix of the same seed.
func TestTextMix(t *testing.T) {
	const n = 1000
	g := New(Options{Seed: 4, Messages: n, Mix: MixText, AttachmentRate: 0.5, HugeEvery: 10})
	var plain, alternative, html int
	var total int64
	for {
		m, ok := g.Next()
		if !ok {
			break
		}
		d := m.Data
		size := len(d)
		total += int64(size)
		if bytes.Contains(d, []byte("Content-Disposition")) || bytes.Contains(d, []byte("base64")) || bytes.Contains(d, []byte("multipart/mixed")) {
			t.Errorf("message %d has an attachment", m.Index)
		}
		switch {
		case bytes.Contains(d, []byte("Content-Type: multipart/alternative")):
			alternative++
			if !bytes.Contains(d, []byte("Content-Type: text/plain")) || !bytes.Contains(d, []byte("Content-Type: text/html")) || !bytes.HasSuffix(d, []byte("--\n")) {
				t.Errorf("message %d: multipart/alternative without both parts or closing boundary", m.Index)
			}
			if size < 4<<10 || size > 80<<10 {
				t.Errorf("message %d: text and HTML in %d bytes, want about 5-65 KB", m.Index, size)
			}
		case bytes.Contains(d, []byte("Content-Type: text/html")):
			html++
			if size < 10<<10 || size > 84<<10 {
				t.Errorf("message %d: HTML message of %d bytes, want about 10-80 KB", m.Index, size)
			}
		case bytes.Contains(d, []byte("Content-Type: text/plain")):
			plain++
			if size < 2<<10 || size > 24<<10 {
				t.Errorf("message %d: text message of %d bytes, want about 2-20 KB", m.Index, size)
			}
		default:
			t.Errorf("message %d has no text part", m.Index)
		}
		for i, l := range bytes.Split(d, []byte("\n")) {
			if len(l) > 200 {
				t.Errorf("message %d, line %d: %d characters", m.Index, i+1, len(l))
				break
			}
		}
		if bytes.HasPrefix(d, []byte("From ")) || !bytes.HasSuffix(d, []byte("\n")) || bytes.HasSuffix(d, []byte("\n\n")) || bytes.Contains(d, []byte("\r")) {
			t.Errorf("message %d: want LF lines, ending in one LF, not starting with From", m.Index)
		}
	}
	if plain+alternative+html != n {
		t.Fatalf("counted %d messages, want %d", plain+alternative+html, n)
	}
	if plain < 420 || plain > 580 || alternative < 280 || alternative > 420 || html < 100 || html > 200 {
		t.Errorf("%d plain, %d alternative, %d HTML only; want about 50%%, 35%%, 15%%", plain, alternative, html)
	}
	if mean := total / n; mean < 8<<10 || mean > 24<<10 {
		t.Errorf("mean size %d bytes, want 8-24 KB", mean)
	}
	a, _ := digest(Options{Seed: 4, Messages: 50, Mix: MixText})
	b, _ := digest(Options{Seed: 4, Messages: 50})
	if a == b {
		t.Errorf("the text mix and the default mix of one seed are the same corpus")
	}
}

func TestParseMix(t *testing.T) {
	for _, m := range []Mix{MixDefault, MixText} {
		got, err := ParseMix(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMix(%q) = %v, %v; want %v", m.String(), got, err, m)
		}
	}
	if got, err := ParseMix(""); err != nil || got != MixDefault {
		t.Errorf("ParseMix(\"\") = %v, %v; want the default", got, err)
	}
	if _, err := ParseMix("pictures"); err == nil {
		t.Errorf("ParseMix(\"pictures\") accepted")
	}
}

// TestReadersAgree writes a corpus and reads both outputs with mailferry's
// readers: the same messages, bytes, flags and dates, in the same order,
// also through the generic mbox reader (bytes only: it leaves
// X-Mozilla-Status in).
func TestReadersAgree(t *testing.T) {
	for _, opts := range []Options{
		{Seed: 5, Messages: 120, AttachmentRate: 0.05, HugeEvery: -1},
		{Seed: 5, Messages: 120, Mix: MixText},
	} {
		t.Run(opts.Mix.String(), func(t *testing.T) { readersAgree(t, opts) })
	}
}

func readersAgree(t *testing.T, opts Options) {
	dir := t.TempDir()
	n := opts.Messages
	st, err := Write(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st.Messages != n || (st.Attachments == 0) != (opts.Mix == MixText) {
		t.Fatalf("Write: %+v, want %d messages, with attachments unless text only", st, n)
	}
	fi, err := os.Stat(filepath.Join(dir, MboxName))
	if err != nil || fi.Size() != st.MboxBytes {
		t.Fatalf("mbox size %v (%v), Stats say %d", fi.Size(), err, st.MboxBytes)
	}

	tb, err := thunderbird.Open(filepath.Join(dir, MboxName), thunderbird.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	_, fromMbox := formatstest.Collect(t, tb)
	md, err := maildir.Open(filepath.Join(dir, MaildirName), formats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer md.Close()
	_, fromMaildir := formatstest.Collect(t, md)
	if len(fromMbox) != n || len(fromMaildir) != n {
		t.Fatalf("read %d messages from the mbox and %d from the Maildir, want %d", len(fromMbox), len(fromMaildir), n)
	}

	gen := New(opts)
	var imapBytes int64
	for i := range n {
		m, _ := gen.Next()
		want := bytes.ReplaceAll(m.Data, []byte("\n"), []byte("\r\n"))
		imapBytes += int64(len(want))
		for _, got := range []struct {
			from string
			c    formatstest.Collected
		}{{"mbox", fromMbox[i]}, {"maildir", fromMaildir[i]}} {
			if !bytes.Equal(got.c.Bytes, want) {
				t.Errorf("%s message %d: bytes differ from the generated message", got.from, i+1)
			}
			if got.c.Size != m.CRLFSize() {
				t.Errorf("%s message %d: Size %d, want %d", got.from, i+1, got.c.Size, m.CRLFSize())
			}
			if !got.c.Date.Equal(m.Date) {
				t.Errorf("%s message %d: date %v (%s), want %v", got.from, i+1, got.c.Date, got.c.DateSource, m.Date)
			}
			flags, wantFlags := slices.Clone(got.c.Flags), slices.Clone(m.Flags)
			slices.Sort(flags)
			slices.Sort(wantFlags)
			if !slices.Equal(flags, wantFlags) {
				t.Errorf("%s message %d: flags %q, want %q", got.from, i+1, flags, wantFlags)
			}
		}
	}
	if imapBytes != st.IMAPBytes {
		t.Errorf("Stats.IMAPBytes = %d, want %d", st.IMAPBytes, imapBytes)
	}

	// The generic mbox reader splits the same messages (the status
	// headers stay in the bytes: they are Thunderbird's).
	r, err := mbox.Open(filepath.Join(dir, MboxName), nil, mbox.ReaderOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, plain := formatstest.Collect(t, r)
	if len(plain) != n {
		t.Fatalf("generic mbox reader: %d messages, want %d", len(plain), n)
	}
	for i, c := range plain {
		if !bytes.HasSuffix(c.Bytes, fromMbox[i].Bytes) {
			t.Errorf("generic mbox reader, message %d: bytes do not end with the Thunderbird reader's", i+1)
		}
	}
}

func TestWriteRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	if _, err := Write(dir, Options{Messages: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, Options{Messages: 2}); err == nil {
		t.Errorf("a second Write into the same directory succeeded; want an error")
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		g := New(Options{Seed: 1, Messages: 200, HugeEvery: -1})
		n = 0
		for {
			m, ok := g.Next()
			if !ok {
				break
			}
			n += int64(len(m.Data))
		}
	}
	b.SetBytes(n)
}
