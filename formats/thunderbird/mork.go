package thunderbird

import (
	"bytes"
	"errors"
	"fmt"
)

// A small reader for Mork, the text database of Thunderbird's .msf summary
// files and of panacea.dat. It is written from the grammar
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
