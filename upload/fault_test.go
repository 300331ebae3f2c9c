package upload

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/formats"
)

// cutProxy forwards TCP connections to a server and cuts the n-th
// connection after it carried cut[n] bytes from the client (0: never).
type cutProxy struct {
	ln     net.Listener
	target string
	cut    []int64
	mu     sync.Mutex
	n      int
	cuts   int
}

func newCutProxy(t *testing.T, target string, cut ...int64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cut: cut}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		var limit int64
		if p.n < len(p.cut) {
			limit = p.cut[p.n]
		}
		p.n++
		p.mu.Unlock()
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		go func() {
			io.Copy(c, s)
			c.Close()
		}()
		go func() {
			if limit > 0 {
				io.CopyN(s, c, limit)
				p.mu.Lock()
				p.cuts++
				p.mu.Unlock()
			} else {
				io.Copy(s, c)
			}
			s.Close()
			c.Close()
		}()
	}
}

func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *cutProxy) target_() Target {
	port, _ := strconv.Atoi(p.ln.Addr().(*net.TCPAddr).AddrPort().String()[strings.LastIndexByte(p.ln.Addr().String(), ':')+1:])
	return Target{User: "rehearsal", Host: "127.0.0.1", Port: port, Security: plainTCP}
}

// TestUploadSurvivesCuts cuts connections in the middle of APPENDs (also
// in the middle of literals): the upload reconnects, checks what landed,
// and ends with exactly the source's messages on the server.
func TestUploadSurvivesCuts(t *testing.T) {
	for _, pipeline := range []int{1, 8} {
		t.Run(fmt.Sprintf("pipeline %d", pipeline), func(t *testing.T) {
			ms := newMem(t)
			var s source
			in := s.box("", formats.SpecialInbox, "Inbox")
			other := s.box("", "", "Other")
			for i := 0; i < 60; i++ {
				body := strings.Repeat(fmt.Sprintf("line %d\n", i), 20+i*40) // 200 B to 25 KB
				box := in
				if i%3 == 0 {
					box = other
				}
				s.add(box, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i%50), body), time.Unix(int64(1e9+i), 0))
				if i%10 == 0 {
					s.add(box, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i%50), body), time.Unix(int64(1e9+i), 0)) // a duplicate
				}
			}
			px := newCutProxy(t, ms.target.Addr(), 20000, 45000, 3000, 70000, 1500, 100000)
			opts := ms.options(t)
			tg := px.target_()
			opts.Target = &tg
			opts.Connections = 2
			opts.Pipeline = pipeline
			rep, err := Upload(context.Background(), s.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			if px.cutCount() == 0 {
				t.Fatal("the proxy cut no connection; the test tests nothing")
			}
			got := readBack(t, ms.client(t))
			want := map[string]int{}
			for _, m := range s.msgs {
				folder := map[*formats.Mailbox]string{in: "INBOX", other: "Other"}[m.Mailbox]
				want[folder+"\x00"+string(readAll(t, m))]++
			}
			have := map[string]int{}
			for folder, msgs := range got {
				for _, m := range msgs {
					have[folder+"\x00"+string(m.Bytes)]++
				}
			}
			if len(have) != len(want) {
				t.Errorf("server holds %d distinct messages, want %d", len(have), len(want))
			}
			for k, n := range want {
				if have[k] != n {
					t.Errorf("message %.40q: %d copies on the server, want %d", k, have[k], n)
				}
			}
			if rep.Totals.Uploaded != len(s.msgs) || rep.Totals.Mismatched != 0 {
				t.Errorf("totals = %+v (cuts: %d)", rep.Totals, px.cutCount())
			}
		})
	}
}
