package search

import (
	"context"
	"fmt"

	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// The window of the date index a sorted page walks (sortedByDate): at
// least sortWindow rows, and sortWindowPer rows for each resource up to
// the end of the page, so a page is found in the window when at least
// about 1 in sortWindowPer dated resources matches. Variables so tests
// can make the window small.
var sortWindow, sortWindowPer = 4096, 200

// dateSortable reports whether a page of q can be read by walking the
// index of its sort key in order (sortedByDate): one date parameter
// (other than _lastUpdated, which is a column of the version) on one
// resource type, outside a compartment, with no filter that selects one
// record.
func dateSortable(q *searchparam.Query, opt Options) bool {
	if len(q.Sort) != 1 || len(q.Types) != 1 || opt.Compartment != nil {
		return false
	}
	for _, fl := range q.Filters {
		// A reference, _id or chain selects one record (a patient's
		// observations): its matches are bounded and cluster in time,
		// so sorting them is cheap and walking every record's dates to
		// find them is not.
		if rank(fl) <= rankChain {
			return false
		}
	}
	d := q.Sort[0].Def
	return d != nil && d.Kind == searchparam.KindDate && d.Name != "_lastUpdated"
}

// sortedByDate reads one page of a search sorted by a single date
// parameter (dateSortable) in the order the general statement gives
// (Search: each resource at the smallest start of its values ascending,
// the largest end descending, R4 search.html "Sorting" leaving the
// choice for repeating elements to the server; ties by seq; resources without a
// value last), but by walking that parameter's index in that order and
// checking each resource it reaches against the query, so the first
// page of a broad search stops after a page of matches instead of
// computing and sorting the sort key of every match (measured: 108 ms
// for a common code at 100,000 resources, growing with the matches).
//
// A resource with several values has one index row per value; only the
// row holding its sort key counts, and DISTINCT drops exact duplicates
// of it. Resources without a value are not in the index: when the walk
// ends before the page is full, ok is false and the caller reads the
// page with the general statement, which places them.
//
// The walk is only quick when matches are common among the indexed
// resources: the caller uses it when the query has more matches than
// DefaultTotalBound, and the walk reads a bounded window of the index
// (see below), so a page costs at most the window more than the
// general statement.
func sortedByDate(ctx context.Context, db DB, q *searchparam.Query, opt Options, cur *Cursor, limit int) (_ []store.Version, ok bool, _ error) {
	k := q.Sort[0]
	col, agg, dir := "low", "min", ""
	if k.Descending {
		col, agg, dir = "high", "max", " DESC"
	}
	p := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where, noDrive: true}
	cond, err := conditions(p, q, opt)
	if err != nil {
		return nil, false, err
	}
	// The walk reads a bounded window of the index, the rows whose key
	// is at or before the key of the window's last row, in the order of
	// the page: when the page is full within it, its rows are the first
	// matches (every match whose sort row is outside the window sorts
	// after every row inside it). When it is not, the matches are rare
	// among the dated resources or sort late (a patient's observations,
	// all from decades ago, sorted newest first), and the general
	// statement, whose cost follows the matches, is the better plan.
	window := min(max(sortWindow, sortWindowPer*(cur.Offset+limit)), 1<<17)
	// Keys up to the edge: ascending "edge >= key", descending
	// "edge <= key".
	op := ">="
	if k.Descending {
		op = "<="
	}
	var edge int64
	found := false
	kth := f(fmt.Sprintf("SELECT sd.%s FROM search_date sd WHERE sd.type = ? AND sd.param = ? ORDER BY sd.%s%s LIMIT 1 OFFSET %d", col, col, dir, window-1), q.Types[0], k.Def.Name)
	if err := db.QueryShared(ctx, kth.sql, kth.args, func(scan func(...any) error) error { found = true; return scan(&edge) }); err != nil {
		return nil, false, err
	}
	bound := f("1=1")
	if found {
		bound = f("? "+op+" sd."+col, edge)
	}
	// CROSS JOIN keeps SQLite from reordering the join: the date index
	// drives, in order, and the version is looked up by its key.
	walk := join("",
		f("SELECT DISTINCT sd."+col+" AS sk, sd.seq AS ss FROM search_date sd CROSS JOIN resource_version v"+
			" WHERE sd.type = ? AND sd.param = ? AND sd.seq <= ? AND v.seq = sd.seq AND ",
			q.Types[0], k.Def.Name, cur.Snapshot),
		bound,
		f(" AND sd."+col+" = (SELECT "+agg+"(sm."+col+") FROM search_date sm WHERE sm.seq = sd.seq AND sm.param = ?) AND ", k.Def.Name),
		cond,
		f(fmt.Sprintf(" ORDER BY sd.%s%s, sd.seq LIMIT %d OFFSET %d", col, dir, limit, cur.Offset)))
	stmt := join("", f("SELECT "+storesql.VersionColumns+" FROM ("), walk,
		f(") w CROSS JOIN resource_version v WHERE v.seq = w.ss ORDER BY w.sk"+dir+", w.ss"))
	vs, err := versions(ctx, db, stmt)
	if err != nil || len(vs) < limit {
		return nil, false, err
	}
	return vs, true, nil
}
