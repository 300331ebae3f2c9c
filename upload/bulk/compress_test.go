package bulk

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

const compressCaps = "IMAP4rev1 SASL-IR AUTH=PLAIN LITERAL+ COMPRESS=DEFLATE"

// compressedAnswers deflates one answer per APPEND (tags B3.., UIDs 100..)
// with a sync flush after each, as a server after COMPRESS sends them; ends
// are the offsets where each answer's flush ends.
func compressedAnswers(n int) (stream []byte, ends []int) {
	var b bytes.Buffer
	zw, _ := flate.NewWriter(&b, flate.DefaultCompression)
	for i := range n {
		fmt.Fprintf(zw, "* %d EXISTS\r\nB%d OK [APPENDUID 9 %d] Append completed.\r\n", i+1, i+3, 100+i)
		zw.Flush()
		ends = append(ends, b.Len())
	}
	return b.Bytes(), ends
}

// start is where answer i begins in the compressed stream.
func start(ends []int, i int) int {
	if i == 0 {
		return 0
	}
	return ends[i-1]
}

// serveCompressed plays a server that logs in, agrees to COMPRESS, reads
// the client's compressed APPENDs and answers each from stream, which it
// cuts after limit bytes (closing the connection).
func serveCompressed(br *bufio.Reader, w io.Writer, stream []byte, ends []int, limit int) {
	readCmd(br) // B1 AUTHENTICATE PLAIN ...
	io.WriteString(w, "B1 OK [CAPABILITY IMAP4rev1 LITERAL+ COMPRESS=DEFLATE] in\r\n")
	if !strings.HasSuffix(readCmd(br), "COMPRESS DEFLATE") {
		return
	}
	io.WriteString(w, "B2 OK DEFLATE active\r\n")
	zr := bufio.NewReader(flate.NewReader(br))
	sent := 0
	for _, end := range ends {
		line := readCmd(zr)
		i := strings.LastIndexByte(line, '{')
		if i < 0 {
			return
		}
		size, err := strconv.Atoi(strings.TrimSuffix(line[i+1:], "+}"))
		if err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, zr, int64(size)+2); err != nil {
			return
		}
		to := min(end, limit)
		w.Write(stream[sent:to])
		sent = to
		if to == limit {
			return // the cut: the scripted server closes the pipe
		}
	}
	readCmd(zr)
}

// TestCompressCut cuts the server's compressed stream at every byte: an
// answer is read as sent, or lost with the connection (also one that
// arrived whole just before the cut: the client gives up on the whole
// connection once its writes fail), never read wrong or made up.
func TestCompressCut(t *testing.T) {
	const n = 5
	stream, ends := compressedAnswers(n)
	okBeforeCut := 0 // answers read from a stream that was cut later
	for limit := 0; limit <= len(stream); limit++ {
		c := scripted(t, "* OK [CAPABILITY "+compressCaps+"] hi", Options{MaxBatch: 1}, func(br *bufio.Reader, w io.Writer) {
			serveCompressed(br, w, stream, ends, limit)
		})
		ctx := context.Background()
		if err := c.Login(ctx, "u", "p"); err != nil {
			t.Fatalf("cut at %d: Login: %v", limit, err)
		}
		if !c.Compressed() {
			t.Fatalf("COMPRESS not in force")
		}
		var its []Item
		for i := range n {
			body := []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i))
			its = append(its, Item{Size: int64(len(body)), Open: opener(body)})
		}
		res, _ := c.Append(ctx, "INBOX", its)
		for i, r := range res {
			if r.Err == nil && limit < len(stream) {
				okBeforeCut++
			}
			var lost *LostError
			switch {
			case r.Err == nil && r.UID != uint32(100+i):
				t.Errorf("cut at %d: item %d: UID %d, want %d", limit, i, r.UID, 100+i)
			case r.Err != nil && !errors.As(r.Err, &lost):
				t.Errorf("cut at %d: item %d: %v, want stored or a LostError", limit, i, r.Err)
			case r.Err != nil && limit == len(stream):
				t.Errorf("uncut: item %d: %v", i, r.Err)
			case r.Err == nil && limit <= start(ends, i):
				t.Errorf("cut at %d: item %d reported stored, but its answer starts at %d", limit, i, start(ends, i))
			}
		}
		if limit < len(stream) {
			// The answers may all have been read before the cut (it fell
			// in the last flush's trailing bytes): the reader then sees
			// the end of the connection a moment after Append returned.
			select {
			case <-c.done:
			case <-time.After(5 * time.Second):
			}
			if c.Err() == nil {
				t.Errorf("cut at %d: the connection still works", limit)
			}
		}
		c.Close()
	}
	if okBeforeCut == 0 {
		t.Errorf("no answer was read from a stream cut after it")
	}
	t.Logf("%d answers read before a cut", okBeforeCut)
}

