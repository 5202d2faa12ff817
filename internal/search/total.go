package search

import (
	"context"
	"fmt"

	"github.com/nhs-junction/junction/internal/searchparam"
)

// DefaultTotalBound is the most matches a search counts when the client
// did not ask for a total (R4 search.html 3.1.1.6, _total: "the server
// may choose"). Bundle.total is given when the whole result fits on the
// first page, or when counting stops within this many matches;
// otherwise it is left out, so the first page of a broad search costs
// about what a narrow one does instead of growing with the number of
// matches (an exact count of a million observations took seconds).
// _total=accurate always counts; _total=estimate estimates.
const DefaultTotalBound = 1000

// estimateWindow is how many candidates of the driving filter (or of the
// searched types) _total=estimate checks against the whole query.
const estimateWindow = 1000

// totalMode is the total a search gives: what _total asked for, except
// that a search for the count alone (_summary=count, _count=0) counts
// exactly unless it asked for an estimate, and no _total means the
// server's default (bounded) count.
func totalMode(q *searchparam.Query) searchparam.Total {
	if q.Count == 0 || q.Summary == searchparam.SummaryCount {
		if q.Total == searchparam.TotalEstimate {
			return searchparam.TotalEstimate
		}
		return searchparam.TotalAccurate
	}
	return q.Total
}

// boundedCount counts the versions cond selects (alias v), stopping at
// bound+1: it returns the exact count when it is at most bound, and
// bound+1 otherwise.
func boundedCount(ctx context.Context, db DB, cond frag, bound int) (int, error) {
	c := join("", f("SELECT count(*) FROM (SELECT 1 FROM resource_version v WHERE "), cond, f(fmt.Sprintf(" LIMIT %d) x", bound+1)))
	n := 0
	err := db.QueryShared(ctx, c.sql, c.args, func(scan func(...any) error) error { return scan(&n) })
	return n, err
}

// rangeBoundedCount is boundedCount for a rangeDriven query: the driving
// index's rows are read in index order and each is checked against the
// whole query, so counting stops after bound+1 matches. Written as
// "v.seq IN (driver)", SQLite builds the list of every row of the range
// first (measured: 60-90 ms of CPU for the 33,000 dates of a year's
// range at 190,000 resources, against 7 ms).
func rangeBoundedCount(ctx context.Context, db DB, q *searchparam.Query, opt Options, cur *Cursor, bound int) (int, error) {
	dp := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where}
	if _, err := conditions(dp, q, opt); err != nil {
		return 0, err
	}
	if dp.drv == nil {
		return 0, fmt.Errorf("search: no driving filter to count by")
	}
	// Aliases numbered on from the driver's, so none is reused.
	p := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where, noDrive: true, alias: dp.alias}
	cond, err := conditions(p, q, opt)
	if err != nil {
		return 0, err
	}
	c := join("", f("SELECT count(*) FROM (SELECT DISTINCT "+dp.drvSeq+" "), *dp.drv,
		f(" AND "+dp.drvSeq+" <= ? AND EXISTS (SELECT 1 FROM resource_version v WHERE v.seq = "+dp.drvSeq+" AND ", cur.Snapshot),
		cond, f(fmt.Sprintf(") LIMIT %d) x", bound+1)))
	n := 0
	err = db.QueryShared(ctx, c.sql, c.args, func(scan func(...any) error) error { return scan(&n) })
	return n, err
}

// estimate is the total for _total=estimate: exact when at most
// DefaultTotalBound resources match; otherwise the number of candidates
// of the driving filter (its index rows up to the snapshot; without a
// driver, the versions of the searched types) times the share of the
// first estimateWindow candidates, in seq order, that match the whole
// query. The share is measured, not assumed, so the estimate follows the
// other filters; it is off when the matches are unevenly spread over
// the candidates, or when resources carry several values of the driving
// parameter or have many replaced versions within the page lifetime.
func estimate(ctx context.Context, db DB, q *searchparam.Query, opt Options, cur *Cursor, countAll frag) (int, error) {
	n, err := boundedCount(ctx, db, countAll, DefaultTotalBound)
	if err != nil || n <= DefaultTotalBound {
		return n, err
	}
	p := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where}
	if _, err := conditions(p, q, opt); err != nil {
		return 0, err
	}
	var from frag
	col := ""
	if p.drv != nil {
		from, col = *p.drv, p.drvSeq
	} else {
		from, col = join("", f("FROM resource_version e WHERE "), in("e.type", q.Types)), "e.seq"
	}
	scan := func(stmt frag, dst *int64) error {
		return db.QueryShared(ctx, stmt.sql, stmt.args, func(scan func(...any) error) error { return scan(dst) })
	}
	var candidates, upto int64
	if err := scan(join("", f("SELECT count(*) "), from, f(" AND "+col+" <= ?", cur.Snapshot)), &candidates); err != nil {
		return 0, err
	}
	if err := scan(join("", f("SELECT "+col+" "), from, f(" AND "+col+" <= ? ORDER BY "+col+fmt.Sprintf(" LIMIT 1 OFFSET %d", estimateWindow-1), cur.Snapshot)), &upto); err != nil {
		return 0, err
	}
	if upto == 0 || candidates <= estimateWindow {
		// Fewer candidates than the window: count them all.
		n, err := boundedCount(ctx, db, countAll, int(candidates))
		return n, err
	}
	// Matches among the window's candidates.
	wp := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where, upto: upto}
	wcond, err := conditions(wp, q, opt)
	if err != nil {
		return 0, err
	}
	var inWindow int64
	if err := scan(join("", f("SELECT count(*) FROM resource_version v WHERE "), wcond, f(" AND +v.seq <= ?", upto)), &inWindow); err != nil {
		return 0, err
	}
	est := int(float64(candidates) * float64(inWindow) / float64(estimateWindow))
	// At least the matches already counted: more than the bound.
	return max(est, DefaultTotalBound+1), nil
}
