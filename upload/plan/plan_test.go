package plan

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"mailferry/formats"
)

func mb(account string, special formats.Special, path ...string) *formats.Mailbox {
	return &formats.Mailbox{Account: account, Path: formats.Folder(path), Special: special}
}

func TestMake(t *testing.T) {
	slash := Info{Delimiter: '/'}
	dot := Info{Delimiter: '.'}
	tests := []struct {
		name    string
		boxes   []*formats.Mailbox
		info    Info
		opts    Options
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
			info: Info{Delimiter: '/', SpecialUse: map[formats.Special]string{
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
			opts:    Options{Prefix: "Import/2024"},
			want:    map[string]string{"Inbox": "Import.2024.Inbox", "Sent": "Import.2024.Sent", "a.b": "Import.2024.a_b"},
			renames: []string{"a.b"},
		},
		{
			name: "include and exclude",
			boxes: []*formats.Mailbox{
				mb("acct1", "", "Keep"), mb("acct1", "", "Keep", "Sub"), mb("acct1", formats.SpecialTrash, "Trash"), mb("acct2", "", "Other"),
			},
			info: slash,
			opts: Options{Include: []string{"acct1"}, Exclude: []string{"acct1/Tr*"}},
			want: map[string]string{"acct1/Keep": "Keep", "acct1/Keep/Sub": "Keep/Sub", "acct1/Trash": "", "acct2/Other": ""},
		},
		{
			name:    "refused dot (Dovecot Maildir++)",
			boxes:   []*formats.Mailbox{mb("", "", "Importiert (.eml)"), mb("", "", "Plain")},
			info:    Info{Delimiter: '/', Refused: "."},
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
			info:    Info{Delimiter: '_'},
			want:    map[string]string{"a_b": "a-b"},
			renames: []string{"a_b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(tt.boxes, tt.info, tt.opts)
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
			p, err := Make([]*formats.Mailbox{mb("", "", "top", n)}, Info{Delimiter: delim}, Options{})
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
	info := Info{Delimiter: '/', Refused: "."}
	first, err := Make(boxes, info, Options{})
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
		p, err := Make(shuffled, info, Options{})
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
	_, err := Make(nil, Info{Delimiter: '/'}, Options{Include: []string{"[a"}})
	if err == nil || !strings.Contains(err.Error(), "[a") {
		t.Fatalf("Make with a bad glob: err = %v", err)
	}
}

// The plan selects folders with formats.Selector, the selector of every
// command (convert and scan too): --include "Archives/2019" picks the same
// folder in all of them.
func TestPlanUsesTheOneSelector(t *testing.T) {
	boxes := []*formats.Mailbox{
		{Account: "Local Folders", Path: formats.Folder{"Inbox"}, Special: formats.SpecialInbox},
		{Account: "Local Folders", Path: formats.Folder{"Archives"}},
		{Account: "Local Folders", Path: formats.Folder{"Archives", "2019"}},
		{Account: "pop.example.com", Path: formats.Folder{"Sent"}, Special: formats.SpecialSent},
	}
	for _, pat := range [][2][]string{
		{{"Archives/2019"}, nil},
		{{"Local Folders/Archives"}, nil},
		{{"Local Folders"}, {"Archives/2019"}},
		{nil, {"pop.example.com"}},
		{{"Sent"}, nil},
	} {
		sel, err := formats.NewSelector(pat[0], pat[1])
		if err != nil {
			t.Fatal(err)
		}
		plan, err := Make(boxes, Info{Delimiter: '/'}, Options{Include: pat[0], Exclude: pat[1]})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range boxes {
			if planned := plan.Folder(b) != nil; planned != sel.Selected(b) {
				t.Errorf("include %q exclude %q: %s planned %v, selector says %v", pat[0], pat[1], b.DisplayPath(), planned, sel.Selected(b))
			}
		}
	}
}

// Servers whose personal namespace is "INBOX." (hosting panels' Dovecot,
// Courier, Cyrus) get every folder below INBOX; the inboxes are INBOX;
// special folders go where the server keeps them.
func TestPlanNamespacePrefix(t *testing.T) {
	panel := Info{Prefix: "INBOX.", Delimiter: '.', SpecialUse: map[formats.Special]string{
		formats.SpecialSent: "INBOX.Sent", formats.SpecialJunk: "INBOX.spam", formats.SpecialTrash: "INBOX.Trash"}}
	boxes := []*formats.Mailbox{
		mb("Local Folders", formats.SpecialInbox, "Inbox"),
		mb("Local Folders", "", "Inbox", "Family"),
		mb("Local Folders", formats.SpecialSent, "Sent Items"),
		mb("Local Folders", "", "Sent Items", "2019"),
		mb("Local Folders", formats.SpecialJunk, "Junk"),
		mb("Local Folders", formats.SpecialDrafts, "Drafts"),
		mb("Local Folders", "", "Archives", "2019"),
		mb("Local Folders", "", "a.b"),
	}
	tests := []struct {
		name string
		opts Options
		want map[string]string
	}{
		{"merged into the tree", Options{}, map[string]string{
			"Local Folders/Inbox":           "INBOX",
			"Local Folders/Inbox/Family":    "INBOX.Family",
			"Local Folders/Sent Items":      "INBOX.Sent",
			"Local Folders/Sent Items/2019": "INBOX.Sent.2019",
			"Local Folders/Junk":            "INBOX.spam",
			"Local Folders/Drafts":          "INBOX.Drafts",
			"Local Folders/Archives/2019":   "INBOX.Archives.2019",
			"Local Folders/a.b":             "INBOX.a_b",
		}},
		{"--prefix inside the namespace", Options{Prefix: "Imported"}, map[string]string{
			"Local Folders/Inbox":         "INBOX.Imported.Inbox",
			"Local Folders/Sent Items":    "INBOX.Imported.Sent Items",
			"Local Folders/Archives/2019": "INBOX.Imported.Archives.2019",
		}},
		{"--prefix INBOX. as the server's hint spells it is the namespace", Options{Prefix: "INBOX."}, map[string]string{
			"Local Folders/Inbox":        "INBOX",
			"Local Folders/Sent Items":   "INBOX.Sent",
			"Local Folders/Inbox/Family": "INBOX.Family",
		}},
		{"--prefix INBOX/Imported", Options{Prefix: "inbox/Imported"}, map[string]string{
			"Local Folders/Inbox": "INBOX.Imported.Inbox",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Make(boxes, panel, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range boxes {
				want, ok := tt.want[b.DisplayPath()]
				if !ok {
					continue
				}
				if f := p.Folder(b); f == nil || f.Server != want {
					t.Errorf("%s -> %v, want %q", b.DisplayPath(), f, want)
				} else if got := strings.Join(f.Path, "."); got != want {
					t.Errorf("%s: path %q, want %q", b.DisplayPath(), f.Path, want)
				}
			}
		})
	}
	// Without special-use folders, the conventional names go inside the
	// namespace too.
	p, err := Make(boxes, Info{Prefix: "INBOX.", Delimiter: '.'}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Folder(boxes[5]); f == nil || f.Server != "INBOX.Drafts" {
		t.Errorf("Drafts without special-use -> %v, want INBOX.Drafts", f)
	}
}

// A name the server refused without a reason gets a fallback name, and
// the folders below it follow it; the same on every run.
func TestPlanRefusedNames(t *testing.T) {
	long := strings.Repeat("x", 150)
	boxes := []*formats.Mailbox{mb("", "", " Spaced "), mb("", "", " Spaced ", "child"), mb("", "", long), mb("", "", "Files")}
	info := Info{Prefix: "INBOX.", Delimiter: '.', RefusedNames: map[string]bool{
		"INBOX. Spaced ": true, "INBOX." + long: true, "INBOX.Files": true}}
	p, err := Make(boxes, info, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		" Spaced ":       "INBOX.Spaced",
		" Spaced /child": "INBOX.Spaced.child",
		long:             "INBOX." + strings.Repeat("x", maxElement),
		"Files":          "INBOX.Files_",
	}
	for _, b := range boxes {
		if f := p.Folder(b); f == nil || f.Server != want[b.DisplayPath()] {
			t.Errorf("%q -> %v, want %q", b.DisplayPath(), f, want[b.DisplayPath()])
		}
	}
	if len(p.Renames) != 4 {
		t.Errorf("renames %v, want all four", p.Renames)
	}
	again, _ := Make(boxes, info, Options{})
	if !reflect.DeepEqual(names(again), names(p)) {
		t.Errorf("a second plan differs: %v vs %v", names(again), names(p))
	}
}

func names(p *Plan) []string {
	var l []string
	for _, f := range p.Folders {
		l = append(l, f.Server)
	}
	return l
}

func TestCanonical(t *testing.T) {
	slash := Info{Delimiter: '/'}
	for in, want := range map[string]string{
		"Inbox": "INBOX", "inbox/Sub": "INBOX/Sub", "INBOX": "INBOX", "Inboxes": "Inboxes", "Other/Inbox": "Other/Inbox",
	} {
		if got := slash.Canonical(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Info{Prefix: "INBOX.", Delimiter: '.'}).Canonical("Inbox.Sent"); got != "INBOX.Sent" {
		t.Errorf("Canonical(Inbox.Sent) = %q", got)
	}
}

func TestFallbackName(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"spaces and dots at the ends removed", " Spaced. ", "Spaced"},
		{"longer than maxElement: cut", strings.Repeat("x", 150), strings.Repeat("x", maxElement)},
		{"non-ASCII cut by characters", strings.Repeat("Д", 200), strings.Repeat("Д", maxElement)},
		{"refused as it is at maxElement: halved", strings.Repeat("Д", maxElement), strings.Repeat("Д", maxElement/2)},
		{"halved, no trailing space", "Rechnungen  und Belege", "Rechnungen"},
		{"short: lengthened", "Files", "Files_"},
		{"at shortElement: lengthened", strings.Repeat("x", shortElement), strings.Repeat("x", shortElement) + "_"},
		{"only dots", "...", "_"},
	}
	for _, tt := range tests {
		if got := FallbackName(tt.in); got != tt.want {
			t.Errorf("%s: FallbackName(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	for _, e := range []string{"", " ", "a", "a ", strings.Repeat("ab ", 40), strings.Repeat("é.", 60)} {
		if FallbackName(e) == e {
			t.Errorf("FallbackName(%q) did not change it", e)
		}
	}
}

// A long name that the server refuses again and again gets ever shorter
// fallback names (a server that limits the stored length takes one of
// them), and a server that refuses every one of them cannot make the plan
// go round for ever: it ends on a refused name, which makes the folder
// unusable.
func TestPlanRefusedNamesEnd(t *testing.T) {
	long := string([]rune(strings.Repeat("Входящие документы ", 11))[:200])
	boxes := []*formats.Mailbox{mb("", "", long)}
	info := Info{Delimiter: '/', RefusedNames: map[string]bool{}}
	var chain []string
	for e := long; len(chain) < 30; e = FallbackName(e) {
		chain = append(chain, e)
	}
	// Refused: the name and its first fallback (100 characters).
	info.RefusedNames[chain[0]], info.RefusedNames[chain[1]] = true, true
	p, err := Make(boxes, info, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Folder(boxes[0]); f == nil || f.Server != chain[2] || utf8.RuneCountInString(f.Server) != 50 {
		t.Errorf("refused at 200 and 100 characters -> %v, want %q", f, chain[2])
	}

	// Refused: every name FallbackName comes to.
	for _, n := range chain {
		info.RefusedNames[n] = true
	}
	done := make(chan *Plan)
	go func() {
		p, _ := Make(boxes, info, Options{})
		done <- p
	}()
	select {
	case p := <-done:
		if f := p.Folder(boxes[0]); f == nil || !info.RefusedNames[f.Server] {
			t.Errorf("every fallback refused -> %v, want one of the refused names", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Make does not end when every fallback name is refused")
	}
}
