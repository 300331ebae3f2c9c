package mapi

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/quotedprintable"
	"strconv"
	"strings"

	"mailferry/formats"
)

// DefaultMaxDepth bounds how deeply attached messages are nested when
// WriteOptions.MaxDepth is 0.
const DefaultMaxDepth = 8

// WriteOptions control WriteMIME.
type WriteOptions struct {
	// MaxDepth bounds the nesting of attached messages: a message attached
	// deeper is left out (and noted). 0 means DefaultMaxDepth.
	MaxDepth int
	// Unreadable are attachments to leave out as unreadable, by their
	// AttachmentError.Stream, with the error that says why: a note in the
	// message takes their place. WriteMIMESalvaging fills it.
	Unreadable map[int]error
}

// AttachmentError says that an attachment's content failed while it was
// being written (a damaged block in its middle): what was written cannot
// be taken back, so WriteMIME stops. Stream numbers the attachments whose
// content the conversion writes, in the order it writes them (the same on
// every run), so that another run can leave this one out
// (WriteOptions.Unreadable).
type AttachmentError struct {
	Stream int
	Name   string
	Err    error
}

func (e *AttachmentError) Error() string { return fmt.Sprintf("read attachment %q: %v", e.Name, e.Err) }

func (e *AttachmentError) Unwrap() error { return e.Err }

// maxSalvage bounds how many damaged attachments WriteMIMESalvaging
// leaves out of one message before it gives up on the message.
const maxSalvage = 16

// WriteMIMESalvaging is WriteMIME for a w that can start over (it has a
// Reset method, as formats.Spool does): when an attachment's content
// fails in its middle, w is reset and the message written again with
// that attachment left out and noted (a loss: the message is then
// Incomplete), so that a damaged attachment costs the attachment, not
// the message. Without Reset it is WriteMIME.
func WriteMIMESalvaging(w io.Writer, m Message, opts WriteOptions) (Notes, error) {
	rw, ok := w.(interface{ Reset() error })
	for {
		notes, err := WriteMIME(w, m, opts)
		var ae *AttachmentError
		if err == nil || !ok || !errors.As(err, &ae) || len(opts.Unreadable) >= maxSalvage {
			return notes, err
		}
		if _, again := opts.Unreadable[ae.Stream]; again {
			return notes, err // no progress: give up rather than loop
		}
		unreadable := make(map[int]error, len(opts.Unreadable)+1)
		for k, v := range opts.Unreadable {
			unreadable[k] = v
		}
		unreadable[ae.Stream] = ae.Err
		opts.Unreadable = unreadable
		if err := rw.Reset(); err != nil {
			return notes, err
		}
	}
}

