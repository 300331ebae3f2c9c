// Package corpusgen generates deterministic test and benchmark mail: the
// same messages as a Thunderbird-style mbox file (LF line endings, "From - "
// separators, X-Mozilla-Status/Status2/Keys, ">From " quoting) and as a
// Maildir (for mbsync and `doveadm import`). The size mix follows what
// real mailboxes hold: most messages 2-20 KB of text, a share with
// base64 attachments of 100 KB to 2 MB, and now and then one of about 10 MB.
// MixText makes a mailbox of text only instead: plain-text mail, HTML
// newsletters and messages with both, without attachments.
//
// Both outputs read back through mailferry's readers give the same
// messages: the same CRLF bytes, flags and received dates (the tests show
// it). The same Options always give the same bytes.
package corpusgen

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Options choose what Generate makes. The zero value with Messages or Bytes
// set is the default mix.
type Options struct {
	// Seed selects the corpus; the same seed gives the same bytes.
	Seed uint64
	// Messages stops after this many messages (0: no count limit).
	Messages int
	// Bytes stops once the messages (LF form) add up to at least this many
	// bytes (0: no byte limit). With neither Messages nor Bytes, Generate
	// makes one message.
	Bytes int64
	// AttachmentRate is the share of messages with an attachment of 100 KB
	// to 2 MB (log-uniform); 0 means DefaultAttachmentRate, negative none.
	AttachmentRate float64
	// HugeEvery puts a message of about 10 MB at every HugeEvery-th
	// position (the first at HugeEvery/2); 0 means DefaultHugeEvery,
	// negative none.
	HugeEvery int
	// Start is the received date of the first message (zero:
	// 2015-01-01 UTC). Later messages are 1 minute to 3 hours apart.
	Start time.Time
	// Mix chooses the kind of mail (zero: MixDefault). With MixText,
	// AttachmentRate and HugeEvery are ignored: there are none.
	Mix Mix
}

// Mix is a kind of mailbox.
type Mix int

const (
	// MixDefault: mostly text, a share with base64 attachments, now and
	// then a huge message (see the package doc).
	MixDefault Mix = iota
	// MixText: text only, as a mailbox of correspondence and newsletters
	// is. About half the messages are plain text (1.5 to 18 KB), a third
	// multipart/alternative with the text and its HTML, the rest HTML
	// only, laid out as newsletters are (tables, inline styles, links;
	// 10 to 80 KB). No attachments, nothing base64 but DKIM signatures.
	MixText
)

// ParseMix reads a Mix by name: "default" or "text".
func ParseMix(s string) (Mix, error) {
	switch s {
	case "", "default":
		return MixDefault, nil
	case "text":
		return MixText, nil
	}
	return MixDefault, fmt.Errorf("unknown mix %q: want default or text", s)
}

// String is the name ParseMix reads.
func (m Mix) String() string {
	if m == MixText {
		return "text"
	}
	return "default"
}

// Defaults of the mix. With 5000 messages they make about 300 MB.
const (
	DefaultAttachmentRate = 0.07
	DefaultHugeEvery      = 2500
	HugeSize              = 10 << 20
)

// Message is one generated message.
type Message struct {
	// Index is the 1-based position.
	Index int
	// Date is the received date (UTC, whole seconds): the top-most
	// Received: header, the From_ line and the Maildir file's mtime.
	Date time.Time
	// Flags are IMAP flags and keywords: \Seen, \Answered, \Flagged,
	// $Forwarded, $label1.
	Flags []string
	// Data is the message with LF line endings, without From_ line or
	// store headers, ending in LF. Some body lines start with "From ";
	// the mbox output quotes them (">From "), the Maildir output does not.
	Data []byte
}

// CRLFSize is the size of the message as IMAP carries it (every LF as
// CRLF), i.e. what a reader's Message.Size says.
func (m *Message) CRLFSize() int64 {
	return int64(len(m.Data)) + int64(bytes.Count(m.Data, []byte{'\n'}))
}

// Generator makes the messages of one corpus in order.
type Generator struct {
	opts  Options
	rng   *rand.Rand
	n     int
	bytes int64
	date  time.Time
	buf   []byte
}

// New returns a generator for opts.
func New(opts Options) *Generator {
	if opts.AttachmentRate == 0 {
		opts.AttachmentRate = DefaultAttachmentRate
	}
	if opts.HugeEvery == 0 {
		opts.HugeEvery = DefaultHugeEvery
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2015, 1, 1, 8, 0, 0, 0, time.UTC)
	}
	if opts.Messages == 0 && opts.Bytes == 0 {
		opts.Messages = 1
	}
	return &Generator{
		opts: opts,
		rng:  rand.New(rand.NewPCG(opts.Seed, 0x6d61696c66657272)),
		date: opts.Start.UTC().Truncate(time.Second),
	}
}

