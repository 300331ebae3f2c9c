package mapi

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// failingAttachment is an attachment whose content fails after its first
// bytes, as a damaged block in the middle of a large attachment does.
type failingAttachment struct{ fakeAttachment }

var errDamaged = errors.New("block 0x40: CRC mismatch")

func (a *failingAttachment) Open(id PropID) (io.ReadCloser, int64, bool, error) {
	if id != PidTagAttachData {
		return a.fakeAttachment.Open(id)
	}
	r := io.MultiReader(strings.NewReader(strings.Repeat("x", 100000)), errReader{})
	return io.NopCloser(r), 200000, true, nil
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errDamaged }

// resettable is a buffer that can start over, as formats.Spool can.
type resettable struct {
	bytes.Buffer
	resets int
}

func (r *resettable) Reset() error { r.Buffer.Reset(); r.resets++; return nil }

func attachmentOf(name, data string) *fakeAttachment {
	return &fakeAttachment{fakeProps: props(PidTagAttachMethod, i32(AttachByValue), PidTagAttachLongFilename, ustr(name), PidTagAttachData, bin([]byte(data)))}
}

// TestWriteMIMESalvaging: an attachment whose content fails in its middle
// stops WriteMIME with an *AttachmentError; WriteMIMESalvaging writes the
// message again without it, a note in its place, the other attachments
// and the body whole, and the loss in the notes.
func TestWriteMIMESalvaging(t *testing.T) {
	bad := &failingAttachment{fakeAttachment{fakeProps: props(PidTagAttachMethod, i32(AttachByValue), PidTagAttachLongFilename, ustr("big.iso"))}}
	m := &fakeMessage{fakeProps: props(PidTagMessageClass, ustr("IPM.Note"), PidTagSubject, ustr("three attachments"), PidTagBody, ustr("the body")),
		atts: []Attachment{attachmentOf("first.txt", "one"), bad, attachmentOf("third.txt", "three")}}

	var plain bytes.Buffer
	_, err := WriteMIME(&plain, m, WriteOptions{})
	var ae *AttachmentError
	if !errors.As(err, &ae) || ae.Stream != 1 || ae.Name != "big.iso" || !errors.Is(err, errDamaged) {
		t.Fatalf("WriteMIME: %v, want an AttachmentError for stream 1 (big.iso)", err)
	}

	var w resettable
	notes, err := WriteMIMESalvaging(&w, m, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := w.String()
	if w.resets != 1 || !strings.Contains(out, "the body") || strings.Count(out, "filename=") != 2 ||
		!strings.Contains(out, `[mailferry: attachment "big.iso" could not be read from the Outlook file]`) || strings.Contains(out, "eHh4eHh4") {
		t.Errorf("salvaged message (%d resets):\n%.2000s", w.resets, out)
	}
	if inc := notes.Incomplete(); !strings.Contains(inc, "big.iso") || !strings.Contains(inc, "CRC mismatch") {
		t.Errorf("Incomplete %q, want the attachment and why", inc)
	}

	// Without a way to start over it is WriteMIME.
	var once bytes.Buffer
	if _, err := WriteMIMESalvaging(struct{ io.Writer }{&once}, m, WriteOptions{}); !errors.As(err, &ae) {
		t.Errorf("WriteMIMESalvaging on a plain writer: %v, want the AttachmentError", err)
	}
}
