package thunderbird

import (
	"bytes"
	"errors"
	"fmt"
)

// A small reader for Mork, the text database of Thunderbird's .msf summary
// files and of panacea.dat (FORMATS.md 1.5). It is written from the grammar
// in Mork's own parser (morkParser.cpp): dictionaries of column names and
// value atoms, rows of cells, tables of rows, and transaction groups
// ("@$${id{@ ... @$$}id}@") that are applied only when committed. It keeps
// what mailferry needs: every row's cells as strings, and which rows each
// table holds. It never panics; a malformed file yields an error.

// morkOID names a row or table: its id within a scope.
type morkOID struct {
	Scope string
	ID    uint64
}

type morkRow struct {
	OID   morkOID
	Cells map[string]string
}

type morkTable struct {
	OID  morkOID
	Kind string
	Rows []morkOID // in order of addition, without removed ones
}

type morkDB struct {
	cols   map[uint64]string
	atoms  map[uint64]string
	rows   map[morkOID]*morkRow
	order  []morkOID // rows in order of first appearance
	tables map[morkOID]*morkTable
	torder []morkOID
}

var errNotMork = errors.New("not a Mork file")

// maxMorkProblems bounds how much garbage the parser skips before it gives up.
const maxMorkProblems = 100

// parseMork parses a whole Mork file.
func parseMork(data []byte) (*morkDB, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(data, "\xef\xbb\xbf \t\r\n"), []byte("// <!-- <mdb:mork")) {
		return nil, errNotMork
	}
	db := &morkDB{
		cols:   map[uint64]string{},
		atoms:  map[uint64]string{},
		rows:   map[morkOID]*morkRow{},
		tables: map[morkOID]*morkTable{},
	}
	p := &morkParser{db: db, b: data}
	if err := p.content(false); err != nil {
		return db, err
	}
	return db, nil
}

type morkParser struct {
	db       *morkDB
	b        []byte
	i        int
	problems int
}

const morkEOF = -1

func (p *morkParser) getc() int {
	if p.i >= len(p.b) {
		p.i = len(p.b) + 1 // so that ungetc after EOF is harmless
		return morkEOF
	}
	c := p.b[p.i]
	p.i++
	return int(c)
}

func (p *morkParser) ungetc() {
	if p.i > 0 && p.i <= len(p.b) {
		p.i--
	}
}

func (p *morkParser) problem(what string) error {
	p.problems++
	if p.problems > maxMorkProblems {
		return fmt.Errorf("mork: too many errors, last at byte %d: %s", p.i, what)
	}
	return nil
}

// eatLineBreak consumes the rest of a CR, LF, CRLF or LFCR line break
// whose first byte c was just read.
func (p *morkParser) eatLineBreak(c int) {
	n := p.getc()
	if (n == '\r' || n == '\n') && n != c {
		return
	}
	if n != morkEOF {
		p.ungetc()
	}
}

// next returns the next byte that is not white space, a comment or a line
// continuation.
func (p *morkParser) next() int {
	for {
		c := p.getc()
		switch c {
		case ' ', '\t', '\f', '\v':
		case '\r', '\n':
			p.eatLineBreak(c)
		case '\\':
			n := p.getc()
			if n == '\r' || n == '\n' {
				p.eatLineBreak(n)
			} else if n != morkEOF {
				p.ungetc()
				return c
			}
		case '/':
			n := p.getc()
			switch n {
			case '/':
				for c = p.getc(); c != morkEOF && c != '\n' && c != '\r'; c = p.getc() {
				}
			case '*':
				depth := 1
				for depth > 0 {
					c = p.getc()
					switch {
					case c == morkEOF:
						return morkEOF
					case c == '*' && p.peek() == '/':
						p.getc()
						depth--
					case c == '/' && p.peek() == '*':
						p.getc()
						depth++
					}
				}
			default:
				if n != morkEOF {
					p.ungetc()
				}
				return '/'
			}
		default:
			return c
		}
	}
}

func (p *morkParser) peek() int {
	if p.i >= len(p.b) {
		return morkEOF
	}
	return int(p.b[p.i])
}

func isHex(c int) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

