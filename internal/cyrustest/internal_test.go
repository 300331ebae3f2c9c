package cyrustest

import (
	"testing"
)

// examineOutput is mbexamine's report on one mailbox as Cyrus 3.6.1 prints
// it (after the "Examining" line), with two messages.
const examineOutput = ` Mailbox Header Info:
  Path to mailbox: /tmp/c/spool/uuid/5/9/59a8wwjo3dq3tza50wkq1cbl
  Mailbox ACL: tester	lrswipkxtecdan	
  Unique ID: 59a8wwjo3dq3tza50wkq1cbl
  User Flags: $Forwarded kw1 

 Index Header Info:
  Number of Messages: 2  Mailbox Size: 80 bytes  Annotations Size: 0 bytes

 Message Info:
000001> UID:00000001   INT_DATE:1394019296 SENTDATE:1393977600 SAVEDATE:1796194330 SIZE:40    
      > HDRSIZE:31     LASTUPD :1796194330 SYSFLAGS:00000010      > CACHEVER:11 GUID:ecd56821975487f9e3861395ac5d2ccfb34867cb MODSEQ:2  THRID: 0
      > INTERNALFLAGS:      > SYSTEMFLAGS: FLAG_SEEN FLAG_ANSWERED
      > USERFLAGS: 00000000 00000000 00000000 00000003
 Envel>{95}(NIL "cafXX X" ((NIL NIL "a" "b")) NIL NIL NIL NIL NIL)
 Subjct>{9}"cafXX X"
000001> UID:00000007   INT_DATE:1394019297 SENTDATE:1393977600 SAVEDATE:1796194330 SIZE:41    
      > HDRSIZE:31     LASTUPD :1796194330 SYSFLAGS:00000000      > CACHEVER:11 GUID:0123 MODSEQ:3  THRID: 0
      > INTERNALFLAGS:      > SYSTEMFLAGS:
      > USERFLAGS: 00000001 00000000 00000000 00000002
`

func TestParseExamine(t *testing.T) {
	ex, err := parseExamine([]byte(examineOutput))
	if err != nil {
		t.Fatal(err)
	}
	if ex.path != "/tmp/c/spool/uuid/5/9/59a8wwjo3dq3tza50wkq1cbl" {
		t.Errorf("path = %q", ex.path)
	}
	if len(ex.keywords) != 2 || ex.keywords[0] != "$Forwarded" || ex.keywords[1] != "kw1" {
		t.Errorf("keywords = %q", ex.keywords)
	}
	if len(ex.msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(ex.msgs))
	}
	m := ex.msgs[0]
	if m.uid != 1 || m.date != 1394019296 || m.size != 40 || m.guid != "ecd56821975487f9e3861395ac5d2ccfb34867cb" {
		t.Errorf("message 1 = %+v", m)
	}
	if len(m.system) != 2 || m.system[0] != "FLAG_SEEN" || m.system[1] != "FLAG_ANSWERED" {
		t.Errorf("message 1 system flags = %q", m.system)
	}
	if m.userFlags != [4]uint32{3, 0, 0, 0} {
		t.Errorf("message 1 user flags = %v, want bits 0 and 1 in the lowest word", m.userFlags)
	}
	m = ex.msgs[1]
	if m.uid != 7 || m.size != 41 || len(m.system) != 0 || m.userFlags != [4]uint32{2, 0, 0, 1} {
		t.Errorf("message 2 = %+v", m)
	}

	for _, bad := range []string{"no message info", " Path to mailbox: /x\n Message Info:\n000001> UID:1 INT_DATE:x SIZE:1\n"} {
		if _, err := parseExamine([]byte(bad)); err == nil {
			t.Errorf("parseExamine(%q): want an error", bad)
		}
	}
}

// TestStoredFlags checks that a user flag bit without a name (a keyword
// list shorter than the bits) is an error, not a silent loss.
func TestStoredFlags(t *testing.T) {
	ex := &examined{name: "INBOX", path: t.TempDir(), keywords: []string{"a"}, msgs: []examinedMessage{{uid: 1, userFlags: [4]uint32{2}}}}
	if _, err := ex.stored(); err == nil {
		t.Errorf("stored() with user flag 1 of 1 named: want an error")
	}
}

func TestDecodeMUTF7(t *testing.T) {
	tests := []struct{ in, want string }{
		{"INBOX", "INBOX"},
		{"Entw&APw-rfe", "Entwürfe"},
		{"&-", "&"},
		{"a&-b", "a&b"},
		{"&ZeVnLIqe-", "日本語"},
		{"&2D3eAA-", "\U0001f600"}, // a surrogate pair
		{"x&AC8-y", "x/y"},         // "/" encoded
		{"&U,BTFw-", "台北"},         // "," for "/" in the base64 alphabet (RFC 3501's example)
	}
	for _, tt := range tests {
		if got, err := decodeMUTF7(tt.in); err != nil || got != tt.want {
			t.Errorf("decodeMUTF7(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"&AOQ", "&!!-", "caf\xc3\xa9", "&AOQA-"} {
		if got, err := decodeMUTF7(bad); err == nil {
			t.Errorf("decodeMUTF7(%q) = %q, want an error", bad, got)
		}
	}
}
