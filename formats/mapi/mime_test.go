package mapi

import (
	"bytes"
	"io"
	"math/rand/v2"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decode windows-1252 parts

	"mailferry/formats/formatstest"
)

var sent = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// convert writes m twice, checks what must hold for every output
// (identical bytes, CRLF, final CRLF, no NUL, lines of at most 998
// octets) and parses it back.
func convert(t *testing.T, m Message) (*message.Entity, []byte, Notes) {
	t.Helper()
	var a, b bytes.Buffer
	notes, err := WriteMIME(&a, m, WriteOptions{})
	if err != nil {
		t.Fatalf("WriteMIME: %v", err)
	}
	if _, err := WriteMIME(&b, m, WriteOptions{}); err != nil {
		t.Fatalf("WriteMIME (second): %v", err)
	}
	out := a.Bytes()
	if !bytes.Equal(out, b.Bytes()) {
		t.Errorf("two conversions of the same message differ")
	}
	checkWire(t, out)
	e, err := message.Read(bytes.NewReader(out))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("parse the output back: %v\n%s", err, out)
	}
	return e, out, notes
}

func checkWire(t *testing.T, out []byte) {
	t.Helper()
	if err := formatstest.CheckCRLF(out); err != nil {
		t.Errorf("output: %v", err)
	}
	if len(out) == 0 {
		t.Errorf("empty output")
	}
	if bytes.IndexByte(out, 0) >= 0 {
		t.Errorf("output has a NUL byte")
	}
	for i, line := range bytes.Split(out, []byte("\r\n")) {
		if len(line) > 998 {
			t.Errorf("line %d is %d octets long", i+1, len(line))
		}
	}
}

// shape renders the MIME tree: "multipart/mixed[text/plain,image/png]".
func shape(t *testing.T, e *message.Entity) string {
	t.Helper()
	ct, _, _ := e.Header.ContentType()
	mr := e.MultipartReader()
	if mr == nil {
		return ct
	}
	var kids []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && !message.IsUnknownCharset(err) {
			t.Fatalf("next part: %v", err)
		}
		kids = append(kids, shape(t, p))
	}
	return ct + "[" + strings.Join(kids, ",") + "]"
}

// leaf is a leaf part, read during the walk (a part's body is only
// readable until the next part is reached).
type leaf struct {
	Header message.Header
	Body   string
}

