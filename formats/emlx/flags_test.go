package emlx

import (
	"slices"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		bits    uint64
		want    []string
		deleted bool
	}{
		{"none", 0, nil, false},
		{"read", 1 << 0, []string{`\Seen`}, false},
		{"deleted", 1 << 1, nil, true},
		{"answered", 1 << 2, []string{`\Answered`}, false},
		{"encrypted ignored", 1 << 3, nil, false},
		{"flagged", 1 << 4, []string{`\Flagged`}, false},
		{"recent ignored", 1 << 5, nil, false},
		{"draft", 1 << 6, []string{`\Draft`}, false},
		{"initial ignored", 1 << 7, nil, false},
		{"forwarded", 1 << 8, []string{"$Forwarded"}, false},
		{"redirected", 1 << 9, []string{"$Forwarded"}, false},
		{"forwarded and redirected once", 1<<8 | 1<<9, []string{"$Forwarded"}, false},
		{"attachment count ignored", 63 << 10, nil, false},
		{"priority ignored", 3 << 16, nil, false},
		{"signed ignored", 1 << 23, nil, false},
		{"junk", 1 << 24, []string{"$Junk"}, false},
		{"not junk", 1 << 25, []string{"$NotJunk"}, false},
		{"bits above 32 ignored", 1<<33 | 1<<41, nil, false},
		{"read deleted", 1<<0 | 1<<1, []string{`\Seen`}, true},
		// mikez/emlx tests/test_plaintext.py: read, draft, is_not_junk (+ bit 33).
		{"mikez 8623489089", 8623489089, []string{`\Seen`, `\Draft`, "$NotJunk"}, false},
		// pec converter.test.ts: 114892 is read, initial, notJunk.
		{"pec 8623689857", 8623689857, []string{`\Seen`, "$NotJunk"}, false},
		{"all", ^uint64(0), []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, "$Forwarded", "$Junk", "$NotJunk"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, del := Flags(tt.bits)
			if !slices.Equal(got, tt.want) || del != tt.deleted {
				t.Errorf("Flags(%#x) = %q, %v; want %q, %v", tt.bits, got, del, tt.want, tt.deleted)
			}
		})
	}
}