// WriteMIME writes m as an Internet message (RFC 5322, MIME) to w and
// returns what could not be rebuilt exactly. The output has CRLF line
// endings, ends in CRLF, has no NUL bytes and no line over 998 octets
// (except inside a clear-signed S/MIME body, which is passed on as
// signed), and is deterministic: the same message always gives the same
// bytes (boundaries are derived from the content; nothing depends on the
// clock or chance), because messages are recognised on the server by a
// hash of their header and their size.
//
// The header: where the store kept the header the message arrived with
// (PidTagTransportMessageHeaders), that is the header, less the fields
// that describe the old body's structure (MIME-Version, Content-*), which
// the rebuilt body replaces; Date, From, Subject and Message-ID are added
// from the properties when it lacks them. Otherwise (sent mail, drafts,
// mail between Exchange users) the header is made from the properties:
// Date (PidTagClientSubmitTime, else PidTagMessageDeliveryTime, else
// PidTagCreationTime), From (the represented sender, else the sender;
// Sender when both differ), To, Cc and Bcc (the recipient table), Subject,
// Message-ID, In-Reply-To and References. Addresses are SMTP addresses:
// PidTag*SmtpAddress, the e-mail address when its type is SMTP, or the
// address in a one-off entry ID; Exchange (X.500) addresses are not e-mail
// addresses, so a person with nothing else is written by name only, as an
// empty group ("Jane Doe:;"), and noted. Non-ASCII text is RFC 2047
// encoded.
//
// The body: the plain text (PidTagBody), the HTML (PidTagHtml, in its
// code page, else the HTML that a compressed RTF body encapsulates) and,
// for genuine RTF bodies (neither \fromhtml1 nor \fromtext, and not the
// derived copy of a plain or HTML body), the RTF itself as text/rtf: most
// mail programs cannot show RTF, so it comes last in a
// multipart/alternative after the plain text, which they show instead,
// while nothing of the formatting is lost. Text and HTML together are a
// multipart/alternative; attachments the HTML shows inline (they have a
// content ID, and the HTML refers to it or the attachment is hidden or
// marked as rendered in the body) go with the HTML in a
// multipart/related; the others follow in a multipart/mixed, base64 in
// 76-character lines, streamed from Properties.Open. Attached messages
// become message/rfc822 parts, converted the same way, up to
// WriteOptions.MaxDepth. Attachments that are only links to files, OLE
// objects and unreadable ones are left out and noted.
//
// S/MIME messages (IPM.Note.SMIME*) keep their signed or encrypted
// content as it was: the attachment that holds it becomes the body.
//
// An error means the message could not be written (a read failing while
// its bytes were being streamed, or w failing); what was written is then
// incomplete.
func WriteMIME(w io.Writer, m Message, opts WriteOptions) (Notes, error) {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	c := &converter{o: &out{w: bw}, opts: opts}
	if err := c.message(m, 0, ""); err != nil {
		return c.notes, err
	}
	if c.o.err != nil {
		return c.notes, c.o.err
	}
	return c.notes, bw.Flush()
}

// out writes to a buffered writer, keeping the first error and the last
// byte written (to end parts with CRLF).
type out struct {
	w    *bufio.Writer
	err  error
	last byte
}

func (o *out) Write(p []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := o.w.Write(p)
	o.err = err
	o.last = p[len(p)-1]
	return n, err
}

func (o *out) str(s string) { _, _ = io.WriteString(o, s) }

// endLine writes CRLF unless the output already ends with a line break.
func (o *out) endLine() {
	if o.last != '\n' {
		o.str("\r\n")
	}
}

type converter struct {
	o       *out
	opts    WriteOptions
	notes   Notes
	streams int // attachment contents begun (AttachmentError.Stream)
}

// attachment is what the conversion needs to know of one attachment.
type attachment struct {
	a        Attachment
	index    int // 1-based, for notes
	method   int64
	name     string
	mimeType string
	tag      string // the stored MIME type, lower case, as it was
	cid      string
	location string
	hidden   bool
	flags    int64
	size     int64
}

// part is a node of the MIME tree being written.
type part struct {
	multipart string // "mixed", "alternative", "related"; "" for a leaf
	children  []*part
	boundary  string

	ctype   string // a text leaf's Content-Type
	content []byte // a text leaf's content
	att     *attachment
}

