package formats

import (
	"fmt"
	"path"
	"strings"
)

// Selector decides which mailboxes take part, from --include and --exclude
// glob patterns (path.Match syntax: *, ?, [...]). A pattern is matched
// against the folder path as scan shows it ("Local Folders/Archives/2019")
// and against the path without its account ("Archives/2019"); a pattern
// that matches a folder also matches everything below it. With no include
// pattern every mailbox is included; exclude wins over include.
type Selector struct {
	include, exclude []string
}

// NewSelector checks the patterns' syntax.
func NewSelector(include, exclude []string) (*Selector, error) {
	for _, p := range append(append([]string{}, include...), exclude...) {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad folder pattern %q: %w", p, err)
		}
	}
	return &Selector{include: include, exclude: exclude}, nil
}

// Selected reports whether m takes part. A nil Selector selects everything.
func (s *Selector) Selected(m *Mailbox) bool {
	if s == nil {
		return true
	}
	if len(s.include) > 0 && !matchAny(s.include, m) {
		return false
	}
	return !matchAny(s.exclude, m)
}

func matchAny(patterns []string, m *Mailbox) bool {
	for _, p := range patterns {
		if matchTree(p, m.DisplayPath()) || matchTree(p, m.Path.String()) {
			return true
		}
	}
	return false
}

// matchTree matches p against name and each of its ancestors.
func matchTree(p, name string) bool {
	for name != "" {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return false
		}
		name = name[:i]
	}
	return false
}
