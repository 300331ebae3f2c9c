// Package memsource is an in-memory formats.Reader for the conversion
// tests: mailboxes and messages given as values, with ways to make a
// message fail. Sample is the shared fixture: nested, non-ASCII and hostile
// folder names, flags, keywords, dates, "From " and ">From " body lines,
// a message without a final line break, skipped and undated messages.
package memsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"mailferry/formats"
)

// Msg is one message of a Reader.
type Msg struct {
	Box        int // index into Reader.Boxes
	Bytes      []byte
	Flags      []string
	Date       time.Time
	DateSource formats.DateSource
	Skip       string
	Incomplete string
	Quarantine string
	// FailAfter > 0 makes the message's reader fail after that many
	// bytes; OpenFails makes Open itself fail.
	FailAfter int
	OpenFails bool
}

// ErrInjected is the error of a message made to fail.
var ErrInjected = errors.New("injected read failure")

// Reader yields Boxes, then Msgs in order.
type Reader struct {
	Boxes []*formats.Mailbox
	Msgs  []Msg
	next  int
}

// Mailboxes returns Boxes.
func (r *Reader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return r.Boxes, nil
}

// Next returns the next message.
func (r *Reader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.next >= len(r.Msgs) {
		return nil, io.EOF
	}
	i := r.next
	r.next++
	mm := r.Msgs[i]
	m := &formats.Message{
		Mailbox:    r.Boxes[mm.Box],
		Flags:      mm.Flags,
		Date:       mm.Date,
		DateSource: mm.DateSource,
		Size:       int64(len(mm.Bytes)),
		Pos:        formats.Pos{File: "mem:" + r.Boxes[mm.Box].Path.String(), Index: i + 1},
		Skip:       mm.Skip,
		Incomplete: mm.Incomplete,
		Quarantine: mm.Quarantine,
	}
	m.Open = func() (io.ReadCloser, error) {
		if mm.OpenFails {
			return nil, ErrInjected
		}
		if mm.FailAfter > 0 {
			return io.NopCloser(io.MultiReader(bytes.NewReader(mm.Bytes[:mm.FailAfter]), failing{})), nil
		}
		return io.NopCloser(bytes.NewReader(mm.Bytes)), nil
	}
	return m, nil
}

// Close does nothing.
func (r *Reader) Close() error { return nil }

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, ErrInjected }

// Box indexes of Sample.
const (
	BoxInbox = iota
	BoxArchive
	BoxArchive2019
	BoxUmlaut
	BoxJapanese
	BoxDotDot
	BoxSlash
	BoxCON
	BoxLong
	BoxNUL
	BoxDots
	BoxDrive
	BoxDotted
	BoxAmp
	BoxUpperInbox
	BoxFoo
	BoxFooLower
	BoxOrphanChild
	BoxEmpty
	BoxInboxChild
	BoxMsf
)

// LongName is the very long folder name of Sample.
var LongName = strings.Repeat("Sehr lange Ordnernamen ", 15)

// Msg builds CRLF message bytes from header lines and body lines.
func Message(header []string, body ...string) []byte {
	var b strings.Builder
	for _, h := range header {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	for _, l := range body {
		b.WriteString(l + "\r\n")
	}
	return []byte(b.String())
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err) // fixture constants only
	}
	return t
}

