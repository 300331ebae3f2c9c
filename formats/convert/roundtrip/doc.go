// Package roundtrip holds the conversion round-trip tests: every source
// kind (the in-memory fixture, mbox, Maildir, EML, emlx, Thunderbird) is
// converted into every output format of formats/convert and read back with
// the matching reader. The tests live apart from formats/convert so that
// the writer's own tests do not depend on every reader package.
package roundtrip
