package pst

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/internal/psttest"
)

// The tests in this file read files that psttest writes from [MS-PST]:
// the cases the shared corpus lacks (an ANSI file with mail, the cyclic
// encoding, an encoded .ost of 4 KiB pages with compressed blocks, a
// password, every special folder, every message state) in every layout
// and encoding. compare_test.go reads the same files with
// readpst and pffexport, so that the writer is checked too.

var (
	received = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	sentAt   = time.Date(2021, 3, 5, 8, 9, 10, 0, time.UTC)
)

// rtfMELA wraps raw RTF in the uncompressed form of [MS-OXRTFCP] 2.1.3.1
// (COMPTYPE "MELA", no CRC).
func rtfMELA(raw string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(12+len(raw)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(raw)))
	b = binary.LittleEndian.AppendUint32(b, 0x414C454D)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, raw...)
}

func recipient(kind int32, name, addr string) []psttest.Prop {
	return []psttest.Prop{psttest.Int32(0x0C15, kind), psttest.String(0x3001, name), psttest.String(0x3002, "SMTP"), psttest.String(0x3003, addr), psttest.String(0x39FE, addr)}
}

// sampleFolders is a mailbox with every case of the messaging layer: the
// special folders, folders that are not mail, a subfolder, received
// mail with its transport headers, sent mail without, a draft, bodies
// as text, HTML and RTF, attachments, an inline image and an attached
// message, and every state Outlook records.
func sampleFolders() []*psttest.Folder {
	s, i32, tm, bin := psttest.String, psttest.Int32, psttest.Time, psttest.Binary
	headers := "Received: from mx.example.org by mail.example.com; Thu, 4 Mar 2021 05:06:07 +0000\r\n" +
		"From: Alice Example <alice@example.org>\r\n" +
		"To: Bob <bob@example.com>\r\n" +
		"Subject: Quarterly figures\r\n" +
		"Date: Thu, 4 Mar 2021 05:06:00 +0000\r\n" +
		"Message-ID: <figures@example.org>\r\n" +
		"X-Original-Header: kept\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"old\"\r\n\r\n"
	figures := &psttest.Message{
		Props: []psttest.Prop{
			s(0x001A, "IPM.Note"), s(0x0037, "Quarterly figures"), s(0x007D, headers),
			i32(0x0E07, 0x01|0x10), tm(0x0E06, received), tm(0x0039, received.Add(-7*time.Second)),
			s(0x1000, "The figures are attached."),
			bin(0x1013, []byte(`<html><body><p>The figures are attached.</p><img src="cid:chart@example.org"></body></html>`)),
			i32(0x1081, 102), i32(0x1090, 2), psttest.Keywords("Finance", "Important", "Follow up"),
			s(0x0C1A, "Alice Example"), s(0x0C1F, "alice@example.org"), s(0x0C1E, "SMTP"),
		},
		Recipients: [][]psttest.Prop{recipient(1, "Bob", "bob@example.com")},
		Attachments: []*psttest.Attachment{
			{Props: []psttest.Prop{i32(0x3705, 1), s(0x3704, "FIGURES.CSV"), s(0x3707, "figures Q1.csv"), s(0x370E, "text/csv"), bin(0x3701, []byte("quarter,sum\r\nQ1,42\r\n"))}},
			{Props: []psttest.Prop{i32(0x3705, 1), s(0x3707, "chart.png"), s(0x370E, "image/png"), s(0x3712, "chart@example.org"), i32(0x3714, 4), psttest.Bool(0x7FFE, true), bin(0x3701, []byte("\x89PNG\r\n\x1a\nnot really"))}},
			{Props: []psttest.Prop{s(0x3001, "Earlier note"), s(0x3707, "Earlier note.msg")}, Message: &psttest.Message{
				Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Earlier note"), s(0x1000, "An attached message."), s(0x0C1A, "Carol"), s(0x0C1F, "carol@example.net"), tm(0x0039, received.Add(-48*time.Hour)), s(0x1035, "<earlier@example.net>")},
			}},
		},
	}
	forwarded := &psttest.Message{Props: []psttest.Prop{
		s(0x001A, "IPM.Note"), s(0x0037, "Unread, forwarded"), i32(0x0E07, 0), tm(0x0E06, received.Add(time.Hour)), i32(0x1081, 104),
		s(0x0C1A, "Dave"), s(0x0C1F, "dave@example.org"), s(0x0C1E, "SMTP"), s(0x0042, "Dave"), s(0x0065, "dave@example.org"), s(0x1035, "<fwd@example.org>"),
		bin(0x1009, rtfMELA(`{\rtf1\ansi\ansicpg1252\fromhtml1 {\*\htmltag64 <html><body>}RTF wraps HTML here{\*\htmltag72 </body></html>}}`)),
	}}
	sent := &psttest.Message{
		Props: []psttest.Prop{
			s(0x001A, "IPM.Note"), s(0x0037, "Sent without headers"), i32(0x0E07, 0x01), tm(0x0039, sentAt), tm(0x0E06, sentAt),
			s(0x0C1A, "Bob"), s(0x0C1F, "bob@example.com"), s(0x0C1E, "SMTP"), s(0x0042, "Bob"), s(0x0065, "bob@example.com"),
			s(0x1035, "<sent@example.com>"), s(0x1000, "Plain text only."),
		},
		Recipients: [][]psttest.Prop{recipient(1, "Alice Example", "alice@example.org"), recipient(2, "Erin", "erin@example.net")},
	}
	draft := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Unfinished"), i32(0x0E07, 0x01|0x08), s(0x1000, "Not sent yet.")}}
	junk := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "You won"), i32(0x0E07, 0), tm(0x0E06, received), s(0x1000, "spam")}}
	trashed := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "Old news"), i32(0x0E07, 0x01), tm(0x0E06, received), s(0x1000, "deleted")}}
	contact := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Contact"), s(0x0037, "Alice Example"), s(0x3001, "Alice Example")}}
	appointment := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Appointment"), s(0x0037, "Meeting")}}
	// An attachment by reference (PidTagAttachMethod 2: a path to a file on
	// the sender's disk) has no content to rebuild: a loss.
	nested := &psttest.Message{Props: []psttest.Prop{s(0x001A, "IPM.Note"), s(0x0037, "In a subfolder"), i32(0x0E07, 0x01), tm(0x0E06, received), s(0x1000, "nested")},
		Attachments: []*psttest.Attachment{{Props: []psttest.Prop{i32(0x3705, 2), s(0x3707, "plan.docx"), s(0x3708, `\\server\share\plan.docx`)}}}}
	return []*psttest.Folder{
		{Name: "Inbox", Class: "IPF.Note", Role: psttest.RoleInbox, Messages: []*psttest.Message{figures, forwarded, contact},
			Folders: []*psttest.Folder{{Name: "Projects", Class: "IPF.Note", Messages: []*psttest.Message{nested}}}},
		{Name: "Sent Items", Class: "IPF.Note", Role: psttest.RoleSent, Messages: []*psttest.Message{sent}},
		// Localised names: the roles come from the store's records.
		{Name: "Entwürfe", Class: "IPF.Note", Role: psttest.RoleDrafts, Messages: []*psttest.Message{draft}},
		{Name: "Gelöschte Elemente", Class: "IPF.Note", Role: psttest.RoleTrash, Messages: []*psttest.Message{trashed}},
		{Name: "Junk-E-Mail", Class: "IPF.Note", Role: psttest.RoleJunk, Messages: []*psttest.Message{junk}},
		{Name: "Kalender", Class: "IPF.Appointment", Messages: []*psttest.Message{appointment}},
		{Name: "Kontakte", Class: "IPF.Contact", Messages: []*psttest.Message{contact}},
	}
}

