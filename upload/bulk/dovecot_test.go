package bulk

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"mailferry/internal/dovecottest"
	"mailferry/internal/faultproxy"
)

// dovecotLogin connects to Dovecot by implicit TLS at addr (the server's
// TLSAddr or a proxy in front of it), logs in and selects mailbox.
func dovecotLogin(t testing.TB, srv *dovecottest.Server, addr, mailbox string, opts Options) *Client {
	t.Helper()
	cfg := srv.TLSConfig()
	cfg.ServerName = "localhost"
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(conn, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Login(ctx, srv.User, srv.Password); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if mailbox != "" {
		if _, err := c.Select(ctx, mailbox); err != nil {
			t.Fatalf("Select(%q): %v", mailbox, err)
		}
	}
	return c
}

// checkStored compares what Dovecot stored in mailbox with msgs, in order.
func checkStored(t *testing.T, srv *dovecottest.Server, mailbox string, msgs []testMsg, res []ItemResult) {
	t.Helper()
	got := srv.Fetch(t, mailbox)
	if len(got) != len(msgs) {
		t.Fatalf("%s holds %d messages, want %d", mailbox, len(got), len(msgs))
	}
	for i, m := range got {
		want := msgs[i]
		if !bytes.Equal(m.CRLF(), want.data) {
			t.Errorf("message %d: stored bytes differ (%d vs %d bytes)", i+1, len(m.CRLF()), len(want.data))
		}
		if !sameFlags(m.Flags, want.flags) {
			t.Errorf("message %d: flags %q, want %q", i+1, m.Flags, want.flags)
		}
		if !m.Received.Equal(want.date) {
			t.Errorf("message %d: internal date %v, want %v", i+1, m.Received, want.date)
		}
		if res != nil && res[i].UID != m.UID {
			t.Errorf("message %d: UID %d, APPENDUID said %d", i+1, m.UID, res[i].UID)
		}
	}
}

// TestDovecot appends a mix of small and large messages with flags,
// keywords and dates into a mailbox with a non-ASCII name, with the
// capabilities Dovecot announces and with MULTIAPPEND or LITERAL+ taken
// away, and compares what Dovecot stored.
func TestDovecot(t *testing.T) {
	tests := []struct {
		name      string
		cfg       dovecottest.Config
		opts      Options
		multi     bool
		wantBatch int // commands Append uses for 60 messages
	}{
		{"MULTIAPPEND and LITERAL+", dovecottest.Config{}, Options{MaxBatch: 25}, true, 3},
		{"byte-bounded batches", dovecottest.Config{}, Options{MaxBatchBytes: 256 << 10, MaxInFlight: 2}, true, -1},
		{"no MULTIAPPEND", dovecottest.Config{Capability: "IMAP4rev1 LITERAL+ UIDPLUS SASL-IR"}, Options{}, false, 60},
		{"LITERAL- only", dovecottest.Config{LiteralMinus: true}, Options{MaxBatch: 20}, true, 3},
		{"synchronizing literals", dovecottest.Config{}, Options{NoLiteralPlus: true, MaxBatch: 30}, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, tc.cfg)
			const mailbox = "Archiv/Entwürfe & Co"
			srv.Doveadm(t, "mailbox", "create", mailbox)
			c := dovecotLogin(t, srv, srv.TLSAddr, mailbox, tc.opts)
			if c.MultiAppend() != tc.multi {
				t.Fatalf("MultiAppend() = %v, want %v (caps %v)", c.MultiAppend(), tc.multi, c.Caps())
			}
			msgs := testMessages(60, 21, 0.1)
			msgs[3].flags = append(msgs[3].flags, "work", "$label2")
			msgs[4].flags = nil
			res, err := c.Append(context.Background(), mailbox, items(msgs))
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			batches := map[int]bool{}
			for i, r := range res {
				if r.Err != nil {
					t.Errorf("item %d: %v", i, r.Err)
				}
				batches[r.Batch] = true
			}
			if tc.wantBatch > 0 && len(batches) != tc.wantBatch {
				t.Errorf("Append used %d commands, want %d", len(batches), tc.wantBatch)
			}
			if tc.wantBatch < 0 && (len(batches) < 3 || len(batches) >= len(msgs)) {
				t.Errorf("Append used %d commands for %d messages with a 256 KB bound", len(batches), len(msgs))
			}
			checkStored(t, srv, mailbox, msgs, res)
			if n := c.Exists(); n != uint32(len(msgs)) {
				t.Errorf("Exists() = %d, want %d", n, len(msgs))
			}
		})
	}
}

