package mapi

import (
	"strings"
	"testing"
)

// encapsulatedExample is RTF written the way [MS-OXRTFEX] section 2.4.2
// describes an encapsulating writer (and Outlook does): \fromhtml1 in the
// header, a font table with a Cyrillic font, the empty {\*\htmltag64}
// group before the body, the markup in htmltag groups (with the numeric
// parameter, and a space before content that starts with a digit), the
// text between them, and \htmlrtf regions holding the RTF-only rendering.
const encapsulatedExample = `{\rtf1\ansi\ansicpg1252\fromhtml1 \deff0{\fonttbl
{\f0\fswiss Arial;}
{\f1\fmodern Courier New;}
{\f2\fnil\fcharset2 Symbol;}
{\f3\fswiss\fcharset204 Arial Cyr;}}
{\colortbl\red0\green0\blue0;\red0\green0\blue255;}
{\*\htmltag64}
\uc1\pard\plain\deftab360 \f0\fs24
{\*\htmltag19 <html>}
{\*\htmltag34 <head>}
{\*\htmltag1 \par }
{\*\htmltag241 <style>p \{ margin: 0 \}</style>}
{\*\htmltag41 </head>}
{\*\htmltag2 \par }
{\*\htmltag50 <body>}\htmlrtf \lang1033 \htmlrtf0
{\*\htmltag64 <p>}\htmlrtf {\htmlrtf0 Caf\'e9 \'93quoted\'94\htmlrtf\par\htmlrtf0}
{\*\htmltag84 <b>}\htmlrtf {\b\htmlrtf0 bold\htmlrtf }\htmlrtf0
{\*\htmltag92 </b>}
{\*\mhtmltag84 <img src="cid:ignored">}{\*\htmltag84 <img src="image001.png">}
{\*\htmltag4 \par }{\*\htmltag84 &nbsp;}\htmlrtf \~\htmlrtf0
{\f3 \'cf\'f0\'e8\'e2\'e5\'f2}, \u8364?, \u-10179?\u-8694?, tab\tab end\line
{\*\htmltag72 </p>}
{\*\htmltag58 </body>}
{\*\htmltag27 </html>}}`

const encapsulatedWant = "<html><head>\r\n<style>p { margin: 0 }</style></head>\r\n<body>" +
	"<p>Café “quoted”<b>bold</b><img src=\"image001.png\">\r\n&nbsp;" +
	"Привет, €, 😊, tab\tend\r\n</p></body></html>"

func TestDeencapsulateHTML(t *testing.T) {
	kind, got := Deencapsulate([]byte(encapsulatedExample))
	if kind != EncapsulatesHTML {
		t.Fatalf("kind = %v, want EncapsulatesHTML", kind)
	}
	if string(got) != encapsulatedWant {
		t.Errorf("Deencapsulate =\n%q\nwant\n%q", got, encapsulatedWant)
	}
}

func TestDeencapsulateKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		rtf  string
		kind Encapsulation
		want string
	}{
		{"plain RTF", `{\rtf1\ansi\deff0{\fonttbl{\f0 Arial;}}\pard Hello\par}`, EncapsulatesNothing, ""},
		{"fromhtml after the body started does not count", `{\rtf1\ansi\pard Hello \fromhtml1 x}`, EncapsulatesNothing, ""},
		{"from text", `{\rtf1\ansi\ansicpg1252\fromtext \deff0{\fonttbl{\f0 Courier;}}\pard\plain Line one\par Line \'e9two\htmlrtf\par\htmlrtf0}`, EncapsulatesText, "Line one\r\nLine étwo"},
		{"binary data is skipped", `{\rtf1\fromhtml1 {\*\htmltag0 a}\bin3 {}\{{\*\htmltag0 b}}`, EncapsulatesHTML, "ab"},
		{"unbalanced braces", `{\rtf1\fromhtml1 {\*\htmltag0 <p>}text`, EncapsulatesHTML, "<p>text"},
		{"cut escape", `{\rtf1\fromhtml1 {\*\htmltag0 <p>}x\'e`, EncapsulatesHTML, "<p>x"},
		{"unpaired surrogate", `{\rtf1\fromhtml1 {\*\htmltag0 <p>}\u-10179?x}`, EncapsulatesHTML, "<p>\uFFFDx"},
		{"uc0 has no fallback", `{\rtf1\fromhtml1 \uc0 {\*\htmltag0 <p>}\u233 x}`, EncapsulatesHTML, "<p>éx"},
		{"escaped characters", `{\rtf1\fromhtml1 {\*\htmltag0 <p>}\\ \{ \} a\-b}`, EncapsulatesHTML, `<p>\ { } ab`},
		{"Shift-JIS font", `{\rtf1\ansi\ansicpg932\fromhtml1 {\fonttbl{\f1\fcharset128 MS Gothic;}}{\*\htmltag0 <p>}{\f1 \'93\'fa\'96\'7b}}`, EncapsulatesHTML, "<p>日本"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kind, got := Deencapsulate([]byte(tc.rtf))
			if kind != tc.kind {
				t.Fatalf("kind = %v, want %v", kind, tc.kind)
			}
			if string(got) != tc.want {
				t.Errorf("Deencapsulate = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDeencapsulateDeepNesting(t *testing.T) {
	rtf := `{\rtf1\fromhtml1 {\*\htmltag0 <p>}` + strings.Repeat("{", 10000) + "x" + strings.Repeat("}", 10000) + "y}"
	kind, got := Deencapsulate([]byte(rtf))
	if kind != EncapsulatesHTML || string(got) != "<p>y" {
		t.Errorf("Deencapsulate = %v %q, want the text outside the too-deep groups", kind, got)
	}
}

func TestRTFText(t *testing.T) {
	rtf := `{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}{\f1\fcharset204 Arial Cyr;}}{\colortbl;\red255\green0\blue0;}` +
		`{\*\generator Riched20;}\pard\b Hello\b0  w\'f6rld\par {\f1 \'cf\'f0\'e8}\tab \u8364?{\pict\wmetafile8 0102}\par}`
	if got := string(RTFText([]byte(rtf))); got != "Hello w\u00f6rld\r\nПри\t€\r\n" {
		t.Errorf("RTFText = %q", got)
	}
}
