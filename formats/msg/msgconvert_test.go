package msg

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	gomessage "github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"

	"mailferry/formats/mapi"
	"mailferry/internal/testutil"
)

// converted is what both converters are compared on.
type converted struct {
	header      gomessage.Header
	text        string
	html        string
	rtf         string            // an application/rtf or text/rtf part
	attachments map[string][]byte // by file name
}

func collect(t *testing.T, raw []byte) converted {
	t.Helper()
	e, err := gomessage.Read(bytes.NewReader(raw))
	if err != nil && !gomessage.IsUnknownCharset(err) {
		t.Fatalf("parse: %v", err)
	}
	c := converted{header: e.Header, attachments: map[string][]byte{}}
	err = e.Walk(func(path []int, p *gomessage.Entity, err error) error {
		if err != nil && !gomessage.IsUnknownCharset(err) {
			return err
		}
		if p.MultipartReader() != nil {
			return nil
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			return err
		}
		ct, _, _ := p.Header.ContentType()
		disp, dp, _ := p.Header.ContentDisposition()
		switch {
		case disp == "attachment" && dp["filename"] != "":
			c.attachments[dp["filename"]] = body
		case ct == "text/plain":
			c.text = string(body)
		case ct == "text/html":
			c.html = string(body)
		case ct == "application/rtf" || ct == "text/rtf":
			c.rtf = string(body)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return c
}

var addrRE = regexp.MustCompile(`[^\s<>,"]+@[^\s<>,"]+`)

// addresses extracts the e-mail addresses of a field, lower-cased and
// sorted (msgconvert writes "a@b <a@b>", which is not a valid address
// list, so the field is not parsed as one).
func addresses(v string) []string {
	var out []string
	for _, a := range addrRE.FindAllString(v, -1) {
		out = append(out, strings.ToLower(a))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func normalizeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		lines = append(lines, strings.TrimRight(l, " \t"))
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// TestAgainstMsgconvert converts the corpus with Debian's msgconvert
// (libemail-outlook-message-perl), an independent reader of the .msg
// format, and compares what both make of each file. The differences that
// are expected, and why:
//   - The header: msgconvert builds Date, Subject, From, To, Cc and
//     Message-ID from the properties and appends the stored transport
//     header; mailferry keeps the stored header as it is (field order,
//     folding) and builds one only when none is stored. So the fields are
//     compared by value, not by bytes.
//   - MIME structure, boundaries and transfer encodings differ; parts are
//     compared decoded.
//   - RTF bodies: msgconvert attaches the decompressed RTF as an
//     application/rtf alternative; mailferry de-encapsulates RTF that
//     wraps HTML into text/html (and keeps only genuine RTF as text/rtf).
//     The decompressed RTF is compared with mapi.DecompressRTF's instead,
//     and the HTML is checked to hold the plain text's words.
//   - msgconvert's LZFu dictionary has CR and LF swapped (for the example
//     of [MS-OXRTFCP] it ends in LF CR where the spec says CR LF), so the
//     line breaks it copies from the dictionary come out reversed. RTF
//     readers ignore raw CR and LF, so both are compared without them
//     (and with the same length).
//   - msgconvert does not read the flags; they are not compared here.
func TestAgainstMsgconvert(t *testing.T) {
	tool, err := exec.LookPath("msgconvert")
	if err != nil {
		testutil.SkipOrFail(t, "msgconvert not installed (apt-get install libemail-outlook-message-perl)")
	}
	dir := testutil.Corpus(t, "msg")
	files, _ := filepath.Glob(filepath.Join(dir, "*.msg"))
	if len(files) == 0 {
		t.Fatalf("no .msg files in %s", dir)
	}
	dec := new(mime.WordDecoder)
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			theirsRaw, err := exec.Command(tool, "--outfile", "-", p).Output()
			if err != nil {
				t.Fatalf("msgconvert: %v", err)
			}
			var ours bytes.Buffer
			fh, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, _ := fh.Stat()
			if _, err := Convert(fh, st.Size(), &ours); err != nil {
				t.Fatalf("Convert: %v", err)
			}
			mine, theirs := collect(t, ours.Bytes()), collect(t, theirsRaw)

			for _, f := range []string{"Subject", "Message-Id"} {
				a, _ := dec.DecodeHeader(mine.header.Get(f))
				b, _ := dec.DecodeHeader(theirs.header.Get(f))
				if strings.Join(strings.Fields(a), " ") != strings.Join(strings.Fields(b), " ") {
					t.Errorf("%s: mailferry %q, msgconvert %q", f, a, b)
				}
			}
			for _, f := range []string{"From", "To", "Cc"} {
				if a, b := addresses(mine.header.Get(f)), addresses(theirs.header.Get(f)); !slices.Equal(a, b) {
					t.Errorf("%s: mailferry %q, msgconvert %q", f, a, b)
				}
			}
			da, errA := mail.ParseDate(mine.header.Get("Date"))
			db, errB := mail.ParseDate(theirs.header.Get("Date"))
			if errA != nil || errB != nil || !da.Equal(db) {
				t.Errorf("Date: mailferry %q (%v), msgconvert %q (%v)", mine.header.Get("Date"), errA, theirs.header.Get("Date"), errB)
			}
			if normalizeText(mine.text) != normalizeText(theirs.text) {
				t.Errorf("plain text bodies differ:\nmailferry: %q\nmsgconvert: %q", mine.text, theirs.text)
			}
			if len(mine.attachments) != len(theirs.attachments) {
				t.Errorf("%d attachments, msgconvert %d", len(mine.attachments), len(theirs.attachments))
			}
			for name, b := range theirs.attachments {
				if !bytes.Equal(mine.attachments[name], b) {
					t.Errorf("attachment %q: %d bytes, msgconvert %d", name, len(mine.attachments[name]), len(b))
				}
			}
			if theirs.rtf != "" {
				m, err := OpenMessage(fh, st.Size())
				if err != nil {
					t.Fatal(err)
				}
				v, ok, err := m.Get(mapi.PidTagRtfCompressed)
				if err != nil || !ok {
					t.Fatalf("no compressed RTF although msgconvert found one: %v", err)
				}
				rtf, err := mapi.DecompressRTF(v.Data)
				if err != nil {
					t.Fatalf("DecompressRTF: %v", err)
				}
				noBreaks := strings.NewReplacer("\r", "", "\n", "")
				if len(rtf) != len(theirs.rtf) || noBreaks.Replace(string(rtf)) != noBreaks.Replace(theirs.rtf) {
					t.Errorf("decompressed RTF differs from msgconvert's (%d and %d bytes)", len(rtf), len(theirs.rtf))
				}
				if kind, _ := mapi.Deencapsulate(rtf); kind == mapi.EncapsulatesHTML {
					if mine.html == "" {
						t.Errorf("the RTF wraps HTML, but no text/html part was written")
					}
					for _, w := range strings.Fields(theirs.text)[:min(5, len(strings.Fields(theirs.text)))] {
						if !strings.Contains(mine.html, w) {
							t.Errorf("the HTML lacks the word %q of the plain text", w)
						}
					}
				}
			}
		})
	}
}
