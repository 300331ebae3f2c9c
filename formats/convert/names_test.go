package convert

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("abcdefghij", 30)
	tests := []struct {
		name, format, in, want string
	}{
		{"plain", FormatEML, "Archive", "Archive"},
		{"non-ASCII kept", FormatEML, "Entwürfe", "Entwürfe"},
		{"dot dot", FormatEML, "..", "_"},
		{"dot", FormatEML, ".", "_"},
		{"only dots", FormatEML, ".....", "_"},
		{"dots and spaces", FormatEML, ". . .", "_"},
		{"empty", FormatEML, "", "_"},
		{"traversal", FormatEML, "../../etc", "_._.._etc"},
		{"slash", FormatEML, "a/b", "a_b"},
		{"backslash", FormatEML, `a\b`, "a_b"},
		{"windows traversal", FormatEML, `..\..\Windows`, "_._.._Windows"},
		{"NUL", FormatEML, "a\x00b", "a_b"},
		{"controls", FormatEML, "a\tb\nc\x7fd\u0085e", "a_b_c_d_e"},
		{"invalid UTF-8", FormatEML, "a\xffb", "a_b"},
		{"replacement character kept", FormatEML, "a\uFFFDb", "a\uFFFDb"},
		{"drive letter", FormatEML, "C:", "C_"},
		{"drive path", FormatEML, `C:\Users`, "C__Users"},
		{"windows reserved characters", FormatEML, `a*b?c"d<e>f|g`, "a_b_c_d_e_f_g"},
		{"CON", FormatEML, "CON", "CON_"},
		{"con lower", FormatEML, "con", "con_"},
		{"NUL device", FormatEML, "NUL", "NUL_"},
		{"COM1", FormatEML, "COM1", "COM1_"},
		{"LPT9 with extension", FormatEML, "lpt9.txt", "lpt9_.txt"},
		{"COM superscript", FormatEML, "COM¹", "COM¹_"},
		{"AUX with space before extension", FormatEML, "AUX .x", "AUX_.x"},
		{"COM10 is fine", FormatEML, "COM10", "COM10"},
		{"CONFIG is fine", FormatEML, "CONFIG", "CONFIG"},
		{"trailing dot", FormatEML, "notes.", "notes"},
		{"trailing space", FormatEML, "notes  ", "notes"},
		{"leading dot", FormatEML, ".hidden", "_hidden"},
		{"leading space kept", FormatEML, " x", " x"},
		{"eml suffix", FormatEML, "x.eml", "x.eml_"},
		{"long eml", FormatEML, long, long[:100]},
		{"long multibyte cut at a character", FormatEML, strings.Repeat("ü", 80), strings.Repeat("ü", 50)},
		{"mbox semicolon and hash", FormatMbox, "a;b#c", "a_b_c"},
		{"mbox trailing tilde", FormatMbox, "backup~", "backup"},
		{"mbox msf", FormatMbox, "x.msf", "x.msf_"},
		{"mbox sbd", FormatMbox, "x.SBD", "x.SBD_"},
		{"mbox nstmp", FormatMbox, "nstmp", "_nstmp"},
		{"mbox long", FormatMbox, long, long[:55]},
		{"mbox long UTF-16", FormatMbox, strings.Repeat("😀", 30), strings.Repeat("😀", 27)},
		{"mbox dot inside kept", FormatMbox, "v1.2", "v1.2"},
		{"maildir dot", FormatMaildir, "v1.2", "v1_2"},
		{"maildir traversal", FormatMaildir, "../../etc", "______etc"},
		{"maildir tilde", FormatMaildir, "~user", "_~user"},
		{"maildir long", FormatMaildir, long, long[:60]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SafeName(tc.format, tc.in)
			if got != tc.want {
				t.Errorf("SafeName(%s, %q) = %q, want %q", tc.format, tc.in, got, tc.want)
			}
			if again := SafeName(tc.format, got); again != got {
				t.Errorf("SafeName(%s, %q) = %q, not idempotent", tc.format, got, again)
			}
			if !utf8.ValidString(got) {
				t.Errorf("SafeName(%s, %q) = %q: invalid UTF-8", tc.format, tc.in, got)
			}
		})
	}
}

