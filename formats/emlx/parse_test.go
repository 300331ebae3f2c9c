package emlx

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"mailferry/formats"
)

const testPlist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>date-received</key>
	<integer>1517000478</integer>
	<key>date-sent</key>
	<real>1517000476.5</real>
	<key>flags</key>
	<integer>8623689857</integer>
	<key>original-mailbox</key>
	<string>imap://user@example.com/INBOX</string>
	<key>remote-id</key>
	<string>50758</string>
	<key>to</key>
	<array><string>a</string></array>
</dict>
</plist>
`

const testMsg = "Subject: hi\nFrom: a@example.com\n\nbody\n"

// emlxBytes builds an emlx file from a count line, a message and a plist.
func emlxBytes(countLine, msg, plist string) []byte {
	return []byte(countLine + "\n" + msg + plist)
}

func TestParse(t *testing.T) {
	n := len(testMsg)
	tests := []struct {
		name      string
		file      []byte
		wantMsg   string // the message bytes Parse delimits (plus a restored '-')
		wantWarn  []string
		wantErr   bool
		wantFlags uint64
		noFlags   bool
	}{
		{"exact count", emlxBytes(num(n), testMsg, testPlist), testMsg, nil, false, 8623689857, false},
		{"padded count", emlxBytes(num(n)+"      ", testMsg, testPlist), testMsg, nil, false, 8623689857, false},
		{"count with CR", emlxBytes(num(n)+"\r", testMsg, testPlist), testMsg, nil, false, 8623689857, false},
		{"white space before plist", emlxBytes(num(n), testMsg, "\n\n"+testPlist), testMsg, nil, false, 8623689857, false},
		{"count too big", emlxBytes(num(n+400), testMsg, testPlist), testMsg, []string{"byte count"}, false, 8623689857, false},
		{"count too big, far beyond the file", emlxBytes(num(n+100000), testMsg, testPlist), testMsg, []string{"byte count"}, false, 8623689857, false},
		{"count too small", emlxBytes(num(n-6), testMsg, testPlist), testMsg, []string{"byte count"}, false, 8623689857, false},
		{"missing plist, count exact", emlxBytes(num(n), testMsg, ""), testMsg, []string{"no plist"}, false, 0, true},
		{"missing plist, count too big", emlxBytes(num(n+50), testMsg, ""), testMsg, []string{"truncated"}, false, 0, true},
		{"missing plist, garbage after", emlxBytes(num(n), testMsg, "garbage"), testMsg, []string{"no plist"}, false, 0, true},
		{"truncated plist", emlxBytes(num(n), testMsg, testPlist[:strings.Index(testPlist, "<key>original")]), testMsg, []string{"plist truncated"}, false, 8623689857, false},
		{"truncated plist, count too big", emlxBytes(num(n+999), testMsg, testPlist[:strings.Index(testPlist, "<key>flags")]), testMsg, []string{"byte count", "plist truncated"}, false, 0, true},
		{"plist cut inside the prolog", emlxBytes(num(n), testMsg, "<?xml version"), testMsg, []string{"plist truncated"}, false, 0, true},
		{"invalid first line", []byte("this is an invalid .emlx structure\n\nthis is an invalid .emlx structure\n"), "", nil, true, 0, true},
		{"empty file", nil, "", nil, true, 0, true},
		{"negative count", emlxBytes("-5", testMsg, testPlist), "", nil, true, 0, true},
		{"lost '-' before the plist", emlxBytes(num(len("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b-")),
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b-", testPlist),
			"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--", []string{"lost its last '-'"}, false, 8623689857, false},
		{"message mentions <?xml, count right", emlxBytes(num(len("S: x\n\n<?xml version=\"1.0\"?><plist></plist>\n")),
			"S: x\n\n<?xml version=\"1.0\"?><plist></plist>\n", testPlist),
			"S: x\n\n<?xml version=\"1.0\"?><plist></plist>\n", nil, false, 8623689857, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var warns []formats.Warning
			f, err := Parse(bytes.NewReader(tt.file), int64(len(tt.file)), "x/1.emlx", func(w formats.Warning) { warns = append(warns, w) })
			if tt.wantErr {
				var me *formats.MessageError
				if !errors.As(err, &me) || me.Pos.File != "x/1.emlx" || !errors.Is(err, ErrNotEmlx) {
					t.Fatalf("Parse error = %v, want a MessageError for x/1.emlx wrapping ErrNotEmlx", err)
				}
				if !strings.Contains(err.Error(), "x/1.emlx") {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := string(tt.file[f.MsgStart:f.MsgEnd])
			if f.AddDash {
				got += "-"
			}
			if got != tt.wantMsg {
				t.Errorf("message = %q, want %q", got, tt.wantMsg)
			}
			if len(warns) != len(tt.wantWarn) {
				t.Errorf("warnings = %v, want %d matching %q", warns, len(tt.wantWarn), tt.wantWarn)
			}
			for i, w := range warns {
				if i < len(tt.wantWarn) && !strings.Contains(w.Message, tt.wantWarn[i]) {
					t.Errorf("warning %d = %q, want it to mention %q", i, w.Message, tt.wantWarn[i])
				}
				if w.Pos.File != "x/1.emlx" {
					t.Errorf("warning %q has no file position", w)
				}
			}
			flags, ok := f.Plist.Flags()
			if ok == tt.noFlags || flags != tt.wantFlags {
				t.Errorf("flags = %d, %v; want %d, %v", flags, ok, tt.wantFlags, !tt.noFlags)
			}
		})
	}
}

func num(i int) string { return strconv.Itoa(i) }

func TestPlistValues(t *testing.T) {
	p, _, rest, err := parsePlist([]byte(testPlist))
	if err != nil || rest {
		t.Fatalf("parsePlist: %v, rest %v", err, rest)
	}
	if d, ok := p.DateReceived(); !ok || d.Unix() != 1517000478 || d.Location().String() != "UTC" {
		t.Errorf("DateReceived = %v, %v", d, ok)
	}
	if d, ok := p.DateSent(); !ok || d.UnixMilli() != 1517000476500 {
		t.Errorf("DateSent = %v, %v", d, ok)
	}
	if p.RemoteID() != "50758" || p.Values["original-mailbox"] != "imap://user@example.com/INBOX" {
		t.Errorf("values = %q", p.Values)
	}
	if _, ok := p.Values["to"]; ok {
		t.Errorf("array value kept: %q", p.Values["to"])
	}
	neg, _, _, _ := parsePlist([]byte("<plist><dict><key>flags</key><integer>-1</integer><key>date-received</key><integer>0</integer></dict></plist>"))
	if f, ok := neg.Flags(); !ok || f != ^uint64(0) {
		t.Errorf("Flags(-1) = %#x, %v", f, ok)
	}
	if _, ok := neg.DateReceived(); ok {
		t.Errorf("date-received 0 accepted")
	}
}