func (c *converter) message(m Message, depth int, prefix string) error {
	cp := Codepage(m)
	hdr, origType, err := c.header(m, cp, prefix)
	if err != nil {
		return err
	}
	class, err := Class(m)
	if err != nil {
		return err
	}
	atts, err := c.attachments(m, cp)
	if err != nil {
		return err
	}
	if strings.HasPrefix(strings.ToUpper(class), "IPM.NOTE.SMIME") {
		done, err := c.smime(hdr, origType, atts)
		if done || err != nil {
			return err
		}
	}
	b, err := c.bodies(m, cp, prefix)
	if err != nil {
		return err
	}
	root := c.tree(b, atts)

	// Boundaries come from a hash of everything that could contain text
	// (header, bodies, attachment names): a boundary cannot occur in
	// base64 or quoted-printable data (neither has "=_"), and 7-bit text
	// parts containing "=_" are written quoted-printable.
	h := sha256.New()
	fmt.Fprintf(h, "depth %d\n", depth)
	for _, f := range hdr {
		io.WriteString(h, f)
	}
	n := 0
	var walk func(p *part)
	walk = func(p *part) {
		if p.multipart != "" {
			n++
			p.boundary = strconv.Itoa(n)
			for _, ch := range p.children {
				walk(ch)
			}
			return
		}
		if p.att != nil {
			a := p.att
			fmt.Fprintf(h, "att %d %d %q %q %q %d\n", a.index, a.method, a.name, a.mimeType, a.cid, a.size)
			return
		}
		fmt.Fprintf(h, "text %q %d\n", p.ctype, len(p.content))
		h.Write(p.content)
	}
	walk(root)
	sum := hex.EncodeToString(h.Sum(nil))[:24]
	var setBoundary func(p *part)
	setBoundary = func(p *part) {
		if p.multipart != "" {
			p.boundary = "=_mf" + sum + "_" + p.boundary
			for _, ch := range p.children {
				setBoundary(ch)
			}
		}
	}
	setBoundary(root)

	for _, f := range hdr {
		c.o.str(f)
	}
	c.o.str("MIME-Version: 1.0\r\n")
	return c.writePart(root, depth, prefix)
}

// bodyParts are a message's bodies as they will be written.
type bodyParts struct {
	textBody    string
	hasText     bool
	html        []byte
	htmlCharset string // "" when unknown
	hasHTML     bool
	rtf         []byte // genuine RTF, written as text/rtf
}

func (c *converter) bodies(m Message, cp int, prefix string) (*bodyParts, error) {
	b := &bodyParts{}
	s, ok, err := getString(m, PidTagBody, cp)
	if err != nil {
		return nil, err
	}
	if ok && strings.TrimSpace(s) != "" {
		b.textBody, b.hasText = s, true
	}
	v, ok, err := m.Get(PidTagHTML)
	if err != nil {
		return nil, err
	}
	if ok && len(bytes.TrimSpace(v.Data)) > 0 {
		switch v.Type {
		case TypeString:
			b.html, b.htmlCharset, b.hasHTML = []byte(utf16le(v.Data)), "utf-8", true
		case TypeBinary, TypeString8:
			b.html, b.hasHTML = trimNUL8(v.Data), true
			if bcp, ok := BodyCodepage(m); ok {
				b.htmlCharset = Charset(bcp)
			} else {
				b.htmlCharset = sniffCharset(b.html)
			}
		}
	}
	v, ok, err = m.Get(PidTagRtfCompressed)
	if err != nil {
		return nil, err
	}
	if !ok || len(v.Data) == 0 {
		return b, nil
	}
	rtf, err := DecompressRTF(v.Data)
	switch {
	case rtf == nil && (b.hasText || b.hasHTML):
		c.notes.add(NoteBodyDamaged, prefix, "the RTF body could not be read (%v); the message's other body was used", err)
		return b, nil
	case rtf == nil:
		c.notes.add(NoteBodyLost, prefix, "the RTF body, the message's only body, could not be read: %v", err)
		return b, nil
	case err != nil:
		c.notes.add(NoteBodyDamaged, prefix, "the RTF body was used although %v", err)
	}
	kind, content := Deencapsulate(rtf)
	switch kind {
	case EncapsulatesHTML:
		if !b.hasHTML {
			b.html, b.htmlCharset, b.hasHTML = content, "utf-8", true
		}
	case EncapsulatesText:
		if !b.hasText {
			b.textBody, b.hasText = string(content), true
		}
	default:
		native, _, err := getInt(m, PidTagNativeBody)
		if err != nil {
			return nil, err
		}
		if !b.hasHTML && native != NativeBodyPlain && native != NativeBodyHTML {
			b.rtf = rtf
			if !b.hasText {
				// Programs that cannot show RTF need a plain alternative.
				if text := RTFText(rtf); len(bytes.TrimSpace(text)) > 0 {
					b.textBody, b.hasText = string(text), true
				}
			}
		}
	}
	return b, nil
}

