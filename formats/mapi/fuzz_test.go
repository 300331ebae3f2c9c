package mapi_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"mailferry/formats/mapi"
	"mailferry/formats/msg"
)

// corpusRTF returns the compressed RTF bodies of the shared corpus's .msg
// files (read at test time; none when the corpus is absent).
func corpusRTF(tb testing.TB) [][]byte {
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(wd, "..", "..", "..", "shared", "corpus", "msg", "*.msg"))
	var out [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		m, err := msg.OpenMessage(bytesReaderAt(b), int64(len(b)))
		if err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		if v, ok, err := m.Get(mapi.PidTagRtfCompressed); err == nil && ok {
			out = append(out, v.Data)
		}
	}
	return out
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, os.ErrClosed
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, os.ErrClosed
	}
	return n, nil
}

func FuzzDecompressRTF(f *testing.F) {
	f.Add([]byte("-\x00\x00\x00+\x00\x00\x00LZFu\xf1\xc5\xc7\xa7\x03\x00\n\x00rcpg125B2\n\xf3 hel\t\x00 bw\x05\xb0ld}\n\x80\x0f\xa0"))
	f.Add([]byte("\x1a\x00\x00\x00\x1c\x00\x00\x00LZFu\xe2\xd4KQA\x00\x04 WXYZ\rn}\x01\x0e\xb0"))
	for _, b := range corpusRTF(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := mapi.DecompressRTF(b)
		if len(b) >= 16 && len(out) > int(binary.LittleEndian.Uint32(b[4:])) {
			t.Fatalf("%d bytes out, RAWSIZE %d (err %v)", len(out), binary.LittleEndian.Uint32(b[4:]), err)
		}
	})
}

func FuzzDeencapsulate(f *testing.F) {
	f.Add([]byte(`{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl{\f0\fcharset204 A;}}{\*\htmltag64}{\*\htmltag19 <html>}\htmlrtf {\f0 x}\htmlrtf0 \'e9\u8364?{\*\mhtmltag0 y}\par}`))
	f.Add([]byte(`{\rtf1\fromtext \pard a\tab b\line\bin2 {}\uc2\u-10179??\u-8694??}`))
	for _, b := range corpusRTF(f) {
		if rtf, err := mapi.DecompressRTF(b); err == nil {
			f.Add(rtf)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, out := mapi.Deencapsulate(b)
		if kind == mapi.EncapsulatesNothing && out != nil {
			t.Fatalf("output without encapsulation")
		}
		if !utf8.Valid(out) {
			t.Fatalf("output is not UTF-8: %q", out)
		}
		if len(out) > 4*len(b)+1024 {
			t.Fatalf("%d bytes out of %d", len(out), len(b))
		}
	})
}
