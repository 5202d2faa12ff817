// Package storesql holds the SQL that the SQLite and PostgreSQL backends
// share: the names of the tables and columns, and a small SELECT builder
// whose WHERE list only grows.
//
// Sharing the query text (not just the idea of it) is what keeps the two
// backends from drifting: a history or search bug fixed here is fixed in
// both. Conditions are written with '?' placeholders and renumbered to
// PostgreSQL's $n by SQL, so a later layer (search parameters, access
// filters) can append a condition without knowing which database runs it.
package storesql

import (
	"strconv"
	"strings"
)

// Dialect selects the placeholder style and the few spellings that differ.
type Dialect int

const (
	// SQLite uses '?' placeholders.
	SQLite Dialect = iota
	// Postgres uses numbered $1, $2, ... placeholders.
	Postgres
)

// VersionColumns is the column list, in the order every backend scans a
// resource_version row: seq, type, id, version, last_updated, deleted, body.
// The alias v is the one every history and read query gives resource_version.
const VersionColumns = "v.seq, v.type, v.id, v.version, v.last_updated, v.deleted, v.body"

// Select is a SELECT statement under construction. The zero value is not
// useful; set Columns and From. Conditions added with Where are joined with
// AND, so an added condition can only narrow the result: an access filter
// appended by a later layer can never widen what a query returns.
type Select struct {
	Columns string // e.g. VersionColumns or "count(*)"
	// ColumnArgs are the arguments of '?' placeholders in Columns; they
	// come before those of the WHERE list.
	ColumnArgs []any
	From       string // e.g. "resource_version v"
	OrderBy    string // without the ORDER BY keywords; empty for none
	Limit      int    // 0 for none

	where []string
	args  []any
}

// Where appends a condition written with '?' placeholders, one per arg.
// The condition is parenthesised, so it may contain OR.
func (s *Select) Where(cond string, args ...any) {
	s.where = append(s.where, "("+cond+")")
	s.args = append(s.args, args...)
}

// Clone returns a copy whose later Where calls do not affect s: a page
// query and its count share their filters and then diverge.
func (s *Select) Clone() *Select {
	c := *s
	c.where = append([]string(nil), s.where...)
	c.args = append([]any(nil), s.args...)
	return &c
}

// SQL renders the statement for d and returns it with its arguments.
func (s *Select) SQL(d Dialect) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(s.Columns)
	b.WriteString(" FROM ")
	b.WriteString(s.From)
	if len(s.where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(s.where, " AND "))
	}
	if s.OrderBy != "" {
		b.WriteString(" ORDER BY ")
		b.WriteString(s.OrderBy)
	}
	if s.Limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(strconv.Itoa(s.Limit))
	}
	args := s.args
	if len(s.ColumnArgs) > 0 {
		args = append(append([]any(nil), s.ColumnArgs...), s.args...)
	}
	return Rebind(d, b.String()), args
}

// Rebind rewrites '?' placeholders as $1, $2, ... for Postgres and returns
// query unchanged for SQLite. A '?' inside a single-quoted literal or a
// double-quoted identifier is left alone.
func Rebind(d Dialect, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
