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

// batchRows bounds one multi-row INSERT, well under SQLite's limit of
// 32766 bound variables.
const batchRows = 200

type inserter struct {
	table string
	cols  []string
	rows  [][]any
}

func (in *inserter) add(vals ...any) { in.rows = append(in.rows, vals) }

func (in *inserter) flush(ctx context.Context, ex Execer) error {
	for len(in.rows) > 0 {
		n := min(len(in.rows), batchRows)
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
// searches pinned before this one (see Schema).
func WriteRows(ctx context.Context, ex Execer, seq int64, r *index.Rows) error {
	t := r.Type
	ins := []*inserter{
		{table: "search_string", cols: []string{"seq", "type", "param", "norm", "exact"}},
		{table: "search_token", cols: []string{"seq", "type", "param", "system", "code", "text", "type_system", "type_code"}},
		{table: "search_ref", cols: []string{"seq", "type", "param", "target_type", "target_id", "url", "version", "ident_system", "ident_value"}},
		{table: "search_date", cols: []string{"seq", "type", "param", "low", "high"}},
		{table: "search_number", cols: []string{"seq", "type", "param", "value"}},
		{table: "search_quantity", cols: []string{"seq", "type", "param", "value", "system", "code", "unit", "canon_code", "canon_value"}},
		{table: "search_uri", cols: []string{"seq", "type", "param", "uri"}},
		{table: "search_composite", cols: compositeCols()},
		{table: "search_compartment", cols: []string{"seq", "type", "patient"}},
	}
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
	for _, in := range ins {
		if err := in.flush(ctx, ex); err != nil {
			return err
		}
	}
	if r.Text != "" || r.Content != "" {
		if err := ex.ExecShared(ctx, "INSERT INTO search_text (seq, type, text, content) VALUES (?, ?, ?, ?)", seq, t, r.Text, r.Content); err != nil {
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
