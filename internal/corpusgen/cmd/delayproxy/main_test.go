package main

import (
	"bytes"
	"testing"

	"mailferry/internal/faultproxy"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", 0, true},
		{"0", 0, true},
		{"20mbit", 2_500_000, true},
		{"100Mbit", 12_500_000, true},
		{"1gbit", 125_000_000, true},
		{"512kbit", 64_000, true},
		{"8000bit", 1000, true},
		{"2.5MB", 2_500_000, true},
		{"300kB", 300_000, true},
		{"1GB", 1_000_000_000, true},
		{"42B", 42, true},
		{"20", 0, false},
		{"fast", 0, false},
		{"-3MB", 0, false},
		{"4bit", 0, false},
		{"20 mbit", 2_500_000, true},
	}
	for _, tc := range tests {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPrintStats(t *testing.T) {
	var b bytes.Buffer
	printStats(&b, faultproxy.Stats{Up: 123, Down: 4567, Accepted: 3})
	if got := b.String(); got != "up=123 down=4567 connections=3\n" {
		t.Errorf("printStats wrote %q", got)
	}
}