// TestDovecotRefused: a message over the size limit in a MULTIAPPEND
// batch makes Dovecot refuse the whole batch ([LIMIT], nothing stored);
// Append sends the batch again message by message, so only that one is
// refused. A mailbox that does not exist is [TRYCREATE]; a full quota
// [OVERQUOTA]. The connection stays usable after each.
func TestDovecotRefused(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{MaxMailSize: "100k", QuotaStorage: "2M"})
	ctx := context.Background()
	for _, opts := range []Options{{}, {NoLiteralPlus: true}} {
		srv.Doveadm(t, "mailbox", "create", "Limit")
		c := dovecotLogin(t, srv, srv.TLSAddr, "Limit", opts)
		msgs := testMessages(10, 5, -1)
		msgs[6].data = append(msgs[6].data, bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"), 2000)...)
		res, err := c.Append(ctx, "Limit", items(msgs))
		if err != nil {
			t.Fatalf("Append (%+v): %v", opts, err)
		}
		var want []testMsg
		for i, r := range res {
			var se *StatusError
			switch {
			case i == 6:
				if !errors.As(r.Err, &se) || se.Code != "LIMIT" || se.Type != "NO" {
					t.Errorf("oversized item: %v, want NO [LIMIT]", r.Err)
				}
			case r.Err != nil:
				t.Errorf("item %d: %v", i, r.Err)
			default:
				want = append(want, msgs[i])
			}
		}
		checkStored(t, srv, "Limit", want, nil)

		_, err = c.Append(ctx, "Does not exist", items(msgs[:1]))
		if err != nil {
			t.Fatalf("Append to a missing mailbox: %v", err)
		}
		cmd, err := c.Submit(ctx, "Does not exist", items(msgs[:1]))
		if err != nil {
			t.Fatal(err)
		}
		_, err = cmd.Wait(ctx)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != "TRYCREATE" {
			t.Errorf("APPEND to a missing mailbox: %v, want NO [TRYCREATE]", err)
		}
		if c.Err() != nil {
			t.Fatalf("connection ended: %v", c.Err())
		}
		c.Close()
		srv.Doveadm(t, "mailbox", "delete", "Limit")
	}

	// Over quota: 30 messages of 70-90 KB into 2 MB.
	srv.Doveadm(t, "mailbox", "create", "Full")
	c := dovecotLogin(t, srv, srv.TLSAddr, "Full", Options{MaxBatch: 10})
	msgs := testMessages(30, 6, -1)
	for i := range msgs {
		msgs[i].data = append(msgs[i].data, bytes.Repeat([]byte(strings.Repeat("q", 70)+"\r\n"), 900)...)
	}
	res, err := c.Append(ctx, "Full", items(msgs))
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	stored := 0
	for i, r := range res {
		var se *StatusError
		switch {
		case r.Err == nil:
			stored++
		case !errors.As(r.Err, &se) || se.Code != "OVERQUOTA":
			t.Errorf("item %d: %v, want stored or NO [OVERQUOTA]", i, r.Err)
		}
	}
	if stored == 0 || stored == len(msgs) {
		t.Errorf("%d of %d messages stored into a 2 MB quota, want some but not all", stored, len(msgs))
	}
	if got := len(srv.Fetch(t, "Full")); got != stored {
		t.Errorf("server holds %d, Append says %d stored", got, stored)
	}
}

// TestDovecotCut cuts the connection in the middle of a run of
// MULTIAPPEND batches: every batch is on the server wholly or not at all,
// batches Append reports as stored are there, and items reported not sent
// are not.
func TestDovecotCut(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	p := faultproxy.Start(t, srv.TLSAddr)
	srv.Doveadm(t, "mailbox", "create", "Cut")
	c := dovecotLogin(t, srv, p.Addr(), "Cut", Options{MaxBatch: 10, MaxInFlight: 3})
	msgs := testMessages(100, 8, -1)
	var total int64
	for _, m := range msgs {
		total += int64(len(m.data))
	}
	p.CutAfter(faultproxy.Up, total/2)
	res, err := c.Append(context.Background(), "Cut", items(msgs))
	var lost *LostError
	if err == nil {
		t.Fatalf("Append through a cut connection succeeded")
	}
	stored := map[string]bool{}
	for _, m := range srv.Fetch(t, "Cut") {
		stored[string(m.CRLF())] = true
	}
	batchOn := map[int]int{}
	batchLen := map[int]int{}
	for i, r := range res {
		on := stored[string(msgs[i].data)]
		batchLen[r.Batch]++
		if on {
			batchOn[r.Batch]++
		}
		switch {
		case r.Err == nil && !on:
			t.Errorf("item %d: reported stored, not on the server", i)
		case errors.As(r.Err, &lost) && !lost.Sent && on:
			t.Errorf("item %d: reported not sent, but on the server", i)
		case r.Err != nil && !errors.As(r.Err, &lost):
			t.Errorf("item %d: %v, want a LostError", i, r.Err)
		}
	}
	for b, n := range batchLen {
		if batchOn[b] != 0 && batchOn[b] != n {
			t.Errorf("batch %d: %d of %d messages on the server, want all or none", b, batchOn[b], n)
		}
	}
	if len(stored) == 0 || len(stored) == len(msgs) {
		t.Errorf("%d of %d messages stored after a cut in the middle", len(stored), len(msgs))
	}
	t.Logf("cut after %d bytes: %d of %d messages stored", total/2, len(stored), len(msgs))
}

// TestDovecotStartTLS logs in over the plain port with STARTTLS.
func TestDovecotStartTLS(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.Config{})
	conn, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := srv.TLSConfig()
	cfg.ServerName = "localhost"
	ctx := context.Background()
	c, err := NewStartTLS(ctx, conn, cfg, Options{})
	if err != nil {
		t.Fatalf("NewStartTLS: %v", err)
	}
	defer c.Close()
	if err := c.Login(ctx, srv.User, srv.Password); err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !c.MultiAppend() || !c.Has("LITERAL+") {
		t.Errorf("after login: caps %v, want MULTIAPPEND and LITERAL+", c.Caps())
	}
	if _, err := c.Select(ctx, "INBOX"); err != nil {
		t.Fatal(err)
	}
	msgs := testMessages(3, 2, -1)
	if _, err := c.Append(ctx, "INBOX", items(msgs)); err != nil {
		t.Fatal(err)
	}
	checkStored(t, srv, "INBOX", msgs, nil)
}
