package fakeimap

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"
)

// Behaviour is how a Server misbehaves; make one with the functions
// below. Name says what it does in one line.
type Behaviour struct {
	Name string

	noGreeting bool
	extraCaps  []string // added to every capability list
	// command sees each client command first; true means it answered the
	// command itself (the honest server never sees it).
	command func(p *conn, c *command) bool
	// literal sees each APPEND literal (and may change its bytes).
	literal func(p *conn, c *command, data []byte) literalAction
	// response sees each response of the honest server; true means it
	// sent or dropped it itself.
	response func(p *conn, r *response) bool
}

// NastyText is a server text with what a terminal or a log must never get
// raw: escape sequences (colour, window title, screen clear), CR, NUL, a
// bell, and an LF that ends the line early (the rest arrives as a line of
// its own).
const NastyText = "refused \x1b[31mred\x1b[0m \x1b]0;owned\x07 \x1b[2J cr\rnul\x00 bell\x07 lf\nafter the line end"

// Honest does not misbehave: use it for a plaintext server where imaps://
// points (Start) or a TLS server where plain IMAP is expected (StartTLS).
func Honest() Behaviour { return Behaviour{Name: "honest"} }

// PoisonBye answers BYE right after the whole literal of every APPEND
// whose message contains poison; stored says whether the server stored the
// message first (the BYE then replaces the tagged OK) or never did.
func PoisonBye(poison string, stored bool) Behaviour {
	return poisonBehaviour(poison, stored, true)
}

// PoisonCrash drops the connection (no BYE) right after the whole literal
// of every APPEND whose message contains poison, as a server process that
// crashes; stored as for PoisonBye.
func PoisonCrash(poison string, stored bool) Behaviour {
	return poisonBehaviour(poison, stored, false)
}

func poisonBehaviour(poison string, stored, bye bool) Behaviour {
	act := map[[2]bool]literalAction{{false, true}: dropThenBye, {false, false}: dropThenClose,
		{true, true}: storeThenBye, {true, false}: storeThenClose}[[2]bool{stored, bye}]
	return Behaviour{
		Name: fmt.Sprintf("poison APPEND (stored %v, BYE %v)", stored, bye),
		literal: func(p *conn, c *command, data []byte) literalAction {
			if bytes.Contains(data, []byte(poison)) {
				return act
			}
			return forward
		},
	}
}

// MalformedTagged replaces the tagged answer to every command named
// cmdName (e.g. "APPEND", "LOGIN", "UID FETCH") with line, "{tag}" in it
// standing for the tag: e.g. "{tag} OK [APPENDUID 38505" (an unterminated
// code), "{tag}OK done" (no space), "{tag} MAYBE done" (no such status),
// "{tag} OK [APPENDUID x y] done" (a bad code argument).
func MalformedTagged(cmdName, line string) Behaviour {
	return Behaviour{
		Name: "malformed tagged answer to " + cmdName + ": " + line,
		response: func(p *conn, r *response) bool {
			if r.cmd != strings.ToUpper(cmdName) {
				return false
			}
			p.s.hit()
			_ = p.writeString(strings.ReplaceAll(line, "{tag}", r.tag) + "\r\n")
			return true
		},
	}
}

// HugeLine answers every command named cmdName with an untagged "* OK "
// line of size bytes of 'x', streamed at rate bytes per second (0: as fast
// as the client reads), then the tagged OK if it ever ends.
func HugeLine(cmdName string, size, rate int64) Behaviour {
	return answer("response line of "+fmt.Sprint(size)+" bytes to "+cmdName, cmdName, func(p *conn, c *command) error {
		if err := p.writeString("* OK "); err != nil {
			return err
		}
		if err := p.send(repeat("x", size), rate); err != nil {
			return err
		}
		return p.writeString("\r\n" + c.tag + " OK done\r\n")
	})
}

