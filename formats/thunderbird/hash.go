package thunderbird

import (
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Thunderbird stores a folder whose name cannot be a file name under a
// hashed name (docs/thunderbird.md, Folder-name hashing;
// cc:mailnews/base/src/nsMsgUtils.cpp, StringHash and
// NS_MsgHashIfNecessary).
const (
	hashMaxLen = 55 // MAX_LEN, in UTF-16 code units
	// illegalFolderChars are ILLEGAL_FOLDER_CHARS, added to the platform's
	// FILE_PATH_SEPARATOR and FILE_ILLEGAL_CHARACTERS.
	illegalFolderChars = ";#"
	illegalFirst       = "."
	illegalLast        = ".~ "
)

// StringHash is Thunderbird's folder-name hash: h = 1, then for every byte
// of the name as UTF-16 in memory (little-endian on every platform
// Thunderbird runs on) h = 0x63c63cd9*h + 0x9c39c33d + byte, in 32 bits.
func StringHash(name string) uint32 {
	return stringHashBytes(utf16LE(name))
}

// stringHashBytes is the same hash over raw bytes; the old 8-bit variant of
// NS_MsgHashIfNecessary hashed the native-charset bytes of the name.
func stringHashBytes(b []byte) uint32 {
	h := uint32(1)
	for _, c := range b {
		h = 0x63c63cd9*h + 0x9c39c33d + uint32(c)
	}
	return h
}

func utf16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// platformIllegal returns FILE_PATH_SEPARATOR + FILE_ILLEGAL_CHARACTERS of
// mozilla-central's xpcom for goos (nsLocalFileUnix.h, nsLocalFileWin.h).
func platformIllegal(goos string) string {
	if goos == "windows" {
		var b strings.Builder
		b.WriteString(`\/:*?"<>|`)
		for c := rune(1); c < 0x20; c++ {
			b.WriteRune(c)
		}
		return b.String()
	}
	return "/"
}

// HashIfNecessary returns the file name a current Thunderbird on goos gives
// a folder named name: the name itself, or, when it holds a character that
// cannot be in a file name, starts with '.', ends with '.', '~' or ' ', or is
// longer than 55 UTF-16 code units, its first part followed by the
// 8-hex-digit StringHash of the whole name.
func HashIfNecessary(name, goos string) string {
	if name == "" {
		return name
	}
	u := utf16.Encode([]rune(name))
	illegal := platformIllegal(goos) + illegalFolderChars
	kept := -1
	for i, c := range u {
		if c < 0x80 && strings.ContainsRune(illegal, rune(c)) {
			kept = i
			break
		}
	}
	if kept < 0 {
		first, last := u[0], u[len(u)-1]
		switch {
		case first < 0x80 && strings.ContainsRune(illegalFirst, rune(first)):
			kept = 0
		case last < 0x80 && strings.ContainsRune(illegalLast, rune(last)):
			kept = len(u) - 1
		case len(u) > hashMaxLen:
			kept = hashMaxLen - 8
			if utf16.IsSurrogate(rune(u[kept-1])) && u[kept-1] < 0xDC00 {
				kept-- // do not keep only the high half of a surrogate pair
			}
		}
	}
	if kept < 0 {
		return name
	}
	return string(utf16.Decode(u[:kept])) + fmt.Sprintf("%08x", StringHash(name))
}

// hashSuffix splits a file name that may be a hashed folder name into the
// kept prefix and the 8 lower-case hex digits at its end. The prefix has no
// length limit: a name is cut at its first illegal character (or before a
// trailing '.', '~' or ' ') even when that lies beyond the 47 units kept of
// a name that is merely too long, so a 70-character name with a '/' at
// position 60 keeps 60 characters before its hash.
func hashSuffix(disk string) (prefix, hex string, ok bool) {
	if len(disk) < 8 {
		return "", "", false
	}
	hex = disk[len(disk)-8:]
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", false
		}
	}
	prefix = disk[:len(disk)-8]
	if !utf8.ValidString(prefix) {
		return "", "", false
	}
	return prefix, hex, true
}

// looksHashed reports whether a file name has the shape of a hashed folder
// name whose real name is worth looking for: a prefix followed by 8 hex
// digits, at least one of them a letter (a folder named "20240101" is much
// more likely a date than a hash).
func looksHashed(disk string) bool {
	_, hex, ok := hashSuffix(disk)
	return ok && strings.ContainsAny(hex, "abcdef")
}

// MatchesHashedName reports whether disk is a file name Thunderbird could
// have given a folder named name, in any version and on any platform: the
// current form (a prefix of name plus the hash of name's UTF-16 bytes) or
// the old one (the hash alone, possibly of name's 8-bit bytes). It does not
// need to know the platform's illegal characters: the hash decides.
func MatchesHashedName(disk, name string) bool {
	if name == "" || disk == name {
		return false
	}
	prefix, hex, ok := hashSuffix(disk)
	if !ok || !strings.HasPrefix(name, prefix) {
		return false
	}
	if hex == fmt.Sprintf("%08x", StringHash(name)) {
		return true
	}
	if prefix != "" {
		return false
	}
	// Old Thunderbird: the whole name replaced by the hash of its native
	// (8-bit) bytes: UTF-8 on Linux and macOS, often Latin-1 on Windows.
	if hex == fmt.Sprintf("%08x", stringHashBytes([]byte(name))) {
		return true
	}
	if l1, ok := latin1(name); ok && hex == fmt.Sprintf("%08x", stringHashBytes(l1)) {
		return true
	}
	return false
}

func latin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		b = append(b, byte(r))
	}
	return b, true
}
