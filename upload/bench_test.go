package upload

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// benchSource makes n messages of about size bytes on average spread over
// folders.
func benchSource(n, size, folders int) (*source, int64) {
	var s source
	var boxes []*formats.Mailbox
	for i := 0; i < folders; i++ {
		boxes = append(boxes, s.box("", "", fmt.Sprintf("Folder%d", i)))
	}
	var total int64
	line := "The quick brown fox jumps over the lazy dog, again and again.\n"
	lines := max(1, size/len(line))
	for i := 0; i < n; i++ {
		// Sizes vary from 75% to 125% of size, as real mail's do (lanes
		// are chosen by size).
		body := strings.Repeat(line, max(1, lines*(75+(i*37)%51)/100))
		m := s.add(boxes[i*folders/n], mail(fmt.Sprint(i), fmt.Sprintf("<%d@bench>", i), body), time.Unix(int64(1e9+i), 0), `\Seen`)
		total += m.Size
	}
	return &s, total
}

// BenchmarkAppendMemserver measures the upload path (plan, pre-scan,
// pipelined APPEND, verify) against the in-process memory server.
func BenchmarkAppendMemserver(b *testing.B) {
	for _, tc := range []struct {
		name                           string
		size, folders, conns, pipeline int
	}{
		{"2KB/1conn/nopipe", 2000, 1, 1, 1},
		{"2KB/1conn/pipe8", 2000, 1, 1, 8},
		{"2KB/4conn/pipe8", 2000, 4, 4, 8},
		{"20KB/1conn/pipe8", 20000, 1, 1, 8},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 500
			s, total := benchSource(n, tc.size, tc.folders)
			b.SetBytes(total)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				ms, err := startMemServer(testLogger(b))
				if err != nil {
					b.Fatal(err)
				}
				opts := ms.options(b)
				opts.Connections, opts.Pipeline = tc.conns, tc.pipeline
				rep, err := Upload(context.Background(), s.reader(), opts)
				ms.close()
				if err != nil || rep.Totals.Uploaded != n {
					b.Fatalf("Upload: %v, %+v", err, rep.Totals)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkUploadDovecot measures upload throughput to a real Dovecot over
// TLS with 1 and 4 connections (4 folders).
func BenchmarkUploadDovecot(b *testing.B) {
	for _, tc := range []struct{ size, conns int }{{2000, 1}, {8000, 1}, {8000, 4}} {
		conns := tc.conns
		b.Run(fmt.Sprintf("%dKB/%dconn", tc.size/1000, conns), func(b *testing.B) {
			const n = 400
			s, total := benchSource(n, tc.size, 4)
			b.SetBytes(total)
			var sub submits
			uploadEach(b, s, n, func() (*dovecottest.Server, Options) {
				srv := dovecottest.Start(b, dovecottest.Config{})
				_, opts := dovecotTarget(b, srv, true)
				opts.Connections = conns
				opts.onSubmit = sub.hook()
				return srv, opts
			})
			if sub.n > 0 {
				b.ReportMetric(float64(n*b.N)/float64(sub.n), "msgs/cmd")
			}
		})
	}
}

// BenchmarkUploadNoLiteralPlus measures a server without LITERAL+ (nor
// MULTIAPPEND, like Gmail) 20 ms of round trip away: every message over 4
// KiB waits for the server's "+", so one connection stores about one
// message per round trip; with lanes (lanes.go) the one folder goes over
// every connection.
func BenchmarkUploadNoLiteralPlus(b *testing.B) {
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("rtt20ms/%dconn", conns), func(b *testing.B) {
			const n = 200
			s, total := benchSource(n, 8000, 1)
			b.SetBytes(total)
			uploadEach(b, s, n, func() (*dovecottest.Server, Options) {
				srv := dovecottest.Start(b, dovecottest.Config{Capability: dovecotCaps})
				p := faultproxy.Start(b, srv.TLSAddr)
				p.SetLatency(faultproxy.Both, 10*time.Millisecond)
				opts := faultOptions(b, srv, p)
				opts.Connections = conns
				opts.IOTimeout = 0
				return srv, opts
			})
		})
	}
}

// uploadEach times b.N uploads of the n messages of s, each into a fresh
// server from start (not timed), and reports messages/s.
func uploadEach(b *testing.B, s *source, n int, start func() (*dovecottest.Server, Options)) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		srv, opts := start()
		b.StartTimer()
		rep, err := Upload(context.Background(), s.reader(), opts)
		if err != nil || rep.Totals.Uploaded != n {
			b.Fatalf("Upload: %v, %+v", err, rep.Totals)
		}
		b.StopTimer()
		_ = srv.Stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "msgs/s")
}