// HugeFolderName answers LIST with one folder whose name is size bytes,
// as a quoted string (literal false) or a literal, streamed at rate bytes
// per second, then the tagged OK if it ever ends.
func HugeFolderName(size, rate int64, literal bool) Behaviour {
	return answer(fmt.Sprintf("LIST with a folder name of %d bytes (literal %v)", size, literal), "LIST", func(p *conn, c *command) error {
		head, tail := `* LIST () "/" "`, `"`
		if literal {
			head, tail = fmt.Sprintf("* LIST () \"/\" {%d}\r\n", size), ""
		}
		if err := p.writeString(head); err != nil {
			return err
		}
		if err := p.send(repeat("a", size), rate); err != nil {
			return err
		}
		return p.writeString(tail + "\r\n" + c.tag + " OK LIST done\r\n")
	})
}

// HugeLiteral answers FETCH (and UID FETCH) with a response announcing a
// literal of size bytes, then sends nothing more and keeps the connection
// open.
func HugeLiteral(size uint64) Behaviour {
	return answer(fmt.Sprintf("FETCH answer announcing a literal of %d bytes, then silence", size), "FETCH", func(p *conn, c *command) error {
		if err := p.writeString(fmt.Sprintf("* 1 FETCH (UID 1 RFC822.SIZE 100 BODY[HEADER] {%d}\r\nFrom: a\r\n", size)); err != nil {
			return err
		}
		p.hold()
		return nil
	})
}

// DeepNesting answers FETCH (and UID FETCH) with a BODYSTRUCTURE nested
// depth parentheses deep, then closes them and sends the tagged OK.
func DeepNesting(depth int64) Behaviour {
	return answer(fmt.Sprintf("FETCH answer nested %d parentheses deep", depth), "FETCH", func(p *conn, c *command) error {
		if err := p.writeString("* 1 FETCH (UID 1 BODYSTRUCTURE "); err != nil {
			return err
		}
		if err := p.send(io.MultiReader(repeat("(", depth), repeat(")", depth)), 0); err != nil {
			return err
		}
		return p.writeString(")\r\n" + c.tag + " OK FETCH done\r\n")
	})
}

// Keepalive answers every command named cmdName (after reading its
// literals) with "* OK Still here" every interval, forever: the tagged
// answer never comes.
func Keepalive(cmdName string, every time.Duration) Behaviour {
	return answer("\"* OK\" every "+every.String()+" while "+cmdName+" never completes", cmdName, func(p *conn, c *command) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := p.writeString("* OK Still here\r\n"); err != nil {
					return err
				}
			case <-p.s.ctx.Done():
				return p.s.ctx.Err()
			}
		}
	})
}

// SlowHeader answers FETCH (and UID FETCH) with a BODY[HEADER] literal of
// size bytes of header lines, streamed at rate bytes per second (a 2 GB
// header at 1 MB/s: SlowHeader(2<<30, 1<<20)).
func SlowHeader(size, rate int64) Behaviour {
	return answer(fmt.Sprintf("FETCH answer with a header of %d bytes at %d bytes/s", size, rate), "FETCH", func(p *conn, c *command) error {
		if err := p.writeString(fmt.Sprintf("* 1 FETCH (UID 1 RFC822.SIZE %d BODY[HEADER] {%d}\r\n", size+2, size)); err != nil {
			return err
		}
		line := "X-Filler: " + strings.Repeat("a", 68) + "\r\n"
		if err := p.send(repeat(line, size), rate); err != nil {
			return err
		}
		return p.writeString(")\r\n" + c.tag + " OK FETCH done\r\n")
	})
}

// InvalidUTF7Names are folder names that are not valid modified UTF-7: an
// unterminated run, printable ASCII encoded, a lone surrogate, an odd
// number of bytes, a raw 8-bit byte.
var InvalidUTF7Names = []string{"&Jjo", "&AGE-", "&2D0-", "&ZeV-", "caf\xe9"}