// readHex reads hex digits starting with first (already read) and returns
// the value; the byte after them is left unread.
func (p *morkParser) readHex(first int) (uint64, bool) {
	if !isHex(first) {
		return 0, false
	}
	v := uint64(hexVal(first))
	for {
		c := p.getc()
		if !isHex(c) {
			if c != morkEOF {
				p.ungetc()
			}
			return v, true
		}
		v = v<<4 | uint64(hexVal(c))
	}
}

func isNameChar(c int) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == ':' || c == '!' || c == '?' || c == '+'
}

// readName reads a naked name whose first byte was just read.
func (p *morkParser) readName() string {
	start := p.i - 1
	for {
		c := p.getc()
		if !isNameChar(c) {
			if c != morkEOF {
				p.ungetc()
			}
			return string(p.b[start:min(p.i, len(p.b))])
		}
	}
}

// colName resolves a column (or scope) token: ids below 0x80 are the
// single characters themselves, others come from the column dictionary.
func (p *morkParser) colName(id uint64) string {
	if id < 0x80 {
		return string(rune(id))
	}
	if s, ok := p.db.cols[id]; ok {
		return s
	}
	return fmt.Sprintf("#%X", id)
}

// readMid reads "hex[:scope]" where scope is "^hex" or a name; the first
// byte is already read.
func (p *morkParser) readMid(first int, defScope string) (morkOID, bool) {
	id, ok := p.readHex(first)
	if !ok {
		return morkOID{}, false
	}
	oid := morkOID{Scope: defScope, ID: id}
	if p.peek() != ':' {
		return oid, true
	}
	p.getc()
	c := p.getc()
	switch {
	case c == '^':
		s, ok := p.readHex(p.getc())
		if !ok {
			return oid, false
		}
		oid.Scope = p.colName(s)
	case isNameChar(c):
		oid.Scope = p.readName()
	default:
		return oid, false
	}
	return oid, true
}

// readValue reads a value after '=' up to the closing ')', undoing the
// escapes: "\" quotes the next byte, "\" before a line break continues the
// line, "$xx" is a byte in hex.
func (p *morkParser) readValue() (string, bool) {
	var out []byte
	for {
		c := p.getc()
		switch c {
		case morkEOF:
			return string(out), false
		case ')':
			return string(out), true
		case '\\':
			n := p.getc()
			switch n {
			case morkEOF:
				return string(out), false
			case '\r', '\n':
				p.eatLineBreak(n)
			default:
				out = append(out, byte(n))
			}
		case '$':
			a, b := p.getc(), p.getc()
			if !isHex(a) || !isHex(b) {
				if a == morkEOF || b == morkEOF {
					return string(out), false
				}
				out = append(out, '$', byte(a), byte(b)) // not an escape after all
				continue
			}
			out = append(out, byte(hexVal(a)<<4|hexVal(b)))
		default:
			out = append(out, byte(c))
		}
	}
}

// content parses top-level items until EOF (or, inside a group, until the
// group's end, which the caller cut off).
func (p *morkParser) content(inGroup bool) error {
	for {
		c := p.next()
		var err error
		switch c {
		case morkEOF:
			return nil
		case '<':
			err = p.dict()
		case '{':
			err = p.table()
		case '[':
			_, err = p.row("", nil)
		case '@':
			if inGroup {
				err = p.problem("nested group")
			} else {
				err = p.group()
			}
		default:
			err = p.problem(fmt.Sprintf("unexpected byte %q", rune(c)))
		}
		if err != nil {
			return err
		}
	}
}

