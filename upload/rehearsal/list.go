package rehearsal

import (
	"strings"
)

// cmdList answers LIST (RFC 3501, with the RFC 5258 extended syntax:
// selection options, several patterns, RETURN options) and LSUB.
func (s *session) cmdList(c *cmd) (string, error) {
	lsub := c.name == "LSUB"
	var selSubscribed, selSpecial bool
	retSubscribed, retSpecial, retChildren := lsub, false, false
	var retStatus []string
	if err := c.sp(); err != nil {
		return "", err
	}
	if c.peek() == '(' && !lsub {
		if err := c.list(func() error {
			switch strings.ToUpper(c.atom()) {
			case "SUBSCRIBED":
				selSubscribed, retSubscribed = true, true
			case "SPECIAL-USE":
				selSpecial, retSpecial = true, true
			case "REMOTE", "RECURSIVEMATCH":
			default:
				return bad("Unknown LIST selection option")
			}
			return nil
		}); err != nil {
			return "", err
		}
		if err := c.sp(); err != nil {
			return "", err
		}
	}
	ref, err := c.mailbox()
	if err != nil {
		return "", err
	}
	if err := c.sp(); err != nil {
		return "", err
	}
	var patterns []string
	pattern := func() error {
		p, err := c.listMailbox()
		if err == nil {
			patterns = append(patterns, p)
		}
		return err
	}
	if c.peek() == '(' && !lsub {
		err = c.list(pattern)
	} else {
		err = pattern()
	}
	if err != nil {
		return "", err
	}
	if c.peek() == ' ' && !lsub {
		c.pos++
		if !strings.EqualFold(c.atom(), "RETURN") {
			return "", bad("Syntax error: expected RETURN")
		}
		if err := c.sp(); err != nil {
			return "", err
		}
		if err := c.list(func() error {
			switch strings.ToUpper(c.atom()) {
			case "SUBSCRIBED":
				retSubscribed = true
			case "SPECIAL-USE":
				retSpecial = true
			case "CHILDREN":
				retChildren = true
			case "STATUS":
				if err := c.sp(); err != nil {
					return err
				}
				return c.list(func() error {
					retStatus = append(retStatus, strings.ToUpper(c.atom()))
					return nil
				})
			default:
				return bad("Unknown LIST return option")
			}
			return nil
		}); err != nil {
			return "", err
		}
	}
	if err := c.end(); err != nil {
		return "", err
	}
	word := c.name
	if len(patterns) == 1 && patterns[0] == "" {
		// LIST "" "": the delimiter and the root.
		s.w.untagged(`%s (\Noselect) %s ""`, word, quote(string(s.a.delim)))
		return word + " completed", nil
	}
	o := &s.srv.opts
	for _, name := range s.a.names() {
		if !s.matchAny(name, ref, patterns) {
			continue
		}
		mb := s.a.mailbox(name)
		if mb == nil {
			continue
		}
		mb.mu.Lock()
		subscribed := mb.subscribed
		mb.mu.Unlock()
		if (selSubscribed || lsub) && !subscribed {
			continue
		}
		special := mb.attr
		if o.SpecialUseLower {
			special = strings.ToLower(special)
		}
		if selSpecial && special == "" {
			continue
		}
		var attrs []string
		if mb.noSelect {
			attrs = append(attrs, `\Noselect`)
		}
		if o.Children || retChildren {
			if s.a.hasChildren(name) {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
		}
		if retSubscribed && subscribed && !lsub {
			attrs = append(attrs, `\Subscribed`)
		}
		// SPECIAL-USE servers show the attributes in a plain LIST too, as
		// Dovecot and Gmail do.
		if special != "" && (o.SpecialUse || retSpecial) {
			attrs = append(attrs, special)
		}
		s.w.untagged("%s (%s) %s %s", word, strings.Join(attrs, " "), quote(string(s.a.delim)), quote(s.encode(name)))
		if len(retStatus) > 0 && !mb.noSelect {
			if st, err := s.status(mb, retStatus); err == nil {
				s.w.untagged("STATUS %s (%s)", quote(s.encode(name)), st)
			}
		}
	}
	return word + " completed", nil
}

// listMailbox reads a LIST pattern: a string, or an atom that may hold the
// wildcards % and *.
func (c *cmd) listMailbox() (string, error) {
	var raw string
	if c.peek() == '"' || c.atLiteral() {
		var err error
		if raw, err = c.astring(); err != nil {
			return "", err
		}
	} else {
		start := c.pos
		for c.pos < len(c.line) {
			b := c.line[c.pos]
			if !isAtomChar(b) && b != '%' && b != '*' && b != ']' {
				break
			}
			c.pos++
		}
		if c.pos == start {
			return "", bad("Syntax error: expected a mailbox pattern")
		}
		raw = string(c.line[start:c.pos])
	}
	if c.s.utf8 {
		return raw, nil
	}
	p, err := decodeMailbox(raw)
	if err != nil {
		return "", bad("Mailbox pattern is not valid modified UTF-7")
	}
	return p, nil
}

// matchAny reports whether a folder name matches reference plus one of
// the patterns (RFC 3501 LIST: "*" matches anything, "%" anything but the
// delimiter; INBOX matches in any case).
func (s *session) matchAny(name, ref string, patterns []string) bool {
	for _, p := range patterns {
		full := ref + p
		// INBOX as the first level of a pattern names INBOX in any case.
		first, rest, sub := strings.Cut(full, string(s.a.delim))
		if strings.EqualFold(first, "INBOX") {
			full = s.a.inbox
			if sub {
				full += string(s.a.delim) + rest
			}
		}
		if match(name, full, s.a.delim) {
			return true
		}
	}
	return false
}

// match matches a name against a pattern in O(len(name)*len(pattern)).
func match(name, pattern string, delim byte) bool {
	// ok[j]: pattern[:i] matches name[:j].
	ok := make([]bool, len(name)+1)
	ok[0] = true
	for i := 0; i < len(pattern); i++ {
		p := pattern[i]
		next := make([]bool, len(name)+1)
		switch p {
		case '*':
			run := false
			for j := 0; j <= len(name); j++ {
				run = run || ok[j]
				next[j] = run
			}
		case '%':
			run := false
			for j := 0; j <= len(name); j++ {
				if j > 0 && name[j-1] == delim {
					run = false
				}
				run = run || ok[j]
				next[j] = run
			}
		default:
			for j := 1; j <= len(name); j++ {
				next[j] = ok[j-1] && name[j-1] == p
			}
		}
		ok = next
	}
	return ok[len(name)]
}