// TestDovecotCompress appends through COMPRESS=DEFLATE to a real Dovecot
// (imap_zlib): every message stored as sent, and fewer bytes on the wire
// than the messages; with NoCompress, the same without compression.
func TestDovecotCompress(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{Compress: true})
	msgs := testMessages(80, 31, -1)
	var total int64
	for _, m := range msgs {
		total += int64(len(m.data))
	}
	for _, off := range []bool{false, true} {
		box := fmt.Sprintf("Compress-%v", off)
		srv.Doveadm(t, "mailbox", "create", box)
		p := faultproxy.Start(t, srv.TLSAddr)
		c := dovecotLogin(t, srv, p.Addr(), box, Options{NoCompress: off, MaxBatch: 20})
		if c.Compressed() == off {
			t.Fatalf("NoCompress %v: Compressed() = %v (caps %v)", off, c.Compressed(), c.Caps())
		}
		res, err := c.Append(context.Background(), box, items(msgs))
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		checkStored(t, srv, box, msgs, res)
		up := p.Stats().Up
		t.Logf("NoCompress %v: %d message bytes, %d bytes up (TLS included)", off, total, up)
		if !off && up > total*6/10 {
			t.Errorf("compressed: %d bytes up for %d bytes of text mail", up, total)
		}
		if off && up < total {
			t.Errorf("uncompressed: %d bytes up for %d bytes of mail", up, total)
		}
	}
}

// TestDovecotCompressFaults cuts a compressed connection (plain TCP, so
// the cut falls inside the deflate stream itself) in the middle of a run
// of MULTIAPPEND batches, client to server and server to client: every
// batch is on the server wholly or not at all, what Append reports stored
// is there, and what it reports not sent is not.
func TestDovecotCompressFaults(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{Compress: true})
	for _, dir := range []faultproxy.Direction{faultproxy.Up, faultproxy.Down} {
		box := "Cut-" + dir.String()
		srv.Doveadm(t, "mailbox", "create", box)
		p := faultproxy.Start(t, srv.Addr)
		conn, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(conn, Options{MaxBatch: 5, MaxInFlight: 3})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Login(ctx, srv.User, srv.Password); err != nil {
			t.Fatalf("Login: %v", err)
		}
		if !c.Compressed() {
			t.Fatalf("COMPRESS not in force (caps %v)", c.Caps())
		}
		if _, err := c.Select(ctx, box); err != nil {
			t.Fatal(err)
		}
		msgs := testMessages(100, 9, -1)
		var total int64
		for _, m := range msgs {
			total += int64(len(m.data))
		}
		if dir == faultproxy.Up {
			p.CutAfter(faultproxy.Up, total/6) // about half the data, compressed
		} else {
			p.CutAfter(faultproxy.Down, 300) // a few answers in
		}
		res, err := c.Append(ctx, box, items(msgs))
		if err == nil {
			t.Fatalf("%v: Append through a cut connection succeeded", dir)
		}
		checkCut(t, srv, box, msgs, res)
		c.Close()
	}
}

