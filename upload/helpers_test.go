package upload

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailferry/formats"
)

// fakeReader is an in-memory formats.Reader for tests.
type fakeReader struct {
	boxes []*formats.Mailbox
	msgs  []*formats.Message
	i     int
}

func (r *fakeReader) Mailboxes(ctx context.Context) ([]*formats.Mailbox, error) {
	return r.boxes, nil
}

func (r *fakeReader) Next(ctx context.Context) (*formats.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.i >= len(r.msgs) {
		return nil, io.EOF
	}
	m := r.msgs[r.i]
	r.i++
	return m, nil
}

func (r *fakeReader) Close() error { return nil }

// source builds fake readers.
type source struct {
	boxes []*formats.Mailbox
	msgs  []*formats.Message
}

func (s *source) box(account string, special formats.Special, path ...string) *formats.Mailbox {
	mb := &formats.Mailbox{Account: account, Path: formats.Folder(path), Special: special, Store: "fake"}
	s.boxes = append(s.boxes, mb)
	return mb
}

// add appends a message with the given bytes (LF converted to CRLF).
func (s *source) add(mb *formats.Mailbox, raw string, date time.Time, flags ...string) *formats.Message {
	data := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
	n := 0
	for _, m := range s.msgs {
		if m.Mailbox == mb {
			n++
		}
	}
	m := &formats.Message{
		Mailbox: mb,
		Flags:   flags,
		Date:    date,
		Size:    int64(len(data)),
		Pos:     formats.Pos{File: mb.DisplayPath(), Line: int64(n*10 + 1), Index: n + 1},
		Open:    func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
	}
	s.msgs = append(s.msgs, m)
	return m
}

func (s *source) reader() *fakeReader { return &fakeReader{boxes: s.boxes, msgs: s.msgs} }

func mail(subject, msgID, body string) string {
	h := "From: a@example.com\nTo: b@example.com\nSubject: " + subject + "\n"
	if msgID != "" {
		h += "Message-ID: " + msgID + "\n"
	}
	return h + "\n" + body + "\n"
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// newMem starts a memory server for one test.
func newMem(t testing.TB) *memServer {
	t.Helper()
	ms, err := startMemServer(testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.close)
	return ms
}

func (ms *memServer) options(t testing.TB) Options {
	tg := ms.target
	return Options{
		Target:        &tg,
		Password:      ms.password,
		QuarantineDir: t.TempDir(),
		Logger:        testLogger(t),
		RetryTimeout:  5 * time.Second,
	}
}

// serverMsg is a message read back from a server.
type serverMsg struct {
	Folder string
	Bytes  []byte
	Flags  []string
	Date   time.Time
}

// readBack fetches every message of every folder of an account.
func readBack(t testing.TB, c *imapclient.Client) map[string][]serverMsg {
	t.Helper()
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]serverMsg{}
	for _, b := range boxes {
		data, err := c.Select(b.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("select %q: %v", b.Mailbox, err)
		}
		out[b.Mailbox] = nil
		if data.NumMessages == 0 {
			continue
		}
		body := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
			Flags: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{body},
		}).Collect()
		if err != nil {
			t.Fatalf("fetch %q: %v", b.Mailbox, err)
		}
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				if !strings.EqualFold(string(f), `\Recent`) {
					flags = append(flags, strings.ToLower(string(f)))
				}
			}
			sort.Strings(flags)
			out[b.Mailbox] = append(out[b.Mailbox], serverMsg{Folder: b.Mailbox, Bytes: m.FindBodySection(body), Flags: flags, Date: m.InternalDate})
		}
	}
	return out
}

func (ms *memServer) client(t testing.TB) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(ms.target.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ms.target.User, ms.password).Wait(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func lower(flags []string) []string {
	var out []string
	for _, f := range flags {
		out = append(out, strings.ToLower(f))
	}
	sort.Strings(out)
	return out
}

func mustCheck(t testing.TB, rep *Report) {
	t.Helper()
	if err := rep.CheckTotals(); err != nil {
		t.Errorf("CheckTotals: %v", err)
	}
}

func folderRep(t testing.TB, rep *Report, server string) *FolderReport {
	t.Helper()
	for _, f := range rep.Folders {
		if f.Server == server {
			return f
		}
	}
	var names []string
	for _, f := range rep.Folders {
		names = append(names, f.Server)
	}
	t.Fatalf("no folder %q in report (have %q)", server, names)
	return nil
}

var _ = fmt.Sprintf

func keys[V any](m map[string]V) []string {
	var l []string
	for k := range m {
		l = append(l, k)
	}
	sort.Strings(l)
	return l
}

func readAll(t testing.TB, m *formats.Message) []byte {
	t.Helper()
	rc, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
