package upload

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

func mb(account string, special formats.Special, path ...string) *formats.Mailbox {
	return &formats.Mailbox{Account: account, Path: formats.Folder(path), Special: special}
}

func TestPlanFolders(t *testing.T) {
	slash := ServerInfo{Delimiter: '/'}
	dot := ServerInfo{Delimiter: '.'}
	tests := []struct {
		name    string
		boxes   []*formats.Mailbox
		info    ServerInfo
		opts    PlanOptions
		want    map[string]string // DisplayPath -> server name; "" means excluded
		renames []string          // DisplayPaths that must be reported renamed
	}{
		{
			name:  "nested with slash",
			boxes: []*formats.Mailbox{mb("", "", "Archive"), mb("", "", "Archive", "2019")},
			info:  slash,
			want:  map[string]string{"Archive": "Archive", "Archive/2019": "Archive/2019"},
		},
		{
			name:  "nested with dot",
			boxes: []*formats.Mailbox{mb("", "", "Archive", "2019")},
			info:  dot,
			want:  map[string]string{"Archive/2019": "Archive.2019"},
		},
		{
			name:    "delimiter inside a name never makes a level",
			boxes:   []*formats.Mailbox{mb("", "", "A/B"), mb("", "", "Person K.", "x.y")},
			info:    dot,
			want:    map[string]string{"A/B": "A/B", "Person K./x.y": "Person K_.x_y"},
			renames: []string{"Person K./x.y"},
		},
		{
			name:    "slash inside a name on a slash server",
			boxes:   []*formats.Mailbox{mb("", "", "A/B")},
			info:    slash,
			want:    map[string]string{"A/B": "A_B"},
			renames: []string{"A/B"},
		},
		{
			name: "special-use folders announced",
			boxes: []*formats.Mailbox{
				mb("", formats.SpecialSent, "Sent"), mb("", formats.SpecialArchive, "Archives"),
				mb("", "", "Archives", "2019"), mb("", formats.SpecialTrash, "Deleted"),
			},
			info: ServerInfo{Delimiter: '/', SpecialUse: map[formats.Special]string{
				formats.SpecialSent: "Sent Items", formats.SpecialArchive: "Archive", formats.SpecialTrash: "[Gmail]/Trash"}},
			want: map[string]string{"Sent": "Sent Items", "Archives": "Archive", "Archives/2019": "Archive/2019", "Deleted": "[Gmail]/Trash"},
		},
		{
			name: "special folders without special-use",
			boxes: []*formats.Mailbox{
				mb("", formats.SpecialSent, "Gesendet"), mb("", formats.SpecialDrafts, "Entwürfe"),
				mb("", formats.SpecialJunk, "Spam"), mb("", formats.SpecialTemplates, "Vorlagen"),
				mb("", formats.SpecialOutbox, "Unsent Messages"),
			},
			info: dot,
			want: map[string]string{"Gesendet": "Sent", "Entwürfe": "Drafts", "Spam": "Junk", "Vorlagen": "Templates", "Unsent Messages": "Unsent Messages"},
		},
		{
			name: "accounts merge, inboxes into INBOX",
			boxes: []*formats.Mailbox{
				mb("Local Folders", formats.SpecialInbox, "Inbox"), mb("pop.example.com", "", "INBOX"),
				mb("pop.example.com", "", "Inbox", "Lists"), mb("Local Folders", "", "Lists"), mb("pop.example.com", "", "Lists"),
			},
			info: slash,
			want: map[string]string{
				"Local Folders/Inbox": "INBOX", "pop.example.com/INBOX": "INBOX", "pop.example.com/Inbox/Lists": "INBOX/Lists",
				"Local Folders/Lists": "Lists", "pop.example.com/Lists": "Lists",
			},
		},
		{
			name:    "prefix keeps source names",
			boxes:   []*formats.Mailbox{mb("", formats.SpecialInbox, "Inbox"), mb("", formats.SpecialSent, "Sent"), mb("", "", "a.b")},
			info:    dot,
			opts:    PlanOptions{Prefix: "Import/2024"},
			want:    map[string]string{"Inbox": "Import.2024.Inbox", "Sent": "Import.2024.Sent", "a.b": "Import.2024.a_b"},
			renames: []string{"a.b"},
		},
		{
			name: "include and exclude",
			boxes: []*formats.Mailbox{
				mb("acct1", "", "Keep"), mb("acct1", "", "Keep", "Sub"), mb("acct1", formats.SpecialTrash, "Trash"), mb("acct2", "", "Other"),
			},
			info: slash,
			opts: PlanOptions{Include: []string{"acct1"}, Exclude: []string{"acct1/Tr*"}},
			want: map[string]string{"acct1/Keep": "Keep", "acct1/Keep/Sub": "Keep/Sub", "acct1/Trash": "", "acct2/Other": ""},
		},
		{
			name:    "refused dot (Dovecot Maildir++)",
			boxes:   []*formats.Mailbox{mb("", "", "Importiert (.eml)"), mb("", "", "Plain")},
			info:    ServerInfo{Delimiter: '/', Refused: "."},
			want:    map[string]string{"Importiert (.eml)": "Importiert (_eml)", "Plain": "Plain"},
			renames: []string{"Importiert (.eml)"},
		},
		{
			name:  "non-ASCII, decomposed names become NFC",
			boxes: []*formats.Mailbox{mb("", "", norm.NFD.String("Entwürfe-Ordner")), mb("", "", "日本語", "Ünïcödé")},
			info:  slash,
			want:  map[string]string{norm.NFD.String("Entwürfe-Ordner"): "Entwürfe-Ordner", "日本語/Ünïcödé": "日本語/Ünïcödé"},
		},
		{
			name:    "control characters",
			boxes:   []*formats.Mailbox{mb("", "", "bad\x01name")},
			info:    slash,
			want:    map[string]string{"bad\x01name": "bad_name"},
			renames: []string{"bad\x01name"},
		},
		{
			name:    "underscore delimiter uses another replacement",
			boxes:   []*formats.Mailbox{mb("", "", "a_b")},
			info:    ServerInfo{Delimiter: '_'},
			want:    map[string]string{"a_b": "a-b"},
			renames: []string{"a_b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanFolders(tt.boxes, tt.info, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tt.boxes {
				want, ok := tt.want[b.DisplayPath()]
				if !ok {
					t.Fatalf("test case lacks %q", b.DisplayPath())
				}
				f := p.Folder(b)
				got := ""
				if f != nil {
					got = f.Server
					if d := tt.info.Delimiter; d != 0 && strings.Join(f.Path, string(d)) != f.Server {
						t.Errorf("%q: Path %q does not join to %q", b.DisplayPath(), f.Path, f.Server)
					}
				}
				if got != want {
					t.Errorf("PlanFolders: %q -> %q, want %q", b.DisplayPath(), got, want)
				}
			}
			var renamed []string
			for _, r := range p.Renames {
				renamed = append(renamed, r.Source)
				if r.Reason == "" {
					t.Errorf("rename of %q has no reason", r.Source)
				}
			}
			if !reflect.DeepEqual(renamed, tt.renames) && !(len(renamed) == 0 && len(tt.renames) == 0) {
				t.Errorf("renames = %q, want %q", renamed, tt.renames)
			}
		})
	}
}

