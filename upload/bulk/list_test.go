package bulk

import (
	"reflect"
	"testing"
)

func TestParseListResponse(t *testing.T) {
	tests := []struct {
		text string
		want Folder
		ok   bool
	}{
		{`(\HasNoChildren \Sent) "." "INBOX.Sent"`, Folder{Raw: "INBOX.Sent", Attrs: []string{`\HasNoChildren`, `\Sent`}, Delim: '.'}, true},
		{`() "/" INBOX`, Folder{Raw: "INBOX", Delim: '/'}, true},
		{`(\Noselect) NIL flat`, Folder{Raw: "flat", Attrs: []string{`\Noselect`}}, true},
		{`() "/" "a \"quoted\" \\ name"`, Folder{Raw: `a "quoted" \ name`, Delim: '/'}, true},
		{"() \"/\" {8}\r\nlit\"e{r}", Folder{Raw: "lit\"e{r}", Delim: '/'}, true},
		{`() "\\" Win`, Folder{Raw: "Win", Delim: '\\'}, true},
		{`(\sent) "." "Sent" ("CHILDINFO" ("SUBSCRIBED"))`, Folder{Raw: "Sent", Attrs: []string{`\sent`}, Delim: '.'}, true},
		{`"." "no attrs"`, Folder{}, false},
		{`() "ab" x`, Folder{}, false},
		{"() \"/\" {99}\r\nshort", Folder{}, false},
		{`() "/" "unterminated`, Folder{}, false},
	}
	for _, tt := range tests {
		got, err := parseListResponse(tt.text)
		if (err == nil) != tt.ok {
			t.Errorf("parseListResponse(%q) error %v, want ok %v", tt.text, err, tt.ok)
			continue
		}
		if tt.ok && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseListResponse(%q) = %+v, want %+v", tt.text, got, tt.want)
		}
	}
}

func FuzzParseListResponse(f *testing.F) {
	for _, s := range []string{`(\HasNoChildren) "." "INBOX.Sent"`, "() \"/\" {3}\r\nabc", `() NIL x`, `(\a \b) "\\" "q\"q"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseListResponse(s)
		if err == nil && len(got.Raw) > len(s) {
			t.Fatalf("a name longer than the response: %q from %q", got.Raw, s)
		}
	})
}
