package msg

import (
	"bytes"
	"io"
	"testing"

	"mailferry/formats/mapi"
)

// BenchmarkConvert converts a .msg file with a 4 MiB attachment (base64
// streamed from regular sectors) and an attached message.
func BenchmarkConvert(b *testing.B) {
	m := sample()
	m.Attachments[0].Props[2] = prop(mapi.PidTagAttachData, mapi.TypeBinary, bigData(4<<20))
	file := m.Build(false)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Convert(bytes.NewReader(file), int64(len(file)), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
