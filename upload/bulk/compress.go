package bulk

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
)

// DefaultCompressLevel is the deflate level of COMPRESS for text when
// Options.CompressLevel is 0 and the server is near (see DistantRTT):
// flate.BestSpeed, the fastest encoder that still finds repeats. Near the
// server the link is fast and the CPU spent per byte is what counts.
// RFC 4978 leaves window and level to each side.
const DefaultCompressLevel = flate.BestSpeed

// DistantCompressLevel is the level for text when the server is distant
// (the COMPRESS command took DistantRTT or longer to be answered): over
// the internet, and above all over a home uplink, the link is what the
// upload waits for, and this level sends about 8% fewer bytes of text
// than BestSpeed for about 1.4 times its CPU (BenchmarkCompressLevels),
// still several times faster than such a link. Levels 5 and 6 save a
// few percent more for 1.6-1.8 times the CPU, which took the client's
// CPU per message to twice that of an upload without compression;
// levels 7-9 cost 6-15 times. Base64 goes through Huffman codes alone at
// any level.
const DistantCompressLevel = 4

// DistantRTT is the round trip from which the server counts as distant:
// more than a local network's (well under a millisecond to a couple of
// milliseconds), less than any path over the internet to a mail provider.
const DistantRTT = 5 * time.Millisecond

// compressLevelFor is the level for text on a connection whose COMPRESS
// command was answered after rtt.
func (o *Options) compressLevelFor(rtt time.Duration) int {
	switch {
	case o.CompressLevel != 0:
		return o.CompressLevel
	case rtt >= DistantRTT:
		return DistantCompressLevel
	}
	return DefaultCompressLevel
}

// deflateConn is a connection after COMPRESS DEFLATE (RFC 4978): raw
// deflate (RFC 1951) both ways over the connection below. Every Write
// ends with a sync flush (the empty stored block of Z_SYNC_FLUSH), so the
// server can decode all of it at once: a pipelined command is never held
// back waiting for the next one.
//
// Two encoders take turns on the one stream. Text (headers, bodies,
// HTML) goes to one that looks for repeats. Base64 (attachments) has
// almost none, and the fast encoders of klauspost/compress send such
// data as it is (stored blocks, 100%), while Huffman codes alone take it
// to about 75% at a fraction of the CPU: buffers that look like base64
// go to a Huffman-only encoder. Switching is allowed at a sync flush,
// where every block has ended: the reader's window simply goes on. The
// text encoder starts afresh after the other one wrote, since its own
// history no longer matches what the reader has seen (a match must never
// point at bytes it did not write).
//
// The deflate output goes through a buffer (out) that is handed to the
// connection below once per Write: the encoders write whatever they have
// in pieces of a few hundred bytes, and each piece written straight to a
// TLS connection would become a TLS record of its own (header and tag on
// every piece) and a system call; without Nagle, a TCP segment too.
type deflateConn struct {
	net.Conn // below: TLS or TCP

	rmu sync.Mutex
	r   io.ReadCloser

	wmu     sync.Mutex
	text    *flate.Writer // repeats and Huffman codes
	encoded *flate.Writer // Huffman codes only, for base64
	last    *flate.Writer // the encoder of the previous Write
	out     *bufio.Writer // the deflate output, written to Conn once per Write
	level   int           // the text encoder's level
}

// deflateOutSize is the buffer between the deflate writer and the
// connection: the size of the bulk client's own write buffer, so that one
// Write of it (already compressed) needs one write below.
const deflateOutSize = 64 << 10

// newDeflateConn starts deflate on c. buffered are the bytes the server
// sent after its OK to COMPRESS that were already read from c: the start
// of its compressed stream.
func newDeflateConn(c net.Conn, buffered []byte, level int) (*deflateConn, error) {
	out := bufio.NewWriterSize(c, deflateOutSize)
	text, err := flate.NewWriter(out, level)
	if err != nil {
		return nil, fmt.Errorf("COMPRESS: %w", err)
	}
	encoded, err := flate.NewWriter(out, flate.HuffmanOnly)
	if err != nil {
		return nil, fmt.Errorf("COMPRESS: %w", err)
	}
	src := io.MultiReader(bytes.NewReader(append([]byte(nil), buffered...)), c)
	// flate reads byte by byte from an io.ByteReader; bufio gives it one
	// without a system call per byte.
	return &deflateConn{Conn: c, r: flate.NewReader(bufio.NewReaderSize(src, 32<<10)),
		text: text, encoded: encoded, last: text, out: out, level: level}, nil
}

