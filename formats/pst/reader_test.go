package pst

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"mailferry/formats"
	"mailferry/formats/mapi"
	"mailferry/internal/testutil"
)

// propsConvert is a stand-in for the MIME conversion in tests: a header
// with the subject and Message-ID, then every property of the message
// and its attachments' names and sizes, streamed through Open. It is
// deterministic, CRLF-only, and reads every value the real conversion
// would.
func propsConvert(w io.Writer, m mapi.Message) (Meta, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Subject: %s\r\n", oneLine(subject(m)))
	if id := stringProp(m, propInternetMessageID); id != "" {
		fmt.Fprintf(&b, "Message-ID: %s\r\n", oneLine(id))
	}
	b.WriteString("\r\n")
	rcpts, err := m.Recipients()
	if err != nil {
		return Meta{}, err
	}
	for _, r := range rcpts {
		fmt.Fprintf(&b, "recipient %s\r\n", oneLine(stringProp(r, propDisplayName)))
	}
	atts, err := m.Attachments()
	if err != nil {
		return Meta{}, err
	}
	for _, a := range atts {
		rc, size, ok, err := a.Open(0x3701)
		if err != nil {
			return Meta{}, err
		}
		n := int64(0)
		if ok {
			n, err = io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil || n != size {
				return Meta{}, fmt.Errorf("attachment data: %d of %d bytes: %v", n, size, err)
			}
		}
		fmt.Fprintf(&b, "attachment %q %d\r\n", stringProp(a, 0x3707), n)
	}
	meta := Meta{}
	if v, ok, _ := m.Get(propMessageDeliveryTime); ok {
		meta.Date, _ = mapi.Time(v)
	}
	_, err = w.Write(b.Bytes())
	return meta, err
}

func oneLine(s string) string {
	return string(bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, []byte(s)))
}

func openFn(path string, cfg Config) func(t *testing.T) formats.Reader {
	return func(t *testing.T) formats.Reader {
		if cfg.Convert == nil {
			cfg.Convert = propsConvert
		}
		r, err := OpenWith(path, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// TestOpenReportsFile: the file is reported through Options.OnFile, read
// or not, so that detect accounts for it; a file that is not an Outlook
// data file is reported with the error Open returns.
func TestOpenReportsFile(t *testing.T) {
	good := testutil.Corpus(t, filepath.Join("pst", "go-pst-32-bit.pst"))
	bad := filepath.Join(t.TempDir(), "damaged.pst")
	if err := os.WriteFile(bad, []byte("!BDN not an Outlook file after all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for path, wantErr := range map[string]bool{good: false, bad: true} {
		var reported []string
		var reportedErr error
		r, err := Open(path, formats.Options{OnFile: func(p string, err error) {
			reported = append(reported, p)
			reportedErr = err
		}})
		if r != nil {
			r.Close()
		}
		if (err != nil) != wantErr || len(reported) != 1 || reported[0] != path || reportedErr != err {
			t.Errorf("Open(%s) = %v; reported %q with %v; want one report of the file with Open's error", path, err, reported, reportedErr)
		}
	}
}
