package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/internal/dovecottest"
)

// dovecotTarget is the implicit-TLS target of a test Dovecot.
func dovecotTarget(t testing.TB, srv *dovecottest.Server, tls bool) (Target, Options) {
	t.Helper()
	addr := srv.TLSAddr
	sec := ImplicitTLS
	if !tls {
		addr, sec = srv.Addr, StartTLS
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	tg := Target{User: srv.User, Host: host, Port: p, Security: sec}
	return tg, Options{
		Target:        &tg,
		Password:      srv.Password,
		CAFile:        srv.CAFile,
		QuarantineDir: t.TempDir(),
		Logger:        testLogger(t),
		RetryTimeout:  10 * time.Second,
	}
}

// profile is a generated two-account source with nested, non-ASCII and
// dotted folder names, flags, keywords and old dates.
type profile struct {
	source
	want map[*formats.Mailbox]string // expected server folder
}

func newProfile(delim string) *profile {
	p := &profile{want: map[*formats.Mailbox]string{}}
	at := func(mb *formats.Mailbox, slash, dot string) {
		if delim == "." {
			p.want[mb] = dot
		} else {
			p.want[mb] = slash
		}
	}
	in1 := p.box("Local Folders", formats.SpecialInbox, "Inbox")
	at(in1, "INBOX", "INBOX")
	in2 := p.box("pop.example.com", formats.SpecialInbox, "Inbox")
	at(in2, "INBOX", "INBOX")
	sent := p.box("pop.example.com", formats.SpecialSent, "Sent")
	at(sent, "Sent", "Sent")
	arch := p.box("Local Folders", "", "Archive")
	at(arch, "Archive", "Archive")
	y := p.box("Local Folders", "", "Archive", "2019")
	at(y, "Archive/2019", "Archive.2019")
	de := p.box("Local Folders", "", "Entwürfe-Ordner")
	at(de, "Entwürfe-Ordner", "Entwürfe-Ordner")
	sub := p.box("Local Folders", "", "Entwürfe-Ordner", "日本語")
	at(sub, "Entwürfe-Ordner/日本語", "Entwürfe-Ordner.日本語")
	dots := p.box("Local Folders", "", "Importiert (.eml)")
	at(dots, "Importiert (_eml)", "Importiert (_eml)")
	empty := p.box("Local Folders", "", "Leer")
	at(empty, "Leer", "Leer")

	flags := [][]string{
		{`\Seen`}, {`\Seen`, `\Answered`}, {`\Flagged`, "$label1"}, {`\Seen`, "$Forwarded", "Work_Project"},
		{}, {`\Draft`}, {`\Seen`, "$label3", "$NotJunk"},
	}
	dates := []time.Time{
		time.Date(2003, 2, 3, 4, 5, 6, 0, time.UTC), time.Date(2014, 11, 30, 23, 59, 1, 0, time.FixedZone("", -5*3600)),
		time.Date(2019, 7, 1, 12, 0, 0, 0, time.FixedZone("", 2*3600)),
	}
	i := 0
	for _, mb := range []*formats.Mailbox{in1, in2, sent, y, de, sub, dots, in1, in2, y} {
		for k := 0; k < 3; k++ {
			body := fmt.Sprintf("Message %d in %s.\nÜmläute in UTF-8.\n", i, mb.DisplayPath())
			if i%4 == 0 {
				body += strings.Repeat("A longer line of body text for a bigger message.\n", 150)
			}
			raw := "Date: Mon, 1 Jan 2001 00:00:00 +0000\nContent-Type: text/plain; charset=utf-8\n" + mail(fmt.Sprintf("msg %d", i), fmt.Sprintf("<%d@gen.example>", i), body)
			p.add(mb, raw, dates[i%len(dates)], flags[i%len(flags)]...)
			i++
		}
	}
	return p
}

// checkStored compares every source message with what Dovecot stored:
// bytes, flags and keywords, internal date, folder. The server must hold
// exactly the source's messages.
func checkStored(t *testing.T, srv *dovecottest.Server, p *profile) {
	t.Helper()
	stored := srv.FetchAll(t)
	used := make([]bool, len(stored))
	for _, m := range p.msgs {
		want := readAll(t, m)
		folder := p.want[m.Mailbox]
		found := false
		for i, s := range stored {
			if used[i] || s.Mailbox != folder || !bytes.Equal(s.CRLF(), want) {
				continue
			}
			used[i], found = true, true
			if !s.Received.Equal(m.Date.Truncate(time.Second)) {
				t.Errorf("%v: internal date %v, want %v", m.Pos, s.Received, m.Date.UTC())
			}
			if g, w := lower(s.Flags), lower(m.Flags); !equalStrings(g, w) {
				t.Errorf("%v: flags %q, want %q", m.Pos, g, w)
			}
			break
		}
		if !found {
			t.Errorf("%v: not stored in %q", m.Pos, folder)
		}
	}
	for i, s := range stored {
		if !used[i] {
			t.Errorf("unexpected message in %q (uid %d)", s.Mailbox, s.UID)
		}
	}
}

func TestDovecotUpload(t *testing.T) {
	for _, delim := range []string{"/", "."} {
		t.Run("delimiter "+delim, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, dovecottest.Config{Delimiter: delim})
			p := newProfile(delim)
			_, opts := dovecotTarget(t, srv, true)
			rep, err := Upload(context.Background(), p.reader(), opts)
			if err != nil {
				t.Fatalf("Upload: %v", err)
			}
			mustCheck(t, rep)
			if rep.Totals.Uploaded != len(p.msgs) || rep.Totals.Mismatched != 0 {
				t.Fatalf("totals = %+v", rep.Totals)
			}
			checkStored(t, srv, p)

			// Every target folder exists and is subscribed.
			subscribed := map[string]bool{}
			for _, n := range srv.Subscribed(t) {
				subscribed[n] = true
			}
			for _, f := range p.want {
				if !subscribed[f] {
					t.Errorf("folder %q is not subscribed (LSUB: %q)", f, srv.Subscribed(t))
				}
			}
			if delim == "/" {
				renamed := false
				for _, r := range rep.Renames {
					if r.Source == "Local Folders/Importiert (.eml)" && r.Server == "Importiert (_eml)" {
						renamed = true
					}
				}
				if !renamed {
					t.Errorf("renames = %+v, want Importiert (.eml) -> Importiert (_eml)", rep.Renames)
				}
			}

			// A re-run uploads nothing, verify alone finds everything.
			rep2, err := Upload(context.Background(), p.reader(), opts)
			if err != nil {
				t.Fatalf("second Upload: %v", err)
			}
			if rep2.Totals.Uploaded != 0 || rep2.Totals.Already != len(p.msgs) {
				t.Errorf("re-run totals = %+v", rep2.Totals)
			}
			rep3, err := Verify(context.Background(), p.reader(), opts)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			for _, f := range rep3.Folders {
				if f.Verify.Status != StatusMatch {
					t.Errorf("verify %q: %+v", f.Server, f.Verify)
				}
			}
			checkStored(t, srv, p)
		})
	}
}

