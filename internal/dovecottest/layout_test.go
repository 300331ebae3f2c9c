package dovecottest_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailferry/internal/dovecottest"
)

// TestPanelLayout checks the layout of hosting control panels: NAMESPACE
// says "INBOX." with ".", the special-use folders exist and are subscribed
// before any client did anything, a name outside the namespace is
// refused, and one below INBOX nests on ".".
func TestPanelLayout(t *testing.T) {
	t.Parallel()
	srv := dovecottest.Start(t, dovecottest.PanelLayout())
	c := srv.Dial(t)

	ns, err := c.Namespace().Wait()
	if err != nil {
		t.Fatalf("NAMESPACE: %v", err)
	}
	if len(ns.Personal) != 1 || ns.Personal[0].Prefix != "INBOX." || ns.Personal[0].Delim != '.' {
		t.Errorf("NAMESPACE personal = %+v, want one (\"INBOX.\" \".\")", ns.Personal)
	}

	wantSpecial := map[string]imap.MailboxAttr{
		"INBOX.Drafts":  imap.MailboxAttrDrafts,
		"INBOX.Sent":    imap.MailboxAttrSent,
		"INBOX.Trash":   imap.MailboxAttrTrash,
		"INBOX.spam":    imap.MailboxAttrJunk,
		"INBOX.Archive": imap.MailboxAttrArchive,
	}
	list, err := c.List("", "*", &imap.ListOptions{ReturnSpecialUse: true, ReturnSubscribed: true}).Collect()
	if err != nil {
		t.Fatalf("LIST: %v", err)
	}
	got := map[string][]imap.MailboxAttr{}
	for _, l := range list {
		got[l.Mailbox] = l.Attrs
	}
	for name, attr := range wantSpecial {
		if attrs := got[name]; !slices.Contains(attrs, attr) || !slices.Contains(attrs, imap.MailboxAttrSubscribed) {
			t.Errorf("LIST %q attributes = %v, want %s and \\Subscribed", name, attrs, attr)
		}
	}
	wantSubs := slices.Sorted(maps.Keys(wantSpecial))
	if subs := srv.Subscribed(t); !slices.Equal(subs, wantSubs) {
		t.Errorf("Subscribed() = %q, want %q", subs, wantSubs)
	}

	err = c.Create("Projects", nil).Wait()
	if err == nil || !strings.Contains(err.Error(), "Mailbox name should probably be prefixed with: INBOX.") {
		t.Errorf(`CREATE "Projects" = %v, want NO ... prefixed with: INBOX.`, err)
	}
	err = c.Create("INBOX.a/b", nil).Wait()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Code != imap.ResponseCodeCannot || !strings.HasPrefix(imapErr.Text, "Invalid mailbox name: Name must not have '/' characters") {
		t.Errorf(`CREATE "INBOX.a/b" = %v, want NO [CANNOT] Invalid mailbox name: Name must not have '/' characters`, err)
	}
	if err := c.Create("INBOX.Projects.2024", nil).Wait(); err != nil {
		t.Fatalf(`CREATE "INBOX.Projects.2024": %v`, err)
	}
	boxes := srv.Mailboxes(t)
	for _, want := range []string{"INBOX", "INBOX.Projects", "INBOX.Projects.2024", "INBOX.spam"} {
		if !slices.Contains(boxes, want) {
			t.Errorf("Mailboxes() = %q, lacks %q", boxes, want)
		}
	}
}

// TestCapabilities checks the capability switches against what the server
// announces after login: the default list (on 2.3, where DefaultCapability
// was taken from), COMPRESS=DEFLATE from the imap_zlib plugin, and
// NoLiteralPlus/NoMultiAppend, which must keep what plugins and
// special-use folders add.
func TestCapabilities(t *testing.T) {
	t.Parallel()
	defaults := strings.Fields(dovecottest.DefaultCapability)
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(defaults), func(c string) bool { return slices.Contains(drop, c) })
	}
	tests := []struct {
		name string
		cfg  dovecottest.Config
		want []string
	}{
		{"default", dovecottest.Config{}, defaults},
		{"compress", dovecottest.Config{Compress: true}, append(slices.Clone(defaults), "COMPRESS=DEFLATE")},
		{
			"no LITERAL+, no MULTIAPPEND",
			dovecottest.Config{NoLiteralPlus: true, NoMultiAppend: true, Compress: true, MaxMailSize: "1M", SpecialUse: map[string]string{"Sent": `\Sent`}},
			append(without("LITERAL+", "MULTIAPPEND"), "COMPRESS=DEFLATE", "QUOTA", "SPECIAL-USE"),
		},
		{"no MULTIAPPEND", dovecottest.Config{NoMultiAppend: true}, without("MULTIAPPEND")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := dovecottest.Start(t, tt.cfg)
			if tt.name == "default" && !strings.HasPrefix(srv.Version, "2.3.") {
				t.Skipf("DefaultCapability is Dovecot 2.3's; this is %s", srv.Version)
			}
			caps, err := srv.Dial(t).Capability().Wait()
			if err != nil {
				t.Fatalf("CAPABILITY: %v", err)
			}
			var got []string
			for c := range caps {
				got = append(got, string(c))
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("CAPABILITY = %q, want %q", got, want)
			}
		})
	}
}
