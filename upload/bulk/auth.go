package bulk

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
)

// Authenticate authenticates with a SASL mechanism (RFC 3501 section
// 6.2.2): the initial response goes with the command where the server
// offers SASL-IR (RFC 4959), else as the answer to the first "+"; every
// further challenge goes to mech.Next and its response back to the
// server. That includes a challenge the server sends to report a failure
// (XOAUTH2 and OAUTHBEARER send a base64 JSON error and wait for an empty
// or dummy response before their NO): the mechanism decides what to
// answer. When mech.Next returns an error and no response, the exchange is
// cancelled ("*"); with an error and a response, the response is sent (the
// dummy answer to an error challenge). Either way the mechanism's error is
// returned once the server has answered. Else a *StatusError is the
// server's refusal.
//
// Then, as Login, it learns the capabilities of the authenticated state
// and turns COMPRESS on where offered (unless Options.NoCompress). A
// context that ends in the middle of the exchange ends the connection.
func (c *Client) Authenticate(ctx context.Context, mech sasl.Client) error {
	if len(c.Caps()) == 0 {
		if _, err := c.simple(ctx, "CAPABILITY", "CAPABILITY"); err != nil {
			return err
		}
	}
	name, ir, err := mech.Start()
	if err != nil {
		return fmt.Errorf("AUTHENTICATE: %w", err)
	}
	if name == "" || !validTag(name) {
		return fmt.Errorf("AUTHENTICATE: mechanism name %q is not an atom", name)
	}
	line := "AUTHENTICATE " + name
	if ir != nil && c.Has("SASL-IR") {
		line += " " + encodeSASL(ir)
		ir = nil
	}
	cmd := &Command{op: "AUTHENTICATE", done: make(chan struct{}), Atomic: true}
	var mechErr error
	err = c.write(ctx, cmd, func() error {
		for {
			c.bw.WriteString(line)
			c.bw.WriteString("\r\n")
			// The exchange ends with the tagged answer (errAnswered);
			// write then adds no line of its own.
			text, err := c.waitContinuation(ctx, cmd)
			if err != nil {
				return err
			}
			var resp []byte
			switch {
			case ir != nil:
				// No SASL-IR: the initial response answers the first,
				// empty, challenge.
				resp, ir = ir, nil
			default:
				challenge, derr := base64.StdEncoding.DecodeString(text)
				if derr != nil {
					mechErr = fmt.Errorf("%w: challenge is not base64: %v", ErrProtocol, derr)
					line = "*"
					continue
				}
				resp, err = mech.Next(challenge)
				if err != nil {
					mechErr = err
					if resp == nil {
						line = "*"
						continue
					}
				}
			}
			line = encodeSASL(resp)
			if len(resp) == 0 {
				line = "" // an empty response is an empty line
			}
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if _, err := cmd.Wait(ctx); err != nil {
		if mechErr != nil {
			return fmt.Errorf("AUTHENTICATE %s: %w", name, mechErr)
		}
		return err
	}
	if mechErr != nil {
		// The server accepted although the mechanism gave up.
		return fmt.Errorf("AUTHENTICATE %s: %w", name, errors.Join(mechErr, ErrProtocol))
	}
	return c.afterAuth(ctx, cmd.resp)
}

// encodeSASL is the base64 of a SASL response; "=" for an empty initial
// response (RFC 4959).
func encodeSASL(b []byte) string {
	if len(b) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(b)
}
