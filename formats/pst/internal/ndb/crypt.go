package ndb

// decodePermute undoes the "compressible" encoding ([MS-PST] 5.1): every
// byte goes through the inverse permutation.
func decodePermute(b []byte) {
	for i, c := range b {
		b[i] = decodeTable[c]
	}
}

// cyclic applies the "high" encoding of [MS-PST] 5.2, keyed by the low 32
// bits of the block's BID. It is its own inverse: three rotors, the middle
// one self-inverse, turned by a 16-bit counter.
func cyclic(b []byte, bid BID) {
	key := uint32(bid)
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
