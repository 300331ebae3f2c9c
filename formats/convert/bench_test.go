package convert

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/convert/internal/memsource"
)

// BenchmarkConvert converts 200 messages of about 50 KB (with "From "
// lines to quote) into each format. Allocations per message should stay
// constant whatever the message size: messages are streamed.
func BenchmarkConvert(b *testing.B) {
	body := strings.Repeat("From the body, a line to quote in mbox.\r\n"+strings.Repeat("x", 78)+"\r\n", 400)
	src := func() *memsource.Reader {
		r := &memsource.Reader{Boxes: []*formats.Mailbox{{Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox}}}
		for i := range 200 {
			r.Msgs = append(r.Msgs, memsource.Msg{
				Flags: []string{`\Seen`, "work"},
				Date:  time.Date(2020, 1, 1, 0, 0, i, 0, time.UTC),
				Bytes: memsource.Message([]string{"From: a@example.org", fmt.Sprintf("Subject: message %d", i)}, body),
			})
		}
		return r
	}
	size := int64(0)
	for _, m := range src().Msgs {
		size += int64(len(m.Bytes))
	}
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				r := src()
				out := filepath.Join(b.TempDir(), "out")
				b.StartTimer()
				if _, err := Convert(context.Background(), r, Options{Format: format, Out: out}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
