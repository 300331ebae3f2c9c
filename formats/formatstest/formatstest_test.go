package formatstest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"mailferry/formats"
)

// sliceReader is the smallest correct reader: a fixed list of messages.
type sliceReader struct {
	box  *formats.Mailbox
	msgs [][]byte
	i    int
}

func (r *sliceReader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	return []*formats.Mailbox{r.box}, nil
}

func (r *sliceReader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.i >= len(r.msgs) {
		return nil, io.EOF
	}
	b := r.msgs[r.i]
	r.i++
	return &formats.Message{
		Mailbox: r.box, Flags: []string{`\Seen`},
		Date: time.Date(2010, 1, 2, 3, 4, 5, 0, time.UTC), DateSource: formats.DateHeader,
		Size: int64(len(b)), Pos: formats.Pos{File: "x", Line: int64(r.i), Index: r.i},
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
	}, nil
}

func (r *sliceReader) Close() error { return nil }

func TestRunOnACorrectReader(t *testing.T) {
	open := func(t *testing.T) formats.Reader {
		return &sliceReader{box: &formats.Mailbox{Path: formats.Folder{"INBOX"}, Special: formats.SpecialInbox},
			msgs: [][]byte{[]byte("Subject: a\r\n\r\nx\r\n"), []byte("Subject: b\r\n\r\ny\r\n")}}
	}
	Run(t, open, Want{Mailboxes: []string{"INBOX"}, Messages: 2, Skipped: 0,
		Check: func(t *testing.T, _ []*formats.Mailbox, msgs []Collected) {
			if string(msgs[1].Bytes) != "Subject: b\r\n\r\ny\r\n" {
				t.Errorf("second message = %q", msgs[1].Bytes)
			}
		}})
}

func TestCheckCRLF(t *testing.T) {
	for in, ok := range map[string]bool{"": true, "a\r\n": true, "a\n": false, "a\r": false, "a\r\nb": false, "a\rb\r\n": false} {
		if err := CheckCRLF([]byte(in)); (err == nil) != ok {
			t.Errorf("CheckCRLF(%q) = %v, want ok=%v", in, err, ok)
		}
	}
}
