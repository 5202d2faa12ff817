package search

import (
	"context"
	"strings"

	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// Execer runs one statement inside a write transaction. The statement
// is in the SQL both backends share (storesql): '?' placeholders, which
// the implementation rebinds for its database.
type Execer interface {
	ExecShared(ctx context.Context, query string, args ...any) error
}

// chunkRows is the size of a multi-row INSERT; with 24 columns (composite)
// it stays well under SQLite's limit of 32766 bound variables.
const chunkRows = 32

type inserter struct {
	table string
	cols  []string
	rows  [][]any
}

func (in *inserter) add(vals ...any) { in.rows = append(in.rows, vals) }

// flush writes the rows in statements of chunkRows rows and then single
// rows, so each table uses two statement texts that the backend can keep
// prepared.
func (in *inserter) flush(ctx context.Context, ex Execer) error {
	for len(in.rows) > 0 {
		n := chunkRows
		if len(in.rows) < n {
			n = 1
		}
		var b strings.Builder
		b.WriteString("INSERT INTO " + in.table + " (" + strings.Join(in.cols, ", ") + ") VALUES ")
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(in.cols)), ", ") + ")"
		var args []any
		for i, r := range in.rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph)
			args = append(args, r...)
		}
		if err := ex.ExecShared(ctx, b.String(), args...); err != nil {
			return err
		}
		in.rows = in.rows[n:]
	}
	return nil
}

func nullFloat(f float64, ok bool) any {
	if !ok {
		return nil
	}
	return f
}

// WriteRows stores the index rows of the resource version at seq. It is
// called inside the transaction that stores the version, so the index
// never disagrees with the data. Rows of earlier versions stay for the
// searches pinned before this one (see storesql.SearchSchema).
func WriteRows(ctx context.Context, ex Execer, seq int64, r *index.Rows) error {
	b := newBatch()
	b.add(seq, r)
	return b.flush(ctx, ex)
}

// batch collects the index rows of many versions so they are written with
// a few multi-row INSERTs: SQLite parses every statement anew, and one
// statement per table per resource spent 40% of ingest in the parser.
type batch struct {
	ins  []*inserter
	text *inserter
}

func newBatch() *batch {
	return &batch{
		ins: []*inserter{
			{table: "search_string", cols: []string{"seq", "type", "param", "norm", "exact"}},
			{table: "search_token", cols: []string{"seq", "type", "param", "system", "code", "text", "type_system", "type_code"}},
			{table: "search_ref", cols: []string{"seq", "type", "param", "target_type", "target_id", "url", "version", "ident_system", "ident_value"}},
			{table: "search_date", cols: []string{"seq", "type", "param", "low", "high"}},
			{table: "search_number", cols: []string{"seq", "type", "param", "value"}},
			{table: "search_quantity", cols: []string{"seq", "type", "param", "value", "system", "code", "unit", "canon_code", "canon_value"}},
			{table: "search_uri", cols: []string{"seq", "type", "param", "uri"}},
			{table: "search_composite", cols: compositeCols()},
			{table: "search_compartment", cols: []string{"seq", "type", "patient"}},
		},
		text: &inserter{table: "search_text", cols: []string{"seq", "type", "text", "content"}},
	}
}

func (b *batch) empty() bool {
	for _, in := range b.ins {
		if len(in.rows) > 0 {
			return false
		}
	}
	return len(b.text.rows) == 0
}

func (b *batch) add(seq int64, r *index.Rows) {
	t, ins := r.Type, b.ins
	for _, x := range r.Strings {
		ins[0].add(seq, t, x.Param, x.Norm, x.Exact)
	}
	for _, x := range r.Tokens {
		ins[1].add(seq, t, x.Param, x.System, x.Code, x.Text, x.TypeSystem, x.TypeCode)
	}
	for _, x := range r.Refs {
		ins[2].add(seq, t, x.Param, x.TargetType, x.TargetID, x.URL, x.Version, x.IdentSystem, x.IdentValue)
	}
	for _, x := range r.Dates {
		ins[3].add(seq, t, x.Param, x.Low, x.High)
	}
	for _, x := range r.Numbers {
		ins[4].add(seq, t, x.Param, x.Value)
	}
	for _, x := range r.Quantities {
		ins[5].add(seq, t, x.Param, x.Value, x.System, x.Code, x.Unit, x.CanonCode, nullFloat(x.CanonValue, x.CanonCode != ""))
	}
	for _, x := range r.URIs {
		ins[6].add(seq, t, x.Param, x.URI)
	}
	for _, x := range r.Composites {
		if len(x.Components) > storesql.SearchComponents {
			continue
		}
		vals := []any{seq, t, x.Param}
		for i := 0; i < storesql.SearchComponents; i++ {
			var c compCols
			if i < len(x.Components) {
				c = componentCols(x.Components[i])
			}
			vals = append(vals, c.system, c.code, c.low, c.high, c.num, c.canonCode, c.canonNum)
		}
		ins[7].add(vals...)
	}
	for _, p := range r.Compartments {
		ins[8].add(seq, t, p)
	}
	if r.Text != "" || r.Content != "" {
		b.text.add(seq, t, r.Text, r.Content)
	}
}

func (b *batch) flush(ctx context.Context, ex Execer) error {
	for _, in := range append(b.ins, b.text) {
		if err := in.flush(ctx, ex); err != nil {
			return err
		}
	}
	return nil
}

func compositeCols() []string {
	cols := []string{"seq", "type", "param"}
	for i := 1; i <= storesql.SearchComponents; i++ {
		p := "c" + string(rune('0'+i)) + "_"
		cols = append(cols, p+"system", p+"code", p+"low", p+"high", p+"num", p+"canon_code", p+"canon_num")
	}
	return cols
}

// compCols is how one composite component is stored: every kind maps
// onto the same seven columns (see componentCols and the planner's
// componentPredicate, which must agree).
type compCols struct {
	system, code string
	low, high    int64
	num          any // float64 or nil
	canonCode    string
	canonNum     any
}

func componentCols(c index.Component) compCols {
	switch {
	case c.Token != (index.TokenRow{}):
		return compCols{system: c.Token.System, code: c.Token.Code}
	case c.String != (index.StringRow{}):
		return compCols{code: c.String.Norm}
	case c.Date != (index.DateRow{}):
		return compCols{low: c.Date.Low, high: c.Date.High}
	case c.Quantity != (index.QuantityRow{}):
		q := c.Quantity
		return compCols{system: q.System, code: q.Code, num: q.Value, canonCode: q.CanonCode, canonNum: nullFloat(q.CanonValue, q.CanonCode != "")}
	case c.Number != (index.NumberRow{}):
		return compCols{num: c.Number.Value}
	case c.Ref != (index.RefRow{}):
		if c.Ref.TargetID != "" {
			return compCols{system: c.Ref.TargetType, code: c.Ref.TargetID}
		}
		return compCols{code: c.Ref.URL}
	case c.URI != (index.URIRow{}):
		return compCols{code: c.URI.URI}
	}
	return compCols{}
}