// FuzzSafeName checks the promises for any input: a single harmless
// element, idempotent, within the limits.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"..", "a/b", "CON.txt", "C:", "\x00", ". .", "x.msf", "😀😀", "~x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, format := range Formats {
			got := SafeName(format, in)
			r := rulesFor(format)
			switch {
			case got == "" || got == "." || got == ".." || strings.HasPrefix(got, "."):
				t.Errorf("SafeName(%s, %q) = %q", format, in, got)
			case strings.ContainsAny(got, "/\\\x00:*?\"<>|"+r.illegal):
				t.Errorf("SafeName(%s, %q) = %q holds a forbidden character", format, in, got)
			case strings.HasSuffix(got, ".") || strings.HasSuffix(got, " "):
				t.Errorf("SafeName(%s, %q) = %q ends in a dot or space", format, in, got)
			case isDeviceName(got):
				t.Errorf("SafeName(%s, %q) = %q is a device name", format, in, got)
			case len(got) > r.maxBytes || (r.maxUTF16 > 0 && utf16Len(got) > r.maxUTF16):
				t.Errorf("SafeName(%s, %q) = %q is too long", format, in, got)
			case !utf8.ValidString(got):
				t.Errorf("SafeName(%s, %q) = %q is not UTF-8", format, in, got)
			case SafeName(format, got) != got:
				t.Errorf("SafeName(%s, %q) = %q is not idempotent", format, in, got)
			}
		}
	})
}