// Sample returns a fresh reader over the shared fixture.
func Sample() *Reader {
	box := func(special formats.Special, path ...string) *formats.Mailbox {
		return &formats.Mailbox{Path: path, Special: special, Store: "mem", Location: ""}
	}
	r := &Reader{Boxes: []*formats.Mailbox{
		BoxInbox:       box(formats.SpecialInbox, "Inbox"),
		BoxArchive:     box("", "Archive"),
		BoxArchive2019: box("", "Archive", "2019"),
		BoxUmlaut:      box("", "Entwürfe & Notizen"),
		BoxJapanese:    box("", "日本語", "下書き"),
		BoxDotDot:      box("", "../../etc"),
		BoxSlash:       box("", "a/b"),
		BoxCON:         box("", "CON"),
		BoxLong:        box("", LongName),
		BoxNUL:         box("", "nul\x00byte\x01"),
		BoxDots:        box("", ".."),
		BoxDrive:       box("", "C:"),
		BoxDotted:      box("", "v1.2 notes."),
		BoxAmp:         box("", "Tom & Jerry"),
		BoxUpperInbox:  box("", "INBOX"),
		BoxFoo:         box("", "Foo"),
		BoxFooLower:    box("", "foo"),
		BoxOrphanChild: box("", "Parent only", "Child"),
		BoxEmpty:       box("", "Empty"),
		BoxInboxChild:  box("", "Inbox", "Receipts"),
		BoxMsf:         box("", "summary.msf"),
	}}
	add := func(b int, flags []string, d string, raw []byte) {
		m := Msg{Box: b, Flags: flags, Bytes: raw}
		if d != "" {
			m.Date, m.DateSource = date(d), formats.DateReceived
		}
		r.Msgs = append(r.Msgs, m)
	}
	std := func(n int, subject, d string, body ...string) []byte {
		return Message([]string{
			"Received: from mx.example.org by mail.example.net; " + date(d).Format(time.RFC1123Z),
			"From: Alice <alice@example.org>",
			"To: bob@example.net",
			"Subject: " + subject,
			"Date: " + date(d).Add(-time.Minute).Format(time.RFC1123Z),
			fmt.Sprintf("Message-ID: <%d@example.org>", n),
		}, body...)
	}
	add(BoxInbox, []string{`\Seen`}, "2019-03-04T10:12:00+01:00",
		std(1, "Re: Meeting notes", "2019-03-04T10:12:00+01:00", "Hello Bob,", "", "see you."))
	add(BoxInbox, []string{`\Answered`, `\Flagged`, "$Forwarded", "$label1", "Work_tag", `\Draft`, `\Seen`}, "2020-02-29T23:59:59Z",
		std(2, "From lines", "2020-02-29T23:59:59Z",
			"From here on, quoting matters.",
			">From an earlier mbox",
			">>From twice quoted",
			"From",
			"From: not a header in the body",
			" From with a leading space",
			"",
			"From the last line"))
	// No final line break (the contract asks for one; writers must cope).
	noEOL := std(3, "No final newline", "2021-06-01T08:00:00+02:00", "last line")
	add(BoxInbox, nil, "2021-06-01T08:00:00+02:00", noEOL[:len(noEOL)-2])
	r.Msgs = append(r.Msgs, Msg{Box: BoxInbox, Skip: formats.SkipDeleted, Flags: []string{`\Seen`},
		Bytes: std(4, "Deleted", "2018-01-01T00:00:00Z", "gone")})
	// Undated: no date anywhere.
	add(BoxInbox, []string{`\Seen`}, "", Message([]string{"From: x@example.org", "Subject: undated"}, "no date"))
	add(BoxInbox, []string{"$MDNSent"}, "2022-12-24T18:00:00+01:00",
		std(6, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= /Berlin: *wichtig*?", "2022-12-24T18:00:00+01:00", "Frohe Weihnachten"))
	add(BoxInbox, nil, "2023-01-02T03:04:05Z", Message([]string{
		"X-Mozilla-Status: 0001",
		"X-Mozilla-Status2: 00000000",
		"X-Mozilla-Keys: $label2                                                                         ",
		"From: Carol <carol@example.org>",
		"Subject: had Thunderbird headers",
		"Date: Mon, 2 Jan 2023 03:04:05 +0000",
	}, "body"))
	inc := Msg{Box: BoxInbox, Incomplete: "partial: only headers downloaded", Date: date("2017-05-05T05:05:05Z"), DateSource: formats.DateHeader,
		Bytes: std(8, "Partial", "2017-05-05T05:05:05Z", "(body not downloaded)")}
	r.Msgs = append(r.Msgs, inc)

	add(BoxArchive, []string{`\Seen`}, "2015-07-01T12:00:00Z", std(10, "Archived", "2015-07-01T12:00:00Z", "old"))
	var many []string
	for i := range 28 {
		many = append(many, fmt.Sprintf("kw%02d", i))
	}
	add(BoxArchive2019, append([]string{`\Seen`}, many...), "2019-11-11T11:11:11Z",
		std(11, "Many keywords", "2019-11-11T11:11:11Z", "28 keywords"))
	add(BoxArchive2019, []string{"kw27", "kw00"}, "2019-11-12T11:11:11Z",
		std(12, "Same subject", "2019-11-12T11:11:11Z", "one"))
	add(BoxArchive2019, nil, "2019-11-12T11:11:11Z",
		std(13, "Same subject", "2019-11-12T11:11:11Z", "two"))
	add(BoxUmlaut, []string{`\Draft`}, "2024-04-01T09:00:00+02:00", std(20, "Entwurf", "2024-04-01T09:00:00+02:00", "Grüße"))
	add(BoxJapanese, nil, "2024-05-01T09:00:00+09:00", std(21, "=?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?=", "2024-05-01T09:00:00+09:00", "test"))
	for i, b := range []int{BoxDotDot, BoxSlash, BoxCON, BoxLong, BoxNUL, BoxDots, BoxDrive, BoxDotted, BoxAmp, BoxUpperInbox, BoxFoo, BoxFooLower, BoxOrphanChild, BoxInboxChild, BoxMsf} {
		d := time.Date(2010, 1, 1+i, 12, 0, 0, 0, time.UTC).Format(time.RFC3339)
		add(b, []string{`\Seen`}, d, std(100+i, "In "+r.Boxes[b].Path.String(), d, "hostile folder"))
	}
	// A message for a folder the reader left already: the mbox writer must
	// come back to it without losing what it wrote.
	add(BoxInbox, []string{`\Seen`}, "2024-06-06T06:06:06Z", std(200, "Late arrival", "2024-06-06T06:06:06Z", "back in the inbox"))
	return r
}

// Written returns the messages of r that a conversion writes (not
// skipped), in order.
func (r *Reader) Written() []Msg {
	var out []Msg
	for _, m := range r.Msgs {
		if m.Skip == "" && !m.OpenFails && m.FailAfter == 0 {
			out = append(out, m)
		}
	}
	return out
}
