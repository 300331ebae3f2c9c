package rehearsal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"mailferry/upload/fingerprint"
)

// headerFile keeps the header blocks of the server's messages in one
// temporary file, so that the server's memory does not grow with the
// size of the mail it holds: a message costs the server a fixed record in
// memory (see message) and its header block on disk. Blocks are only
// appended; a block never changes once written, so readers need no lock
// (os.File.ReadAt is safe for concurrent use).
type headerFile struct {
	f *os.File
	// mu guards end. It is also held while a header block longer than
	// inlineHeader streams into the file, so that the block stays in one
	// piece (such headers are rare: real ones are a few KiB).
	mu  sync.Mutex
	end int64
}

// inlineHeader is how much of a header block an APPEND collects in
// memory before writing it to the file.
const inlineHeader = 256 << 10

func newHeaderFile(dir string) (*headerFile, error) {
	f, err := os.CreateTemp(dir, "mailferry-rehearsal-*")
	if err != nil {
		return nil, fmt.Errorf("rehearsal server: create header file: %w", err)
	}
	// Unlinked at once where the OS allows it, so a crash leaves no file.
	_ = os.Remove(f.Name())
	return &headerFile{f: f}, nil
}

func (h *headerFile) close() {
	name := h.f.Name()
	_ = h.f.Close()
	_ = os.Remove(name) // where it could not be removed while open
}

// section returns a reader of the n bytes of a block stored at off.
func (h *headerFile) section(off int64, n uint32) *io.SectionReader {
	return io.NewSectionReader(h.f, off, int64(n))
}

// read returns a stored block.
func (h *headerFile) read(off int64, n uint32) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(h.section(off, n), b); err != nil {
		return nil, fmt.Errorf("rehearsal server: read header: %w", err)
	}
	return b, nil
}

// capture reads one message (an APPEND literal) and stores its header
// block. It reuses its buffers from message to message; it is not safe for
// concurrent use (one per session).
type capture struct {
	h   *headerFile
	br  *bufio.Reader
	buf []byte
	// While a long block streams into the file: h.mu is held, the block
	// starts at off and n bytes are written.
	locked bool
	off, n int64
}

func newCapture(h *headerFile) *capture {
	// The buffer holds any line the fingerprint may hash (fingerprint.MaxHeaderLine
	// plus CRLF); a line that does not fit ends the header.
	return &capture{h: h, br: bufio.NewReaderSize(nil, fingerprint.MaxHeaderLine+1024)}
}

// errHeaderTooLong refuses a header block the server's records cannot
// address (4 GiB).
var errHeaderTooLong = errors.New("header block over 4 GiB")

// read consumes r to its end. It stores the lines that
// fingerprint.Hasher hashes (the header fields and their continuations, up to the
// first line that is not one, or is longer than fingerprint.MaxHeaderLine), plus the
// empty line ending the header when that is what ended it, and returns
// where the block is and how many bytes r held. The fingerprint.Hasher decides
// which lines count, so that the fingerprint of what FETCH BODY[HEADER]
// returns is the fingerprint of the message appended, for any header.
func (c *capture) read(r io.Reader) (off int64, n uint32, size int64, err error) {
	c.br.Reset(r)
	defer c.br.Reset(nil)
	c.buf = c.buf[:0]
	defer c.abort()
	hh := fingerprint.NewHasher()
	for ended := false; !ended; {
		line, rerr := c.br.ReadSlice('\n')
		size += int64(len(line))
		switch {
		case rerr == bufio.ErrBufferFull:
			ended = true // longer than any header line
		case rerr == nil || rerr == io.EOF:
			before := hh.Lines()
			hh.Write(line)
			if rerr == io.EOF {
				hh.Finish()
				ended = true
			}
			keep := hh.Lines() > before
			if !keep {
				ended = true
				keep = len(line) > 0 && len(bytes.TrimRight(line, "\r\n")) == 0
			}
			if keep {
				if err := c.write(line); err != nil {
					return 0, 0, size, err
				}
			}
		default:
			return 0, 0, size, rerr
		}
	}
	rest, err := c.br.WriteTo(io.Discard)
	size += rest
	if err != nil {
		return 0, 0, size, err
	}
	off, n, err = c.commit()
	return off, n, size, err
}

func (c *capture) write(p []byte) error {
	if !c.locked && len(c.buf)+len(p) <= inlineHeader {
		c.buf = append(c.buf, p...)
		return nil
	}
	if !c.locked {
		c.h.mu.Lock()
		c.locked, c.off, c.n = true, c.h.end, 0
		if err := c.writeFile(c.buf); err != nil {
			return err
		}
		c.buf = c.buf[:0]
	}
	return c.writeFile(p)
}

func (c *capture) writeFile(p []byte) error {
	if c.n+int64(len(p)) > math.MaxUint32 {
		return errHeaderTooLong
	}
	if _, err := c.h.f.WriteAt(p, c.off+c.n); err != nil {
		return fmt.Errorf("rehearsal server: store header: %w", err)
	}
	c.n += int64(len(p))
	return nil
}

// commit ends the block and returns where it is.
func (c *capture) commit() (int64, uint32, error) {
	if c.locked {
		off, n := c.off, c.n
		c.h.end = off + n
		c.locked = false
		c.h.mu.Unlock()
		return off, uint32(n), nil
	}
	if len(c.buf) == 0 {
		return 0, 0, nil
	}
	c.h.mu.Lock()
	off := c.h.end
	c.h.end += int64(len(c.buf))
	c.h.mu.Unlock()
	if _, err := c.h.f.WriteAt(c.buf, off); err != nil {
		return 0, 0, fmt.Errorf("rehearsal server: store header: %w", err)
	}
	return off, uint32(len(c.buf)), nil
}

// abort releases the file after a failed read; the bytes written stay
// unused.
func (c *capture) abort() {
	if c.locked {
		c.locked = false
		c.h.mu.Unlock()
	}
}