func TestNamerUnique(t *testing.T) {
	n := newNamer(rulesFor(FormatMbox))
	n.reserve("inbox")
	long := strings.Repeat("x", 55)
	for _, tc := range []struct{ in, want string }{
		{"Foo", "Foo"},
		{"foo", "foo-2"},
		{"FOO", "FOO-3"},
		{"Inbox", "Inbox-2"},
		{long, long},
		{long, long[:53] + "-2"},
	} {
		if got := n.unique(tc.in, ""); got != tc.want {
			t.Errorf("unique(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	e := newNamer(nameRules{maxBytes: 200})
	for _, tc := range []struct{ in, want string }{
		{"2019-03-04 1012 Re- Meeting", "2019-03-04 1012 Re- Meeting.eml"},
		{"2019-03-04 1012 Re- Meeting", "2019-03-04 1012 Re- Meeting-2.eml"},
		{"2019-03-04 1012 RE- MEETING", "2019-03-04 1012 RE- MEETING-3.eml"},
	} {
		if got := e.unique(tc.in, ".eml"); got != tc.want {
			t.Errorf("unique(%q, .eml) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSubjectName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Re: Meeting notes", "Re- Meeting notes"},
		{"  spaces\t\r\n  folded  ", "spaces folded"},
		{"a/b\\c", "a-b-c"},
		{"What?", "What"},
		{"...", ""},
		{"x\x00y", "x y"},
		{strings.Repeat("é", 70), strings.Repeat("é", 60)},
		{"\xff", "_"},
	} {
		if got := SubjectName(tc.in); got != tc.want {
			t.Errorf("SubjectName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFromQuoter(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"From", "From here\r\n", ">From here\r\n"},
		{"quoted From", ">From x\r\n", ">>From x\r\n"},
		{"twice", ">>From x\r\n", ">>>From x\r\n"},
		{"From without space", "From\r\nFromage\r\n", "From\r\nFromage\r\n"},
		{"From colon", "From: a\r\n", "From: a\r\n"},
		{"not at line start", "x From y\r\n", "x From y\r\n"},
		{"leading space", " From y\r\n", " From y\r\n"},
		{"gt then text", ">>x\r\n", ">>x\r\n"},
		{"at the very end, incomplete", "a\r\n>Fro", "a\r\n>Fro\r\n"},
		{"at the very end, complete", "a\r\nFrom ", "a\r\n>From \r\n"},
		{"LF only", "From a\nFrom b\n", ">From a\n>From b\n"},
		{"empty", "", ""},
		{"no final newline", "abc", "abc\r\n"},
		{"second line", "x\r\nFrom y\r\n", "x\r\n>From y\r\n"},
		{"long run of gt", strings.Repeat(">", 10000) + "From x\r\n", ">" + strings.Repeat(">", 10000) + "From x\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
				var b bytes.Buffer
				q := newFromQuoter(&b)
				in := []byte(tc.in)
				for len(in) > 0 {
					n := min(chunk, len(in))
					if _, err := q.Write(in[:n]); err != nil {
						t.Fatal(err)
					}
					in = in[n:]
				}
				if err := q.finish(); err != nil {
					t.Fatal(err)
				}
				if b.String() != tc.want {
					t.Errorf("quote(%q) in chunks of %d = %q, want %q", tc.in, chunk, b.String(), tc.want)
				}
				if q.n != int64(b.Len()) {
					t.Errorf("counted %d bytes, wrote %d", q.n, b.Len())
				}
			}
		})
	}
}

func TestMozHeaders(t *testing.T) {
	blank := strings.Repeat(" ", 80)
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
		lost  []string
	}{
		{"none", nil, "0000 00000000 " + blank, nil},
		{"seen", []string{`\Seen`}, "0001 00000000 " + blank, nil},
		{"all bits", []string{`\Seen`, `\Answered`, `\Flagged`, "$Forwarded", "$MDNSent"}, "1007 00800000 " + blank, nil},
		{"case-insensitive", []string{`\SEEN`, "$forwarded"}, "1001 00000000 " + blank, nil},
		{"keywords", []string{"$label1", "Work"}, "0000 00000000 $label1 Work" + blank[len("$label1 Work"):], nil},
		{"draft lost", []string{`\Draft`, `\Seen`}, "0001 00000000 " + blank, []string{`\Draft`}},
		{"long keywords unpadded", []string{strings.Repeat("k", 90)}, "0000 00000000 " + strings.Repeat("k", 90), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, lost := mozHeaders(tc.flags)
			parts := strings.Split(strings.TrimSuffix(lines, "\r\n"), "\r\n")
			if len(parts) != 3 {
				t.Fatalf("mozHeaders(%q) = %q: want 3 lines", tc.flags, lines)
			}
			got := strings.TrimPrefix(parts[0], "X-Mozilla-Status: ") + " " +
				strings.TrimPrefix(parts[1], "X-Mozilla-Status2: ") + " " +
				strings.TrimPrefix(parts[2], "X-Mozilla-Keys: ")
			if got != tc.want {
				t.Errorf("mozHeaders(%q) = %q, want %q", tc.flags, got, tc.want)
			}
			if strings.Join(lost, ",") != strings.Join(tc.lost, ",") {
				t.Errorf("mozHeaders(%q) lost %q, want %q", tc.flags, lost, tc.lost)
			}
		})
	}
}

func TestMaildirLetters(t *testing.T) {
	w := newMaildirWriter(t.TempDir())
	if err := os.Mkdir(filepath.Join(w.out, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"none", nil, ""},
		{"sorted; $Forwarded also as a keyword for Dovecot", []string{`\Seen`, `\Draft`, `\Answered`, `\Flagged`, "$Forwarded"}, "DFPRSc"},
		{"keywords after flags", []string{"work", `\Seen`, "$label1"}, "Sab"},
		{"same keyword, other case", []string{"WORK"}, "a"},
		{"duplicates", []string{`\Seen`, `\seen`}, "S"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &maildirFolder{dir: w.out, keywords: []string{"work", "$label1"}}
			fr := &FolderReport{}
			got, err := w.letters(st, tc.flags, fr)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("letters(%q) = %q, want %q", tc.flags, got, tc.want)
			}
		})
	}
}
