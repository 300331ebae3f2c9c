package repocheck

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailferry/internal/testutil"
)

// A citation rule: a pattern a reader of the repository cannot follow, and
// what to write instead. The patterns are written so that this file does
// not match them itself.
type rule struct {
	re *regexp.Regexp
	// allowed, when set, excuses a match given the text after it.
	allowed func(rest string) bool
	advice  string
}

var rules = []rule{
	{
		re:     regexp.MustCompile(`\b(FORMATS|DOVECOT-TESTING|ARCHITECTURE|STYLE)\.md\b`),
		advice: "a team document outside the repository: write the fact down in docs/ or the package doc and point there (\"docs/mbox.md, From_ lines\")",
	},
	{
		re: regexp.MustCompile(`(\.\./|/work/)+shared/`),
		// Tests read the real-world corpus there (testutil.Corpus).
		allowed: func(rest string) bool { return strings.HasPrefix(rest, "corpus") },
		advice:  "a path outside the repository: only the test corpus may be named there; cite docs/ instead",
	},
	{
		re:     regexp.MustCompile(`(?i)\bissues?\s+#?[0-9]+`),
		advice: "an issue number means nothing to a reader: say what it asked for; cite another project's report by its URL",
	},
}

// violation is one broken rule: where in the text, and what to do.
type violation struct {
	offset int
	msg    string
}

// violations returns every place where text breaks a rule.
func violations(text string) []violation {
	var out []violation
	for _, r := range rules {
		for _, loc := range r.re.FindAllStringIndex(text, -1) {
			if r.allowed != nil && r.allowed(text[loc[1]:]) {
				continue
			}
			out = append(out, violation{loc[0], strings.TrimSpace(text[loc[0]:loc[1]]) + ": " + r.advice})
		}
	}
	return out
}

func TestViolations(t *testing.T) {
	doc := "FORMATS" + ".md"
	tests := []struct {
		name, line string
		want       int
	}{
		{"team document with section", "// the flags (" + doc + " 1.7)", 1},
		{"team document bare", "see " + doc, 1},
		{"dovecot notes", "# as DOVECOT-TESTING" + ".md says", 1},
		{"style guide", "// STYLE" + ".md would put it elsewhere", 1},
		{"shared path", `"../sha` + `red/notes.txt"`, 1},
		{"shared corpus", `testutil.Corpus(t, "x") // ../shared/corpus/mbox`, 0},
		{"issue number", "// Issue " + "4: upload works", 1},
		{"issue with hash", "// (pec issue #" + "5)", 1},
		{"issues plural", "// cyrus-imapd issues " + "2264 and 5121", 1},
		{"issue URL", "// https://github.com/qqilihq/partial-emlx-converter/issues/" + "5", 0},
		{"corpus file name", `"mimekit/issue` + `1189.mbox.txt"`, 0},
		{"docs reference", "// (docs/thunderbird.md, Folder-name hashing)", 0},
		{"word issue", "// the issue is that", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := violations(tt.line); len(got) != tt.want {
				t.Errorf("violations(%q) = %+v, want %d", tt.line, got, tt.want)
			}
		})
	}
}

// TestCitations reads the repository's Go files, shell scripts, Makefile
// and Markdown files and fails on every citation a reader cannot follow.
// Fixtures under testdata/ are data, not prose, and are not read (their
// README.md files are).
func TestCitations(t *testing.T) {
	root := testutil.ProjectRoot(t)
	checked := 0
	prose := func(rel string) bool { return !inTestdata(rel) || filepath.Base(rel) == "README.md" }
	walkRepo(t, root, prose, func(rel string, data []byte) {
		if !isChecked(rel, data) {
			return
		}
		checked++
		text := string(data)
		for _, v := range violations(text) {
			t.Errorf("%s:%d: %s", rel, 1+strings.Count(text[:v.offset], "\n"), v.msg)
		}
	})
	if checked < 100 {
		t.Errorf("checked only %d files below %s; the walk is broken", checked, root)
	}
}