// writtenVariants are the layouts and encodings written, each with or
// without a password.
var writtenVariants = []struct {
	name string
	opts psttest.Options
}{
	{"ansi-none", psttest.Options{Format: psttest.ANSI, Crypt: psttest.CryptNone}},
	{"ansi-permute", psttest.Options{Format: psttest.ANSI, Crypt: psttest.CryptPermute, Password: "secret"}},
	{"ansi-cyclic", psttest.Options{Format: psttest.ANSI, Crypt: psttest.CryptCyclic}},
	{"unicode-none", psttest.Options{Format: psttest.Unicode, Crypt: psttest.CryptNone, Password: "secret"}},
	{"unicode-permute", psttest.Options{Format: psttest.Unicode, Crypt: psttest.CryptPermute}},
	{"unicode-cyclic", psttest.Options{Format: psttest.Unicode, Crypt: psttest.CryptCyclic, Password: "geheim"}},
	{"4k-none", psttest.Options{Format: psttest.Unicode4K, Crypt: psttest.CryptNone}},
	{"4k-permute", psttest.Options{Format: psttest.Unicode4K, Crypt: psttest.CryptPermute}},
	{"4k-cyclic", psttest.Options{Format: psttest.Unicode4K, Crypt: psttest.CryptCyclic}},
}