// parts parses out again and returns its leaf parts in order.
func parts(t *testing.T, out []byte) []leaf {
	t.Helper()
	e, err := message.Read(bytes.NewReader(out))
	if err != nil && !message.IsUnknownCharset(err) {
		t.Fatalf("parse: %v", err)
	}
	var leaves []leaf
	err = e.Walk(func(path []int, p *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) {
			return err
		}
		if p.MultipartReader() == nil {
			b, err := io.ReadAll(p.Body)
			if err != nil {
				return err
			}
			leaves = append(leaves, leaf{p.Header, string(b)})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return leaves
}

func hasKind(ns Notes, k NoteKind) bool {
	for _, n := range ns {
		if n.Kind == k {
			return true
		}
	}
	return false
}

func textMessage(extra ...any) *fakeMessage {
	return &fakeMessage{fakeProps: props(append([]any{
		PidTagSubject, ustr("Hello"),
		PidTagBody, ustr("Hi there.\r\n"),
		PidTagClientSubmitTime, ftime(sent),
		PidTagSenderName, ustr("Ann Sender"),
		PidTagSenderAddressType, ustr("SMTP"),
		PidTagSenderEmailAddress, ustr("ann@example.com"),
	}, extra...)...)}
}

func TestTransportHeaders(t *testing.T) {
	headers := "Received: from a by b; Mon, 1 Mar 2021 10:00:00 +0000\r\n" +
		"From: Bob <bob@example.org>\r\nTo: ann@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Date: Mon, 1 Mar 2021 10:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"old\"\r\n" +
		"Content-Transfer-Encoding: 7bit\r\nX-Folded: one\r\n\ttwo\r\n" +
		"X-Long: " + strings.Repeat("word ", 300) + "\r\n\r\n"
	m := textMessage(PidTagTransportMessageHeaders, ustr(headers))
	e, out, notes := convert(t, m)
	if got := shape(t, e); got != "text/plain" {
		t.Errorf("shape = %s, want text/plain", got)
	}
	head := string(out[:bytes.Index(out, []byte("\r\n\r\n"))+2])
	for _, want := range []string{
		"Received: from a by b; Mon, 1 Mar 2021 10:00:00 +0000\r\nFrom: Bob <bob@example.org>\r\n",
		"X-Folded: one\r\n\ttwo\r\n",
		"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n",
	} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	if strings.Count(head, "MIME-Version:") != 1 || strings.Contains(head, `"old"`) || strings.Count(head, "Content-Transfer-Encoding") != 1 {
		t.Errorf("the stored MIME fields should be replaced by the rebuilt ones:\n%s", head)
	}
	if strings.Count(head, "From:") != 1 || strings.Contains(head, "Ann Sender") {
		t.Errorf("properties must not override the stored header:\n%s", head)
	}
	if hasKind(notes, NoteHeaderRepaired) {
		t.Errorf("refolding at spaces keeps the value; no note wanted: %v", notes)
	}
	if got := e.Header.Get("X-Long"); strings.Join(strings.Fields(got), " ") != strings.TrimSpace(strings.Repeat("word ", 300)) {
		t.Errorf("X-Long changed by the refolding: %q", got)
	}
}

func TestTransportHeadersMissingFields(t *testing.T) {
	// A stored header with Received lines only: Date, From, Subject and
	// Message-ID come from the properties, with notes.
	m := textMessage(PidTagTransportMessageHeaders, ustr("Received: by x; Mon, 1 Mar 2021 10:00:00 +0000\r\ngarbage line\r\n"),
		PidTagInternetMessageID, ustr("<2@example.com>"))
	e, _, notes := convert(t, m)
	for _, f := range []string{"Date", "From", "Subject", "Message-Id"} {
		if e.Header.Get(f) == "" {
			t.Errorf("%s not added", f)
		}
	}
	if !hasKind(notes, NoteHeaderAdded) || !hasKind(notes, NoteHeaderRepaired) {
		t.Errorf("notes = %v, want added fields and a dropped line", notes)
	}
}

func TestRebuiltHeader(t *testing.T) {
	m := textMessage(
		PidTagSubject, ustr("Grüße – ein sehr langer Betreff, der über mehrere Zeilen gefaltet werden muss, damit er passt"),
		PidTagSentRepresentingName, ustr("Chef, The"),
		PidTagSentRepresentingAddressType, ustr("EX"),
		PidTagSentRepresentingEmailAddress, ustr("/O=ORG/OU=EXCHANGE/CN=RECIPIENTS/CN=CHEF"),
		PidTagSentRepresentingSMTPAddress, ustr("chef@example.com"),
		PidTagInternetMessageID, ustr("abc@example.com"),
		PidTagInReplyToID, ustr("<parent@example.com>"),
		PidTagInternetReferences, ustr("<root@example.com> <parent@example.com>"),
	)
	m.recips = []Properties{
		recipient(RecipientTo, "Zoë Ünal", "SMTP", "zoe@example.com"),
		recipient(RecipientTo, "Exchange Only", "EX", "/O=ORG/CN=RECIPIENTS/CN=ONLY"),
		recipient(RecipientCc, "Has Smtp", "EX", "/O=ORG/CN=X", PidTagSMTPAddress, ustr("smtp@example.com")),
		recipient(RecipientBcc|RecipientResend, "Hidden", "SMTP", "hidden@example.com"),
	}
	e, _, notes := convert(t, m)
	h := e.Header
	want := map[string]string{
		"Date":        "Thu, 04 Mar 2021 05:06:07 +0000",
		"Message-Id":  "<abc@example.com>",
		"In-Reply-To": "<parent@example.com>",
		"References":  "<root@example.com> <parent@example.com>",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subject != "Grüße – ein sehr langer Betreff, der über mehrere Zeilen gefaltet werden muss, damit er passt" {
		t.Errorf("Subject = %q (%v)", subject, err)
	}
	from, _ := dec.DecodeHeader(h.Get("From"))
	if from != `"Chef, The" <chef@example.com>` {
		t.Errorf("From = %q", from)
	}
	if got := h.Get("Sender"); got != "Ann Sender <ann@example.com>" {
		t.Errorf("Sender = %q", got)
	}
	to, _ := dec.DecodeHeader(h.Get("To"))
	if to != "Zoë Ünal <zoe@example.com>, Exchange Only:;" {
		t.Errorf("To = %q", to)
	}
	if got := h.Get("Cc"); got != "Has Smtp <smtp@example.com>" {
		t.Errorf("Cc = %q", got)
	}
	if got := h.Get("Bcc"); got != "Hidden <hidden@example.com>" {
		t.Errorf("Bcc = %q", got)
	}
	if !hasKind(notes, NoteHeaderRebuilt) || !hasKind(notes, NoteNoAddress) || notes.Incomplete() != "" {
		t.Errorf("notes = %v", notes)
	}
}

func TestOneOffAndDisplayRecipients(t *testing.T) {
	oneOff := append([]byte{0, 0, 0, 0}, oneOffProvider...)
	oneOff = append(oneOff, 0, 0, 0x00, 0x80) // version, flags: Unicode
	for _, s := range []string{"Typed In", "SMTP", "typed@example.com"} {
		oneOff = append(oneOff, ustr(s).Data...)
		oneOff = append(oneOff, 0, 0)
	}
	m := textMessage(PidTagSenderAddressType, ustr("EX"), PidTagSenderEmailAddress, ustr("/O=X"),
		PidTagSenderEntryID, bin(oneOff))
	e, _, _ := convert(t, m)
	if got := e.Header.Get("From"); got != "Ann Sender <typed@example.com>" {
		t.Errorf("From from a one-off entry ID = %q", got)
	}
	m = textMessage(PidTagDisplayTo, ustr("One Person; Other Person"))
	e, _, _ = convert(t, m)
	if got := e.Header.Get("To"); got != "One Person:;, Other Person:;" {
		t.Errorf("To from the display list = %q", got)
	}
}

func TestBodies(t *testing.T) {
	cafe1252 := []byte("<html><body><p>Caf\xe9 cr\xe8me</p></body></html>")
	for _, tc := range []struct {
		name  string
		m     *fakeMessage
		shape string
		check func(t *testing.T, leaves []leaf)
	}{
		{"text only", textMessage(), "text/plain", func(t *testing.T, l []leaf) {
			if got := l[0].Body; got != "Hi there.\r\n" {
				t.Errorf("body = %q", got)
			}
		}},
		{"no body at all", &fakeMessage{fakeProps: props(PidTagSubject, ustr("empty"))}, "text/plain", nil},
		{"HTML only, in its code page", &fakeMessage{fakeProps: props(PidTagHTML, bin(cafe1252), PidTagInternetCodepage, i32(1252))},
			"text/html", func(t *testing.T, l []leaf) {
				if _, p, _ := l[0].Header.ContentType(); p["charset"] != "windows-1252" {
					t.Errorf("charset = %q", p["charset"])
				}
				if got := l[0].Body; got != "<html><body><p>Café crème</p></body></html>\r\n" {
					t.Errorf("body = %q", got)
				}
			}},
		{"HTML without a code page: its meta charset", &fakeMessage{fakeProps: props(PidTagHTML,
			bin([]byte(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-2"></head></html>`)))},
			"text/html", func(t *testing.T, l []leaf) {
				if _, p, _ := l[0].Header.ContentType(); p["charset"] != "iso-8859-2" {
					t.Errorf("charset = %q", p["charset"])
				}
			}},
		{"text and RTF-encapsulated HTML", textMessage(PidTagRtfCompressed, bin(mela(encapsulatedExample))),
			"multipart/alternative[text/plain,text/html]", func(t *testing.T, l []leaf) {
				if got := l[1].Body; got != encapsulatedWant+"\r\n" && got != encapsulatedWant {
					t.Errorf("HTML = %q", got)
				}
			}},
		{"genuine RTF goes last as text/rtf", textMessage(PidTagRtfCompressed, bin(specSimpleCompressed)),
			"multipart/alternative[text/plain,text/rtf]", func(t *testing.T, l []leaf) {
				if got := l[1].Body; strings.TrimRight(got, "\r\n") != strings.TrimRight(specSimpleRaw, "\r\n") {
					t.Errorf("RTF = %q", got)
				}
			}},
		{"genuine RTF alone gets a plain alternative", &fakeMessage{fakeProps: props(PidTagRtfCompressed, bin(specSimpleCompressed))},
			"multipart/alternative[text/plain,text/rtf]", func(t *testing.T, l []leaf) {
				if got := l[0].Body; got != "hello world" {
					t.Errorf("plain text from the RTF = %q", got)
				}
			}},
		{"RTF derived from plain text is not repeated", textMessage(PidTagRtfCompressed, bin(specSimpleCompressed), PidTagNativeBody, i32(NativeBodyPlain)),
			"text/plain", nil},
		{"RTF from text fills a missing plain body", &fakeMessage{fakeProps: props(PidTagRtfCompressed,
			bin(mela(`{\rtf1\ansi\fromtext \pard Only text\par}`)))}, "text/plain", func(t *testing.T, l []leaf) {
			if got := l[0].Body; got != "Only text\r\n" {
				t.Errorf("body = %q", got)
			}
		}},
		{"text containing a boundary-like string is encoded", textMessage(PidTagBody, ustr("--=_mf0000_1\r\n")),
			"text/plain", func(t *testing.T, l []leaf) {
				if l[0].Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
					t.Errorf("CTE = %q", l[0].Header.Get("Content-Transfer-Encoding"))
				}
			}},
		{"long lines and NUL are encoded", textMessage(PidTagBody, ustr(strings.Repeat("x", 2000)+"\x00y")),
			"text/plain", func(t *testing.T, l []leaf) {
				if got := l[0].Body; got != strings.Repeat("x", 2000)+"\x00y\r\n" {
					t.Errorf("body changed: %d bytes", len(got))
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _, _ := convert(t, tc.m)
			if got := shape(t, e); got != tc.shape {
				t.Fatalf("shape = %s, want %s", got, tc.shape)
			}
			if tc.check != nil {
				_, out, _ := convert(t, tc.m)
				tc.check(t, parts(t, out))
			}
		})
	}
}

func attach(name string, data []byte, extra ...any) *fakeAttachment {
	return &fakeAttachment{fakeProps: props(append([]any{
		PidTagAttachMethod, i32(AttachByValue),
		PidTagAttachLongFilename, ustr(name),
		PidTagAttachData, bin(data),
		PidTagAttachSize, i32(int32(len(data))),
	}, extra...)...)}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

func TestAttachments(t *testing.T) {
	pdf := randomBytes(100_000)
	png := randomBytes(3000)
	name := "Übersicht 2024 – März, sehr ausführlich und mit einem langen Namen.pdf"
	m := textMessage(PidTagHTML, bin([]byte(`<p>see <img src="cid:img1@x"></p>`)), PidTagInternetCodepage, i32(65001))
	m.atts = []Attachment{
		attach(name, pdf),
		attach("image001.png", png, PidTagAttachContentID, ustr("img1@x"), PidTagAttachMimeTag, ustr("image/png"), PidTagAttachmentHidden, boolean(true)),
		attach("notes.txt", []byte("plain\r\n"), PidTagAttachMimeTag, ustr("not a type")),
	}
	e, out, notes := convert(t, m)
	want := "multipart/mixed[multipart/alternative[text/plain,multipart/related[text/html,image/png]],application/pdf,text/plain]"
	if got := shape(t, e); got != want {
		t.Fatalf("shape = %s\nwant    %s", got, want)
	}
	if notes.Incomplete() != "" {
		t.Errorf("notes = %v", notes)
	}
	leaves := parts(t, out)
	img, doc, txt := leaves[2], leaves[3], leaves[4]
	if got := img.Body; got != string(png) || img.Header.Get("Content-Id") != "<img1@x>" {
		t.Errorf("inline image: %d bytes, Content-ID %q", len(got), img.Header.Get("Content-Id"))
	}
	if d, _, _ := img.Header.ContentDisposition(); d != "inline" {
		t.Errorf("inline image disposition %q", d)
	}
	if got := doc.Body; got != string(pdf) {
		t.Errorf("attachment content differs (%d bytes, want %d)", len(got), len(pdf))
	}
	if _, p, err := doc.Header.ContentDisposition(); err != nil || p["filename"] != name {
		t.Errorf("filename = %q (%v), want %q", p["filename"], err, name)
	}
	if _, p, _ := doc.Header.ContentType(); p["name"] != name {
		t.Errorf("name = %q", p["name"])
	}
	if ct, _, _ := txt.Header.ContentType(); ct != "text/plain" {
		t.Errorf("type from the extension = %q", ct)
	}
	// base64 in 76-character lines.
	marker := []byte("Content-Transfer-Encoding: base64\r\n\r\n")
	start := bytes.Index(out, marker) + len(marker)
	if line := out[start : start+bytes.Index(out[start:], []byte("\r\n"))]; len(line) != 76 {
		t.Errorf("base64 line of %d characters", len(line))
	}
}

func TestAttachmentWithoutMethod(t *testing.T) {
	m := textMessage()
	plain := attach("data.bin", []byte("data"))
	delete(plain.vals, PidTagAttachMethod)
	embedded := &fakeAttachment{fakeProps: props(PidTagDisplayName, ustr("mail")), embedded: textMessage()}
	m.atts = []Attachment{plain, embedded}
	e, _, notes := convert(t, m)
	if got := shape(t, e); got != "multipart/mixed[text/plain,application/octet-stream,message/rfc822]" {
		t.Errorf("shape = %s", got)
	}
	if notes.Incomplete() != "" {
		t.Errorf("notes = %v", notes)
	}
}

func TestInlineWithoutHTMLGoesToMixed(t *testing.T) {
	m := textMessage()
	m.atts = []Attachment{attach("a.png", []byte("png"), PidTagAttachContentID, ustr("c1"), PidTagAttachmentHidden, boolean(true))}
	e, _, _ := convert(t, m)
	if got := shape(t, e); got != "multipart/mixed[text/plain,image/png]" {
		t.Errorf("shape = %s", got)
	}
}

func TestEmbeddedMessage(t *testing.T) {
	inner := textMessage(PidTagSubject, ustr("Inner"), PidTagTransportMessageHeaders,
		ustr("From: x@example.com\r\nSubject: Inner ä\r\n"))
	inner.atts = []Attachment{attach("deep.bin", []byte{1, 2, 3})}
	m := textMessage()
	m.atts = []Attachment{&fakeAttachment{fakeProps: props(
		PidTagAttachMethod, i32(AttachEmbeddedMessage), PidTagDisplayName, ustr("Inner.msg")), embedded: inner}}
	e, out, notes := convert(t, m)
	if got := shape(t, e); got != "multipart/mixed[text/plain,message/rfc822]" {
		t.Fatalf("shape = %s", got)
	}
	rfc822 := parts(t, out)[1]
	if rfc822.Header.Get("Content-Transfer-Encoding") != "8bit" {
		t.Errorf("an attached message with an 8-bit header needs 8bit, got %q", rfc822.Header.Get("Content-Transfer-Encoding"))
	}
	if _, p, _ := rfc822.Header.ContentDisposition(); p["filename"] != "Inner.eml" {
		t.Errorf("filename = %q", p["filename"])
	}
	ie, err := message.Read(strings.NewReader(rfc822.Body))
	if err != nil {
		t.Fatalf("parse attached message: %v", err)
	}
	if got := shape(t, ie); got != "multipart/mixed[text/plain,application/octet-stream]" {
		t.Errorf("attached message shape = %s", got)
	}
	if notes.Incomplete() != "" {
		t.Errorf("notes = %v", notes)
	}
}

func TestNestingBound(t *testing.T) {
	// A message attached to itself: the depth bound ends the recursion.
	m := textMessage()
	m.atts = []Attachment{&fakeAttachment{fakeProps: props(PidTagAttachMethod, i32(AttachEmbeddedMessage), PidTagDisplayName, ustr("loop")), embedded: m}}
	var b bytes.Buffer
	notes, err := WriteMIME(&b, m, WriteOptions{MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, b.Bytes())
	if got := strings.Count(b.String(), "Content-Type: message/rfc822"); got != 3 {
		t.Errorf("%d attached messages written, want 3", got)
	}
	if !hasKind(notes, NoteAttachmentLeftOut) || notes.Incomplete() == "" {
		t.Errorf("notes = %v", notes)
	}
}

func TestAttachmentsLeftOut(t *testing.T) {
	m := textMessage()
	broken := attach("broken.doc", []byte("x"))
	broken.failOpen = map[PropID]bool{PidTagAttachData: true}
	m.atts = []Attachment{
		&fakeAttachment{fakeProps: props(PidTagAttachMethod, i32(AttachByReference), PidTagAttachLongFilename, ustr("big.iso"),
			PidTagAttachLongPathname, ustr(`\\server\share\big.iso`))},
		&fakeAttachment{fakeProps: props(PidTagAttachMethod, i32(AttachOLE), PidTagDisplayName, ustr("Picture"))},
		broken,
	}
	e, _, notes := convert(t, m)
	if got := shape(t, e); got != "multipart/mixed[text/plain,text/plain]" {
		t.Errorf("shape = %s (only the placeholder of the unreadable one)", got)
	}
	inc := notes.Incomplete()
	for _, want := range []string{"big.iso", `\\server\share`, "Picture", "broken.doc"} {
		if !strings.Contains(inc, want) {
			t.Errorf("Incomplete() = %q lacks %q", inc, want)
		}
	}
}

func TestSMIME(t *testing.T) {
	signed := "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"sig\"\r\n\r\n" +
		"--sig\r\nContent-Type: text/plain\r\n\r\nsigned text\r\n--sig\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--sig--\r\n"
	m := textMessage(PidTagMessageClass, ustr("IPM.Note.SMIME.MultipartSigned"))
	m.atts = []Attachment{attach("smime.p7m", []byte(signed), PidTagAttachMimeTag, ustr("multipart/signed"))}
	e, out, _ := convert(t, m)
	if got := shape(t, e); got != "multipart/signed[text/plain,application/pkcs7-signature]" {
		t.Errorf("signed shape = %s", got)
	}
	if !bytes.HasSuffix(out, []byte(signed)) {
		t.Errorf("the signed entity must be passed on unchanged:\n%s", out)
	}

	m = textMessage(PidTagMessageClass, ustr("IPM.Note.SMIME"), PidTagTransportMessageHeaders,
		ustr("From: a@example.com\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name=smime.p7m\r\n"))
	m.atts = []Attachment{attach("smime.p7m", []byte{0x30, 0x82, 1, 2}, PidTagAttachMimeTag, ustr("application/pkcs7-mime"))}
	_, out, _ = convert(t, m)
	l := parts(t, out)
	if ct, p, _ := l[0].Header.ContentType(); ct != "application/pkcs7-mime" || p["smime-type"] != "signed-data" {
		t.Errorf("opaque S/MIME: %s %v", ct, p)
	}
	if got := l[0].Body; got != "\x30\x82\x01\x02" {
		t.Errorf("opaque S/MIME body = %q", got)
	}
}

func TestParam(t *testing.T) {
	for _, v := range []string{"a.pdf", "with space.pdf", `quote"and\back.txt`, "Ünïcödé.txt", strings.Repeat("ä", 200) + ".txt", strings.Repeat("a", 120)} {
		p := "attachment" + param("filename", v)
		_, params, err := mime.ParseMediaType(strings.ReplaceAll(p, "\r\n ", " "))
		if err != nil || params["filename"] != v {
			t.Errorf("param(%q) = %q, parses to %q (%v)", v, p, params["filename"], err)
		}
		for _, line := range strings.Split(p, "\r\n") {
			if len(line) > 78 {
				t.Errorf("param(%q): line of %d characters", v, len(line))
			}
		}
	}
}
