package bulk

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/klauspost/compress/flate"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// BenchmarkDovecot appends 500 generated messages (2-20 KB, no
// attachments) per iteration into a fresh mailbox of a real Dovecot over
// TLS (mail_fsync = optimized), comparing go-imap's one APPEND at a time,
// this package's pipelined APPENDs and MULTIAPPEND batches.
//
//	go test -run '^$' -bench Dovecot -benchtime 3x ./upload/bulk/
func BenchmarkDovecot(b *testing.B) {
	srv := dovecottest.Start(b, dovecottest.Config{Fsync: true})
	msgs := testMessages(500, 3, -1)
	var size int64
	for _, m := range msgs {
		size += int64(len(m.data))
	}
	n := 0
	fresh := func(b *testing.B) string {
		n++
		name := fmt.Sprintf("bench%d", n)
		srv.Doveadm(b, "mailbox", "create", name)
		return name
	}
	report := func(b *testing.B, total time.Duration) {
		b.ReportMetric(float64(len(msgs)*b.N)/total.Seconds(), "msgs/s")
	}
	b.Run("go-imap-one-at-a-time", func(b *testing.B) {
		c := srv.Dial(b)
		b.SetBytes(size)
		var total time.Duration
		for b.Loop() {
			b.StopTimer()
			box := fresh(b)
			if _, err := c.Select(box, nil).Wait(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			start := time.Now()
			for _, m := range msgs {
				var flags []imap.Flag
				for _, f := range m.flags {
					flags = append(flags, imap.Flag(f))
				}
				cmd := c.Append(box, int64(len(m.data)), &imap.AppendOptions{Flags: flags, Time: m.date})
				cmd.Write(m.data)
				cmd.Close()
				if _, err := cmd.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			total += time.Since(start)
		}
		report(b, total)
	})
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"pipelined-LITERAL+", Options{MaxBatch: 1, MaxInFlight: 8}},
		{"multiappend-50x4", Options{MaxBatch: 50, MaxInFlight: 4}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c := dovecotLogin(b, srv, srv.TLSAddr, "", tc.opts)
			b.SetBytes(size)
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				box := fresh(b)
				if _, err := c.Select(context.Background(), box); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				res, err := c.Append(context.Background(), box, items(msgs))
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
				total += time.Since(start)
			}
			report(b, total)
		})
	}
}

// countConn is a connection that only counts what is written to it.
type countConn struct {
	net.Conn
	n int64
}

func (c *countConn) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// BenchmarkCompressLevels sends generated mail through COMPRESS's writer
// the way Submit does (64 KB buffer, a flush at the end of each command)
// at several deflate levels: the CPU per message (ns/op is per message)
// and the bytes on the wire per byte of mail (wire/plain), for text mail
// and for the default mix with attachments (base64).
//
//	go test -run '^$' -bench CompressLevels ./upload/bulk/
func BenchmarkCompressLevels(b *testing.B) {
	for _, mix := range []struct {
		name   string
		attach float64
	}{{"text", -1}, {"mix", 0}} {
		msgs := testMessages(300, 17, mix.attach)
		var total int64
		for _, m := range msgs {
			total += int64(len(m.data))
		}
		for _, level := range []int{flate.HuffmanOnly, flate.BestSpeed, 2, 4, flate.DefaultCompression} {
			b.Run(fmt.Sprintf("%s/level=%d", mix.name, level), func(b *testing.B) {
				wire := &countConn{}
				z, err := newDeflateConn(wire, nil, level)
				if err != nil {
					b.Fatal(err)
				}
				bw := bufio.NewWriterSize(z, 64<<10)
				b.SetBytes(total / int64(len(msgs)))
				i := 0
				for b.Loop() {
					m := msgs[i%len(msgs)]
					i++
					fmt.Fprintf(bw, "B%d APPEND \"INBOX\" (\\Seen) {%d+}\r\n", i, len(m.data))
					bw.Write(m.data)
					bw.WriteString("\r\n")
					if err := bw.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				var plain int64
				for k := range i {
					plain += int64(len(msgs[k%len(msgs)].data))
				}
				b.ReportMetric(float64(wire.n)/float64(plain), "wire/plain")
			})
		}
	}
}

// BenchmarkDovecotShaped appends 300 generated text messages per iteration
// over a shaped link (20 Mbit/s up, 100 Mbit/s down, 20 ms round trip,
// through faultproxy) to a Dovecot that offers COMPRESS, with and without
// it: messages per second and bytes on the wire per message.
//
//	go test -run '^$' -bench DovecotShaped -benchtime 2x ./upload/bulk/
func BenchmarkDovecotShaped(b *testing.B) {
	srv := dovecottest.Start(b, dovecottest.Config{Compress: true})
	msgs := testMessages(300, 5, -1)
	var size int64
	for _, m := range msgs {
		size += int64(len(m.data))
	}
	n := 0
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"COMPRESS", Options{MaxBatch: 50, MaxInFlight: 2}},
		{"plain", Options{MaxBatch: 50, MaxInFlight: 2, NoCompress: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p := faultproxy.Start(b, srv.TLSAddr)
			p.SetLatency(faultproxy.Both, 10*time.Millisecond)
			p.SetBandwidth(faultproxy.Up, 20e6/8)
			p.SetBandwidth(faultproxy.Down, 100e6/8)
			c := dovecotLogin(b, srv, p.Addr(), "", tc.opts)
			b.SetBytes(size)
			up0 := p.Stats().Up
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				n++
				box := fmt.Sprintf("shaped%d", n)
				srv.Doveadm(b, "mailbox", "create", box)
				if _, err := c.Select(context.Background(), box); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				res, err := c.Append(context.Background(), box, items(msgs))
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range res {
					if r.Err != nil {
						b.Fatal(r.Err)
					}
				}
				total += time.Since(start)
			}
			b.ReportMetric(float64(len(msgs)*b.N)/total.Seconds(), "msgs/s")
			b.ReportMetric(float64(p.Stats().Up-up0)/float64(len(msgs)*b.N), "wire-B/msg")
		})
	}
}
