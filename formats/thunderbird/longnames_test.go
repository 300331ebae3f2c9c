package thunderbird_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
)

// Folder names longer than the 47 UTF-16 units Thunderbird keeps of a name
// that is too long: each must come back under its real name, whether the
// name was cut for its length or at an illegal character that lies beyond
// the 47th unit (then more than 47 units are kept before the hash).
func TestLongFolderNames(t *testing.T) {
	n48 := "Correspondence with the county planning office 1"                       // 48 units: stored as is
	n56 := strings.Repeat("Quarterly reports ", 3) + "xx"                           // 56 units: cut to 47
	n70 := "Projekt Übergabe an die neue Hausverwaltung und Schlüsselübergabe 2024" // cut to 47
	slash := n70 + "/Q3"                                                            // cut at the '/', 70 units kept
	dot := n56 + " etc."                                                            // cut before the trailing '.', 60 units kept
	for name, min := range map[string]int{n48: 48, n56: 56, n70: 70} {
		if n := len(utf16.Encode([]rune(name))); n < min {
			t.Fatalf("%q has %d units, want at least %d", name, n, min)
		}
	}
	for _, name := range []string{slash, dot} {
		disk := tbtest.HashName(name)
		if n := len(utf16.Encode([]rune(disk))) - 8; n <= 47 {
			t.Fatalf("%q is stored as %q, keeping %d units; the test wants more than 47", name, disk, n)
		}
	}
	msg := func(s string) []tbtest.Message { return []tbtest.Message{{Status: "0001", Subject: s}} }
	spec := tbtest.Spec{Accounts: []tbtest.Account{{
		Type: "none", Name: "Local Folders", Hostname: "Local Folders",
		Folders: []tbtest.Folder{
			{Name: n48, Messages: msg("48")},
			{Name: n56, MSF: true, Messages: msg("56")},
			{Name: n70, MSF: true, Messages: msg("70"), Children: []tbtest.Folder{
				{Name: n56, MSF: true, Messages: msg("child 56")},
			}},
			{Name: slash, MSF: true, Messages: msg("slash")},
			{Name: dot, MSF: true, Messages: msg("dot")},
			// only the folder cache knows the parent's name
			{Name: n70 + " (parent)", Kind: "parent", CacheName: n70 + " (parent)", Children: []tbtest.Folder{
				{Name: "x", Messages: msg("x")},
			}},
		},
	}}}
	built := tbtest.BuildProfile(t, t.TempDir(), spec)
	got, _, w := read(t, built.Profile, thunderbird.Options{})
	var names []string
	for k := range got {
		names = append(names, k)
	}
	slices.Sort(names)
	want := []string{
		"Local Folders/" + n48,
		"Local Folders/" + n70,
		"Local Folders/" + n70 + " (parent)",
		"Local Folders/" + n70 + " (parent)/x",
		"Local Folders/" + n70 + "/" + n56,
		"Local Folders/" + slash,
		"Local Folders/" + n56,
		"Local Folders/" + dot,
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("mailboxes =\n%q\nwant\n%q", names, want)
	}
	w.hasNot(t, "looks like a hashed name")
}