// Next returns the next message, or false when the corpus is complete. The
// message's Data is only valid until the next call.
func (g *Generator) Next() (*Message, bool) {
	if g.opts.Messages > 0 && g.n >= g.opts.Messages {
		return nil, false
	}
	if g.opts.Bytes > 0 && g.bytes >= g.opts.Bytes {
		return nil, false
	}
	g.n++
	r := g.rng
	m := &Message{Index: g.n, Date: g.date}
	g.date = g.date.Add(time.Minute + time.Duration(r.IntN(180*60))*time.Second)

	switch {
	case r.Float64() < 0.8:
		m.Flags = append(m.Flags, `\Seen`)
		if r.IntN(6) == 0 {
			m.Flags = append(m.Flags, `\Answered`)
		}
	}
	if r.IntN(20) == 0 {
		m.Flags = append(m.Flags, `\Flagged`)
	}
	if r.IntN(30) == 0 {
		m.Flags = append(m.Flags, `$Forwarded`)
	}
	if r.IntN(50) == 0 {
		m.Flags = append(m.Flags, `$label1`)
	}

	if g.opts.Mix == MixText {
		g.buf = g.textMessage(g.buf[:0], m)
		m.Data = g.buf
		g.bytes += int64(len(m.Data))
		return m, true
	}
	var attach int
	switch {
	case g.opts.HugeEvery > 0 && g.n%g.opts.HugeEvery == g.opts.HugeEvery/2:
		attach = HugeSize
	case g.opts.AttachmentRate > 0 && r.Float64() < g.opts.AttachmentRate:
		attach = int(math.Exp(math.Log(100<<10) + r.Float64()*math.Log(20)))
	}
	text := int(math.Exp(math.Log(1500) + r.Float64()*math.Log(12)))
	g.buf = g.message(g.buf[:0], m, text, attach)
	m.Data = g.buf
	g.bytes += int64(len(m.Data))
	return m, true
}

var words = strings.Fields(`the of and to in a is that for it as was with be by on not he this are or
his from at which but have an they you were their one all we can her has there been if more when will
would who so no meeting report attached please find below thanks regards project budget review draft
schedule tomorrow monday friday server mailbox upload archive invoice order shipping account password
update version release notes question answer issue patch commit branch merge build test deploy`)

var names = []string{"Alice Martin", "Bob Chen", "Carla Rossi", "Dmitri Ivanov", "Eva Müller",
	"Farid Haddad", "Grace Hopper", "Hiro Tanaka", "Ines García", "Jon Smith"}