// walkRepo calls visit with every regular file of the repository that want
// accepts (its path relative to root, with /, and its contents), leaving
// out hidden directories other than .ci, and dist/.
func walkRepo(t *testing.T, root string, want func(rel string) bool, visit func(rel string, data []byte)) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "dist" || strings.HasPrefix(name, ".") && name != ".ci") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !want(rel) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		visit(rel, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func inTestdata(rel string) bool {
	return strings.HasPrefix(rel, "testdata/") || strings.Contains(rel, "/testdata/")
}

// isChecked says whether a file is source or prose: Go, shell, Markdown,
// the Makefile, the CI scripts, and any other script with a #! line.
func isChecked(rel string, data []byte) bool {
	switch filepath.Ext(rel) {
	case ".go", ".sh", ".md":
		return true
	}
	base := filepath.Base(rel)
	return base == "Makefile" || strings.HasPrefix(rel, ".ci/") || bytes.HasPrefix(data, []byte("#!"))
}

// docRef is a reference into docs/ as code comments write it:
// "docs/mbox.md" or "docs/mbox.md, From_ lines" (not part of a URL or of
// another path).
var docRef = regexp.MustCompile(`(?:^|[^\w/.-])docs/([a-z0-9-]+\.md)(,\s*)?`)

// TestDocReferences checks that every reference from Go code and scripts
// into docs/ names a page that exists and, when it names a section, a
// section heading of that page, so that renaming a section cannot leave
// comments pointing nowhere. A section name may continue on the next
// comment line.
func TestDocReferences(t *testing.T) {
	root := testutil.ProjectRoot(t)
	headings := map[string][]string{} // page → its "## " headings
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, line := range strings.Split(string(data), "\n") {
			if h, ok := strings.CutPrefix(line, "## "); ok {
				hs = append(hs, strings.TrimSpace(h))
			}
		}
		headings[filepath.Base(p)] = hs
	}
	refs := 0
	code := func(rel string) bool {
		ext := filepath.Ext(rel)
		return !inTestdata(rel) && (ext == ".go" || ext == ".sh")
	}
	walkRepo(t, root, code, func(rel string, data []byte) {
		lines := strings.Split(string(data), "\n")
		for i, line := range lines {
			for _, m := range docRef.FindAllStringSubmatchIndex(line, -1) {
				refs++
				page := line[m[2]:m[3]]
				hs, ok := headings[page]
				if !ok {
					t.Errorf("%s:%d: docs/%s does not exist", rel, i+1, page)
					continue
				}
				if m[4] < 0 {
					continue // the page as a whole
				}
				rest := commentText(line[m[1]:])
				if rest == "" && i+1 < len(lines) {
					rest = commentText(lines[i+1])
				}
				if !startsWithHeading(rest, hs) {
					t.Errorf("%s:%d: %q names no section of docs/%s (sections: %q)", rel, i+1, rest, page, hs)
				}
			}
		}
	})
	if refs == 0 {
		t.Error("found no references into docs/; the walk is broken")
	}
}

// commentText is a line without its comment marker and surrounding space.
func commentText(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "//")
	s = strings.TrimPrefix(s, "#")
	return strings.TrimSpace(s)
}

func startsWithHeading(s string, headings []string) bool {
	for _, h := range headings {
		if strings.HasPrefix(s, h) {
			return true
		}
	}
	return false
}

func TestDocRefPattern(t *testing.T) {
	tests := []struct {
		line, page, section string // page "" means no match
	}{
		{"// (docs/mbox.md, From_ lines)", "mbox.md", "From_ lines)"},
		{"docs/eml.md has the rest", "eml.md", ""},
		{"// see docs/thunderbird" + ".md,", "thunderbird.md", ""},
		{"// https://example.com/docs/api.md, v2", "", ""},
		{"// other/docs/x.md", "", ""},
	}
	for _, tt := range tests {
		m := docRef.FindStringSubmatchIndex(tt.line)
		switch {
		case m == nil && tt.page != "":
			t.Errorf("docRef in %q: no match, want page %q", tt.line, tt.page)
		case m != nil && tt.page == "":
			t.Errorf("docRef in %q: matched %q, want none", tt.line, tt.line[m[0]:m[1]])
		case m != nil:
			page, section := tt.line[m[2]:m[3]], ""
			if m[4] >= 0 {
				section = tt.line[m[1]:]
			}
			if page != tt.page || section != tt.section {
				t.Errorf("docRef in %q: page %q, section %q; want %q, %q", tt.line, page, section, tt.page, tt.section)
			}
		}
	}
}
