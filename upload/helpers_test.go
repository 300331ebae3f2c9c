package upload

import (
	"bytes"
	"context"
	"errors"
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
	"github.com/emersion/go-imap/v2/imapserver"

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

func imapErr(typ, code, text string) error {
	return &imap.Error{Type: imap.StatusResponseType(typ), Code: imap.ResponseCode(code), Text: text}
}

type errString string

func (e errString) Error() string { return string(e) }

// newMemWith starts a memory server whose sessions are wrapped.
func newMemWith(t testing.TB, wrap func(imapserver.Session) imapserver.Session) *memServer {
	t.Helper()
	ms, err := startMemServerWith(testLogger(t), wrap)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ms.close)
	return ms
}

// testSession wraps a memory-server session to misbehave like real
// servers: refuse some messages, limit sizes, keep no new keywords.
type testSession struct {
	imapserver.Session
	reject func(b []byte) error // non-nil error refuses the message
	limit  uint32               // APPEND size limit, checked before the literal
	noKWs  bool                 // no \* in PERMANENTFLAGS
}

func (s *testSession) AppendLimit() uint32 {
	if s.limit == 0 {
		return 100 << 20
	}
	return s.limit
}

func (s *testSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if s.reject != nil {
		if err := s.reject(b); err != nil {
			return nil, err
		}
	}
	return s.Session.Append(mailbox, literal{bytes.NewReader(b), int64(len(b))}, options)
}

func (s *testSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	d, err := s.Session.Select(mailbox, options)
	if err == nil && s.noKWs {
		var pf []imap.Flag
		for _, f := range d.PermanentFlags {
			if f != imap.FlagWildcard {
				pf = append(pf, f)
			}
		}
		pf = append(pf, imap.FlagSeen, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDraft, imap.FlagDeleted)
		d.PermanentFlags = pf
	}
	return d, err
}

type literal struct {
	*bytes.Reader
	n int64
}

func (l literal) Size() int64 { return l.n }

// appendRaw puts a message on the server directly.
func appendRaw(t testing.TB, c *imapclient.Client, folder, raw string) {
	t.Helper()
	data := []byte(strings.ReplaceAll(raw, "\n", "\r\n"))
	cmd := c.Append(folder, int64(len(data)), nil)
	cmd.Write(data)
	cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %q: %v", folder, err)
	}
}

// isFailure reports whether err is one the CLI reports as a failure (exit
// code 1): set, and neither a usage, incomplete nor interrupted error.
func isFailure(err error) bool {
	return err != nil && !errors.Is(err, ErrConfig) && !errors.Is(err, ErrAuth) &&
		!errors.Is(err, ErrIncomplete) && !errors.Is(err, context.Canceled)
}
