package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailferry/internal/testutil"
)

// TestScanShowsQuarantineAndFlagSources: scan counts the text before the
// first From_ line of an mbox as quarantined, and says per Thunderbird
// folder whether its read state comes from the .msf or the headers.
func TestScanShowsQuarantineAndFlagSources(t *testing.T) {
	mbox := filepath.Join(t.TempDir(), "hand-edited.mbox")
	content := "notes typed in front\n\nFrom a@example.org Mon Jun 01 10:00:00 2009\nSubject: x\n\nbody\n"
	if err := os.WriteFile(mbox, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// Detection finds the separator after the text, as does the user who
	// says it is an mbox.
	for _, args := range [][]string{{"scan", mbox}, {"scan", mbox, "--format", "mbox"}} {
		res := runCLI(t, nil, args...)
		if res.code != exitOK || !strings.Contains(res.stdout, "Quarantined (kept, never uploaded): 1 (text before the first From_ line") ||
			!strings.Contains(res.stdout, "1 messages") {
			t.Errorf("%q: exit %d, output:\n%s%s", args, res.code, res.stdout, res.stderr)
		}
	}
	res := runCLI(t, nil, "scan", testutil.Testdata(t, "sample-profile"))
	if !strings.Contains(res.stdout, "Read state and tags taken from:") || !strings.Contains(res.stdout, "headers (no summary file (.msf)): 7 folders") {
		t.Errorf("scan output lacks the flag sources:\n%s", res.stdout)
	}
}
