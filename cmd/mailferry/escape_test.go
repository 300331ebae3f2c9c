package main

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                         "plain",
		"Verträge":                      "Verträge",
		"\x1b[2J\x1b]0;owned\x07":       `\x1b[2J\x1b]0;owned\x07`,
		"line\r\nfake: line":            `line\r\nfake: line`,
		"nul\x00":                       `nul\x00`,
		"bad \xff utf-8":                `bad \xff utf-8`,
		"c1 \u009b31m":                  `c1 \x9b31m`,
		"right-to-left \u202e override": `right-to-left \u202e override`,
		"tab\there":                     `tab\there`,
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}
