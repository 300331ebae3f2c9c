package pstcrypt

import (
	"bytes"
	"testing"
)

// TestTables checks the substitution tables of [MS-PST] 5.1 for the
// relations the encodings depend on: the first and third are inverse
// permutations, the second is its own inverse.
func TestTables(t *testing.T) {
	for i := range 256 {
		if decodeTable[encodeTable[i]] != byte(i) {
			t.Fatalf("decode(encode(%d)) = %d", i, decodeTable[encodeTable[i]])
		}
		if middleTable[middleTable[i]] != byte(i) {
			t.Fatalf("middle(middle(%d)) = %d", i, middleTable[middleTable[i]])
		}
	}
}

var sample = []byte("The quick brown fox jumps over the lazy dog, 0123456789 \x00\x01\xfe\xff")

// TestPermuteInverse: Unpermute undoes Permute.
func TestPermuteInverse(t *testing.T) {
	b := bytes.Clone(sample)
	Permute(b)
	if bytes.Equal(b, sample) {
		t.Fatal("Permute changed nothing")
	}
	Unpermute(b)
	if !bytes.Equal(b, sample) {
		t.Errorf("Unpermute(Permute(x)) != x")
	}
}

// TestCyclicInverse: the cyclic encoding undoes itself for every key.
func TestCyclicInverse(t *testing.T) {
	for _, key := range []uint32{0, 4, 0x12345678, 0xFFFFFFFC} {
		b := bytes.Clone(sample)
		Cyclic(b, key)
		if bytes.Equal(b, sample) {
			t.Errorf("key %#x: cyclic encoding changed nothing", key)
		}
		Cyclic(b, key)
		if !bytes.Equal(b, sample) {
			t.Errorf("key %#x: Cyclic(Cyclic(x)) != x", key)
		}
	}
}