// Read returns inflated bytes. A stream that ends, is cut or does not
// inflate is an error, as a broken connection is: the bytes before it are
// what the server sent, never a guess.
func (z *deflateConn) Read(p []byte) (int, error) {
	z.rmu.Lock()
	defer z.rmu.Unlock()
	n, err := z.r.Read(p)
	if errors.Is(err, io.EOF) && n == 0 {
		// A final deflate block: the server ended compression, which
		// RFC 4978 does not allow before the connection ends.
		return 0, io.ErrUnexpectedEOF
	}
	return n, err
}

// Write deflates p, flushes the deflate stream and writes what it made to
// the connection below in as few writes as the buffer allows.
func (z *deflateConn) Write(p []byte) (int, error) {
	z.wmu.Lock()
	defer z.wmu.Unlock()
	written := 0
	encoded := looksEncoded(p[:min(len(p), segmentSize)])
	for len(p) > 0 {
		// The longest run of segments of one kind goes to its encoder:
		// a buffer often holds the end of one message's attachment and
		// the next message's header. Each segment is judged once.
		n, next := min(len(p), segmentSize), encoded
		for n < len(p) {
			if next = looksEncoded(p[n:min(len(p), n+segmentSize)]); next != encoded {
				break
			}
			n = min(len(p), n+segmentSize)
		}
		w := z.text
		if encoded {
			w = z.encoded
		}
		if w != z.last {
			// The other encoder's blocks end here, at a byte boundary.
			if err := z.last.Flush(); err != nil {
				return written, err
			}
			if w == z.text {
				z.text.Reset(z.out)
			}
			z.last = w
		}
		k, err := w.Write(p[:n])
		written += k
		if err != nil {
			return written, err
		}
		p, encoded = p[n:], next
	}
	if err := z.last.Flush(); err != nil {
		return written, err
	}
	return written, z.out.Flush()
}

// segmentSize is the unit that looksEncoded judges within a Write: a
// few dozen base64 lines.
const segmentSize = 8 << 10

// base64Byte marks the bytes of base64 lines: the alphabet, padding and
// line ends.
var base64Byte = func() (t [256]bool) {
	for _, b := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n") {
		t[b] = true
	}
	return t
}()

// looksEncoded reports whether p is (almost all) base64: of up to 256
// bytes sampled across it, at most 1 in 64 is outside base64's alphabet.
// Text has spaces and punctuation far more often; a short write (a
// command, the end of a message) is text.
func looksEncoded(p []byte) bool {
	const minLen, samples = 4 << 10, 256
	if len(p) < minLen {
		return false
	}
	stride := len(p) / samples
	other := 0
	for i := 0; i < len(p); i += stride {
		if !base64Byte[p[i]] {
			other++
			if other > samples/64 {
				return false
			}
		}
	}
	return true
}

// Compressed reports whether COMPRESS DEFLATE is in force.
func (c *Client) Compressed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.z != nil
}

// compress sends COMPRESS DEFLATE and, when the server agrees, turns
// deflate on for both directions. RFC 4978: the client sends nothing
// after the command until its answer, and both sides compress from the
// byte after the CRLF of the OK. The reader goroutine switches its side
// (see readLoop); the writer's side switches here, under the write lock
// held all along. A *StatusError leaves the connection as it was.
func (c *Client) compress(ctx context.Context) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	if len(c.pending) > 0 {
		c.mu.Unlock()
		return errors.New("COMPRESS: commands are in flight")
	}
	c.mu.Unlock()
	cmd := &Command{op: "COMPRESS", done: make(chan struct{}), Atomic: true}
	cmd.onTag = func(tag string) {
		c.compressTag = tag
		c.compressSent = time.Now()
	}
	err := c.writeLocked(cmd, func() error {
		_, err := c.bw.WriteString("COMPRESS DEFLATE")
		return err
	})
	if err != nil {
		return err
	}
	if _, err := cmd.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			// The answer may still switch the reader: the connection
			// is no longer in a known state.
			c.fail(fmt.Errorf("COMPRESS: %w", err))
		}
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.z == nil {
		return statusError("COMPRESS", cmd.resp) // not OK
	}
	c.src = c.z
	return nil
}

// startInflate switches the reader to the compressed stream right after
// the OK to COMPRESS: what br holds beyond it is already deflate. Called
// by the reader goroutine, before the command is answered.
func (c *Client) startInflate() error {
	buffered, _ := c.br.Peek(c.br.Buffered())
	c.mu.Lock()
	rtt := time.Since(c.compressSent)
	c.mu.Unlock()
	z, err := newDeflateConn(c.src, buffered, c.opts.compressLevelFor(rtt))
	if err != nil {
		return err
	}
	c.br = bufio.NewReaderSize(z, 64<<10)
	c.mu.Lock()
	c.z = z
	c.mu.Unlock()
	return nil
}
