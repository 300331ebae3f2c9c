package couriertest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// envFile is a configuration file in Courier's format: shell variable
// assignments (NAME=value, NAME="value with $OTHER"), which Debian's init
// scripts source with `set -a` to make the imapd environment.
type envFile struct {
	names  []string // in order of first assignment
	values map[string]string
}

var assignRE = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// parseEnvFile reads path into env (later assignments override earlier
// ones). It understands what Courier's files use: comments, empty lines,
// unquoted, single-quoted and double-quoted values, and $NAME or ${NAME}
// references (expanded from env, unset names to "") in unquoted and
// double-quoted values. Anything else is an error rather than a guess.
func (env *envFile) parseEnvFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := assignRE.FindStringSubmatch(line)
		if m == nil {
			return fmt.Errorf("%s:%d: not a NAME=value line: %q", path, n, line)
		}
		value, err := env.shellValue(m[2])
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		env.set(m[1], value)
	}
	return sc.Err()
}

func (env *envFile) set(name, value string) {
	if env.values == nil {
		env.values = map[string]string{}
	}
	if _, ok := env.values[name]; !ok {
		env.names = append(env.names, name)
	}
	env.values[name] = value
}

// shellValue evaluates the right-hand side of an assignment.
func (env *envFile) shellValue(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated single quote in %q", s)
			}
			b.WriteString(s[i+1 : i+1+end])
			i += end + 2
		case c == '"':
			i++
			for {
				if i >= len(s) {
					return "", fmt.Errorf("unterminated double quote in %q", s)
				}
				if s[i] == '"' {
					i++
					break
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0 {
					b.WriteByte(s[i+1])
					i += 2
					continue
				}
				if s[i] == '`' || strings.HasPrefix(s[i:], "$(") {
					return "", fmt.Errorf("command substitution in %q", s)
				}
				if s[i] == '$' {
					i += env.expand(s[i:], &b)
					continue
				}
				b.WriteByte(s[i])
				i++
			}
		case strings.HasPrefix(s[i:], "$("):
			return "", fmt.Errorf("command substitution in %q", s)
		case c == '$':
			i += env.expand(s[i:], &b)
		case c == ' ' || c == '\t':
			// The end of the value; only a comment may follow.
			if rest := strings.TrimSpace(s[i:]); rest != "" && !strings.HasPrefix(rest, "#") {
				return "", fmt.Errorf("more than one word in %q", s)
			}
			return b.String(), nil
		case strings.IndexByte("`\\;&|()<>", c) >= 0:
			return "", fmt.Errorf("shell syntax %q in %q", c, s)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

var refRE = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expand writes the value of the reference at the start of s ("$NAME" or
// "${NAME}") and returns how many bytes it took; a "$" that starts no
// reference is written as it is.
func (env *envFile) expand(s string, b *strings.Builder) int {
	m := refRE.FindStringSubmatch(s)
	if m == nil {
		b.WriteByte('$')
		return 1
	}
	name := m[1] + m[2]
	b.WriteString(env.values[name])
	return len(m[0])
}

// environ returns the variables as NAME=value entries, in order of first
// assignment.
func (env *envFile) environ() []string {
	out := make([]string, 0, len(env.names))
	for _, n := range env.names {
		out = append(out, n+"="+env.values[n])
	}
	return out
}

// clone returns an independent copy.
func (env *envFile) clone() *envFile {
	c := &envFile{names: append([]string(nil), env.names...), values: make(map[string]string, len(env.values))}
	for k, v := range env.values {
		c.values[k] = v
	}
	return c
}
