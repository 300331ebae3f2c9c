package oauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// toolTimeout bounds a keychain command: the keychain may ask the user to
// unlock it.
const toolTimeout = 2 * time.Minute

// toolResult is what a keychain command did. stdout may hold a secret and
// is never put into an error.
type toolResult struct {
	stdout []byte
	stderr string
	code   int // exit status; -1 when it did not run to an end
}

// runTool runs a keychain command found in PATH. The secret, if any, goes
// through stdin, never argv.
func runTool(name string, args []string, stdin []byte) (toolResult, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return toolResult{code: -1}, fmt.Errorf("%s: %w", name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limitedWriter{w: &out, n: maxResponse}, &limitedWriter{w: &errb, n: 4096}
	err = cmd.Run()
	res := toolResult{stdout: out.Bytes(), stderr: oneLine(errb.String()), code: -1}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s did not finish within %v", name, toolTimeout)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
		return res, nil
	case err != nil:
		return res, fmt.Errorf("run %s: %w", name, err)
	}
	res.code = 0
	return res, nil
}

func (r toolResult) failure(what string) error {
	if r.stderr != "" {
		return fmt.Errorf("%s: exit status %d: %s", what, r.code, r.stderr)
	}
	return fmt.Errorf("%s: exit status %d", what, r.code)
}

// MacKeychain keeps records in the user's default macOS keychain as
// generic passwords (service "mailferry", account the address), through
// /usr/bin/security. security takes a new password only as an argument
// (-w), so it is run in interactive mode (security -i) and the command
// line with the password is written to its standard input: the secret is
// in no process's argv. The value is base64url, which security's line
// parser takes without quoting; its lines are limited to 4096 bytes.
type MacKeychain struct{}

// Where names the keychain.
func (MacKeychain) Where() string { return "the macOS Keychain" }

// macItemNotFound is errSecItemNotFound (-25300) as security's exit
// status.
const macItemNotFound = 44

// macMaxLine is the longest line security -i reads (MAX_LINE_LEN in
// SecurityTool/security.c is 4096, with the terminating NUL).
const macMaxLine = 4095

// Save stores r.
func (MacKeychain) Save(r *Record) error {
	a, err := accountKey(r.Account)
	if err != nil {
		return err
	}
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("add-generic-password -U -s %s -a \"%s\" -l \"mailferry sign-in %s\" -w %s\n",
		keychainService, a, a, base64.RawURLEncoding.EncodeToString(b))
	if len(line) > macMaxLine {
		return fmt.Errorf("the sign-in is too large for the macOS keychain's command line (%d bytes, at most %d)", len(line), macMaxLine)
	}
	res, err := runTool("security", []string{"-i"}, []byte(line))
	if err != nil {
		return fmt.Errorf("store the sign-in in the macOS Keychain: %w", err)
	}
	// security -i exits with the last command's status and prints
	// "add-generic-password: returned N" when it failed.
	if res.code != 0 || strings.Contains(res.stderr, ": returned ") {
		return res.failure("store the sign-in in the macOS Keychain")
	}
	return nil
}

// Load reads account's record.
func (MacKeychain) Load(account string) (*Record, error) {
	a, err := accountKey(account)
	if err != nil {
		return nil, err
	}
	res, err := runTool("security", []string{"find-generic-password", "-s", keychainService, "-a", a, "-w"}, nil)
	if err != nil {
		return nil, fmt.Errorf("read the macOS Keychain: %w", err)
	}
	switch res.code {
	case 0:
	case macItemNotFound:
		return nil, fmt.Errorf("%w for %s", ErrNotStored, account)
	default:
		return nil, res.failure("read the macOS Keychain")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(res.stdout)))
	if err != nil {
		return nil, errors.New("the macOS Keychain item of mailferry is damaged; run mailferry logout and sign in again")
	}
	return decodeRecord(b, account)
}

// Delete removes account's item.
func (MacKeychain) Delete(account string) error {
	a, err := accountKey(account)
	if err != nil {
		return err
	}
	res, err := runTool("security", []string{"delete-generic-password", "-s", keychainService, "-a", a}, nil)
	if err != nil {
		return fmt.Errorf("delete from the macOS Keychain: %w", err)
	}
	if res.code != 0 && res.code != macItemNotFound {
		return res.failure("delete from the macOS Keychain")
	}
	return nil
}

// SecretService keeps records in the freedesktop.org Secret Service
// (GNOME Keyring, KWallet) through libsecret's secret-tool, with the
// attributes service=mailferry and account=<address>. secret-tool store
// reads the secret from standard input when that is not a terminal, so the
// secret is in no argv.
type SecretService struct{}

// Where names the keyring.
func (SecretService) Where() string { return "the Secret Service keyring (secret-tool)" }

// Save stores r.
func (SecretService) Save(r *Record) error {
	a, err := accountKey(r.Account)
	if err != nil {
		return err
	}
	b, err := encodeRecord(r)
	if err != nil {
		return err
	}
	res, err := runTool("secret-tool", []string{"store", "--label=mailferry sign-in " + a, "service", keychainService, "account", a}, b)
	if err != nil {
		return fmt.Errorf("store the sign-in with secret-tool: %w", err)
	}
	if res.code != 0 {
		return res.failure("store the sign-in with secret-tool")
	}
	return nil
}

// Load reads account's record. secret-tool lookup exits 1 without output
// when nothing matches.
func (SecretService) Load(account string) (*Record, error) {
	a, err := accountKey(account)
	if err != nil {
		return nil, err
	}
	res, err := runTool("secret-tool", []string{"lookup", "service", keychainService, "account", a}, nil)
	if err != nil {
		return nil, fmt.Errorf("read with secret-tool: %w", err)
	}
	switch {
	case res.code == 0 && len(bytes.TrimSpace(res.stdout)) > 0:
	case res.code == 0 || res.code == 1 && res.stderr == "":
		return nil, fmt.Errorf("%w for %s", ErrNotStored, account)
	default:
		return nil, res.failure("read with secret-tool")
	}
	return decodeRecord(bytes.TrimSpace(res.stdout), account)
}

// Delete removes account's item.
func (SecretService) Delete(account string) error {
	a, err := accountKey(account)
	if err != nil {
		return err
	}
	res, err := runTool("secret-tool", []string{"clear", "service", keychainService, "account", a}, nil)
	if err != nil {
		return fmt.Errorf("delete with secret-tool: %w", err)
	}
	if res.code != 0 && !(res.code == 1 && res.stderr == "") {
		return res.failure("delete with secret-tool")
	}
	return nil
}
