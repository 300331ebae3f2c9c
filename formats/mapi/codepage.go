package mapi

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
)

// DefaultCodepage is assumed for 8-bit text when a message names none:
// Western European Windows, what Outlook uses unless told otherwise.
const DefaultCodepage = 1252

// codepages maps Windows code page numbers, as MAPI stores them
// (PidTagInternetCodepage, PidTagMessageCodepage, RTF's \ansicpgN), to
// decoders and MIME charset names.
var codepages = map[int]struct {
	charset string
	enc     encoding.Encoding // nil: UTF-8 or ASCII, decoded as UTF-8
}{
	437:   {"ibm437", charmap.CodePage437},
	850:   {"ibm850", charmap.CodePage850},
	852:   {"ibm852", charmap.CodePage852},
	855:   {"ibm855", charmap.CodePage855},
	858:   {"ibm00858", charmap.CodePage858},
	860:   {"ibm860", charmap.CodePage860},
	862:   {"ibm862", charmap.CodePage862},
	863:   {"ibm863", charmap.CodePage863},
	865:   {"ibm865", charmap.CodePage865},
	866:   {"ibm866", charmap.CodePage866},
	874:   {"windows-874", charmap.Windows874},
	932:   {"shift_jis", japanese.ShiftJIS},
	936:   {"gbk", simplifiedchinese.GBK},
	949:   {"euc-kr", korean.EUCKR},
	950:   {"big5", traditionalchinese.Big5},
	1200:  {"utf-16le", unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)},
	1201:  {"utf-16be", unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)},
	1250:  {"windows-1250", charmap.Windows1250},
	1251:  {"windows-1251", charmap.Windows1251},
	1252:  {"windows-1252", charmap.Windows1252},
	1253:  {"windows-1253", charmap.Windows1253},
	1254:  {"windows-1254", charmap.Windows1254},
	1255:  {"windows-1255", charmap.Windows1255},
	1256:  {"windows-1256", charmap.Windows1256},
	1257:  {"windows-1257", charmap.Windows1257},
	1258:  {"windows-1258", charmap.Windows1258},
	10000: {"macintosh", charmap.Macintosh},
	10007: {"x-mac-cyrillic", charmap.MacintoshCyrillic},
	20127: {"us-ascii", nil},
	20866: {"koi8-r", charmap.KOI8R},
	21866: {"koi8-u", charmap.KOI8U},
	28591: {"iso-8859-1", charmap.ISO8859_1},
	28592: {"iso-8859-2", charmap.ISO8859_2},
	28593: {"iso-8859-3", charmap.ISO8859_3},
	28594: {"iso-8859-4", charmap.ISO8859_4},
	28595: {"iso-8859-5", charmap.ISO8859_5},
	28596: {"iso-8859-6", charmap.ISO8859_6},
	28597: {"iso-8859-7", charmap.ISO8859_7},
	28598: {"iso-8859-8", charmap.ISO8859_8},
	28599: {"iso-8859-9", charmap.ISO8859_9},
	28603: {"iso-8859-13", charmap.ISO8859_13},
	28605: {"iso-8859-15", charmap.ISO8859_15},
	38598: {"iso-8859-8-i", charmap.ISO8859_8I},
	50220: {"iso-2022-jp", japanese.ISO2022JP},
	50221: {"iso-2022-jp", japanese.ISO2022JP},
	50222: {"iso-2022-jp", japanese.ISO2022JP},
	51932: {"euc-jp", japanese.EUCJP},
	51936: {"gbk", simplifiedchinese.GBK},
	51949: {"euc-kr", korean.EUCKR},
	52936: {"hz-gb-2312", simplifiedchinese.HZGB2312},
	54936: {"gb18030", simplifiedchinese.GB18030},
	65001: {"utf-8", nil},
}

// Charset returns the MIME charset name of a Windows code page, or ""
// when the code page is unknown.
func Charset(cp int) string { return codepages[cp].charset }

// KnownCodepage reports whether Decode knows cp.
func KnownCodepage(cp int) bool {
	_, ok := codepages[cp]
	return ok
}

// Decode converts text in code page cp to UTF-8. An unknown code page is
// read as DefaultCodepage; bytes a code page cannot map become U+FFFD.
// Text that is already valid UTF-8 in a UTF-8 or ASCII code page is
// returned as it is.
func Decode(b []byte, cp int) string {
	c, ok := codepages[cp]
	if !ok {
		c = codepages[DefaultCodepage]
	}
	if c.enc == nil {
		if utf8.Valid(b) {
			return string(b)
		}
		return string([]rune(string(b))) // invalid bytes become U+FFFD
	}
	out, err := c.enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace what they cannot map; an error here
		// means a broken multi-byte sequence at the end. Keep what is
		// readable rather than nothing.
		return string([]rune(string(out)))
	}
	return string(out)
}

// Codepage returns the code page of a message's String8 values:
// PidTagMessageCodepage, else PidTagInternetCodepage, else
// DefaultCodepage. Errors reading the properties count as absent.
func Codepage(p Properties) int {
	for _, id := range []PropID{PidTagMessageCodepage, PidTagInternetCodepage} {
		if cp, ok := codepageProp(p, id); ok {
			return cp
		}
	}
	return DefaultCodepage
}

// BodyCodepage returns the code page of a message's HTML body bytes:
// PidTagInternetCodepage, else PidTagMessageCodepage; ok is false when
// neither is set to a known code page.
func BodyCodepage(p Properties) (cp int, ok bool) {
	for _, id := range []PropID{PidTagInternetCodepage, PidTagMessageCodepage} {
		if cp, ok := codepageProp(p, id); ok {
			return cp, true
		}
	}
	return 0, false
}

func codepageProp(p Properties, id PropID) (int, bool) {
	v, ok, err := p.Get(id)
	if err != nil || !ok {
		return 0, false
	}
	n, err := Integer(v)
	if err != nil || !KnownCodepage(int(n)) {
		return 0, false
	}
	return int(n), true
}