// TestPlanPhantomLevel checks that the number of levels on the server is
// the number of levels in the source whatever the names contain.
func TestPlanPhantomLevel(t *testing.T) {
	names := []string{"a/b", "a.b", "a//b", ".", "..", "/", "x.y.z"}
	for _, delim := range []rune{'/', '.'} {
		for _, n := range names {
			p, err := PlanFolders([]*formats.Mailbox{mb("", "", "top", n)}, ServerInfo{Delimiter: delim}, PlanOptions{})
			if err != nil {
				t.Fatal(err)
			}
			f := p.Folders[0]
			if got := strings.Count(f.Server, string(delim)); got != 1 {
				t.Errorf("delim %q: %q -> %q has %d delimiters, want 1", delim, n, f.Server, got)
			}
		}
	}
}

// TestPlanDeterministic checks that the plan does not depend on the order
// of the mailboxes.
func TestPlanDeterministic(t *testing.T) {
	boxes := []*formats.Mailbox{
		mb("a", formats.SpecialInbox, "Inbox"), mb("b", formats.SpecialInbox, "Inbox"), mb("a", "", "X.Y"),
		mb("b", "", "X.Y"), mb("a", formats.SpecialSent, "Sent"), mb("a", "", "Z", "1"), mb("b", "", "Q/R"),
	}
	info := ServerInfo{Delimiter: '/', Refused: "."}
	first, err := PlanFolders(boxes, info, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := func(p *Plan) []string {
		var l []string
		for _, f := range p.Folders {
			l = append(l, f.Server)
		}
		return l
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		shuffled := append([]*formats.Mailbox(nil), boxes...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		p, err := PlanFolders(shuffled, info, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(names(p), names(first)) {
			t.Fatalf("plan of shuffled mailboxes = %q, want %q", names(p), names(first))
		}
		for _, b := range boxes {
			if p.Folder(b).Server != first.Folder(b).Server {
				t.Fatalf("%q maps to %q, then %q", b.DisplayPath(), first.Folder(b).Server, p.Folder(b).Server)
			}
		}
	}
}

func TestPlanBadGlob(t *testing.T) {
	_, err := PlanFolders(nil, ServerInfo{Delimiter: '/'}, PlanOptions{Include: []string{"[a"}})
	if err == nil || !strings.Contains(err.Error(), "[a") {
		t.Fatalf("PlanFolders with a bad glob: err = %v", err)
	}
}

func TestRefusedCharacter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want rune
		ok   bool
	}{
		{"dovecot dot", imapErr("NO", "CANNOT", "Character not allowed in mailbox name: '.'"), '.', true},
		{"no code", imapErr("NO", "", "Character not allowed in mailbox name: '/'"), '/', true},
		{"other cannot", imapErr("NO", "CANNOT", "Invalid mailbox name"), 0, false},
		{"other code", imapErr("NO", "NOPERM", "not allowed: 'x'"), 0, false},
		{"not a server error", errString("Character not allowed in mailbox name: '.'"), 0, false},
	}
	for _, tt := range tests {
		r, ok := refusedCharacter(tt.err)
		if r != tt.want || ok != tt.ok {
			t.Errorf("%s: refusedCharacter = %q, %v; want %q, %v", tt.name, r, ok, tt.want, tt.ok)
		}
	}
}
