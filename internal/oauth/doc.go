// Package oauth signs mailferry in to IMAP servers with OAuth 2.0 instead
// of a password, which Microsoft 365 and Outlook.com require (they turned
// password logins off) and Gmail and Google Workspace prefer.
//
// It owns everything between "the user wants to sign in" and "here is a
// SASL client for this connection":
//
//   - the SASL mechanisms OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's and
//     Microsoft's), chosen from the server's AUTH= capabilities, with the
//     refusal answered as the mechanisms require and decoded into a
//     *TokenRejectedError (sasl.go, login.go);
//   - getting tokens: the browser sign-in with PKCE and a loopback redirect
//     (RFC 7636, RFC 8252), the device sign-in (RFC 8628), a user's token
//     command, and refreshing (config.go, browser.go, device.go,
//     command.go, source.go);
//   - knowing the providers from the address: built-in table, MX records,
//     autoconfig documents (provider.go);
//   - keeping a sign-in between runs, only when asked: the macOS Keychain,
//     the Windows Credential Manager, the Secret Service, else a private
//     file (store*.go);
//   - saying in plain words why a server refused a password (refusal.go);
//   - the command-line flags and the one call cmd makes (flags.go,
//     signin.go).
//
// Tokens and client secrets are Secret values: printing, logging or
// marshalling one shows "[redacted]". They never go into argv (a token
// command's output and keychain commands use pipes), errors or reports.
//
// golang.org/x/oauth2 is not used: its Token holds the tokens as plain
// strings that print; its device-flow poller waits whole seconds, 5 more
// per slow_down, with no way to test it without waiting; and what is needed
// here is four form posts to a token endpoint (token.go).
//
// It knows nothing about uploading; upload/ takes a TokenSource and calls
// Login on each new connection, so a long upload that reconnects gets a
// fresh token on its own.
//
// docs/oauth.md tells users and support desks how to register a client
// with Microsoft and Google.
package oauth