// checkCut checks Append's results after a cut against what the server
// holds: batches all or nothing, stored means there, not sent means not.
func checkCut(t *testing.T, srv *dovecottest.Server, box string, msgs []testMsg, res []ItemResult) {
	t.Helper()
	stored := map[string]bool{}
	for _, m := range srv.Fetch(t, box) {
		stored[string(m.CRLF())] = true
	}
	batchOn := map[int]int{}
	batchLen := map[int]int{}
	for i, r := range res {
		on := stored[string(msgs[i].data)]
		batchLen[r.Batch]++
		if on {
			batchOn[r.Batch]++
		}
		var lost *LostError
		switch {
		case r.Err == nil && !on:
			t.Errorf("%s: item %d: reported stored, not on the server", box, i)
		case errors.As(r.Err, &lost) && !lost.Sent && on:
			t.Errorf("%s: item %d: reported not sent, but on the server", box, i)
		case r.Err != nil && !errors.As(r.Err, &lost):
			t.Errorf("%s: item %d: %v, want a LostError", box, i, r.Err)
		}
	}
	for b, n := range batchLen {
		if b >= 0 && batchOn[b] != 0 && batchOn[b] != n {
			t.Errorf("%s: batch %d: %d of %d messages on the server, want all or none", box, b, batchOn[b], n)
		}
	}
	if len(stored) == len(msgs) {
		t.Errorf("%s: all %d messages stored through a cut connection", box, len(msgs))
	}
	t.Logf("%s: %d of %d messages stored", box, len(stored), len(msgs))
}

// countingConn counts the writes and bytes that reach the connection.
type countingConn struct {
	net.Conn
	mu     sync.Mutex
	writes int
	bytes  int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes++
	c.bytes += int64(len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countingConn) counts() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes, c.bytes
}

// TestCompressWholeBuffers sends a MULTIAPPEND of generated messages
// through COMPRESS and looks at what reaches the connection below: one
// write per buffer the client flushes (not the deflate writer's pieces of
// a few hundred bytes, each of which would be a TLS record and a system
// call of its own), and about as few bytes as deflating the whole command
// in one go.
func TestCompressWholeBuffers(t *testing.T) {
	msgs := testMessages(50, 11, -1)
	cc, sc := net.Pipe()
	received := make(chan []byte, 1) // the command as the server inflated it
	go func() {
		defer sc.Close()
		br := bufio.NewReader(sc)
		io.WriteString(sc, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LITERAL+ MULTIAPPEND COMPRESS=DEFLATE] hi\r\n")
		readCmd(br) // B1 AUTHENTICATE PLAIN ...
		io.WriteString(sc, "B1 OK [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND COMPRESS=DEFLATE] in\r\n")
		if !strings.HasSuffix(readCmd(br), "COMPRESS DEFLATE") {
			return
		}
		io.WriteString(sc, "B2 OK DEFLATE active\r\n")
		var got bytes.Buffer
		zr := bufio.NewReader(io.TeeReader(flate.NewReader(br), &got))
		for {
			line, err := zr.ReadString('\n')
			if err != nil {
				return
			}
			i := strings.LastIndexByte(line, '{')
			if !strings.HasSuffix(line, "+}\r\n") || i < 0 {
				break // the command's end
			}
			size, err := strconv.Atoi(line[i+1 : len(line)-4])
			if err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, zr, int64(size)); err != nil {
				return
			}
		}
		// what the tee read ahead belongs to no command: the client
		// sends nothing more before the answer
		received <- got.Bytes()
		zw, _ := flate.NewWriter(sc, flate.BestSpeed)
		fmt.Fprintf(zw, "B3 OK [APPENDUID 9 100:149] done\r\n")
		zw.Flush()
		io.Copy(io.Discard, br) // until the client closes
	}()
	conn := &countingConn{Conn: cc}
	c, err := New(conn, Options{MaxBatch: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Login(ctx, "u", "p"); err != nil {
		t.Fatal(err)
	}
	if !c.Compressed() {
		t.Fatal("COMPRESS not in force")
	}
	writes0, bytes0 := conn.counts()
	res, err := c.Append(ctx, "INBOX", items(msgs))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("item %d: %v", i, r.Err)
		}
	}
	writes1, bytes1 := conn.counts()
	writes, wire := writes1-writes0, bytes1-bytes0
	command := <-received

	var sent int64
	for _, m := range msgs {
		sent += int64(len(m.data))
	}
	if int64(len(command)) < sent {
		t.Fatalf("the server inflated %d bytes, want at least the %d of the messages", len(command), sent)
	}
	// The client's write buffer is flushed when full and at the end of
	// the command: one write below each.
	maxWrites := len(command)/(64<<10) + 1
	if writes > maxWrites {
		t.Errorf("%d writes to the connection for a command of %d bytes, want at most %d (one per flushed buffer)", writes, len(command), maxWrites)
	}
	var oneShot bytes.Buffer
	zw, _ := flate.NewWriter(&oneShot, DefaultCompressLevel)
	zw.Write(command)
	zw.Flush()
	// A sync flush per buffer ends a block early and adds an empty one:
	// within a few percent of deflating it all at once.
	if limit := int64(oneShot.Len()) * 104 / 100; wire > limit {
		t.Errorf("%d bytes on the wire for %d bytes of command, want at most %d (one-shot deflate: %d)", wire, len(command), limit, oneShot.Len())
	}
	t.Logf("%d messages, %d bytes of command: %d bytes on the wire in %d writes (one-shot deflate %d)", len(msgs), len(command), wire, writes, oneShot.Len())
}

