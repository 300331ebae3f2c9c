package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"mailferry/formats/thunderbird"
	"mailferry/internal/autoconfig"
	mfterm "mailferry/internal/term"
	"mailferry/upload"
)

// --- step 2: the server -------------------------------------------------------

// popAccounts are the POP3 accounts of the profile.
func popAccounts(accts []*thunderbird.Account) []*thunderbird.Account {
	var out []*thunderbird.Account
	for _, a := range accts {
		if a.Type == "pop3" && a.Skip == "" {
			out = append(out, a)
		}
	}
	return out
}

// proposeEmail guesses the user's address from the POP3 accounts: a user
// name or account name that is an e-mail address.
func proposeEmail(accts []*thunderbird.Account) string {
	for _, a := range popAccounts(accts) {
		for _, s := range []string{a.UserName, a.Name} {
			if _, err := autoconfig.Domain(s); err == nil {
				return s
			}
		}
	}
	return ""
}

// popAccountFor returns the POP3 account of email (by user or account
// name), else the first POP3 account with a host name, else nil; same says
// whether it is the address's own account.
func popAccountFor(accts []*thunderbird.Account, email string) (a *thunderbird.Account, same bool) {
	var first *thunderbird.Account
	for _, p := range popAccounts(accts) {
		if p.Hostname == "" {
			continue
		}
		if strings.EqualFold(p.UserName, email) || strings.EqualFold(p.Name, email) {
			return p, true
		}
		if first == nil {
			first = p
		}
	}
	return first, false
}

func (g *guide) askEmail(m *mail) (string, error) {
	if g.f.email != "" {
		if _, err := autoconfig.Domain(g.f.email); err != nil {
			g.say("--email: %v", err)
			return "", stopped{exitUsage}
		}
		g.say("E-mail address: %s", g.f.email)
		return g.f.email, nil
	}
	proposal := proposeEmail(m.accounts)
	for {
		prompt := "Your e-mail address: "
		if proposal != "" {
			prompt = fmt.Sprintf("Your e-mail address (press Enter for %s): ", proposal)
		}
		ans, err := g.ask(prompt)
		if err != nil {
			return "", err
		}
		if ans == "" {
			ans = proposal
		}
		if ans == "" {
			continue
		}
		if _, err := autoconfig.Domain(ans); err != nil {
			g.say("That does not look like an e-mail address; it should look like name@example.com.")
			continue
		}
		return ans, nil
	}
}

// serverProposal is the server mailferry suggests and why.
type serverProposal struct {
	target upload.Target
	why    string
}

// findServer takes --server, or proposes a server (the provider's
// autoconfig document, else the POP3 host on port 993) for the user to
// confirm or correct.
func (g *guide) findServer(m *mail, email string) (upload.Target, error) {
	if g.f.server != "" {
		t, err := parseServer(g.f.server, email)
		if err != nil {
			g.say("--server: %v", err)
			return t, stopped{exitUsage}
		}
		g.say("Server: %s", describeTarget(t))
		return t, nil
	}
	domain, _ := autoconfig.Domain(email)
	g.say("Looking up the mail server of %s…", domain)
	var prop *serverProposal
	srv, err := g.deps.lookup(g.ctx, email)
	switch {
	case err == nil:
		t := upload.Target{User: srv.Username, Host: srv.Host, Port: srv.Port, Security: upload.ImplicitTLS}
		if srv.STARTTLS {
			t.Security = upload.StartTLS
		}
		if t.User == "" {
			t.User = email
		}
		prop = &serverProposal{t, fmt.Sprintf("This is what %s publishes for mail programs.", domain)}
		if !srv.PasswordLogin() {
			prop.why += "\nNote: " + domain + " mentions only sign-in through its web page (OAuth2); you may need\nan \"app password\" from your account settings there instead of your normal password."
		}
	case g.ctx.Err() != nil:
		return upload.Target{}, g.ctx.Err()
	default:
		if pop, same := popAccountFor(m.accounts, email); pop != nil {
			user := email
			if same && pop.UserName != "" {
				user = pop.UserName
			}
			prop = &serverProposal{
				upload.Target{User: user, Host: pop.Hostname, Port: 993, Security: upload.ImplicitTLS},
				fmt.Sprintf("%s publishes no settings, so this is the server of your POP3 account in Thunderbird\n"+
					"(%s), on the IMAP port. Many providers use the same name for both; if yours\n"+
					"does not, type the IMAP server name from your provider's help pages (often imap.%s).", domain, pop.Hostname, domain),
			}
		}
	}
	for {
		if prop == nil {
			g.say("I could not find the IMAP server of %s on my own.", domain)
			ans, err := g.ask(fmt.Sprintf("Type the name of your provider's IMAP server (for example imap.%s): ", domain))
			if err != nil {
				return upload.Target{}, err
			}
			if ans == "" {
				continue
			}
			t, err := parseServer(ans, email)
			if err != nil {
				g.say("%v", err)
				continue
			}
			return t, nil
		}
		g.say("Your mail will go to:\n  %s\n%s", describeTarget(prop.target), prop.why)
		if g.f.yes {
			return prop.target, nil
		}
		ans, err := g.ask("Press Enter if this is right, or type the right server name: ")
		if err != nil {
			return upload.Target{}, err
		}
		if ans == "" {
			return prop.target, nil
		}
		t, err := parseServer(ans, prop.target.User)
		if err != nil {
			g.say("%v", err)
			continue
		}
		return t, nil
	}
}

