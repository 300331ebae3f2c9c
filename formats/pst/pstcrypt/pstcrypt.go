// Package pstcrypt holds the two encodings Outlook may apply to the data
// blocks of .pst and .ost files ([MS-PST] 5.1 and 5.2): the reader
// (formats/pst) undoes them, and the test writer (internal/psttest) applies
// them, from the same tables.
package pstcrypt

// Permute applies the "compressible" encoding ([MS-PST] 5.1): every byte
// goes through the permutation.
func Permute(b []byte) {
	for i, c := range b {
		b[i] = encodeTable[c]
	}
}

// Unpermute undoes Permute: every byte goes through the inverse
// permutation.
func Unpermute(b []byte) {
	for i, c := range b {
		b[i] = decodeTable[c]
	}
}

// Cyclic applies the "high" encoding of [MS-PST] 5.2, keyed by the low 32
// bits of the block's BID. It is its own inverse: three rotors, the middle
// one self-inverse, turned by a 16-bit counter.
func Cyclic(b []byte, key uint32) {
	w := uint16(key ^ key>>16)
	for i, c := range b {
		c += byte(w)
		c = encodeTable[c]
		c += byte(w >> 8)
		c = middleTable[c]
		c -= byte(w >> 8)
		c = decodeTable[c]
		c -= byte(w)
		b[i] = c
		w++
	}
}
