package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
	"mailferry/upload"
)

// The real binary, killed or interrupted at several points of a run
// against a real Dovecot, then run again: the server ends with exactly the
// source's messages, once each.

// buildBinary builds mailferry into dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "mailferry")
	cmd := exec.Command("go", "build", "-o", bin, "mailferry/cmd/mailferry")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// genMaildir writes a Maildir++ source: INBOX (the root), .Lists and
// .Archive.2019 (the first nFolders of them) with n messages of 300 B to 30 kB, byte-identical copies
// (under other file names), messages without a Message-ID and distinct
// messages sharing one, and large messages of the given sizes. With
// largeFirst the first large message is the first message of INBOX (file
// names sort). It returns the root and, per server folder, the messages'
// bytes with CRLF line endings.
func genMaildir(t *testing.T, nFolders, n int, largeFirst bool, large ...int) (string, map[string][][]byte) {
	t.Helper()
	root := t.TempDir()
	folders := []struct{ dir, server string }{{"", "INBOX"}, {".Lists", "Lists"}, {".Archive.2019", "Archive/2019"}}[:nFolders]
	want := map[string][][]byte{}
	for _, f := range folders {
		for _, sub := range []string{"cur", "new", "tmp"} {
			if err := os.MkdirAll(filepath.Join(root, f.dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	seq := 0
	write := func(folder int, name, msg string) {
		f := folders[folder]
		seq++
		p := filepath.Join(root, f.dir, "cur", fmt.Sprintf("%s.%06d.gen:2,S", name, seq))
		if err := os.WriteFile(p, []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
		want[f.server] = append(want[f.server], []byte(strings.ReplaceAll(msg, "\n", "\r\n")))
	}
	for k, size := range large {
		line := fmt.Sprintf("Large message %d, line of text: %s\n", k, strings.Repeat("abcdefghij", 7))
		msg := fmt.Sprintf("From: big@example.org\nTo: me@example.org\nSubject: large %d\nMessage-ID: <large%d@gen.example>\nDate: Mon, 4 Mar 2019 05:06:07 +0000\n\n", k, k) +
			strings.Repeat(line, size/len(line)+1)
		name := "1600000000"
		if !(largeFirst && k == 0) {
			name = "1700000000"
		}
		write(k%nFolders, name, msg)
	}
	for i := 0; i < n; i++ {
		hdr := fmt.Sprintf("From: sender%d@example.org\nTo: me@example.org\nSubject: message %d\nDate: Mon, 4 Mar 2019 05:%02d:07 +0000\n", i, i, i%60)
		switch {
		case i%9 == 0: // no Message-ID
		case i%11 == 0: // one Message-ID, two different messages
			hdr = fmt.Sprintf("Received: from list%d.example by mx.example; Mon, 4 Mar 2019 05:06:07 +0000\n", i) + hdr + "Message-ID: <shared@gen.example>\n"
		default:
			hdr += fmt.Sprintf("Message-ID: <%d@gen.example>\n", i)
		}
		body := strings.Repeat(fmt.Sprintf("Body line of message %d.\n", i), 10+(i*53)%1200)
		msg := hdr + "\n" + body
		name := fmt.Sprintf("%d", 1650000000+i)
		write(i%nFolders, name, msg)
		if i%25 == 0 {
			write(i%nFolders, name+"copy", msg) // the same bytes twice
		}
	}
	return root, want
}

// checkServer compares the server with the source message by message.
func checkServer(t *testing.T, srv *dovecottest.Server, want map[string][][]byte) {
	t.Helper()
	type key struct {
		folder string
		sum    [32]byte
	}
	w := map[key]int{}
	total := 0
	for folder, msgs := range want {
		for _, m := range msgs {
			w[key{folder, sha256.Sum256(m)}]++
			total++
		}
	}
	h := map[key]int{}
	stored := srv.FetchAll(t)
	for _, s := range stored {
		h[key{s.Mailbox, sha256.Sum256(s.CRLF())}]++
	}
	bad := 0
	for k, n := range w {
		if h[k] != n {
			bad++
			if bad <= 10 {
				t.Errorf("a source message in %q is on the server %d times, want %d", k.folder, h[k], n)
			}
		}
	}
	for k, n := range h {
		if w[k] == 0 {
			bad++
			if bad <= 10 {
				t.Errorf("%d message(s) in %q are not from the source", n, k.folder)
			}
		}
	}
	if len(stored) != total || bad > 0 {
		t.Errorf("the server holds %d messages, the source %d; %d differ", len(stored), total, bad)
	}
}

// mailferryRun is one run of the binary.
type mailferryRun struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

func startMailferry(t *testing.T, bin string, srv *dovecottest.Server, to string, args ...string) *mailferryRun {
	t.Helper()
	r := &mailferryRun{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	r.cmd = exec.CommandContext(ctx, bin, append([]string{"upload", args[0], "--to", to, "--tls-ca", srv.CAFile}, args[1:]...)...)
	// The marker of an unfinished run (upload/settle.go) goes into a cache
	// directory of this server's own, never the user's: the re-runs after a
	// kill find it and wait for the server to settle, as a user's would.
	r.cmd.Env = append(os.Environ(), "MAILFERRY_PASSWORD="+srv.Password, "XDG_CACHE_HOME="+filepath.Join(srv.Dir, "cache"))
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		err := r.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			r.code = ee.ExitCode()
		default:
			r.code = -2
		}
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

func (r *mailferryRun) wait() int {
	<-r.done
	return r.code
}

func (r *mailferryRun) running() bool {
	select {
	case <-r.done:
		return false
	default:
		return true
	}
}

// stored is the number of messages on the server.
func stored(t *testing.T, srv *dovecottest.Server) int {
	n := 0
	for _, st := range srv.Status(t) {
		n += st.Messages
	}
	return n
}

// settled waits until the number of stored messages has not changed for a
// second (at most 15 s) and returns it.
func settled(t *testing.T, srv *dovecottest.Server) int {
	t.Helper()
	n, since := stored(t, srv), time.Now()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		if m := stored(t, srv); m != n {
			n, since = m, time.Now()
		} else if time.Since(since) >= time.Second {
			break
		}
	}
	return n
}

// complete runs the binary to the end and checks the server.
func complete(t *testing.T, bin string, srv *dovecottest.Server, to, src string, want map[string][][]byte) {
	t.Helper()
	r := startMailferry(t, bin, srv, to, src, "--quiet")
	if code := r.wait(); code != exitOK {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, r.stdout.String(), r.stderr.String())
	}
	if !strings.Contains(r.stdout.String(), fmt.Sprintf("Verification: all %d folders match", len(want))) {
		t.Errorf("re-run summary:\n%s", r.stdout.String())
	}
	checkServer(t, srv, want)
	// And once more: nothing to do.
	r = startMailferry(t, bin, srv, to, src, "--quiet")
	if code := r.wait(); code != exitOK || !strings.Contains(r.stdout.String(), "Messages found: ") || !strings.Contains(r.stdout.String(), "= uploaded 0 + already on the server") {
		t.Errorf("third run: exit %d\n%s", code, r.stdout.String())
	}
}

// TestKillAndResume kills the uploader (SIGKILL) right after it began
// sending (1% of the bytes), at about 10%, 50% and 90% of them, and in the middle of a large
// message's literal; each time the same command is run again to
// completion, and the server holds exactly the source's messages.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	src, want := genMaildir(t, 3, 240, false, 2_500_000, 1_000_000, 1_500_000)
	total, totalBytes := 0, int64(0)
	for _, msgs := range want {
		total += len(msgs)
		for _, m := range msgs {
			totalBytes += int64(len(m))
		}
	}
	for _, tc := range []struct {
		name string
		frac float64 // kill once this share of the bytes went out
	}{
		// Not "once the server holds a message": MULTIAPPEND stores a whole
		// batch at once, and by the time a poll saw it, the rest had gone
		// out too.
		{"at 1%", 0.01},
		{"at 10%", 0.10},
		{"at 50%", 0.50},
		{"at 90%", 0.90},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{})
			p := faultproxy.Start(t, srv.TLSAddr)
			to := "imaps://" + srv.User + "@" + p.Addr()
			// The later kills are placed by the bytes the client has sent:
			// MULTIAPPEND stores dozens of messages at once, so a count of
			// stored messages jumps past its mark. There the machine's
			// network dies with the process (a laptop losing power): what
			// the process had handed to the kernel never arrives. The proxy
			// stalls at the mark itself (a poll of its counter came too late
			// on a busy machine, after everything had gone out).
			p.StallAfter(faultproxy.Up, int64(tc.frac*float64(totalBytes)))
			r := startMailferry(t, bin, srv, to, src, "--quiet")
			for r.running() && !p.Stalled(faultproxy.Up) {
				time.Sleep(2 * time.Millisecond)
			}
			n := stored(t, srv)
			if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil || r.wait() != -1 {
				t.Fatalf("the run ended before the kill (exit %d, %d of %d stored)\n%s", r.code, n, total, r.stderr.String())
			}
			p.CutAll()
			p.Reset()
			// After a plain crash, what the killed process had already handed
			// to the kernel still reaches the server and is stored. A user
			// runs the command again seconds later at the earliest; wait the
			// same for the server to settle (a re-run racing those bytes is
			// the one window no IMAP client can close: APPEND is not
			// idempotent).
			after := settled(t, srv)
			t.Logf("killed with %d of %d stored (%d once the server settled)", n, total, after)
			if after >= total {
				t.Fatalf("everything was stored before the kill; the test tests nothing")
			}
			complete(t, bin, srv, to, src, want)
		})
	}

	t.Run("inside a large literal", func(t *testing.T) {
		t.Parallel()
		// INBOX only, the 2.5 MB message first: with one connection it is
		// the first literal sent.
		src, want := genMaildir(t, 1, 30, true, 2_500_000)
		srv := dovecottest.Start(t, dovecottest.Config{})
		const n = 1_000_000 // into the first literal
		p := newHoldProxy(t, srv.TLSAddr, n)
		r := startMailferry(t, bin, srv, "imaps://"+srv.User+"@"+p.addr(), src, "--quiet", "--connections", "1")
		select {
		case <-p.held:
		case <-r.done:
			t.Fatalf("the run ended before %d bytes went out (exit %d)\n%s", n, r.code, r.stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("the upload did not get %d bytes far", n)
		}
		if k := stored(t, srv); k != 0 {
			t.Fatalf("%d messages stored before the first literal ended", k)
		}
		if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil || r.wait() != -1 {
			t.Fatalf("the run ended before the kill (exit %d)", r.code)
		}
		p.close() // Dovecot sees the connection end inside the literal
		time.Sleep(200 * time.Millisecond)
		if k := stored(t, srv); k != 0 {
			t.Fatalf("Dovecot stored %d messages from a run killed inside the first literal", k)
		}
		to := "imaps://" + srv.User + "@" + srv.TLSAddr
		complete(t, bin, srv, to, src, want)
	})
}

// TestInterruptAndResume sends SIGINT (Ctrl-C) in the middle of a run: the
// binary stops cleanly, prints the summary so far and how to resume, and
// exits 130; its report accounts for what reached the server; a re-run
// completes without duplicates.
func TestInterruptAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	src, want := genMaildir(t, 3, 240, false, 1_000_000)
	total, totalBytes := 0, int64(0)
	for _, msgs := range want {
		total += len(msgs)
		for _, m := range msgs {
			totalBytes += int64(len(m))
		}
	}
	srv := dovecottest.Start(t, dovecottest.Config{})
	p := faultproxy.Start(t, srv.TLSAddr)
	to := "imaps://" + srv.User + "@" + p.Addr()
	report := filepath.Join(t.TempDir(), "report.json")
	r := startMailferry(t, bin, srv, to, src, "--report", report)
	// Interrupt a third of the way by bytes sent, with the upload stream
	// held from then on: with MULTIAPPEND the rest of a small run would
	// otherwise be in flight already and finish during the clean stop.
	for r.running() && float64(p.Stats().Up) < float64(totalBytes)/3 {
		time.Sleep(2 * time.Millisecond)
	}
	p.Stall(faultproxy.Up)
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := r.wait()
	p.CutAll()
	p.Reset()
	if code != exitInterrupted {
		t.Fatalf("after SIGINT: exit %d, want %d\n%s\n%s", code, exitInterrupted, r.stdout.String(), r.stderr.String())
	}
	settled(t, srv)
	out, errOut := r.stdout.String(), r.stderr.String()
	t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
	if !strings.Contains(out, "Messages found: ") || !strings.Contains(out, "uploaded ") {
		t.Errorf("no summary after SIGINT:\n%s", out)
	}
	if !strings.Contains(errOut, "Run the same command again to resume") {
		t.Errorf("no word on how to resume after SIGINT:\n%s", errOut)
	}
	var rep upload.Report
	if b, err := os.ReadFile(report); err != nil {
		t.Fatalf("no report after SIGINT: %v", err)
	} else if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.CheckTotals(); err != nil {
		t.Errorf("interrupted report: %v", err)
	}
	unconfirmed := 0
	for _, f := range rep.Folders {
		for _, pr := range f.Failed {
			if strings.HasPrefix(pr.Reason, "not confirmed") {
				unconfirmed++
			}
		}
	}
	n := stored(t, srv)
	t.Logf("interrupted: %d of %d stored; report: %+v, %d not confirmed", n, total, rep.Totals, unconfirmed)
	if n >= total {
		t.Fatalf("everything was stored before SIGINT; the test tests nothing")
	}
	if n < rep.Totals.Uploaded || n > rep.Totals.Uploaded+unconfirmed {
		t.Errorf("the server holds %d messages; the report says %d uploaded, %d not confirmed", n, rep.Totals.Uploaded, unconfirmed)
	}
	complete(t, bin, srv, to, src, want)
}

