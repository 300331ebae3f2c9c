package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"mailferry/upload"
)

// --- step 2b: the password -----------------------------------------------------

// logIn asks for the password and tries it at once, explaining failures in
// plain words. It returns the target (the user may correct the server on
// the way) and the password that worked.
func (g *guide) logIn(t upload.Target) (upload.Target, string, error) {
	var fixed string // from --password-file or MAILFERRY_PASSWORD
	if g.f.passwordFile != "" || g.e.getenv("MAILFERRY_PASSWORD") != "" {
		pw, err := g.e.password(g.f.passwordFile, t)
		if err != nil {
			return t, "", err
		}
		fixed = pw
	}
	wrong := 0
	for {
		pw := fixed
		if pw == "" {
			ans, err := g.in.secret(g.ctx, fmt.Sprintf("Password for %s (nothing is shown while you type): ", t.User))
			if err != nil {
				return t, "", err
			}
			if ans == "" {
				g.say("The password is empty; please type it.")
				continue
			}
			pw = ans
		}
		g.say("Checking the password with %s…", t.Host)
		err := upload.CheckLogin(g.ctx, upload.Options{Target: &t, Password: pw, CAFile: g.f.tlsCA})
		switch {
		case err == nil:
			g.say("The password is right.")
			return t, pw, nil
		case g.ctx.Err() != nil:
			return t, "", g.ctx.Err()
		case errors.Is(err, upload.ErrAuth) && explained(err):
			if errors.Is(g.explainRefusal(err), errUseOAuth) {
				return t, "", errUseOAuth
			}
			wrong++
			if fixed != "" || wrong >= 3 {
				g.say("Nothing was uploaded.")
				return t, "", stopped{exitUsage}
			}
			g.say("Please type the app password (or the password) again; try %d of 3.", wrong+1)
		case errors.Is(err, upload.ErrAuth):
			wrong++
			g.say("The server did not accept this password for the user name %s.", t.User)
			if fixed != "" || wrong >= 3 {
				if fixed != "" {
					g.say("(The password came from --password-file or MAILFERRY_PASSWORD.)")
				}
				g.say("Check the password by logging in to your provider's webmail. Some providers need an\n" +
					"\"app password\" for mail programs (their help pages say how to make one). Also check\n" +
					"that the user name is right: give another one with --server imaps://USER@" + t.Host + ".\n" +
					"Nothing was uploaded.")
				return t, "", stopped{exitUsage}
			}
			g.say("Please type it again (upper and lower case matter); try %d of 3.", wrong+1)
		case upload.IsCertificateError(err):
			g.say("The server %s could not prove that it is really %s: its security certificate\n"+
				"is not trusted by this computer.\n  (%s)\n"+
				"This happens when the server name is not quite right (the certificate was made for\n"+
				"another name), or when the provider uses a certificate of its own. mailferry stops\n"+
				"here rather than send your password to a server it cannot trust.\n"+
				"What to do: ask your provider for the exact IMAP server name. If they give you a\n"+
				"certificate file, run mailferry again with --tls-ca FILE.", t.Host, t.Host, errorText(err))
			ans, err := g.ask("Type another server name to try, or press Enter to stop: ")
			if err != nil || ans == "" {
				if err != nil && !errors.Is(err, errNoAnswer) {
					return t, "", err
				}
				g.say("Nothing was uploaded.")
				return t, "", stopped{exitUsage}
			}
			if t, err = g.retarget(t, ans); err != nil {
				return t, "", err
			}
		case errors.Is(err, upload.ErrNoEncryption):
			g.say("The server %s does not offer an encrypted connection on port %d, so mailferry does\n"+
				"not send your password there: anyone on the way could read it.\n"+
				"Ask your provider for the IMAP settings with SSL/TLS (usually port 993), then run\n"+
				"mailferry again with --server imaps://%s@%s:993 (or the port they give). Nothing was uploaded.",
				t.Host, t.Port, t.User, t.Host)
			return t, "", stopped{exitUsage}
		case errors.Is(err, upload.ErrConfig):
			g.say("The server %s does not offer a safe way to log in:\n  %s\n"+
				"Ask your provider for the right IMAP server name and port. Nothing was uploaded.", t.Host, errorText(err))
			return t, "", stopped{exitUsage}
		default:
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
				g.say("There is no server called %s. Please check the spelling.", t.Host)
			} else {
				g.say("I could not reach %s on port %d.\n  (%s)\n"+
					"Check that the server name is right and that this computer is connected to the internet.", t.Host, t.Port, errorText(err))
			}
			ans, err := g.ask("Press Enter to try again, type another server name, or type stop: ")
			if err != nil || strings.EqualFold(ans, "stop") {
				if err != nil && !errors.Is(err, errNoAnswer) {
					return t, "", err
				}
				g.say("Nothing was uploaded.")
				return t, "", stopped{exitFailure}
			}
			if ans != "" {
				if t, err = g.retarget(t, ans); err != nil {
					return t, "", err
				}
			}
		}
	}
}

// retarget parses a server name typed after a failure, keeping the user
// name; an answer that does not parse is explained and the old target kept.
func (g *guide) retarget(t upload.Target, ans string) (upload.Target, error) {
	nt, err := parseServer(ans, t.User)
	if err != nil {
		g.say("%v", err)
		return t, nil
	}
	g.say("Trying %s.", describeTarget(nt))
	return nt, nil
}