// group handles "@$${id{@ ... @$$}id}@": the content is applied only when
// the group is committed; an aborted ("@$$}~~}@") or unterminated group is
// ignored, as Mork does.
func (p *morkParser) group() error {
	if !bytes.HasPrefix(p.b[min(p.i, len(p.b)):], []byte("$${")) {
		return p.problem("bad group start")
	}
	p.i += 3
	id, ok := p.readHex(p.getc())
	if !ok || p.getc() != '{' || p.getc() != '@' {
		return p.problem("bad group id")
	}
	start := p.i
	rest := p.b[start:]
	end := bytes.Index(rest, []byte("@$$}"))
	if end < 0 {
		p.i = len(p.b) // unterminated: an interrupted write; ignore it
		return nil
	}
	after := rest[end+4:]
	if bytes.HasPrefix(after, []byte("~~}@")) {
		p.i = start + end + 8
		return nil
	}
	n := 0
	var endID uint64
	for n < len(after) && isHex(int(after[n])) {
		endID = endID<<4 | uint64(hexVal(int(after[n])))
		n++
	}
	if n == 0 || endID != id || !bytes.HasPrefix(after[n:], []byte("}@")) {
		p.i = start + end + 4
		return p.problem("group end does not match its start")
	}
	sub := &morkParser{db: p.db, b: p.b[start : start+end], problems: p.problems}
	err := sub.content(true)
	p.problems = sub.problems
	p.i = start + end + 4 + n + 2
	return err
}

// dict parses "<" [meta] (id=value)... ">"; the meta "<(a=c)>" makes it a
// dictionary of column names instead of value atoms.
func (p *morkParser) dict() error {
	scope := "a"
	for {
		c := p.next()
		switch c {
		case morkEOF:
			return nil
		case '>':
			return nil
		case '<':
			cells, err := p.metaCells('>')
			if err != nil {
				return err
			}
			if v, ok := cells["a"]; ok {
				scope = v
			}
		case '(':
			id, ok := p.readHex(p.getc())
			if !ok {
				if err := p.problem("bad alias id"); err != nil {
					return err
				}
				p.skipTo(')')
				continue
			}
			c = p.next()
			if c == '<' { // a dictionary form: <(f=iso-8859-1)>, ignored
				p.skipTo('>')
				c = p.next()
			}
			if c != '=' {
				if err := p.problem("expected '=' in alias"); err != nil {
					return err
				}
				p.skipTo(')')
				continue
			}
			v, ok := p.readValue()
			if !ok {
				return nil
			}
			if scope == "c" {
				p.db.cols[id] = v
			} else {
				p.db.atoms[id] = v
			}
		default:
			if err := p.problem("unexpected byte in dict"); err != nil {
				return err
			}
		}
	}
}

func (p *morkParser) skipTo(end byte) {
	j := bytes.IndexByte(p.b[min(p.i, len(p.b)):], end)
	if j < 0 {
		p.i = len(p.b)
		return
	}
	p.i += j + 1
}

// metaCells reads cells up to end (a meta dict, table or row).
func (p *morkParser) metaCells(end int) (map[string]string, error) {
	cells := map[string]string{}
	for {
		c := p.next()
		switch {
		case c == morkEOF || c == end:
			return cells, nil
		case c == '(':
			col, val, ok := p.cell()
			if ok {
				cells[col] = val
			}
		default:
			if err := p.problem("unexpected byte in meta"); err != nil {
				return cells, err
			}
		}
	}
}

// cell reads "(col=value)", "(col^atom)" or "(^col...)" after the '('.
func (p *morkParser) cell() (col, val string, ok bool) {
	c := p.getc()
	switch {
	case c == '^':
		oid, ok := p.readMid(p.getc(), "")
		if !ok {
			p.skipTo(')')
			return "", "", false
		}
		col = p.colName(oid.ID)
	case isNameChar(c):
		col = p.readName()
	default:
		p.skipTo(')')
		return "", "", false
	}
	switch c = p.next(); c {
	case '=':
		v, ok := p.readValue()
		return col, v, ok
	case '^':
		oid, ok := p.readMid(p.getc(), "a")
		if !ok {
			p.skipTo(')')
			return "", "", false
		}
		if p.next() != ')' {
			p.skipTo(')')
		}
		if oid.Scope == "c" {
			return col, p.colName(oid.ID), true
		}
		return col, p.db.atoms[oid.ID], true
	default:
		p.skipTo(')')
		return "", "", false
	}
}