// sniffCharset finds the charset an HTML document declares in its first
// kilobytes (a meta tag), for HTML bodies stored without a code page;
// else UTF-8 when the bytes are valid UTF-8, else DefaultCodepage.
func sniffCharset(html []byte) string {
	head := html[:min(len(html), 4096)]
	lower := bytes.ToLower(head)
	if i := bytes.Index(lower, []byte("charset=")); i >= 0 {
		rest := lower[i+len("charset="):]
		rest = bytes.TrimLeft(rest, `"' `)
		end := bytes.IndexFunc(rest, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == ':' || r == '.')
		})
		if end > 0 {
			return string(rest[:end])
		}
	}
	if bytes.Equal(head, bytes.ToValidUTF8(head, nil)) {
		return "utf-8"
	}
	return Charset(DefaultCodepage)
}

func (c *converter) attachments(m Message, cp int) ([]*attachment, error) {
	list, err := m.Attachments()
	if err != nil {
		return nil, err
	}
	out := make([]*attachment, 0, len(list))
	for i, a := range list {
		at := &attachment{a: a, index: i + 1}
		method, ok, err := getInt(a, PidTagAttachMethod)
		if err != nil {
			return nil, err
		}
		if !ok || method == AttachNone {
			// No method (or "none yet") but data: some writers leave the
			// method out of attachments by value.
			if rc, _, has, err := a.Open(PidTagAttachData); err == nil && has {
				rc.Close()
				method = AttachByValue
			} else if _, err := a.Embedded(); err == nil {
				method = AttachEmbeddedMessage
			}
		}
		at.method = method
		for _, id := range []PropID{PidTagAttachLongFilename, PidTagAttachFilename, PidTagDisplayName} {
			s, ok, err := getString(a, id, cp)
			if err != nil {
				return nil, err
			}
			if s = baseName(s); ok && s != "" {
				at.name = s
				break
			}
		}
		ext, _, err := getString(a, PidTagAttachExtension, cp)
		if err != nil {
			return nil, err
		}
		if at.name == "" {
			at.name = fmt.Sprintf("attachment-%d%s", i+1, cleanLine(ext))
		}
		tag, _, err := getString(a, PidTagAttachMimeTag, cp)
		if err != nil {
			return nil, err
		}
		at.mimeType = mimeType(tag, at.name)
		at.tag = strings.ToLower(strings.TrimSpace(tag))
		if s, ok, err := getString(a, PidTagAttachContentID, cp); err != nil {
			return nil, err
		} else if ok {
			at.cid = strings.Trim(cleanLine(s), "<> ")
		}
		if s, ok, err := getString(a, PidTagAttachContentLocation, cp); err != nil {
			return nil, err
		} else if ok {
			at.location = cleanLine(s)
		}
		hidden, _, err := getInt(a, PidTagAttachmentHidden)
		if err != nil {
			return nil, err
		}
		at.hidden = hidden != 0
		if at.flags, _, err = getInt(a, PidTagAttachFlags); err != nil {
			return nil, err
		}
		if at.size, _, err = getInt(a, PidTagAttachSize); err != nil {
			return nil, err
		}
		out = append(out, at)
	}
	return out, nil
}

