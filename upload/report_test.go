package upload

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"mailferry/upload/plan"
)

func TestReportTotals(t *testing.T) {
	good := func() *Report {
		r := &Report{Mode: ModeUpload, Folders: []*FolderReport{
			{Server: "INBOX", Found: 6, Uploaded: 2, Already: 1, Skipped: map[string]int{"deleted": 1},
				Quarantined: []Problem{{Pos: "a:1", Reason: "x"}}, Failed: []Problem{{Pos: "a:9", Reason: "y"}},
				Verify: &FolderVerify{Status: StatusMatch}},
			{Server: "Sent", Found: 1, Uploaded: 1, Verify: &FolderVerify{Status: StatusExtra, Extra: 4}},
		}}
		r.sum()
		return r
	}
	r := good()
	if err := r.CheckTotals(); err != nil {
		t.Fatalf("CheckTotals on a good report: %v", err)
	}
	if r.Totals.Found != 7 || r.Totals.Uploaded != 3 || r.Totals.Skipped != 1 || r.Totals.Extra != 4 || r.Totals.Mismatched != 0 {
		t.Errorf("totals = %+v", r.Totals)
	}
	if err := r.Err(); !errors.Is(err, ErrIncomplete) {
		t.Errorf("Err() = %v, want ErrIncomplete (one quarantined)", err)
	}

	r = good()
	r.Folders[0].Uploaded++
	r.sum()
	if err := r.CheckTotals(); err == nil || !strings.Contains(err.Error(), `"INBOX"`) {
		t.Errorf("CheckTotals with a folder off by one = %v", err)
	}
	r = good()
	r.Totals.Already++
	if err := r.CheckTotals(); err == nil {
		t.Errorf("CheckTotals with totals off by one = nil")
	}

	r = good()
	r.Folders[1].Verify = &FolderVerify{Status: StatusMissing, Missing: []Problem{{Pos: "s:1"}}}
	r.sum()
	if err := r.Err(); !errors.Is(err, ErrVerify) {
		t.Errorf("Err() with a missing message = %v, want ErrVerify", err)
	}

	ok := &Report{Folders: []*FolderReport{{Server: "X", Found: 1, Already: 1, Verify: &FolderVerify{Status: StatusExtra, Extra: 1}}}}
	ok.sum()
	if err := ok.Err(); err != nil {
		t.Errorf("extra messages on the server are no error: %v", err)
	}
}

func TestReportJSON(t *testing.T) {
	r := &Report{Mode: ModeUpload, Target: "imaps://u@h:993", Folders: []*FolderReport{{
		Sources: []string{"Local Folders/Inbox"}, Server: "INBOX", Found: 1, Quarantined: []Problem{{Pos: "Inbox:1 (#1)", Reason: "NO [LIMIT] too big", File: "q/INBOX/1.eml"}},
		Verify: &FolderVerify{Status: StatusMatch},
	}}, Renames: []plan.Rename{{Source: "a.b", Server: "a_b", Reason: "r"}}}
	r.sum()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"sources":["Local Folders/Inbox"]`, `"server":"INBOX"`, `"found":1`, `"already_on_server":0`,
		`"quarantined":[{"pos":"Inbox:1 (#1)"`, `"status":"="`, `"renames":[`, `"totals":{`, `"server_after":0`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("report JSON lacks %s:\n%s", key, b)
		}
	}
}
