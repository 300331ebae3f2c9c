package mbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"mailferry/formats"
	"mailferry/internal/testutil"
)

// split is one message as the tests see it.
type split struct {
	Entry
	Bytes []byte
}

// splitAll runs a Splitter over input to the end and returns the messages,
// the warnings and the final error (nil for io.EOF).
func splitAll(t testing.TB, r io.Reader, opts SplitOptions, size int) ([]split, []formats.Warning, error) {
	t.Helper()
	var warns []formats.Warning
	opts.Warn = func(w formats.Warning) { warns = append(warns, w) }
	s := newSplitter(r, "test.mbox", opts, size)
	defer s.Close()
	var out []split
	for {
		e, err := s.Next(context.Background())
		if err == io.EOF {
			return out, warns, nil
		}
		if err != nil {
			return out, warns, err
		}
		b := readEntry(t, e)
		if int64(len(b)) != e.Size {
			t.Fatalf("%v: Size = %d, but Open yielded %d bytes", e.Pos, e.Size, len(b))
		}
		if b2 := readEntry(t, e); !bytes.Equal(b, b2) {
			t.Fatalf("%v: a second Open yielded different bytes", e.Pos)
		}
		out = append(out, split{Entry: *e, Bytes: b})
	}
}

func readEntry(t testing.TB, e *Entry) []byte {
	t.Helper()
	rc, err := e.Open()
	if err != nil {
		t.Fatalf("%v: Open: %v", e.Pos, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%v: read: %v", e.Pos, err)
	}
	return b
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testutil.Testdata(t, "mbox/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

const (
	from1 = "From alice@example.org Sat Jan  3 01:05:34 1996"
	body1 = "From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: one\nDate: Sat, 3 Jan 1996 01:05:00 +0100\n\nfirst body\n"
	from2 = "From bob@example.org Sun Jan  4 10:00:00 1996"
	body2 = "From: Bob <bob@example.org>\nTo: alice@example.org\nSubject: two\n\nsecond body\n"
)

// want is an expected message: its From_ line and its bytes written with
// LF (the test turns them into CRLF).
type want struct{ from, body string }

var twoMsgs = []want{{from1, body1}, {from2, body2}}

func TestSplitFixtures(t *testing.T) {
	quotedHead := "From: Alice <alice@example.org>\nSubject: quoting\n\n"
	quotedTail := want{from2, "From: Bob <bob@example.org>\nSubject: two\n\nsecond body\n"}
	cl2Head := "From: Alice <alice@example.org>\nSubject: cl2\nContent-Length: 147\n\na forwarded message follows\n"
	cl2Inner := "From: Carol <carol@example.org>\nSubject: inner\n\n"
	cl2Last := want{from2, "From: Bob <bob@example.org>\nSubject: two\nContent-Length: 12\n\nsecond body\n"}
	tests := []struct {
		name    string
		file    string
		variant Variant
		want    []want
		warns   []string // substrings, one per expected warning, in order
		detect  Variant  // Splitter.Variant() at the end; Auto: do not check
		leading string   // the bytes of a quarantined first entry, as they are
	}{
		{name: "empty file", file: "empty.mbox"},
		{name: "two messages", file: "two.mbox", want: twoMsgs},
		{name: "CRLF file", file: "crlf.mbox", want: twoMsgs},
		{name: "CR-only file", file: "cr-only.mbox", want: twoMsgs},
		{name: "missing final newline", file: "no-final-newline.mbox", want: twoMsgs},
		{name: "UTF-8 BOM", file: "bom.mbox", want: twoMsgs,
			warns: []string{"ignored 3 bytes before the first From_ line (offsets 0 to 3): a UTF-8 byte order mark"}},
		{name: "garbage before the first From_ line is quarantined", file: "garbage-prefix.mbox", want: twoMsgs,
			leading: "This file was saved by a mail program.\nIt is not a message.\n\n",
			warns:   []string{"61 bytes before the first From_ line (offsets 0 to 61) are not a message: kept as they are and quarantined"}},
		{name: "headers before the first From_ line", file: "headers-first.mbox",
			want:  append([]want{{"", "From: Carol <carol@example.org>\nSubject: no From_ line\n\nan EML file glued in front\n"}}, twoMsgs...),
			warns: []string{"message without a From_ line"}},
		{name: "auto unquotes like mboxrd", file: "quoted.mbox", variant: Auto, detect: MboxRD,
			want: []want{{from1, quotedHead + "From the start\n>From a quote\n>>From deeper\n> From not quoting\n>From\n"}, quotedTail}},
		{name: "mboxrd", file: "quoted.mbox", variant: MboxRD, detect: MboxRD,
			want: []want{{from1, quotedHead + "From the start\n>From a quote\n>>From deeper\n> From not quoting\n>From\n"}, quotedTail}},
		{name: "mboxo", file: "quoted.mbox", variant: MboxO, detect: MboxO,
			want: []want{{from1, quotedHead + "From the start\n>>From a quote\n>>>From deeper\n> From not quoting\n>From\n"}, quotedTail}},
		{name: "raw", file: "quoted.mbox", variant: Raw,
			want: []want{{from1, quotedHead + ">From the start\n>>From a quote\n>>>From deeper\n> From not quoting\n>From\n"}, quotedTail}},
		{name: "auto without evidence says mboxo", file: "two.mbox", detect: MboxO, want: twoMsgs},
		{name: "unescaped From in the body", file: "unescaped-from.mbox",
			want: []want{
				{"From - Sat Jan  3 01:05:34 1996", "From: Alice <alice@example.org>\nSubject: unescaped\n\nMy favourite film:\n\nFrom Russia with love\nYear: 1963\n\nand a line\nFrom here on, nothing.\n"},
				{"From - Sun Jan  4 10:00:00 1996", "From: Bob <bob@example.org>\nSubject: two\n\nsecond body\n"},
			},
			warns: []string{"test.mbox:7 (#1): line starting \"From \" after a blank line is not followed by header fields"}},
		{name: "no blank line before a From_ line", file: "no-blank-before-from.mbox",
			want: []want{
				{from1, "From: Alice <alice@example.org>\nSubject: one\n\nfirst body\n"},
				{from2, "From: Bob <bob@example.org>\nSubject: two\n\nsecond body\n"},
			},
			warns: []string{"test.mbox:6 (#1): From_ line without a blank line before it"}},
		{name: "mboxcl2 trusts a confirmed Content-Length", file: "mboxcl2.mbox", variant: MboxCL2,
			want: []want{
				{from1, cl2Head + "\nFrom carol@example.org Mon Jan  5 12:00:00 1996\n" + cl2Inner + ">From is not unquoted\n"},
				cl2Last,
			},
			warns: []string{"test.mbox:8 (#1): From_ line inside the Content-Length of message #1"}},
		{name: "auto ignores Content-Length", file: "mboxcl2.mbox", variant: Auto,
			want: []want{
				{from1, cl2Head},
				{"From carol@example.org Mon Jan  5 12:00:00 1996", cl2Inner + "From is not unquoted\n"},
				cl2Last,
			}},
		{name: "NUL bytes are kept", file: "nul.mbox",
			want:  []want{{from1, "From: Alice <alice@example.org>\nSubject: nul\n\nzero\x00byte\n"}},
			warns: []string{"test.mbox:1 (#1): message contains NUL bytes"}},
		{name: "two From_ lines in a row", file: "consecutive-from.mbox",
			want:  []want{{from1, ""}, {from2, body2}},
			warns: []string{"test.mbox:2 (#1): From_ line without a blank line", "test.mbox:1 (#1): empty message"}},
		{name: "one header field after a full envelope", file: "one-header.mbox",
			want: []want{
				{from1, "Subject: only one field\n\nbody one\n"},
				{from2, "Subject: only one field too\n\nbody two\n\nFrom Russia with love\nSubject: but no envelope date\n\nstays in message two\n"},
			},
			warns: []string{"test.mbox:11 (#2): line starting \"From \" after a blank line is not followed by header fields"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := fixture(t, tt.file)
			var warns []formats.Warning
			opts := SplitOptions{Variant: tt.variant}
			opts.Warn = func(w formats.Warning) { warns = append(warns, w) }
			s := NewSplitter(bytes.NewReader(input), "test.mbox", opts)
			defer s.Close()
			var got []split
			for {
				e, err := s.Next(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				got = append(got, split{Entry: *e, Bytes: readEntry(t, e)})
			}
			all := got
			if tt.leading != "" {
				if len(got) == 0 || got[0].Quarantine != QuarantineLeadingText || string(got[0].Bytes) != tt.leading ||
					got[0].Pos != (formats.Pos{File: "test.mbox", Line: 1}) || got[0].Size != int64(len(tt.leading)) {
					t.Fatalf("first entry = %+v %q, want the quarantined text %q at test.mbox:1", got[0].Entry, got[0].Bytes, tt.leading)
				}
				got = got[1:]
			}
			if len(got) != len(tt.want) {
				t.Fatalf("split %s into %d messages, want %d", tt.file, len(got), len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].FromLine != w.from {
					t.Errorf("message %d: FromLine = %q, want %q", i+1, got[i].FromLine, w.from)
				}
				if string(got[i].Bytes) != crlf(w.body) {
					t.Errorf("message %d: bytes =\n%q\nwant\n%q", i+1, got[i].Bytes, crlf(w.body))
				}
				if got[i].Size != int64(len(got[i].Bytes)) {
					t.Errorf("message %d: Size = %d, Open yielded %d bytes", i+1, got[i].Size, len(got[i].Bytes))
				}
				if got[i].Pos.Index != i+1 || got[i].Pos.File != "test.mbox" {
					t.Errorf("message %d: Pos = %+v", i+1, got[i].Pos)
				}
			}
			if len(warns) != len(tt.warns) {
				t.Errorf("warnings = %q, want %d matching %q", warns, len(tt.warns), tt.warns)
			} else {
				for i, w := range tt.warns {
					if !strings.Contains(warns[i].String(), w) {
						t.Errorf("warning %d = %q, want it to contain %q", i+1, warns[i].String(), w)
					}
				}
			}
			if tt.detect != Auto && s.Variant() != tt.detect {
				t.Errorf("Variant() = %v, want %v", s.Variant(), tt.detect)
			}
			checkTiling(t, input, all, warns)
		})
	}
}

// checkTiling asserts that every input byte is accounted for: a byte order
// mark and blank lines before the first message by exactly one "ignored N
// bytes" warning, the rest by consecutive [Pos.Offset, End) ranges
// (quarantined text before the first message included).
func checkTiling(t testing.TB, input []byte, msgs []split, warns []formats.Warning) {
	t.Helper()
	var ignored int64
	for _, w := range warns {
		var n int64
		if _, err := fmt.Sscanf(w.Message, "ignored %d bytes", &n); err == nil {
			ignored += n
		}
	}
	next := ignored
	for _, m := range msgs {
		if m.Pos.Offset != next {
			t.Fatalf("message #%d starts at offset %d, want %d (bytes unaccounted for or counted twice)", m.Pos.Index, m.Pos.Offset, next)
		}
		if m.End < m.Pos.Offset {
			t.Fatalf("message #%d ends at %d before it starts at %d", m.Pos.Index, m.End, m.Pos.Offset)
		}
		next = m.End
	}
	if next != int64(len(input)) {
		t.Fatalf("messages and warnings account for %d bytes of %d", next, len(input))
	}
}

// checkRaw asserts, for a Raw split without StripFields, that each
// message's bytes are its input range with CRLF line endings, less its
// From_ line and at most one blank line at its end (the separator's).
func checkRaw(t testing.TB, input []byte, msgs []split) {
	t.Helper()
	for _, m := range msgs {
		if m.Quarantine != "" {
			continue // compared with the input as it is by the callers
		}
		var want bytes.Buffer
		cw := formats.NewCRLFWriter(&want)
		cw.Write(input[m.Pos.Offset:m.End])
		cw.Close()
		var got []byte
		if m.FromLine != "" {
			r := strings.NewReplacer("\r", "\r\n", "\n", "\r\n")
			got = append(got, r.Replace(m.FromLine)+"\r\n"...)
		}
		got = append(got, m.Bytes...)
		w := want.Bytes()
		if !bytes.Equal(w, got) && !bytes.Equal(w, append(got, '\r', '\n')) {
			t.Fatalf("message #%d: From_ line + bytes =\n%q\nbut its input range in CRLF is\n%q", m.Pos.Index, got, w)
		}
	}
}

func TestSplitLineNumbersAndOffsets(t *testing.T) {
	input := fixture(t, "garbage-prefix.mbox")
	msgs, _, err := splitAll(t, bytes.NewReader(input), SplitOptions{}, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	wantPos := []formats.Pos{
		{File: "test.mbox", Line: 1, Offset: 0, Index: 0}, // the quarantined text
		{File: "test.mbox", Line: 4, Offset: 61, Index: 1},
		{File: "test.mbox", Line: 12, Offset: 61 + int64(len(from1)+1+len(body1)+1), Index: 2},
	}
	for i, m := range msgs {
		if m.Pos != wantPos[i] {
			t.Errorf("message %d: Pos = %+v, want %+v", i+1, m.Pos, wantPos[i])
		}
		line := input[m.Pos.Offset:]
		if m.Quarantine == "" && !bytes.HasPrefix(line, []byte(m.FromLine+"\n")) {
			t.Errorf("message %d: input at Offset is %q, want the From_ line %q", i+1, line[:20], m.FromLine)
		}
	}
}

func TestSplitStripFields(t *testing.T) {
	input := fixture(t, "status-flags.mbox")
	msgs, _, err := splitAll(t, bytes.NewReader(input),
		SplitOptions{StripFields: []string{"status", "X-STATUS", "X-Keywords"}}, bufSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 5 {
		t.Fatalf("got %d messages, want 5", len(msgs))
	}
	want := crlf("From: Alice <alice@example.org>\nSubject: read, answered, flagged, keywords\nX-UID: 7\nContent-Length: 5\n\nbody\n")
	if string(msgs[0].Bytes) != want {
		t.Errorf("bytes =\n%q\nwant\n%q", msgs[0].Bytes, want)
	}
	for _, f := range []string{"Status", "X-Status", "X-Keywords", "X-UID"} {
		if _, ok := msgs[0].Header.Get(f); !ok {
			t.Errorf("Header lacks %s; stripped fields must stay in Header", f)
		}
	}
	// A folded field is stripped with its continuation lines.
	in := "From a@b Sat Jan  3 01:05:34 1996\nX-Mozilla-Keys: $label1\n  work\nSubject: s\n\t continued\n\nbody\n"
	msgs, _, err = splitAll(t, strings.NewReader(in), SplitOptions{StripFields: []string{"x-mozilla-keys"}}, bufSize)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("got %d messages, err %v", len(msgs), err)
	}
	if want := crlf("Subject: s\n\t continued\n\nbody\n"); string(msgs[0].Bytes) != want {
		t.Errorf("bytes = %q, want %q", msgs[0].Bytes, want)
	}
	if v, _ := msgs[0].Header.Get("X-Mozilla-Keys"); v != "$label1 work" {
		t.Errorf("Header X-Mozilla-Keys = %q", v)
	}
}

// TestSplitReadPatterns reads every fixture through readers that return
// one byte at a time or fail half-way, and through small buffers and a tiny
// memory limit (spooling to disk): the results must not change, except that
// a read error is reported with a position.
func TestSplitReadPatterns(t *testing.T) {
	files, err := os.ReadDir(testutil.Testdata(t, "mbox"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		input := fixture(t, f.Name())
		ref, refWarns, err := splitAll(t, bytes.NewReader(input), SplitOptions{}, bufSize)
		if err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		checkTiling(t, input, ref, refWarns)
		rawRef, _, _ := splitAll(t, bytes.NewReader(input), SplitOptions{Variant: Raw}, bufSize)
		checkRaw(t, input, rawRef)
		variants := []struct {
			name string
			r    io.Reader
			opts SplitOptions
			size int
		}{
			{"one byte at a time", iotest.OneByteReader(bytes.NewReader(input)), SplitOptions{}, bufSize},
			{"spooled to disk", bytes.NewReader(input), SplitOptions{Options: formats.Options{MemLimit: 16}}, bufSize},
			{"128-byte buffer", bytes.NewReader(input), SplitOptions{}, 128},
			{"128-byte buffer, one byte at a time", iotest.OneByteReader(bytes.NewReader(input)), SplitOptions{}, 128},
		}
		for _, v := range variants {
			t.Run(f.Name()+"/"+v.name, func(t *testing.T) {
				got, warns, err := splitAll(t, v.r, v.opts, v.size)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(ref) || len(warns) != len(refWarns) {
					t.Fatalf("%d messages and %d warnings, want %d and %d", len(got), len(warns), len(ref), len(refWarns))
				}
				for i := range got {
					if !bytes.Equal(got[i].Bytes, ref[i].Bytes) || got[i].FromLine != ref[i].FromLine ||
						got[i].Pos != ref[i].Pos || got[i].End != ref[i].End {
						t.Errorf("message %d differs: %+v %q, want %+v %q", i+1, got[i].Pos, got[i].Bytes, ref[i].Pos, ref[i].Bytes)
					}
				}
			})
		}
		t.Run(f.Name()+"/read error", func(t *testing.T) {
			if len(input) < 2 {
				t.Skip("too short to fail half-way")
			}
			r := io.MultiReader(bytes.NewReader(input[:len(input)/2]), iotest.ErrReader(io.ErrUnexpectedEOF))
			_, _, err := splitAll(t, r, SplitOptions{}, bufSize)
			var me *formats.MessageError
			if !errors.As(err, &me) || me.Pos.File != "test.mbox" || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("read error = %v, want a MessageError with a position", err)
			}
		})
	}
}

func TestSplitWarningLimit(t *testing.T) {
	in := from1 + "\nSubject: many unescaped From lines\n\n" + strings.Repeat("\nFrom the desk of nobody\n", 15)
	msgs, warns, err := splitAll(t, strings.NewReader(in), SplitOptions{}, bufSize)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d messages, %v", len(msgs), err)
	}
	if len(warns) != maxWarnings+1 {
		t.Fatalf("%d warnings, want %d: %q", len(warns), maxWarnings+1, warns)
	}
	if last := warns[maxWarnings].String(); last != `test.mbox: 5 more unescaped "From " body lines (only the first 10 were reported)` {
		t.Errorf("last warning = %q", last)
	}
}