// describeTarget says in words where the mail goes.
func describeTarget(t upload.Target) string {
	how := "encrypted (TLS)"
	if t.Security == upload.StartTLS {
		how = "encrypted (STARTTLS)"
	}
	return fmt.Sprintf("server %s, port %d, %s, user name %s", mfterm.Escape(t.Host), t.Port, how, mfterm.Escape(t.User))
}

// parseServer reads a server as the user or --server gives it: HOST,
// HOST:PORT (143 means STARTTLS, any other port TLS), or a URL
// imaps://[USER@]HOST[:PORT] / imap://[USER@]HOST[:PORT]. user is the
// login name when the answer names none.
func parseServer(s, user string) (upload.Target, error) {
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if !strings.Contains(rest, "@") {
			s = scheme + "://" + user + "@" + rest
		}
		t, err := upload.ParseURL(s)
		if err != nil {
			return t, fmt.Errorf("that is not a server I understand: %w", err)
		}
		return t, nil
	}
	t := upload.Target{User: user, Host: s, Port: 993, Security: upload.ImplicitTLS}
	if h, p, err := net.SplitHostPort(s); err == nil {
		port, err := strconv.Atoi(p)
		if err != nil || port <= 0 || port > 65535 {
			return t, fmt.Errorf("%q: the port must be a number from 1 to 65535", s)
		}
		t.Host, t.Port = h, port
		if port == 143 {
			t.Security = upload.StartTLS
		}
	}
	if t.Host == "" || net.ParseIP(t.Host) == nil && strings.ContainsAny(t.Host, " /@:\\?#\t") {
		return t, fmt.Errorf("%q is not a server name; it looks like imap.example.com (or imap.example.com:993)", s)
	}
	return t, nil
}

// targetFromEmail is --email (and --server) of upload and verify: the
// server of the address as its provider publishes it, or --server, without
// asking anything. The login name is the address unless the provider's
// settings or a --server URL say otherwise.
func (e *env) targetFromEmail(email, server string, lookup func(ctx context.Context, email string) (*autoconfig.Server, error)) (upload.Target, error) {
	if _, err := autoconfig.Domain(email); err != nil {
		return upload.Target{}, usageErrorf("--email: %v", err)
	}
	if server != "" {
		t, err := parseServer(server, email)
		if err != nil {
			return t, usageErrorf("--server: %v", err)
		}
		return t, nil
	}
	srv, err := lookup(e.ctx, email)
	if err != nil {
		if e.ctx.Err() != nil {
			return upload.Target{}, e.ctx.Err()
		}
		return upload.Target{}, usageErrorf("%v; name the server with --server HOST (or use --to)", err)
	}
	t := upload.Target{User: srv.Username, Host: srv.Host, Port: srv.Port, Security: upload.ImplicitTLS}
	if srv.STARTTLS {
		t.Security = upload.StartTLS
	}
	if t.User == "" {
		t.User = email
	}
	return t, nil
}
