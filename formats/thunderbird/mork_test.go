package thunderbird

import (
	"os"
	"slices"
	"testing"

	"mailferry/internal/testutil"
)

func TestMorkCorpusBugmail(t *testing.T) {
	data, err := os.ReadFile(testutil.Corpus(t, "thunderbird/comm-central-mailnews-test-data/bugmail-1.msf"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseMSF(data)
	if err != nil {
		t.Fatalf("parseMSF: %v", err)
	}
	if len(info.Msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(info.Msgs))
	}
	m := info.Msgs[0]
	if m.Offset != 0 || m.Flags != 1 || !slices.Equal(m.Keywords, []string{"$label4"}) {
		t.Errorf("message = %+v, want offset 0, flags 1, keywords [$label4]", m)
	}
	if m.MessageID != "200805072155.m47LtAEf007542@mrapp51.mozilla.org" {
		t.Errorf("message-id = %q", m.MessageID)
	}
}

func TestMorkCorpusMigration(t *testing.T) {
	data, err := os.ReadFile(testutil.Corpus(t, "thunderbird/panorama-migration/migration.msf"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseMSF(data)
	if err != nil {
		t.Fatalf("parseMSF: %v", err)
	}
	// test_summaryFileMigration.js: Assert.equal(messages.length, 2)
	if len(info.Msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(info.Msgs))
	}
	want := []struct {
		offset   int64
		flags    uint32
		id       string
		keywords []string
	}{
		{0, 1, "162378@invalid", []string{"$label5"}},
		{1143, 0, "345692@invalid", nil},
	}
	for i, w := range want {
		m := info.Msgs[i]
		if m.Offset != w.offset || m.Flags != w.flags || m.MessageID != w.id || !slices.Equal(m.Keywords, w.keywords) {
			t.Errorf("message %d = %+v, want %+v", i, *m, w)
		}
	}
}