// row parses a row after its '[' and applies it; table, when not nil,
// gets the row added.
func (p *morkParser) row(defScope string, table *morkTable) (morkOID, error) {
	cut := false
	c := p.next()
	if c == '-' {
		cut = true
		c = p.next()
	}
	oid, ok := p.readMid(c, defScope)
	if !ok {
		p.skipTo(']')
		return oid, p.problem("bad row id")
	}
	r := p.db.row(oid)
	if cut {
		r.Cells = map[string]string{}
	}
	minus := false
	for {
		c := p.next()
		switch c {
		case morkEOF, ']':
			if c == ']' && p.peek() == '!' { // row position, unused
				p.getc()
				p.readHex(p.getc())
			}
			if table != nil {
				table.add(oid)
			}
			return oid, nil
		case '(':
			col, val, ok := p.cell()
			if ok {
				if minus {
					delete(r.Cells, col)
				} else {
					r.Cells[col] = val
				}
			}
			minus = false
		case '[': // meta row
			if _, err := p.metaCells(']'); err != nil {
				return oid, err
			}
		case '-':
			minus = true
		default:
			if err := p.problem("unexpected byte in row"); err != nil {
				return oid, err
			}
		}
	}
}

func (db *morkDB) row(oid morkOID) *morkRow {
	r, ok := db.rows[oid]
	if !ok {
		r = &morkRow{OID: oid, Cells: map[string]string{}}
		db.rows[oid] = r
		db.order = append(db.order, oid)
	}
	return r
}

func (t *morkTable) add(oid morkOID) {
	for _, o := range t.Rows {
		if o == oid {
			return
		}
	}
	t.Rows = append(t.Rows, oid)
}

func (t *morkTable) remove(oid morkOID) {
	for i, o := range t.Rows {
		if o == oid {
			t.Rows = append(t.Rows[:i], t.Rows[i+1:]...)
			return
		}
	}
}

// table parses a table after its '{'.
func (p *morkParser) table() error {
	cut := false
	c := p.next()
	if c == '-' {
		cut = true
		c = p.next()
	}
	oid, ok := p.readMid(c, "")
	if !ok {
		p.skipTo('}')
		return p.problem("bad table id")
	}
	t, ok := p.db.tables[oid]
	if !ok {
		t = &morkTable{OID: oid}
		p.db.tables[oid] = t
		p.db.torder = append(p.db.torder, oid)
	}
	if cut {
		t.Rows = nil
	}
	minus := false
	for {
		c := p.next()
		switch {
		case c == morkEOF || c == '}':
			return nil
		case c == '{':
			if err := p.tableMeta(t); err != nil {
				return err
			}
		case c == '[':
			if minus {
				roid, err := p.row(oid.Scope, nil)
				if err != nil {
					return err
				}
				t.remove(roid)
			} else if _, err := p.row(oid.Scope, t); err != nil {
				return err
			}
			minus = false
		case isHex(c):
			roid, ok := p.readMid(c, oid.Scope)
			if !ok {
				if err := p.problem("bad row reference"); err != nil {
					return err
				}
				continue
			}
			if minus {
				t.remove(roid)
			} else {
				p.db.row(roid)
				t.add(roid)
			}
			minus = false
		case c == '-':
			minus = true
		default:
			if err := p.problem("unexpected byte in table"); err != nil {
				return err
			}
		}
	}
}

// tableMeta reads a table's meta "{(k^96:c)(s=9) 1:m }": its kind, and
// meta rows that are not members.
func (p *morkParser) tableMeta(t *morkTable) error {
	for {
		c := p.next()
		switch {
		case c == morkEOF || c == '}':
			return nil
		case c == '(':
			col, val, ok := p.cell()
			if ok && col == "k" {
				t.Kind = val
			}
		case c == '[':
			if _, err := p.row(t.OID.Scope, nil); err != nil {
				return err
			}
		case isHex(c):
			p.readMid(c, t.OID.Scope)
		default:
			if err := p.problem("unexpected byte in table meta"); err != nil {
				return err
			}
		}
	}
}

// rowsInScope returns the rows of a scope in order of first appearance.
func (db *morkDB) rowsInScope(scope string) []*morkRow {
	var out []*morkRow
	for _, oid := range db.order {
		if oid.Scope == scope {
			out = append(out, db.rows[oid])
		}
	}
	return out
}

// tableOfKind returns the first table of the given kind, or nil.
func (db *morkDB) tableOfKind(kind string) *morkTable {
	for _, oid := range db.torder {
		if t := db.tables[oid]; t.Kind == kind {
			return t
		}
	}
	return nil
}
