package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mailferry/formats"
	"mailferry/formats/formatstest"
	"mailferry/formats/thunderbird"
	"mailferry/formats/thunderbird/tbtest"
	"mailferry/internal/dovecottest"
	"mailferry/internal/testutil"
	"mailferry/upload/plan"
)

// From real profile files to a real Dovecot and back: the
// standard profile (two POP3 accounts, Local Folders, nested and non-ASCII
// folders, hashed names, tags, old dates, deleted messages) is uploaded with
// the command line; then every message Dovecot stored is compared with what
// the reader yields for it: folder, bytes, flags and keywords, internal
// date. Both hierarchy delimiters, '/' (Maildir++, which refuses '.') and '.'.
func TestProfileToDovecotMessageByMessage(t *testing.T) {
	for _, delim := range []string{"/", "."} {
		t.Run("delimiter "+delim, func(t *testing.T) {
			srv := dovecottest.Start(t, dovecottest.Config{Delimiter: delim})
			built := tbtest.BuildProfile(t, t.TempDir(), tbtest.Standard())

			to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
			res := runCLI(t, map[string]string{"MAILFERRY_PASSWORD": srv.Password},
				"upload", built.Root, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
			// The standard profile holds a partial POP3 download: uploaded,
			// but reported as incomplete in the source (exit 3).
			if res.code != exitIncomplete {
				t.Fatalf("upload: exit %d, want %d\n%s\n%s", res.code, exitIncomplete, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, "Verification: all") {
				t.Errorf("verification did not match:\n%s", res.stdout)
			}

			r, err := thunderbird.Open(built.Root, thunderbird.Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkServerHolds(t, srv, expectedOnServer(t, r, rune(delim[0]), srv))
		})
	}
}

// checkServerHolds compares every message Dovecot stored with what
// expectedOnServer says must be there, folder by folder, as multisets:
// each message exactly once, with its bytes, flags and internal date.
func checkServerHolds(t *testing.T, srv *dovecottest.Server, want map[string][]string) {
	t.Helper()
	got := map[string][]string{}
	for _, m := range srv.FetchAll(t) {
		got[m.Mailbox] = append(got[m.Mailbox], describe(m.CRLF(), m.Flags, m.Received))
	}
	for box := range want {
		if missing, extra := matchMessages(want[box], got[box]); len(missing)+len(extra) > 0 {
			t.Errorf("mailbox %q:\n missing %q\n unexpected %q", box, missing, extra)
		}
	}
	for box := range got {
		if _, ok := want[box]; !ok {
			t.Errorf("Dovecot holds unexpected mailbox %q", box)
		}
	}
}

// expectedOnServer reads a source with its reader (and closes it) and
// says, per server folder, what each message must look like there.
func expectedOnServer(t *testing.T, r formats.Reader, delim rune, srv *dovecottest.Server) map[string][]string {
	t.Helper()
	defer r.Close()
	boxes, msgs := formatstest.Collect(t, r)
	// Dovecot with Maildir++ refuses '.' in names with the '/' delimiter,
	// and '/' with the '.' delimiter; the plan learns that from the first
	// refused CREATE.
	refused := "/"
	if delim == '/' {
		refused = "."
	}
	p, err := plan.Make(boxes, plan.Info{Delimiter: delim, Refused: refused}, plan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for _, f := range p.Folders {
		want[strings.Join(f.Path, string(delim))] = nil // empty folders must exist too
	}
	for _, m := range msgs {
		if m.Skip != "" {
			continue
		}
		f := p.Folder(m.Mailbox)
		if f == nil {
			t.Fatalf("%v: no planned folder", m.Pos)
		}
		box := strings.Join(f.Path, string(delim))
		want[box] = append(want[box], describe(m.Bytes, m.Flags, m.Date))
	}
	// Folders the server lists include only real ones: drop the planned
	// names that Dovecot does not know, to get a clear error from the caller.
	have := srv.Mailboxes(t)
	for box := range want {
		if !slices.Contains(have, box) {
			t.Errorf("Dovecot has no mailbox %q (it has %q)", box, have)
		}
	}
	return want
}

// describe renders what must survive the trip: a digest of the bytes,
// sorted flags without \Recent, and the date (UTC, seconds); a zero date
// means the server chose one and is not compared.
func describe(b []byte, flags []string, date time.Time) string {
	fl := slices.Clone(flags)
	fl = slices.DeleteFunc(fl, func(f string) bool { return strings.EqualFold(f, `\Recent`) })
	for i := range fl {
		if strings.HasPrefix(fl[i], `\`) {
			fl[i] = strings.ToLower(fl[i]) // system flags are case-insensitive
		}
	}
	sort.Strings(fl)
	d := "any date"
	if !date.IsZero() {
		d = date.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	subject := ""
	if h := formats.ParseHeader(b); h != nil {
		subject, _ = h.Get("Subject")
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%q %d bytes %x flags %v | %s", subject, len(b), sum[:6], fl, d)
}

// matchMessages pairs expected and stored descriptions as multisets; an
// expected "any date" matches a stored message with any date.
func matchMessages(want, got []string) (missing, extra []string) {
	got = slices.Clone(got)
	sort.Strings(want)
	for _, w := range want {
		i := slices.IndexFunc(got, func(g string) bool {
			if strings.HasSuffix(w, "| any date") {
				return strings.HasPrefix(g, strings.TrimSuffix(w, "any date"))
			}
			return g == w
		})
		if i < 0 {
			missing = append(missing, w)
			continue
		}
		got = slices.Delete(got, i, i+1)
	}
	return missing, got
}

// Upload works on every kind of store as on a Thunderbird
// profile. Each fixture goes to its own Dovecot; the server must end with
// as many messages as scan counts, and verify must match every folder.
func TestUploadEveryStoreKindToDovecot(t *testing.T) {
	for _, fixture := range []string{"emlx/V10tree/Mail", "emlx/export", "eml/tree", "maildir/plusplus", "sample-profile"} {
		t.Run(fixture, func(t *testing.T) {
			src := testutil.Testdata(t, fixture)
			scan := runCLI(t, nil, "scan", src, "--json")
			var s struct {
				Totals struct{ Messages, Incomplete int }
				Files  struct {
					NotRead []struct {
						Path string
						Mail bool
					} `json:"not_read"`
				}
			}
			if err := json.Unmarshal([]byte(scan.stdout), &s); err != nil {
				t.Fatalf("scan: %v\n%s", err, scan.stderr)
			}
			srv := dovecottest.Start(t, dovecottest.Config{})
			vars := map[string]string{"MAILFERRY_PASSWORD": srv.Password}
			to := fmt.Sprintf("imaps://%s@%s", srv.User, srv.TLSAddr)
			res := runCLI(t, vars, "upload", src, "--to", to, "--tls-ca", srv.CAFile, "--quiet")
			wantCode, verifyCode := exitOK, exitOK
			if s.Totals.Incomplete > 0 {
				wantCode = exitIncomplete
			}
			for _, n := range s.Files.NotRead {
				if n.Mail { // eml/tree's Outlook .msg is read along with its .eml files
					t.Errorf("scan lists a file that may hold mail as not read: %+v", n)
				}
			}
			if res.code != wantCode || !strings.Contains(res.stdout, "Verification: all") {
				t.Fatalf("upload: exit %d, want %d\n%s\n%s", res.code, wantCode, res.stdout, res.stderr)
			}
			if n := len(srv.FetchAll(t)); n != s.Totals.Messages {
				t.Errorf("Dovecot holds %d messages, scan counted %d", n, s.Totals.Messages)
			}
			res = runCLI(t, vars, "verify", src, "--to", to, "--tls-ca", srv.CAFile)
			if res.code != verifyCode {
				t.Errorf("verify: exit %d, want %d\n%s", res.code, verifyCode, res.stdout)
			}
		})
	}
}