// BadUTF7 adds folders with these raw names (InvalidUTF7Names when none
// are given) to every LIST answer.
func BadUTF7(names ...string) Behaviour {
	if len(names) == 0 {
		names = InvalidUTF7Names
	}
	return Behaviour{
		Name: "LIST answers with invalid modified UTF-7 names",
		response: func(p *conn, r *response) bool {
			if r.cmd != "LIST" || !bytes.HasPrefix(r.raw, []byte(r.tag+" OK")) {
				return false
			}
			p.s.hit()
			var b strings.Builder
			for _, n := range names {
				fmt.Fprintf(&b, "* LIST (\\HasNoChildren) \"/\" \"%s\"\r\n", n)
			}
			_ = p.writeString(b.String())
			_ = p.write(r.raw)
			return true
		},
	}
}

// LyingPrescan hides the first hide messages from the answer to a FETCH
// or UID FETCH that asks for RFC822.SIZE (the pre-scan), while SELECT and
// STATUS still count them.
func LyingPrescan(hide int) Behaviour {
	return Behaviour{
		Name: fmt.Sprintf("pre-scan FETCH hides %d messages", hide),
		command: func(p *conn, c *command) bool {
			if (c.name == "FETCH" || c.name == "UID FETCH") && bytes.Contains(bytes.ToUpper(c.line), []byte("RFC822.SIZE")) {
				p.mu.Lock()
				p.lying = hide
				p.mu.Unlock()
			}
			return false
		},
		response: func(p *conn, r *response) bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			if r.cmd == "FETCH" || r.cmd == "UID FETCH" {
				p.lying = 0
				return false
			}
			if p.lying > 0 && r.tag == "*" && bytes.Contains(r.raw[:min(len(r.raw), 40)], []byte(" FETCH (")) {
				p.lying--
				p.s.hit()
				return true
			}
			return false
		},
	}
}

// FlipBodyByte stores every APPENDed message with the first byte of its
// body (after the empty line ending the header) changed: same size, same
// header, a different body. A message without a body is stored as sent.
func FlipBodyByte() Behaviour {
	return Behaviour{
		Name: "server changes one byte of each body (same size)",
		literal: func(p *conn, c *command, data []byte) literalAction {
			if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 && i+4 < len(data) {
				data[i+4] ^= 0x01
				p.s.hit()
			}
			return forward
		},
	}
}

// ControlText answers every command named cmdName (e.g. "LOGIN",
// "APPEND") with "NO " and text sent raw (NastyText when empty): escape
// sequences, CR, LF and NUL as they are.
func ControlText(cmdName, text string) Behaviour {
	if text == "" {
		text = NastyText
	}
	return answer("NO with control characters to "+cmdName, cmdName, func(p *conn, c *command) error {
		return p.writeString(c.tag + " NO " + text + "\r\n")
	})
}

// StartTLSRefused announces STARTTLS and answers it with "NO " and text
// sent raw (NastyText when empty).
func StartTLSRefused(text string) Behaviour {
	b := ControlText("STARTTLS", text)
	b.Name = "STARTTLS announced and refused with control characters"
	b.extraCaps = []string{"STARTTLS"}
	return b
}

// NoGreeting accepts connections and never sends a byte.
func NoGreeting() Behaviour {
	return Behaviour{Name: "greeting never comes", noGreeting: true}
}

// answer makes a Behaviour that answers every command named cmdName (UID
// variants included for FETCH) itself with f, after reading the rest of
// the command.
func answer(name, cmdName string, f func(p *conn, c *command) error) Behaviour {
	cmdName = strings.ToUpper(cmdName)
	return Behaviour{
		Name: name,
		command: func(p *conn, c *command) bool {
			if c.name != cmdName && c.name != "UID "+cmdName {
				return false
			}
			p.s.hit()
			if err := p.swallow(c); err != nil {
				p.end()
				return true
			}
			if err := f(p, c); err != nil {
				p.end()
			}
			return true
		},
	}
}
