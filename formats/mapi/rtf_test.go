package mapi

import (
	"encoding/binary"
	"errors"
	"testing"
)

// The examples of [MS-OXRTFCP] section 3: a simple document, and one whose
// dictionary reference overlaps the bytes it writes ("WXYZ" repeated).
var (
	specSimpleCompressed = []byte("-\x00\x00\x00+\x00\x00\x00LZFu\xf1\xc5\xc7\xa7\x03\x00\n\x00" +
		"rcpg125B2\n\xf3 hel\t\x00 bw\x05\xb0ld}\n\x80\x0f\xa0")
	specSimpleRaw          = `{\rtf1\ansi\ansicpg1252\pard hello world}` + "\r\n"
	specCrossingCompressed = []byte("\x1a\x00\x00\x00\x1c\x00\x00\x00LZFu\xe2\xd4KQA\x00\x04 WXYZ\rn}\x01\x0e\xb0")
	specCrossingRaw        = `{\rtf1 WXYZWXYZWXYZWXYZWXYZ}`
)

// mela wraps RTF in the uncompressed form of [MS-OXRTFCP] ("MELA", CRC 0).
func mela(rtf string) []byte {
	b := make([]byte, 16, 16+len(rtf))
	binary.LittleEndian.PutUint32(b[0:], uint32(len(rtf)+12))
	binary.LittleEndian.PutUint32(b[4:], uint32(len(rtf)))
	binary.LittleEndian.PutUint32(b[8:], rtfUncompressed)
	return append(b, rtf...)
}

func TestDecompressRTF(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"spec simple", specSimpleCompressed, specSimpleRaw},
		{"spec crossing reference", specCrossingCompressed, specCrossingRaw},
		{"uncompressed MELA", mela(specSimpleRaw), specSimpleRaw},
		{"padding after the data", append(append([]byte{}, specCrossingCompressed...), 0, 0, 0), specCrossingRaw},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecompressRTF(tc.in)
			if err != nil {
				t.Fatalf("DecompressRTF: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("DecompressRTF = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRTFCRC(t *testing.T) {
	// The CRC field of the spec's example is the checksum of its
	// compressed bytes.
	want := binary.LittleEndian.Uint32(specSimpleCompressed[12:])
	if got := rtfCRC(specSimpleCompressed[16:]); got != want {
		t.Errorf("rtfCRC = %#08x, want %#08x", got, want)
	}
}

func TestDecompressRTFErrors(t *testing.T) {
	badCRC := append([]byte{}, specSimpleCompressed...)
	badCRC[12] ^= 0xFF
	got, err := DecompressRTF(badCRC)
	if !errors.Is(err, ErrRTF) {
		t.Errorf("bad CRC: err = %v, want ErrRTF", err)
	}
	if string(got) != specSimpleRaw {
		t.Errorf("bad CRC: the data should still come back, got %q", got)
	}

	badType := append([]byte{}, specSimpleCompressed...)
	copy(badType[8:], "XXXX")
	cut := specSimpleCompressed[:len(specSimpleCompressed)-8]
	cutRef := append(append([]byte{}, specSimpleCompressed[:18]...), 0xFF) // a control byte of references, then one byte
	binary.LittleEndian.PutUint32(cutRef[0:], uint32(len(cutRef)-4))
	huge := append([]byte{}, specSimpleCompressed...)
	binary.LittleEndian.PutUint32(huge[4:], MaxRTFSize+1)
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"short", []byte("LZFu")},
		{"unknown type", badType},
		{"cut reference", cutRef},
		{"RAWSIZE over the limit", huge},
		{"MELA shorter than RAWSIZE", mela("abc")[:17]},
	} {
		if _, err := DecompressRTF(tc.in); !errors.Is(err, ErrRTF) {
			t.Errorf("%s: err = %v, want ErrRTF", tc.name, err)
		}
	}
	// Data cut before the end reference: what came is returned (with the
	// CRC error, as the checksum covers the missing bytes).
	if got, _ := DecompressRTF(cut); len(got) == 0 {
		t.Errorf("cut data: got nothing")
	}
}
