// Package repocheck holds tests of the repository itself, not of a
// package's behaviour. TestCitations keeps the code self-contained: the
// knowledge the code relies on lives in the repository (docs/, package
// docs), so comments, tests, scripts and docs may cite those, RFCs,
// specifications and other projects' public URLs, but never the team's
// notes kept outside the repository nor our own ticket numbers, which a
// reader of the repository cannot follow. TestDocReferences checks that
// every reference from code into docs/ ("docs/mbox.md, From_ lines") names
// a page and a section heading that exist.
//
// The package has no code of its own; `go test ./internal/repocheck` runs
// the checks.
package repocheck
