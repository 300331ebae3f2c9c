package emlx

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQPEncoder(t *testing.T) {
	long := strings.Repeat("word ", 20) // 100 characters
	tests := []struct {
		name string
		in   string
		text bool
		want string
	}{
		{"short", "Short text.\n", true, "Short text.\r\n"},
		{"no final newline", "abc", true, "abc"},
		{"equals and 8-bit", "a=b ü\n", true, "a=3Db =C3=BC\r\n"},
		{"trailing space before break", "end \nnext\t\n", true, "end=20\r\nnext=09\r\n"},
		{"trailing space at the end", "end ", true, "end=20"},
		{"CRLF input", "a\r\nb\r\n", true, "a\r\nb\r\n"},
		{"bare CR escaped", "a\rb", true, "a=0Db"},
		{"wrap after a space, 73 before '='", long, true,
			strings.Repeat("word ", 14) + "=\r\n" + strings.Repeat("word ", 6)[:29] + "=20"},
		{"no space: cut at 73", strings.Repeat("x", 80), true, strings.Repeat("x", 73) + "=\r\n" + strings.Repeat("x", 7)},
		{"escapes and UTF-8 stay whole", strings.Repeat("x", 71) + "üü", true, strings.Repeat("x", 71) + "=\r\n=C3=BC=C3=BC"},
		{"binary keeps CR LF", "a\r\nb\n", false, "a=0D=0Ab=0A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 3, 1 << 20} { // the result must not depend on write sizes
				var out bytes.Buffer
				e := newQPEncoder(&out, tt.text)
				in := []byte(tt.in)
				for len(in) > 0 {
					k := min(chunk, len(in))
					if _, err := e.Write(in[:k]); err != nil {
						t.Fatal(err)
					}
					in = in[k:]
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if out.String() != tt.want {
					t.Errorf("chunk %d: qp(%q) =\n%q\nwant\n%q", chunk, tt.in, out.String(), tt.want)
				}
				for _, line := range strings.Split(out.String(), "\r\n") {
					if len(line) > 76 {
						t.Errorf("line longer than 76: %q", line)
					}
				}
				dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(out.String())))
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				wantDec := tt.in
				if tt.text {
					wantDec = strings.ReplaceAll(strings.ReplaceAll(tt.in, "\r\n", "\n"), "\n", "\r\n")
				}
				if string(dec) != wantDec {
					t.Errorf("decoded = %q, want %q", dec, wantDec)
				}
			}
		})
	}
}

func TestBase64Lines(t *testing.T) {
	for _, n := range []int{0, 1, 56, 57, 58, 114, 1000} {
		var out bytes.Buffer
		e := newBase64Encoder(&out)
		if _, err := e.Write(bytes.Repeat([]byte{0xff}, n)); err != nil {
			t.Fatal(err)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
		s := out.String()
		if strings.HasSuffix(s, "\n") {
			t.Errorf("%d bytes: output ends with a line break", n)
		}
		lines := strings.Split(s, "\r\n")
		for i, l := range lines {
			if len(l) > 76 || (i < len(lines)-1 && len(l) != 76) {
				t.Errorf("%d bytes: line %d has %d characters", n, i, len(l))
			}
		}
	}
}

func TestRebuild(t *testing.T) {
	dir := t.TempDir()
	att := dir + "/Attachments/7"
	mustWrite(t, att+"/2/a.bin", "\x00\x01binary")
	mustWrite(t, att+"/3.1/.DS_Store", "junk")
	mustWrite(t, att+"/3.1/Mail-Anhang.txt", "nested text\n")
	mustWrite(t, att+"/4.2/n.txt", "in a forwarded message")
	msg := "Content-Type: multipart/mixed; boundary=\"o\"\n\npreamble\n" +
		"--o\nContent-Type: text/plain\n\nhi\n" +
		"--o\nContent-Transfer-Encoding: base64\nContent-Type: application/octet-stream; name=a.bin\nX-Apple-Content-Length: 12\n\n\n" +
		"--o\nContent-Type: multipart/alternative; boundary=i\n\n" +
		"--i\nContent-Type: text/plain\nX-Apple-Content-Length: 3\n\n\n" +
		"--i\nContent-Type: text/html\n\n<p>\n--i--\n" +
		"--o\nContent-Type: message/rfc822\n\nSubject: fwd\nContent-Type: multipart/mixed; boundary=f\n\n" +
		"--f\nContent-Type: text/plain\n\nx\n--f\nContent-Type: text/plain; name=n.txt\nContent-Transfer-Encoding: 8bit\nX-Apple-Content-Length: 22\n\n\n--f--\n" +
		"--o\nContent-Type: image/png; name=gone.png\nContent-Transfer-Encoding: base64\nX-Apple-Content-Length: 9\n\n\n" +
		"--o--\nepilogue\n"
	want := "Content-Type: multipart/mixed; boundary=\"o\"\n\npreamble\n" +
		"--o\nContent-Type: text/plain\n\nhi\n" +
		"--o\nContent-Transfer-Encoding: base64\nContent-Type: application/octet-stream; name=a.bin\n\nAAFiaW5hcnk=\n" +
		"--o\nContent-Type: multipart/alternative; boundary=i\n\n" +
		"--i\nContent-Type: text/plain\n\nnested text\n\n" +
		"--i\nContent-Type: text/html\n\n<p>\n--i--\n" +
		"--o\nContent-Type: message/rfc822\n\nSubject: fwd\nContent-Type: multipart/mixed; boundary=f\n\n" +
		"--f\nContent-Type: text/plain\n\nx\n--f\nContent-Type: text/plain; name=n.txt\nContent-Transfer-Encoding: 8bit\n\nin a forwarded message\n--f--\n" +
		"--o\nContent-Type: image/png; name=gone.png\nContent-Transfer-Encoding: base64\nX-Apple-Content-Length: 9\n\n\n" +
		"--o--\nepilogue\n"
	var out bytes.Buffer
	missing, err := rebuild(strings.NewReader(msg), &out, att, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("rebuilt:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := incompleteReason(missing); got != "missing attachment part 5 (gone.png)" {
		t.Errorf("missing = %q", got)
	}
}

func mustWrite(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