// holdProxy forwards the first connection to target; from the client to
// the server it forwards exactly n bytes, then holds everything else back
// (a byte-exact stall) and closes held. close ends every connection.
type holdProxy struct {
	ln    net.Listener
	held  chan struct{}
	mu    sync.Mutex
	conns []net.Conn
}

func newHoldProxy(t *testing.T, target string, n int64) *holdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &holdProxy{ln: ln, held: make(chan struct{})}
	t.Cleanup(p.close)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(c, s) }()
		if _, err := io.CopyN(s, c, n); err == nil {
			close(p.held)
		}
	}()
	return p
}

func (p *holdProxy) addr() string { return p.ln.Addr().String() }

func (p *holdProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestVerifyKnowsUploadPolicy: a message with a NUL byte is quarantined by
// upload (exit 3); verify reports it the same way, as not uploadable (exit
// 3), not as missing (exit 1).
func TestVerifyKnowsUploadPolicy(t *testing.T) {
	srv := dovecottest.Start(t, dovecottest.Config{})
	root := t.TempDir()
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	msgs := map[string]string{
		"1600000001.1.gen:2,S": "From: a@example.org\nSubject: fine\nMessage-ID: <ok@x>\n\nfine\n",
		"1600000002.2.gen:2,S": "From: a@example.org\nSubject: nul\nMessage-ID: <nul@x>\n\nbefore\x00after\n",
	}
	for name, m := range msgs {
		if err := os.WriteFile(filepath.Join(root, "cur", name), []byte(m), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
	to := "imaps://" + srv.User + "@" + srv.TLSAddr
	res := runCLI(t, vars, "upload", root, "--to", to, "--tls-ca", srv.CAFile, "--quiet", "--quarantine", filepath.Join(t.TempDir(), "q"))
	if res.code != exitIncomplete || !strings.Contains(res.stdout, "NUL") {
		t.Fatalf("upload: exit %d, want %d\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
	res = runCLI(t, vars, "verify", root, "--to", to, "--tls-ca", srv.CAFile)
	if res.code != exitIncomplete || !strings.Contains(res.stdout, "not uploadable (quarantined by upload)") ||
		!strings.Contains(res.stdout, "= INBOX") || strings.Contains(res.stdout, "missing: ") {
		t.Errorf("verify: exit %d, want %d with the NUL message not uploadable, not missing\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
	}
}