// message writes one message: headers as mail from the Internet carries
// them, a text part of about text bytes, and an attachment of about
// attach bytes (0: none).
func (g *Generator) message(b []byte, m *Message, text, attach int) []byte {
	b = g.headers(b, m)
	r := g.rng
	boundary := fmt.Sprintf("=_%016x", r.Uint64())
	if attach > 0 {
		b = fmt.Appendf(b, "Content-Type: multipart/mixed; boundary=\"%s\"\n\nThis is a multi-part message in MIME format.\n\n--%s\n", boundary, boundary)
	}
	b = append(b, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"...)
	b = g.text(b, text)
	if attach > 0 {
		b = fmt.Appendf(b, "\n--%s\nContent-Type: application/octet-stream; name=\"file%d.bin\"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"file%d.bin\"\n\n", boundary, m.Index, m.Index)
		b = g.attachment(b, attach)
		b = fmt.Appendf(b, "--%s--\n", boundary)
	}
	return b
}

// textMessage writes one message of MixText: plain text, text and HTML
// (multipart/alternative) or HTML alone.
func (g *Generator) textMessage(b []byte, m *Message) []byte {
	b = g.headers(b, m)
	r := g.rng
	switch k := r.IntN(100); {
	case k < 50:
		b = append(b, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"...)
		return g.text(b, int(math.Exp(math.Log(1500)+r.Float64()*math.Log(12))))
	case k < 85:
		boundary := fmt.Sprintf("=_%016x", r.Uint64())
		text := int(math.Exp(math.Log(1500) + r.Float64()*math.Log(12)))
		b = fmt.Appendf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\n\n--%s\n", boundary, boundary)
		b = append(b, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"...)
		b = g.text(b, text)
		b = fmt.Appendf(b, "\n--%s\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n", boundary)
		b = g.html(b, text*5/2)
		return fmt.Appendf(b, "\n--%s--\n", boundary)
	default:
		b = append(b, "Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"...)
		return g.html(b, int(math.Exp(math.Log(10<<10)+r.Float64()*math.Log(8))))
	}
}

// headers writes the header of a message up to MIME-Version, as mail from
// the Internet carries it.
func (g *Generator) headers(b []byte, m *Message) []byte {
	r := g.rng
	from := r.IntN(len(names))
	fromAddr := strings.ToLower(strings.Fields(names[from])[0]) + "@example.org"
	sent := m.Date.Add(-time.Duration(5+r.IntN(600)) * time.Second)
	b = fmt.Appendf(b, "Return-Path: <%s>\n", fromAddr)
	b = fmt.Appendf(b, "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])\n\tby mail.example.net (Postfix) with ESMTPS id %X\n\tfor <me@example.net>; %s\n",
		r.IntN(4), r.IntN(4), 1+r.IntN(250), r.Uint32(), m.Date.Format(time.RFC1123Z))
	b = fmt.Appendf(b, "Received: from [10.%d.%d.%d] by mx.example.org with ESMTPSA id %x;\n\t%s\n",
		r.IntN(256), r.IntN(256), r.IntN(256), r.Uint64(), sent.Format(time.RFC1123Z))
	b = fmt.Appendf(b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=2015;\n\th=from:to:subject:date:message-id;\n\tbh=%s;\n\tb=%s\n",
		g.b64(32), g.b64(128))
	b = fmt.Appendf(b, "From: %s <%s>\nTo: Me <me@example.net>\n", names[from], fromAddr)
	b = fmt.Appendf(b, "Subject: %s %s %s (#%d)\n", words[r.IntN(len(words))], words[r.IntN(len(words))], words[r.IntN(len(words))], m.Index)
	b = fmt.Appendf(b, "Date: %s\n", sent.Format(time.RFC1123Z))
	if r.IntN(100) != 0 { // 1% without Message-ID, as old or broken mail is
		b = fmt.Appendf(b, "Message-ID: <%d.%x@example.org>\n", m.Index, r.Uint64())
	}
	return append(b, "MIME-Version: 1.0\n"...)
}

// html writes an HTML document of about n bytes laid out as newsletters
// and mail clients write it: a table per paragraph, inline styles, links
// with tracking parameters; lines of at most about 80 characters, ending
// in LF.
func (g *Generator) html(b []byte, n int) []byte {
	r := g.rng
	start := len(b)
	b = append(b, "<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n"...)
	b = append(b, "<style>body{margin:0;padding:0}table{border-collapse:collapse}</style></head>\n<body>\n"...)
	b = append(b, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n"...)
	line := 0
	put := func(tok string) {
		if line > 0 && line+len(tok) > 76 {
			b = append(b, '\n')
			line = 0
		} else if line > 0 {
			b = append(b, ' ')
			line++
		}
		b = append(b, tok...)
		line += len(tok)
	}
	for len(b)-start < n {
		if line > 0 {
			b = append(b, '\n')
			line = 0
		}
		b = append(b, "<tr>\n<td style=\"font-family:Helvetica,Arial,sans-serif;font-size:15px;line-height:22px;\ncolor:#333333;padding:8px 24px 8px 24px;\" align=\"left\">\n"...)
		for w := 20 + r.IntN(60); w > 0; w-- {
			word := words[r.IntN(len(words))]
			if r.IntN(25) == 0 {
				put(fmt.Sprintf("<a href=\"https://news.example.org/c/%x?u=%x&amp;m=%d\"", r.Uint32(), r.Uint32(), r.IntN(1000)))
				put("style=\"color:#1a73e8;text-decoration:underline;\">" + word + "</a>")
				continue
			}
			if r.IntN(40) == 0 {
				word = "<b>" + word + "</b>"
			}
			put(word)
		}
		b = append(b, "\n</td>\n</tr>\n"...)
		line = 0
	}
	return append(b, "</table>\n</body>\n</html>\n"...)
}

// text writes paragraphs of words, about n bytes, ending in LF. Now and then
// a line starts with "From " (which the mbox quotes) or a quote marker.
func (g *Generator) text(b []byte, n int) []byte {
	r := g.rng
	start := len(b)
	line := 0
	for len(b)-start < n {
		switch k := r.IntN(40); {
		case k == 0 && line == 0:
			b = append(b, "From "...)
		case k == 1 && line == 0:
			b = append(b, "> "...)
		}
		w := words[r.IntN(len(words))]
		b = append(b, w...)
		line += len(w) + 1
		if line > 60+r.IntN(15) {
			b = append(b, '\n')
			line = 0
			if r.IntN(6) == 0 {
				b = append(b, '\n') // paragraph
			}
		} else {
			b = append(b, ' ')
		}
	}
	if line > 0 {
		b[len(b)-1] = '\n'
	} else if len(b) >= 2 && b[len(b)-2] == '\n' {
		b = b[:len(b)-1] // no blank line at the end
	}
	return b
}

// attachment writes about n bytes of base64 lines (76 characters) of
// random data.
func (g *Generator) attachment(b []byte, n int) []byte {
	var raw [57]byte
	var enc [76]byte
	for done := 0; done < n; done += 77 {
		for i := 0; i < len(raw); i += 8 {
			v := g.rng.Uint64()
			for j := 0; j < 8 && i+j < len(raw); j++ {
				raw[i+j] = byte(v >> (8 * j))
			}
		}
		base64.StdEncoding.Encode(enc[:], raw[:])
		b = append(b, enc[:]...)
		b = append(b, '\n')
	}
	return b
}

// b64 returns n random base64 characters.
func (g *Generator) b64(n int) string {
	raw := make([]byte, (n*3+3)/4)
	for i := range raw {
		raw[i] = byte(g.rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(raw)[:n]
}