// baseName cleans an attachment's name: one line, the last element of a
// path.
func baseName(s string) string {
	s = cleanLine(s)
	if i := strings.LastIndexAny(s, `/\`); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// tree arranges the bodies and attachments into the MIME structure:
// mixed(alternative(text, related(html, inline...)), attachments...),
// leaving out the multiparts that would have one child.
func (c *converter) tree(b *bodyParts, atts []*attachment) *part {
	var inline, mixed []*attachment
	for _, a := range atts {
		if b.hasHTML && a.cid != "" && a.method == AttachByValue &&
			(a.hidden || a.flags&AttachFlagRenderedInBody != 0 || bytes.Contains(bytes.ToLower(b.html), []byte("cid:"+strings.ToLower(a.cid)))) {
			inline = append(inline, a)
		} else {
			mixed = append(mixed, a)
		}
	}
	var alts []*part
	if b.hasText || (!b.hasHTML && b.rtf == nil) {
		alts = append(alts, &part{ctype: "text/plain; charset=utf-8", content: []byte(b.textBody)})
	}
	if b.hasHTML {
		html := &part{ctype: "text/html; charset=" + b.htmlCharset, content: b.html}
		if b.htmlCharset == "" {
			html.ctype = "text/html"
		}
		if len(inline) > 0 {
			rel := &part{multipart: `related; type="text/html"`, children: []*part{html}}
			for _, a := range inline {
				rel.children = append(rel.children, &part{att: a})
			}
			html = rel
		}
		alts = append(alts, html)
	}
	if b.rtf != nil {
		alts = append(alts, &part{ctype: "text/rtf", content: b.rtf})
	}
	body := alts[0]
	if len(alts) > 1 {
		body = &part{multipart: "alternative", children: alts}
	}
	if len(mixed) == 0 {
		return body
	}
	root := &part{multipart: "mixed", children: []*part{body}}
	for _, a := range mixed {
		root.children = append(root.children, &part{att: a})
	}
	return root
}

// writePart writes a part's header fields, the blank line, and its body.
func (c *converter) writePart(p *part, depth int, prefix string) error {
	switch {
	case p.multipart != "":
		c.o.str(field("Content-Type", "multipart/"+p.multipart+"; boundary=\""+p.boundary+"\""))
		c.o.str("\r\n")
		for _, ch := range p.children {
			if c.leftOut(ch, depth, prefix) {
				continue
			}
			c.o.str("--" + p.boundary + "\r\n")
			if err := c.writePart(ch, depth, prefix); err != nil {
				return err
			}
			c.o.endLine()
		}
		c.o.str("--" + p.boundary + "--\r\n")
	case p.att != nil:
		return c.writeAttachment(p.att, depth, prefix)
	default:
		c.writeText(p.ctype, p.content)
	}
	return c.o.err
}

// leftOut reports (and notes) attachments whose content cannot be
// written: links to files, OLE objects, and messages nested too deeply.
func (c *converter) leftOut(p *part, depth int, prefix string) bool {
	a := p.att
	if a == nil {
		return false
	}
	switch a.method {
	case AttachByValue, AttachEmbeddedMessage:
		if a.method == AttachEmbeddedMessage && depth+1 > c.opts.MaxDepth {
			c.notes.add(NoteAttachmentLeftOut, prefix, "attached message “%s” is nested more than %d levels deep and was left out", a.name, c.opts.MaxDepth)
			return true
		}
		return false
	case AttachByReference, AttachByRefResolve, AttachByRefOnly, AttachByWebReference:
		path, _, _ := getString(a.a, PidTagAttachLongPathname, DefaultCodepage)
		if path == "" {
			path, _, _ = getString(a.a, PidTagAttachPathname, DefaultCodepage)
		}
		c.notes.add(NoteAttachmentLeftOut, prefix, "attachment “%s” is only a link to “%s”, not stored in the message; left out", a.name, cleanLine(path))
	case AttachOLE:
		c.notes.add(NoteAttachmentLeftOut, prefix, "attachment “%s” is an embedded OLE object, which cannot be converted; left out", a.name)
	default:
		c.notes.add(NoteAttachmentLeftOut, prefix, "attachment “%s” has no content (attach method %d); left out", a.name, a.method)
	}
	return true
}

// writeText writes a text leaf: 7bit when it is ASCII with short lines
// and cannot contain a boundary, quoted-printable otherwise.
func (c *converter) writeText(ctype string, content []byte) {
	if sevenBit(content) {
		c.o.str("Content-Type: " + ctype + "\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		cw := formats.NewCRLFWriter(c.o)
		_, _ = cw.Write(content)
		_ = cw.Close()
		return
	}
	c.o.str("Content-Type: " + ctype + "\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(c.o)
	_, _ = qp.Write(content)
	_ = qp.Close()
	if len(content) > 0 {
		c.o.endLine()
	}
}

// sevenBit reports whether text can go unencoded: printable ASCII, tabs
// and line breaks, no line over 998 octets, and no "=_" (which starts
// every boundary this package makes).
func sevenBit(b []byte) bool {
	line := 0
	for i, ch := range b {
		switch {
		case ch == '\n' || ch == '\r':
			line = 0
			continue
		case ch == 0 || ch >= 0x80 || ch < 0x20 && ch != '\t' || ch == 0x7F:
			return false
		case ch == '=' && i+1 < len(b) && b[i+1] == '_':
			return false
		}
		line++
		if line > maxLine {
			return false
		}
	}
	return true
}

func (c *converter) writeAttachment(a *attachment, depth int, prefix string) error {
	disposition := "attachment"
	if a.method == AttachEmbeddedMessage {
		return c.writeEmbedded(a, depth, prefix)
	}
	stream := c.streams
	c.streams++
	rc, ok, err := io.ReadCloser(nil), false, c.opts.Unreadable[stream]
	if err == nil {
		rc, _, ok, err = a.a.Open(PidTagAttachData)
	}
	if err != nil || !ok {
		// The boundary is written already: say in the part itself what
		// is missing rather than write an empty file under its name.
		if err == nil {
			err = fmt.Errorf("no data")
		}
		c.notes.add(NoteAttachmentLeftOut, prefix, "attachment “%s” could not be read (%v) and was left out", a.name, err)
		c.o.str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		c.o.str("[mailferry: attachment " + strconv.QuoteToASCII(a.name) + " could not be read from the Outlook file]\r\n")
		return nil
	}
	defer rc.Close()
	if a.cid != "" && (a.hidden || a.flags&AttachFlagRenderedInBody != 0) {
		disposition = "inline"
	}
	c.o.str("Content-Type: " + a.mimeType + param("name", a.name) + "\r\n")
	c.o.str("Content-Disposition: " + disposition + param("filename", a.name) + "\r\n")
	if a.cid != "" {
		c.o.str(field("Content-ID", "<"+a.cid+">"))
	}
	if a.location != "" {
		c.o.str(field("Content-Location", a.location))
	}
	c.o.str("Content-Transfer-Encoding: base64\r\n\r\n")
	if err := writeBase64(c.o, rc); err != nil {
		if c.o.err != nil {
			return c.o.err // writing failed, not the attachment
		}
		return &AttachmentError{Stream: stream, Name: a.name, Err: err}
	}
	return c.o.err
}

// writeBase64 streams r as base64 in lines of 76 characters.
func writeBase64(o *out, r io.Reader) error {
	const perLine = 57 // bytes per 76-character line
	in := make([]byte, perLine*128)
	enc := make([]byte, 0, 78*128)
	for {
		n, eof, err := fill(r, in)
		if n > 0 {
			enc = enc[:0]
			for i := 0; i < n; i += perLine {
				chunk := in[i:min(i+perLine, n)]
				enc = base64.StdEncoding.AppendEncode(enc, chunk)
				enc = append(enc, '\r', '\n')
			}
			if _, werr := o.Write(enc); werr != nil {
				return werr
			}
		}
		if err != nil {
			return err
		}
		if eof {
			return nil
		}
	}
}

// fill reads until buf is full or the reader ends (eof true).
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

func (c *converter) writeEmbedded(a *attachment, depth int, prefix string) error {
	em, err := a.a.Embedded()
	if err != nil {
		c.notes.add(NoteAttachmentLeftOut, prefix, "attached message “%s” could not be read (%v) and was left out", a.name, err)
		c.o.str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n")
		c.o.str("[mailferry: attached message " + strconv.QuoteToASCII(a.name) + " could not be read from the Outlook file]\r\n")
		return nil
	}
	name := a.name
	if ext := strings.ToLower(name[max(0, len(name)-4):]); ext == ".msg" {
		name = name[:len(name)-4]
	}
	if !strings.HasSuffix(strings.ToLower(name), ".eml") {
		name += ".eml"
	}
	c.o.str("Content-Type: message/rfc822\r\n")
	c.o.str("Content-Disposition: attachment" + param("filename", name) + "\r\n")
	// Everything this package writes is ASCII except a stored header;
	// message/rfc822 allows 7bit or 8bit (RFC 2046 5.2.1).
	if th, _, err := getString(em, PidTagTransportMessageHeaders, Codepage(em)); err == nil && !isASCII(th) {
		c.o.str("Content-Transfer-Encoding: 8bit\r\n")
	}
	c.o.str("\r\n")
	sub := fmt.Sprintf("%sattached message “%s”: ", prefix, a.name)
	return c.message(em, depth+1, sub)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// smime writes an S/MIME message ([MS-OXOSMIME] 2.1.3): its one
// attachment holds the signed or encrypted MIME entity, which becomes the
// body as it is. done is false when the message does not have that shape
// (it is then converted like any other).
func (c *converter) smime(hdr []string, origType string, atts []*attachment) (done bool, err error) {
	if len(atts) != 1 || atts[0].method != AttachByValue {
		return false, nil
	}
	a := atts[0]
	rc, _, ok, err := a.a.Open(PidTagAttachData)
	if err != nil || !ok {
		return false, nil
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 4096)
	head, _ := br.Peek(4096)
	switch {
	case strings.HasPrefix(a.tag, "multipart/signed") || strings.HasPrefix(strings.ToLower(origType), "multipart/signed"):
		// Clear-signed: the attachment is the whole multipart/signed
		// entity, normally with its own Content-Type line; without one,
		// the stored header's Content-Type goes with it.
		ownHeader := startsWithField(head)
		if !ownHeader && !strings.HasPrefix(strings.ToLower(origType), "multipart/signed") {
			return false, nil
		}
		for _, f := range hdr {
			c.o.str(f)
		}
		c.o.str("MIME-Version: 1.0\r\n")
		if !ownHeader {
			c.o.str(field("Content-Type", cleanLine(origType)))
			c.o.str("\r\n")
		}
		cw := formats.NewCRLFWriter(c.o)
		if _, err := io.Copy(cw, br); err != nil {
			return true, fmt.Errorf("read signed body: %w", err)
		}
		if err := cw.Close(); err != nil {
			return true, err
		}
		return true, c.o.err
	case strings.Contains(a.tag, "pkcs7-mime") || strings.EqualFold(a.name, "smime.p7m"):
		smimeType := "enveloped-data"
		if i := strings.Index(strings.ToLower(origType), "smime-type="); i >= 0 {
			v := strings.Trim(strings.FieldsFunc(origType[i+len("smime-type="):], func(r rune) bool { return r == ';' || r == ' ' })[0], `"`)
			if isToken(v) {
				smimeType = v
			}
		}
		for _, f := range hdr {
			c.o.str(f)
		}
		c.o.str("MIME-Version: 1.0\r\n")
		c.o.str("Content-Type: application/pkcs7-mime;\r\n smime-type=" + smimeType + param("name", "smime.p7m") + "\r\n")
		c.o.str("Content-Disposition: attachment" + param("filename", "smime.p7m") + "\r\n")
		c.o.str("Content-Transfer-Encoding: base64\r\n\r\n")
		if err := writeBase64(c.o, br); err != nil {
			return true, fmt.Errorf("read encrypted body: %w", err)
		}
		return true, c.o.err
	}
	return false, nil
}

// startsWithField reports whether b starts with a header field line.
func startsWithField(b []byte) bool {
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	colon := bytes.IndexByte(line, ':')
	return colon > 0 && isFieldName(string(line[:colon]))
}