// recordingConn keeps what is written to it.
type recordingConn struct {
	net.Conn
	buf bytes.Buffer
}

func (c *recordingConn) Write(p []byte) (int, error) { return c.buf.Write(p) }

// base64Lines is n random bytes as a MIME body part has them: base64 in
// lines of 76 characters.
func base64Lines(n int, seed uint64) []byte {
	raw := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	for i := 0; i < len(enc); i += 76 {
		b.WriteString(enc[i:min(i+76, len(enc))])
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// Text and base64 taking turns on one compressed stream: an independent
// inflater (the standard library's, as a server's zlib) reads back every
// byte; base64 costs about 3/4 of its size on the wire (Huffman codes,
// never stored as it is) and text much less.
func TestCompressTextAndBase64(t *testing.T) {
	wire := &recordingConn{}
	z, err := newDeflateConn(wire, nil, DefaultCompressLevel)
	if err != nil {
		t.Fatal(err)
	}
	text := []byte(strings.Repeat("Subject: the quarterly report\r\nFrom: Anna <anna@example.net>\r\n\r\nDear all, the figures are attached; see you on Monday.\r\n", 300))
	var plain bytes.Buffer
	var textWire, encodedWire, encodedPlain int
	for i := range 6 {
		part := text
		if i%2 == 1 {
			part = base64Lines(150<<10, uint64(i))
		}
		for off := 0; off < len(part); off += 64 << 10 {
			chunk := part[off:min(off+64<<10, len(part))]
			before := wire.buf.Len()
			if _, err := z.Write(chunk); err != nil {
				t.Fatal(err)
			}
			if i%2 == 1 {
				encodedWire += wire.buf.Len() - before
				encodedPlain += len(chunk)
			} else {
				textWire += wire.buf.Len() - before
			}
			plain.Write(chunk)
		}
	}
	got, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(wire.buf.Bytes())), int64(plain.Len())+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	if !bytes.Equal(got, plain.Bytes()) {
		t.Fatalf("inflated %d bytes, want the %d written", len(got), plain.Len())
	}
	if r := float64(encodedWire) / float64(encodedPlain); r > 0.8 || r < 0.7 {
		t.Errorf("base64 went out at %.2f of its size, want about 0.75 (Huffman codes)", r)
	}
	if r := float64(textWire) / float64(3*len(text)); r > 0.1 {
		t.Errorf("repetitive text went out at %.2f of its size: its repeats were not found", r)
	}
}

func TestLooksEncoded(t *testing.T) {
	prose := strings.Repeat("It was the best of times, it was the worst of times; (see: the attached file).\r\n", 100)
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"base64", base64Lines(32<<10, 7), true},
		{"base64 with a header line", append([]byte("Content-Transfer-Encoding: base64\r\n\r\n"), base64Lines(32<<10, 8)...), true},
		{"prose", []byte(prose), false},
		{"HTML", []byte(strings.Repeat(`<p class="x">Hello <b>there</b></p>`+"\r\n", 200)), false},
		{"quoted-printable", []byte(strings.Repeat("Gr=C3=BC=C3=9Fe aus K=C3=B6ln, bis Montag=\r\n", 200)), false},
		{"short base64", base64Lines(1<<10, 9), false},
	} {
		if got := looksEncoded(tc.data); got != tc.want {
			t.Errorf("%s: looksEncoded = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// One buffer holding the end of an attachment and the next message's
// header (as a 64 KB write of a MULTIAPPEND often does): the base64 part
// still goes out at about 3/4 of its size, not stored as it is.
func TestCompressMixedBuffer(t *testing.T) {
	wire := &recordingConn{}
	z, err := newDeflateConn(wire, nil, DefaultCompressLevel)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64Lines(36<<10, 3) // about 48 KB of base64
	text := []byte(strings.Repeat("Received: from mail.example.net by mx.example.org; Tue, 3 Mar 2020 10:00:00 +0100\r\n", 180))
	buf := append(append([]byte{}, b64...), text...)
	if _, err := z.Write(buf); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(wire.buf.Bytes())), int64(len(buf))+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("inflate: %v", err)
	}
	if !bytes.Equal(got, buf) {
		t.Fatalf("inflated %d bytes, want the %d written", len(got), len(buf))
	}
	if limit := 0.8*float64(len(b64)) + 0.1*float64(len(text)); float64(wire.buf.Len()) > limit {
		t.Errorf("%d bytes on the wire for %d of base64 and %d of repetitive text, want at most %.0f", wire.buf.Len(), len(b64), len(text), limit)
	}
}

// TestCompressLevelByDistance: the text level follows the round trip of
// the COMPRESS command: BestSpeed when the answer comes at once (a near
// server), DistantCompressLevel when it takes DistantRTT or longer; an
// explicit Options.CompressLevel wins either way.
func TestCompressLevelByDistance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration
		opts  Options
		want  int
	}{
		{"distant", 3 * DistantRTT, Options{}, DistantCompressLevel},
		{"distant, level given", 3 * DistantRTT, Options{CompressLevel: 2}, 2},
		{"level given", 0, Options{CompressLevel: 3}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := compressAfter(t, tc.delay, tc.opts)
			c.mu.Lock()
			got := c.z.level
			c.mu.Unlock()
			if got != tc.want {
				t.Errorf("text level %d, want %d", got, tc.want)
			}
		})
	}
	// A near server: the level for a round trip shorter than DistantRTT
	// (a test's own round trip may take longer on a loaded machine).
	if got := (&Options{}).compressLevelFor(DistantRTT / 10); got != DefaultCompressLevel {
		t.Errorf("near: level %d, want %d", got, DefaultCompressLevel)
	}
}

// compressAfter logs in to a scripted server that answers COMPRESS after
// delay and returns the client, compressing.
func compressAfter(t *testing.T, delay time.Duration, opts Options) *Client {
	t.Helper()
	cc, sc := net.Pipe()
	go func() {
		defer sc.Close()
		br := bufio.NewReader(sc)
		io.WriteString(sc, "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN COMPRESS=DEFLATE] hi\r\n")
		readCmd(br)
		io.WriteString(sc, "B1 OK [CAPABILITY IMAP4rev1 COMPRESS=DEFLATE] in\r\n")
		if !strings.HasSuffix(readCmd(br), "COMPRESS DEFLATE") {
			return
		}
		time.Sleep(delay)
		io.WriteString(sc, "B2 OK DEFLATE active\r\n")
		io.Copy(io.Discard, br)
	}()
	c, err := New(cc, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(context.Background(), "u", "p"); err != nil {
		t.Fatal(err)
	}
	if !c.Compressed() {
		t.Fatal("not compressed")
	}
	return c
}