func writeSample(t *testing.T, opts psttest.Options) string {
	t.Helper()
	// ANSI files hold Windows-1252 text: the German names fit.
	p := filepath.Join(t.TempDir(), "sample.pst")
	if err := psttest.Write(p, opts, sampleFolders()); err != nil {
		t.Fatal(err)
	}
	return p
}

// part is a leaf or message part of a MIME message.
type part struct {
	ctype, filename, cid, disposition string
	body                              string
}

// walkMIME lists the parts of a message, depth first, message/rfc822
// parts as one part each (their body is the whole attached message).
func walkMIME(t *testing.T, h mail.Header, body io.Reader) []part {
	t.Helper()
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("Content-Type %q: %v", ct, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		var out []part
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, walkMIME(t, mail.Header(p.Header), p)...)
		}
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
		d, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("base64 part: %v", err)
		}
		b = d
	} else if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "quoted-printable") {
		d, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(b)))
		if err != nil {
			t.Fatalf("quoted-printable part: %v", err)
		}
		b = d
	}
	_, dp, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	disp, _, _ := strings.Cut(h.Get("Content-Disposition"), ";")
	name := dp["filename"]
	if name == "" {
		name = params["name"]
	}
	return []part{{ctype: mt, filename: name, cid: strings.Trim(h.Get("Content-Id"), "<>"), disposition: strings.TrimSpace(disp), body: string(b)}}
}

func parseMessage(t *testing.T, b []byte) (*mail.Message, []part) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, b)
	}
	return m, walkMIME(t, m.Header, m.Body)
}

