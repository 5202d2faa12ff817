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

// chunkRows is the size of the largest multi-row INSERT; with 24 columns
// (composite) it stays well under SQLite's limit of 32766 bound variables.
const chunkRows = 1 << (chunkSizes - 1)

// spillRows is how many index rows a batch holds before it writes its
// full chunks: a 10,000-entry transaction computes about 400,000 rows,
// which held until the commit were 60 MiB of the server's heap. Writing
// them as they accumulate, in the same multi-row INSERTs, bounds the
// buffer (to about 10 MiB) whatever the size of the transaction. The
// bound is high enough that ordinary bundles never spill: under 16
// concurrent clients and SQLite's group commit, ingest (`junction bench
// --scenarios ingest`, patient bundles of up to 36,000 rows) measured
// 405 resources/s spilling at 16,384 rows against 580-600 without
// spilling and 630-650 at this bound, in the same runs; one writer alone
// measured the same either way.
const spillRows = 1 << 16

// inserter buffers the rows of one table, flat: row i is
// vals[i*width : (i+1)*width], so a chunk's arguments are a slice of the
// buffer rather than a copy.
type inserter struct {
	table string
	cols  []string
	vals  []any
	stmts [chunkSizes]string // the INSERT of 1<<k rows
}

// chunkSizes is how many statement texts a table uses: INSERTs of 32, 16,
// 8, 4, 2 and 1 rows. What is left after the 32-row chunks (a small
// transaction's rows, or the end of a large one) goes in at most five
// statements rather than one per row: with single-row INSERTs for the
// remainder, half the statements of a 100-entry transaction wrote one row.
const chunkSizes = 6

func (in *inserter) add(vals ...any) { in.vals = append(in.vals, vals...) }

// stmt returns the INSERT of 1<<k rows.
func (in *inserter) stmt(k int) string {
	if in.stmts[k] == "" {
		var b strings.Builder
		b.WriteString("INSERT INTO " + in.table + " (" + strings.Join(in.cols, ", ") + ") VALUES ")
		ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(in.cols)), ", ") + ")"
		for i := range 1 << k {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph)
		}
		in.stmts[k] = b.String()
	}
	return in.stmts[k]
}

// flush writes the rows in statements of chunkRows rows and the rest in
// statements of 16, 8, 4, 2 and 1 rows, so each table uses a fixed few
// statement texts that the backend can keep prepared. With chunksOnly it
// writes only the full chunks and keeps the rest (fewer than chunkRows
// rows) for a later flush.
func (in *inserter) flush(ctx context.Context, ex Execer, chunksOnly bool) error {
	w := len(in.cols)
	done := 0
	for k := chunkSizes - 1; k >= 0; k-- {
		if k < chunkSizes-1 && chunksOnly {
			break
		}
		n := w << k
		for len(in.vals)-done >= n {
			if err := ex.ExecShared(ctx, in.stmt(k), in.vals[done:done+n]...); err != nil {
				return err
			}
			done += n
		}
	}
	// Keep what is left at the front and drop the references to what was
	// written, so the buffer's strings can be collected.
	k := copy(in.vals, in.vals[done:])
	clear(in.vals[k:])
	in.vals = in.vals[:k]
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
	ins     []*inserter
	text    *inserter
	posted  *inserter // history_post rows (MarkPosted)
	pending int       // rows added since the last spill
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
		text:   &inserter{table: "search_text", cols: []string{"seq", "type", "text", "content"}},
		posted: &inserter{table: "history_post", cols: []string{"seq"}},
	}
}

// tables are every inserter of the batch.
func (b *batch) tables() []*inserter { return append(b.ins, b.text, b.posted) }

func (b *batch) empty() bool {
	for _, in := range b.ins {
		if len(in.vals) > 0 {
			return false
		}
	}
	return len(b.text.vals) == 0 && len(b.posted.vals) == 0
}

// put adds the rows of the version at seq and, once spillRows rows have
// accumulated, writes every table's full chunks.
func (b *batch) put(ctx context.Context, ex Execer, seq int64, r *index.Rows) error {
	b.add(seq, r)
	if b.pending < spillRows {
		return nil
	}
	b.pending = 0
	for _, in := range b.tables() {
		if err := in.flush(ctx, ex, true); err != nil {
			return err
		}
	}
	return nil
}

func (b *batch) add(seqN int64, r *index.Rows) {
	// Boxed once: each conversion to any of an int64 or a string
	// allocates, and every row repeats these two.
	var seq, t any = seqN, r.Type
	ins := b.ins
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
	composites := 0
	for _, x := range r.Composites {
		if len(x.Components) > storesql.SearchComponents {
			continue
		}
		in := ins[7]
		in.add(seq, t, x.Param)
		for i := 0; i < storesql.SearchComponents; i++ {
			var c compCols
			if i < len(x.Components) {
				c = componentCols(x.Components[i])
			}
			in.add(c.system, c.code, c.low, c.high, c.num, c.canonCode, c.canonNum)
		}
		composites++
	}
	for _, p := range r.Compartments {
		ins[8].add(seq, t, p)
	}
	text := 0
	if r.Text != "" || r.Content != "" {
		b.text.add(seq, t, r.Text, r.Content)
		text = 1
	}
	b.pending += len(r.Strings) + len(r.Tokens) + len(r.Refs) + len(r.Dates) + len(r.Numbers) +
		len(r.Quantities) + len(r.URIs) + composites + len(r.Compartments) + text
}

// flush writes every row the batch holds.
func (b *batch) flush(ctx context.Context, ex Execer) error {
	b.pending = 0
	for _, in := range b.tables() {
		if err := in.flush(ctx, ex, false); err != nil {
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
