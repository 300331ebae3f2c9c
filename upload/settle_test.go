package upload

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
)

// logCapture is a slog.Handler that keeps the messages logged.
type logCapture struct {
	mu   *sync.Mutex
	msgs *[]string
}

func newLogCapture() logCapture { return logCapture{mu: &sync.Mutex{}, msgs: new([]string)} }

func (h logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (h logCapture) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h logCapture) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logCapture) WithGroup(string) slog.Handler      { return h }

func (h logCapture) has(prefix string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range *h.msgs {
		if strings.HasPrefix(m, prefix) {
			return true
		}
	}
	return false
}

const settleMsg = "the previous upload to this account did not finish; waiting"

// markers lists the marker files under a cache directory.
func markers(t *testing.T, cacheDir string) []string {
	t.Helper()
	l, err := filepath.Glob(filepath.Join(cacheDir, "mailferry", "upload-*"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestMarkerPath(t *testing.T) {
	base := Target{User: "me@example.com", Host: "mail.example.com", Port: 993}
	want := markerPath("/c", base, "/src")
	tests := []struct {
		name   string
		t      Target
		source string
		same   bool
	}{
		{"same", base, "/src", true},
		{"security does not matter", Target{User: base.User, Host: base.Host, Port: base.Port, Security: StartTLS}, "/src", true},
		{"other user", Target{User: "you@example.com", Host: base.Host, Port: base.Port}, "/src", false},
		{"other host", Target{User: base.User, Host: "imap.example.com", Port: base.Port}, "/src", false},
		{"other port", Target{User: base.User, Host: base.Host, Port: 143}, "/src", false},
		{"other source", base, "/other", false},
		{"no source", base, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := markerPath("/c", tt.t, tt.source)
			if (got == want) != tt.same {
				t.Errorf("markerPath(%+v, %q) = %q, base %q: same = %v, want %v", tt.t, tt.source, got, want, got == want, tt.same)
			}
			if filepath.Dir(got) != filepath.Join("/c", "mailferry") {
				t.Errorf("markerPath(%+v, %q) = %q, want it in /c/mailferry", tt.t, tt.source, got)
			}
			if strings.Contains(got, "example") {
				t.Errorf("markerPath(%+v, %q) = %q names the account", tt.t, tt.source, got)
			}
		})
	}
}

// TestMarkerLifecycle checks that a real upload has a marker while it runs
// and none after it returned, also after a cancellation; dry runs and
// rehearsals write none.
func TestMarkerLifecycle(t *testing.T) {
	tests := []struct {
		name       string
		dryRun     bool
		rehearsal  bool
		cancel     bool
		wantMarker bool
	}{
		{name: "success", wantMarker: true},
		{name: "cancelled", cancel: true, wantMarker: true},
		{name: "dry run", dryRun: true},
		{name: "rehearsal", rehearsal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms := newMem(t)
			var s source
			in := s.box("", formats.SpecialInbox, "Inbox")
			for i := 0; i < 40; i++ {
				s.add(in, mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), strings.Repeat("x", 3000)), time.Now())
			}
			cache := t.TempDir()
			opts := ms.options(t)
			opts.cacheDir = cache
			opts.SourceID = "/src"
			opts.DryRun = tt.dryRun
			if tt.rehearsal {
				opts.Target, opts.Password = nil, ""
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			seen := 0 // markers seen while the run went on
			opts.OnProgress = func(p Progress) {
				if p.Phase != "upload" {
					return
				}
				mu.Lock()
				seen = max(seen, len(markers(t, cache)))
				mu.Unlock()
				if tt.cancel && p.Uploaded >= 5 {
					cancel()
				}
			}
			_, err := Upload(ctx, s.reader(), opts)
			switch {
			case tt.cancel && err != context.Canceled:
				t.Fatalf("Upload error = %v, want context.Canceled", err)
			case !tt.cancel && err != nil:
				t.Fatalf("Upload: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if (seen == 1) != tt.wantMarker || seen > 1 {
				t.Errorf("%d marker files seen during the run, want marker = %v", seen, tt.wantMarker)
			}
			if l := markers(t, cache); len(l) != 0 {
				t.Errorf("marker files left after Upload returned: %q", l)
			}
		})
	}
}

// TestSettleLateArrivals simulates a re-run right after a killed upload:
// the marker of the killed run is there, and messages it had sent keep
// landing on the server during the first second. The re-run waits until
// the folder is quiet, so it sends none of them again.
func TestSettleLateArrivals(t *testing.T) {
	ms := newMem(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	var raws []string
	for i := 0; i < 8; i++ {
		raw := mail(fmt.Sprint(i), fmt.Sprintf("<%d@x>", i), strings.Repeat("y", 1000+i))
		raws = append(raws, raw)
		s.add(in, raw, time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC))
	}
	c := ms.client(t)
	for _, raw := range raws[:3] { // stored before the kill
		appendRaw(t, c, "INBOX", raw)
	}

	cache := t.TempDir()
	opts := ms.options(t)
	opts.cacheDir = cache
	opts.SourceID = "/src"
	logs := newLogCapture()
	opts.Logger = slog.New(logs)
	stale := markerPath(cache, *opts.Target, opts.SourceID)
	if err := os.MkdirAll(filepath.Dir(stale), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("pid 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	// The killed run's last messages land while the re-run starts.
	late := ms.client(t)
	errc := make(chan error, 1)
	go func() { errc <- appendLate(late, raws[3:], 150*time.Millisecond) }()

	rep, err := Upload(context.Background(), s.reader(), opts)
	if lerr := <-errc; lerr != nil {
		t.Fatalf("late append: %v", lerr)
	}
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if !logs.has(settleMsg) {
		t.Errorf("no log line %q: the run did not wait", settleMsg)
	}
	got := readBack(t, c)["INBOX"]
	count := map[string]int{}
	for _, m := range got {
		count[string(m.Bytes)]++
	}
	for i, raw := range raws {
		if n := count[strings.ReplaceAll(raw, "\n", "\r\n")]; n != 1 {
			t.Errorf("message %d is %d times on the server, want once", i, n)
		}
	}
	if len(got) != len(raws) {
		t.Errorf("the server holds %d messages, want %d", len(got), len(raws))
	}
	if fr := folderRep(t, rep, "INBOX"); fr.Uploaded != 0 || fr.Already != len(raws) {
		t.Errorf("INBOX report: uploaded %d, already %d; want 0 and %d", fr.Uploaded, fr.Already, len(raws))
	}
	if l := markers(t, cache); len(l) != 0 {
		t.Errorf("marker files left after Upload returned: %q", l)
	}
}

// appendLate appends the messages to INBOX, one every gap.
func appendLate(c *imapclient.Client, raws []string, gap time.Duration) error {
	for _, raw := range raws {
		time.Sleep(gap)
		data := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
		cmd := c.Append("INBOX", int64(len(data)), nil)
		if _, err := cmd.Write(data); err != nil {
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		if _, err := cmd.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// TestMarkerUnwritable checks that a cache directory that cannot be written
// is no reason to fail, and that a run without a stale marker does not wait.
func TestMarkerUnwritable(t *testing.T) {
	ms := newMem(t)
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	s.add(in, mail("a", "<a@x>", "hello"), time.Now())
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := ms.options(t)
	opts.cacheDir = notDir // MkdirAll fails below a file, also for root
	logs := newLogCapture()
	opts.Logger = slog.New(logs)
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if rep.Totals.Uploaded != 1 {
		t.Errorf("uploaded %d, want 1", rep.Totals.Uploaded)
	}
	if logs.has(settleMsg) {
		t.Errorf("the run waited without a stale marker")
	}
	if !logs.has("could not write the run marker") {
		t.Errorf("no debug line about the marker")
	}
}