// TestWrittenFiles reads the sample mailbox in every layout and encoding
// (with and without a password) and checks what the user would see: the
// folders with their roles, the folders that are not mail skipped and
// counted, every message's flags, keywords, date, headers, bodies and
// attachments.
func TestWrittenFiles(t *testing.T) {
	for _, v := range writtenVariants {
		t.Run(v.name, func(t *testing.T) {
			p := writeSample(t, v.opts)
			var warnings []string
			r, err := Open(p, formats.Options{Warn: func(w formats.Warning) { warnings = append(warnings, w.String()) }})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Store().PasswordProtected(); got != (v.opts.Password != "") {
				t.Errorf("PasswordProtected = %v, want %v", got, v.opts.Password != "")
			}
			wantFormat := map[psttest.Format]string{psttest.ANSI: "ANSI", psttest.Unicode: "Unicode", psttest.Unicode4K: "Unicode 4K"}[v.opts.Format]
			if r.Store().Format() != wantFormat {
				t.Errorf("format %s, want %s", r.Store().Format(), wantFormat)
			}
			boxes, msgs := formatstest.Collect(t, r)
			// The one warning: a category that had to change to be a keyword.
			if len(warnings) != 1 || !strings.Contains(warnings[0], `category "Follow up" is not a valid IMAP keyword; uploaded as "Follow_up"`) {
				t.Errorf("warnings: %q, want one about the category", warnings)
			}
			gotBoxes := map[string]string{}
			for _, b := range boxes {
				if b.Account != "Personal Folders" {
					t.Errorf("folder %q of account %q, want Personal Folders", b.Path, b.Account)
				}
				gotBoxes[b.Path.String()] = string(b.Special) + "|" + b.Skip
			}
			wantBoxes := map[string]string{
				"Inbox": "inbox|", "Inbox/Projects": "|", "Sent Items": "sent|", "Entwürfe": "drafts|",
				"Gelöschte Elemente": "trash|", "Junk-E-Mail": "junk|",
				"Kalender": "|not mail: calendar", "Kontakte": "|not mail: contacts",
			}
			if fmt.Sprint(gotBoxes) != fmt.Sprint(wantBoxes) {
				t.Errorf("folders %v\nwant %v", gotBoxes, wantBoxes)
			}

			bySubject := map[string]formatstest.Collected{}
			skipped := map[string]int{}
			for _, m := range msgs {
				if m.Skip != "" {
					skipped[m.Mailbox.Path.String()+": "+m.Skip]++
					continue
				}
				h, err := mail.ReadMessage(bytes.NewReader(m.Bytes))
				if err != nil {
					t.Fatalf("%s: %v", m.Mailbox.Path, err)
				}
				dec := new(mime.WordDecoder)
				subj, _ := dec.DecodeHeader(h.Header.Get("Subject"))
				bySubject[subj] = m
			}
			wantSkipped := map[string]int{"Inbox: " + formats.SkipNotMail: 1, "Kalender: not mail: calendar": 1, "Kontakte: not mail: contacts": 1}
			if fmt.Sprint(skipped) != fmt.Sprint(wantSkipped) {
				t.Errorf("skipped %v, want %v", skipped, wantSkipped)
			}
			if len(bySubject) != 7 {
				t.Errorf("%d messages read, want 7", len(bySubject))
			}
			checkState := func(subject, box string, flags []string, date time.Time) {
				t.Helper()
				m, ok := bySubject[subject]
				if !ok {
					t.Errorf("no message %q", subject)
					return
				}
				if m.Mailbox.Path.String() != box {
					t.Errorf("%q in %q, want %q", subject, m.Mailbox.Path, box)
				}
				if !slices.Equal(m.Flags, flags) {
					t.Errorf("%q: flags %q, want %q", subject, m.Flags, flags)
				}
				if !m.Date.Equal(date) || (date.IsZero() != (m.DateSource == formats.DateUnknown)) {
					t.Errorf("%q: date %v (%s), want %v", subject, m.Date, m.DateSource, date)
				}
				if m.Size != int64(len(m.Bytes)) {
					t.Errorf("%q: Size %d, %d bytes", subject, m.Size, len(m.Bytes))
				}
			}
			checkState("Quarterly figures", "Inbox", []string{`\Seen`, `\Answered`, `\Flagged`, "Finance", "Important", "Follow_up"}, received)
			checkState("Unread, forwarded", "Inbox", []string{`$Forwarded`}, received.Add(time.Hour))
			checkState("Sent without headers", "Sent Items", []string{`\Seen`}, sentAt)
			checkState("Unfinished", "Entwürfe", []string{`\Seen`, `\Draft`}, time.Time{})
			checkState("You won", "Junk-E-Mail", nil, received)
			checkState("Old news", "Gelöschte Elemente", []string{`\Seen`}, received)
			checkState("In a subfolder", "Inbox/Projects", []string{`\Seen`}, received)
			for subject, m := range bySubject {
				if loss := subject == "In a subfolder"; loss != (m.Incomplete != "") || (loss && !strings.Contains(m.Incomplete, "plan.docx")) {
					t.Errorf("%q: Incomplete %q", subject, m.Incomplete)
				}
			}

			// Received mail: its transport headers are its headers; bodies and
			// attachments from the properties.
			if m, ok := bySubject["Quarterly figures"]; ok {
				h, parts := parseMessage(t, m.Bytes)
				for k, want := range map[string]string{"Message-Id": "<figures@example.org>", "X-Original-Header": "kept", "Received": "from mx.example.org by mail.example.com; Thu, 4 Mar 2021 05:06:07 +0000", "From": "Alice Example <alice@example.org>"} {
					if got := h.Header.Get(k); got != want {
						t.Errorf("received message: %s %q, want %q", k, got, want)
					}
				}
				var summary []string
				for _, p := range parts {
					s := p.ctype
					if p.filename != "" {
						s += " " + p.filename
					}
					if p.cid != "" {
						s += " <" + p.cid + ">"
					}
					summary = append(summary, s)
					switch {
					case p.ctype == "text/csv" && (p.body != "quarter,sum\r\nQ1,42\r\n" || p.disposition != "attachment"):
						t.Errorf("csv attachment %q (%s)", p.body, p.disposition)
					case p.ctype == "image/png" && p.disposition != "inline":
						t.Errorf("inline image with disposition %q", p.disposition)
					case p.ctype == "text/plain" && p.filename == "" && strings.TrimSpace(p.body) != "The figures are attached.":
						t.Errorf("text body %q", p.body)
					case p.ctype == "text/html" && !strings.Contains(p.body, `src="cid:chart@example.org"`):
						t.Errorf("HTML body %q", p.body)
					case p.ctype == "message/rfc822":
						em, eparts := parseMessage(t, []byte(p.body))
						if em.Header.Get("Subject") != "Earlier note" || em.Header.Get("Message-Id") != "<earlier@example.net>" || len(eparts) != 1 || strings.TrimSpace(eparts[0].body) != "An attached message." {
							t.Errorf("attached message: %v %v", em.Header, eparts)
						}
					}
				}
				// The inline image goes with the HTML body it shows in.
				if !regexp.MustCompile(`(?s)multipart/related.*text/html.*image/png`).Match(m.Bytes) {
					t.Errorf("the HTML body and its image are not one multipart/related part")
				}
				want := []string{"text/plain", "text/html", "image/png chart.png <chart@example.org>", "text/csv figures Q1.csv", "message/rfc822 Earlier note.eml"}
				for _, w := range want {
					if !slices.Contains(summary, w) {
						t.Errorf("received message parts %q lack %q", summary, w)
					}
				}
			}
			// Compressed RTF that wraps HTML becomes the HTML body.
			if m, ok := bySubject["Unread, forwarded"]; ok {
				_, parts := parseMessage(t, m.Bytes)
				found := false
				for _, p := range parts {
					if p.ctype == "text/html" && strings.Contains(p.body, "RTF wraps HTML here") && strings.Contains(p.body, "<html>") {
						found = true
					}
				}
				if !found {
					t.Errorf("no HTML body from the RTF: %+v", parts)
				}
			}
			// Sent mail: headers rebuilt from the properties.
			if m, ok := bySubject["Sent without headers"]; ok {
				h, parts := parseMessage(t, m.Bytes)
				from, _ := h.Header.AddressList("From")
				to, _ := h.Header.AddressList("To")
				cc, _ := h.Header.AddressList("Cc")
				date, _ := h.Header.Date()
				if len(from) != 1 || from[0].Address != "bob@example.com" || len(to) != 1 || to[0].Address != "alice@example.org" ||
					len(cc) != 1 || cc[0].Address != "erin@example.net" || !date.Equal(sentAt) || h.Header.Get("Message-Id") != "<sent@example.com>" {
					t.Errorf("sent message headers: %v", h.Header)
				}
				if len(parts) != 1 || strings.TrimSpace(parts[0].body) != "Plain text only." {
					t.Errorf("sent message body: %+v", parts)
				}
			}
		})
	}
}