func TestDovecotSpecialUse(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{
		SpecialUse: map[string]string{"Sent Items": `\Sent`, "Junk Mail": `\Junk`},
		AutoCreate: true,
	})
	var s source
	sent := s.box("", formats.SpecialSent, "Sent")
	junk := s.box("", formats.SpecialJunk, "Spam")
	old := s.box("", "", "Sent", "2010")
	s.add(sent, mail("sent", "<s@x>", "x"), time.Now(), `\Seen`)
	s.add(junk, mail("junk", "<j@x>", "x"), time.Now())
	s.add(old, mail("old", "<o@x>", "x"), time.Now())
	_, opts := dovecotTarget(t, srv, true)
	rep, err := Upload(context.Background(), s.reader(), opts)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	mustCheck(t, rep)
	for folder, n := range map[string]int{"Sent Items": 1, "Junk Mail": 1, "Sent Items/2010": 1} {
		if got := len(srv.Fetch(t, folder)); got != n {
			t.Errorf("%q holds %d messages, want %d", folder, got, n)
		}
	}
	subs := srv.Subscribed(t)
	for _, f := range []string{"Sent Items", "Junk Mail", "Sent Items/2010"} {
		if !contains(subs, f) {
			t.Errorf("%q not subscribed: %q", f, subs)
		}
	}
	if contains(srv.Mailboxes(t), "Sent") {
		t.Errorf("a folder Sent was created beside the special-use one: %q", srv.Mailboxes(t))
	}
}

func TestDovecotConnection(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	s.add(in, mail("1", "<1@x>", "x"), time.Now())
	ctx := context.Background()

	t.Run("starttls with CA file", func(t *testing.T) {
		_, opts := dovecotTarget(t, srv, false)
		if _, err := Upload(ctx, s.reader(), opts); err != nil {
			t.Fatalf("Upload over STARTTLS: %v", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		_, opts := dovecotTarget(t, srv, true)
		opts.CAFile = ""
		_, err := Upload(ctx, s.reader(), opts)
		if !errors.Is(err, ErrConfig) || !IsCertificateError(err) {
			t.Fatalf("Upload without the CA: %v, want a certificate error (exit 2)", err)
		}
	})
	t.Run("insecure skip verify", func(t *testing.T) {
		_, opts := dovecotTarget(t, srv, true)
		opts.CAFile = ""
		opts.InsecureSkipVerify = true
		if _, err := Upload(ctx, s.reader(), opts); err != nil {
			t.Fatalf("Upload with InsecureSkipVerify: %v", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, opts := dovecotTarget(t, srv, true)
		opts.Password = "wrong-" + srv.Password
		_, err := Upload(ctx, s.reader(), opts)
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("Upload with a wrong password: %v, want ErrAuth (exit 2)", err)
		}
		if strings.Contains(err.Error(), opts.Password) {
			t.Errorf("error %q contains the password", err)
		}
	})
}

func TestDovecotQuarantineTooBig(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "20k"})
	var s source
	in := s.box("", formats.SpecialInbox, "Inbox")
	s.add(in, mail("small", "<s@x>", "x"), time.Now())
	s.add(in, mail("big", "<big@x>", strings.Repeat("0123456789\n", 3000)), time.Now())
	s.add(in, mail("after", "<a@x>", "y"), time.Now())
	_, opts := dovecotTarget(t, srv, true)
	rep, err := Upload(context.Background(), s.reader(), opts)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Upload: %v, want ErrIncomplete (exit 3)", err)
	}
	mustCheck(t, rep)
	f := folderRep(t, rep, "INBOX")
	if f.Uploaded != 2 || len(f.Quarantined) != 1 {
		t.Fatalf("INBOX: %+v", f)
	}
	q := f.Quarantined[0]
	if q.MessageID != "<big@x>" || !strings.Contains(q.Reason, "LIMIT") || q.File == "" {
		t.Errorf("quarantined = %+v, want <big@x> with [LIMIT] and a file", q)
	}
	if f.Verify.Status != StatusMatch {
		t.Errorf("verify = %+v", f.Verify)
	}
	if got := len(srv.Fetch(t, "INBOX")); got != 2 {
		t.Errorf("INBOX holds %d, want 2", got)
	}
}

func contains(l []string, s string) bool {
	i := sort.SearchStrings(l, s)
	return i < len(l) && l[i] == s
}
