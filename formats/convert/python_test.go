package convert

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailferry/formats/convert/internal/memsource"
	"mailferry/internal/testutil"
)

// pythonMbox reads mbox files with Python's standard mailbox module and
// returns, per file, the raw bytes of each message (without its From_
// line), as another implementation sees them.
const pythonMbox = `
import base64, json, mailbox, sys
out = {}
for path in sys.argv[1:]:
    box = mailbox.mbox(path, create=False)
    msgs = []
    for key in box.iterkeys():
        raw = box.get_bytes(key)
        msg = box.get_message(key)
        msgs.append({"raw": base64.b64encode(raw).decode(), "subject": str(msg["subject"] or "")})
    out[path] = msgs
json.dump(out, sys.stdout)
`

// mboxrdQuote is the quoting the mbox writer must apply, written
// independently of fromQuoter.
var mboxrdQuote = regexp.MustCompile(`(?m)^(>*From )`)

// TestPythonReadsMbox proves the mbox output readable by another
// implementation: Python's mailbox module finds the same number of
// messages in every folder file, with the same bytes, once its mboxo view
// is accounted for: it does not unquote, so lines that began with ">*From "
// carry one '>' more; it keeps our X-Mozilla headers and, since it only
// knows LF as the line separator, the empty CRLF line that ends each
// message.
func TestPythonReadsMbox(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testutil.SkipOrFail(t, "python3 not found: %v", err)
		return
	}
	out, rep := convertSample(t, FormatMbox)
	src := memsource.Sample()
	want := map[string][][]byte{} // output file → expected Python bytes
	var files []string
	for _, fr := range rep.Folders {
		if fr.Written == 0 {
			continue
		}
		p := filepath.Join(out, filepath.FromSlash(fr.Output))
		files = append(files, p)
		for _, m := range src.Written() {
			if src.Boxes[m.Box].DisplayPath() != fr.Source {
				continue
			}
			want[p] = append(want[p], pythonView(m.Bytes))
		}
	}
	cmd := exec.Command(py, append([]string{"-c", pythonMbox}, files...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	js, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v\n%s", err, stderr.String())
	}
	var got map[string][]struct{ Raw, Subject string }
	if err := json.Unmarshal(js, &got); err != nil {
		t.Fatalf("python3 output: %v", err)
	}
	total := 0
	for _, p := range files {
		msgs := got[p]
		if len(msgs) != len(want[p]) {
			t.Errorf("%s: Python finds %d messages, want %d", p, len(msgs), len(want[p]))
			continue
		}
		for i, m := range msgs {
			raw, err := base64.StdEncoding.DecodeString(m.Raw)
			if err != nil {
				t.Fatal(err)
			}
			raw = dropMozHeaders(raw)
			if !bytes.Equal(raw, want[p][i]) {
				t.Errorf("%s #%d: Python reads\n%q\nwant\n%q", p, i+1, raw, want[p][i])
			}
			if m.Subject == "" {
				t.Errorf("%s #%d: Python finds no Subject", p, i+1)
			}
			total++
		}
	}
	if total != rep.Totals.Written {
		t.Errorf("Python read %d messages, %d written", total, rep.Totals.Written)
	}
}

// pythonView is what Python's mailbox yields for a message we wrote:
// the message without X-Mozilla headers, with a final CRLF, mboxrd-quoted,
// followed by the empty line that ends it in the file.
func pythonView(msg []byte) []byte {
	msg = dropMozHeaders(msg)
	if !bytes.HasSuffix(msg, []byte("\n")) {
		msg = append(msg, '\r', '\n')
	}
	msg = mboxrdQuote.ReplaceAll(msg, []byte(">$1"))
	return append(msg, '\r', '\n')
}

// dropMozHeaders removes X-Mozilla-* lines from the header.
func dropMozHeaders(msg []byte) []byte {
	var out []byte
	inHeader := true
	for _, l := range bytes.SplitAfter(msg, []byte("\n")) {
		if inHeader && strings.HasPrefix(strings.ToLower(string(l)), "x-mozilla-") {
			continue
		}
		if len(bytes.TrimRight(l, "\r\n")) == 0 {
			inHeader = false
		}
		out = append(out, l...)
	}
	return out
}