// TestWrittenFilesThroughDetect: a written file is found as an Outlook
// store by Detect (the sniffing detect relies on) whatever its layout.
func TestWrittenFilesThroughDetect(t *testing.T) {
	for _, v := range writtenVariants {
		if p := writeSample(t, v.opts); !Detect(p) {
			t.Errorf("%s: Detect = false", v.name)
		}
	}
}

// TestSubnodeTreeOfTwoLevels: a message with more subnodes than one
// SLBLOCK holds (here at most 4 per block, so that 30 attachments do it)
// has an SIBLOCK over SLBLOCKs; every attachment is found, with its
// content, in every layout, and pffexport finds the same.
func TestSubnodeTreeOfTwoLevels(t *testing.T) {
	const n = 30
	msg := &psttest.Message{Props: []psttest.Prop{psttest.String(0x001A, "IPM.Note"), psttest.String(0x0037, "Many attachments"), psttest.Int32(0x0E07, 1), psttest.String(0x1000, "see attachments")}}
	want := map[string]string{}
	for i := range n {
		name, content := fmt.Sprintf("att-%02d.txt", i), fmt.Sprintf("content of attachment %d\r\n", i)
		want[name] = content
		msg.Attachments = append(msg.Attachments, &psttest.Attachment{Props: []psttest.Prop{
			psttest.Int32(0x3705, 1), psttest.String(0x3707, name), psttest.String(0x370E, "text/plain"), psttest.Binary(0x3701, []byte(content)),
		}})
	}
	for _, format := range []psttest.Format{psttest.ANSI, psttest.Unicode, psttest.Unicode4K} {
		t.Run(formatName(format), func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "many.pst")
			opts := psttest.Options{Format: format, Crypt: psttest.CryptPermute, SubnodesPerBlock: 4}
			if err := psttest.Write(p, opts, []*psttest.Folder{{Name: "Inbox", Messages: []*psttest.Message{msg}}}); err != nil {
				t.Fatal(err)
			}
			r, err := Open(p, formats.Options{})
			if err != nil {
				t.Fatal(err)
			}
			msgs := collect(t, r)
			if len(msgs) != 1 || msgs[0].Skip != "" {
				t.Fatalf("messages %+v, want one read", msgs)
			}
			_, parts := parseMessage(t, msgs[0].Bytes)
			got := map[string]string{}
			for _, pt := range parts {
				if pt.filename != "" {
					got[pt.filename] = pt.body
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("attachments %v\nwant %v", got, want)
			}

			out := t.TempDir()
			run(t, out, "pffexport", "-q", "-t", filepath.Join(out, "x"), p)
			_, atts := pffFolder(t, filepath.Join(out, "x.export", "Top of Personal Folders", "Inbox"))
			if len(atts) != n {
				t.Errorf("pffexport finds %d attachments, want %d: %q", len(atts), n, atts)
			}
		})
	}
}

func formatName(f psttest.Format) string {
	return map[psttest.Format]string{psttest.ANSI: "ansi", psttest.Unicode: "unicode", psttest.Unicode4K: "4k"}[f]
}
