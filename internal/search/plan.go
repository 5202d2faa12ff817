package search

import (
	"fmt"

	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// planner turns a parsed query into SQL over the index tables. Every
// query reads resource versions current at one snapshot (a seq), so
// a chain or _has sees the same moment as the outer query.
type planner struct {
	snap  int64
	alias int
	// after, when not zero, is the keyset position of the page being
	// read: the top-level driver only returns rows with a higher seq, so a
	// later page does not re-read the index rows of earlier ones.
	after int64
	// upto, when not zero, bounds the top-level driver's rows from above
	// (below the snapshot), so a page reads a window of candidates rather
	// than every remaining match (see Search).
	upto int64
	// open are the transactions in progress when the snapshot was taken
	// (PostgreSQL: their xids modulo 2^32, as the xmin column holds
	// them). Their versions may carry a seq below the snapshot and
	// commit after it; they are left out, so every page answers from
	// the same data.
	open []int64
	// drv is the top-level driver's candidate rows, "FROM ... WHERE ...",
	// whose seq column is drvSeq; set by where when a filter drives.
	drv    *frag
	drvSeq string
	// restrict is the caller's restriction, applied to every version
	// alias the planner reads (see Restriction).
	restrict Restriction
	// noDrive writes every top-level filter as a check on the candidate
	// version (a correlated EXISTS) rather than letting one drive the
	// statement, for a statement that is driven by another index (see
	// sortedByDate).
	noDrive bool
}

// restriction is the caller's condition on version alias v, which can be
// of types (empty: any).
func (p *planner) restriction(v string, types []string) frag {
	if p.restrict == nil {
		return f("1=1")
	}
	c := p.restrict(v, types)
	if c == nil {
		return f("1=1")
	}
	return f("("+c.SQL+")", c.Args...)
}

// driveBy is the condition that version alias v is one of the rows of
// from ("FROM table alias WHERE ..."), whose seq column is alias.seq,
// written to drive the statement (see where). The top-level driver is
// bounded by the page window and remembered for Search.
func (p *planner) driveBy(v, alias string, from frag) frag {
	bounds := f(alias+".seq <= ?", p.snap)
	if v == "v" {
		p.drv, p.drvSeq = &from, alias+".seq"
		upto := p.snap
		if p.upto > 0 {
			upto = p.upto
		}
		bounds = f(alias+".seq > ? AND "+alias+".seq <= ?", p.after, upto)
	}
	return join("", f(v+".seq IN (SELECT "+alias+".seq "), from, f(" AND "), bounds, f(")"))
}

func (p *planner) next(prefix string) string {
	p.alias++
	return fmt.Sprintf("%s%d", prefix, p.alias)
}

// current is the condition that version alias v was the current,
// undeleted version of its resource at the snapshot: it was written at
// or before it and its successor was not.
func (p *planner) current(v string) frag {
	// "+seq": the snapshot bound must not be used as an index range, or
	// SQLite may walk every version in seq order instead of looking up
	// the few the driving filter selects (seen as a linear slowdown of
	// _revinclude with the size of the store).
	if len(p.open) == 0 {
		return f("+"+v+".seq <= ? AND NOT "+v+".deleted AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.type = "+v+".type AND n.id = "+v+".id AND n.version = "+v+".version + 1 AND n.seq <= ?)",
			p.snap, p.snap)
	}
	// Versions of transactions open at the snapshot are not there: not
	// as candidates, and not as successors that would hide the version
	// before them.
	return join("",
		f("+"+v+".seq <= ? AND NOT "+v+".deleted AND ", p.snap), p.notOpen(v),
		f(" AND NOT EXISTS (SELECT 1 FROM resource_version n WHERE n.type = "+v+".type AND n.id = "+v+".id AND n.version = "+v+".version + 1 AND n.seq <= ? AND ", p.snap),
		p.notOpen("n"), f(")"))
}

// notOpen is the condition that version alias v was not written by a
// transaction in p.open (see storesql.NotOpen).
func (p *planner) notOpen(v string) frag { return f(storesql.NotOpen(v, p.open)) }

// where is the full condition for resources of types (alias v) matching
// every filter.
//
// One filter drives the query: it is written "v.seq IN (subquery)" so the
// database starts from the index rows it selects; every other filter is
// a correlated EXISTS checked per candidate through the (seq, param)
// index. Without this, SQLite (3.54) turns two "v.seq IN" terms into a
// nested loop over both lists (measured: 200 ms instead of 0.3 ms for a
// patient's observations by code on 10,000 resources).
func (p *planner) where(v string, types []string, filters []*searchparam.Filter) (frag, error) {
	parts := []frag{}
	if len(types) > 0 {
		parts = append(parts, in(v+".type", types))
	}
	parts = append(parts, p.current(v))
	if p.restrict != nil {
		// Every alias where is called for, the matches and every hop of a
		// chain or _has alike.
		parts = append(parts, p.restriction(v, types))
	}
	driver, best := -1, rankNone
	for i, fl := range filters {
		if r := rank(fl); r < best && !(p.noDrive && v == "v") {
			driver, best = i, r
		}
	}
	for i, fl := range filters {
		c, err := p.filter(v, fl, i == driver)
		if err != nil {
			return frag{}, err
		}
		parts = append(parts, c)
	}
	return and(parts...), nil
}

// Driver ranks: lower is expected to select fewer rows. The ranking is
// by kind because the index holds no statistics of its own; a reference
// to one resource or a coded value is usually far more selective than a
// date range or a name prefix, and a chain usually ends in an identifier
// or a name that selects few resources.
const (
	rankID = iota
	rankRef
	rankChain
	rankToken
	rankValue
	rankHas
	rankNone
)

// hasDriver reports whether one of filters can drive a query.
func hasDriver(filters []*searchparam.Filter) bool {
	for _, fl := range filters {
		if rank(fl) < rankNone {
			return true
		}
	}
	return false
}

func rank(fl *searchparam.Filter) int {
	switch {
	case fl.Has != nil:
		return rankHas
	case fl.Chain != nil:
		return rankChain
	case fl.Modifier == searchparam.ModMissing || fl.Modifier == searchparam.ModNot:
		return rankNone
	}
	switch fl.Def.Name {
	case "_id":
		return rankID
	case "_lastUpdated", "_text", "_content":
		return rankNone
	}
	switch fl.Def.Kind {
	case searchparam.KindReference:
		return rankRef
	case searchparam.KindToken:
		if fl.Modifier == searchparam.ModText {
			return rankValue
		}
		return rankToken
	}
	return rankValue
}

// filter is the condition one filter puts on version alias v.
func (p *planner) filter(v string, fl *searchparam.Filter, drive bool) (frag, error) {
	switch {
	case fl.Has != nil:
		return p.has(v, fl)
	case fl.Chain != nil:
		return p.chain(v, fl, drive)
	}
	d := fl.Def
	switch d.Name {
	case "_id":
		if fl.Modifier == searchparam.ModNone || fl.Modifier == searchparam.ModNot {
			ids := make([]string, len(fl.Values))
			for i, x := range fl.Values {
				ids[i] = x.Token.Code
			}
			c := in(v+".id", ids)
			if fl.Modifier == searchparam.ModNot {
				return wrap("NOT (", c, ")"), nil
			}
			if drive && len(fl.Types) > 0 {
				// Written as the other drivers are, through the (type, id)
				// key: a bare "v.id IN" lets SQLite walk every version
				// of the type in seq order to honour ORDER BY (measured:
				// Patient?_id=x took 100 ms at a million resources).
				k := p.next("k")
				return p.driveBy(v, k, join("", f("FROM resource_version "+k+" WHERE "), and(in(k+".type", fl.Types), in(k+".id", ids)))), nil
			}
			return c, nil
		}
		if fl.Modifier == searchparam.ModMissing {
			// every resource has an id
			if fl.MissingValue {
				return f("1=0"), nil
			}
			return f("1=1"), nil
		}
	case "_lastUpdated":
		// The version row holds meta.lastUpdated exactly (to the
		// microsecond), so the index is not needed.
		if fl.Modifier == searchparam.ModMissing {
			if fl.MissingValue {
				return f("1=0"), nil
			}
			return f("1=1"), nil
		}
		c := cols{low: v + ".last_updated", high: "(" + v + ".last_updated + 1)"}
		var ors []frag
		for _, x := range fl.Values {
			ors = append(ors, datePredicate(x, c))
		}
		return or(ors...), nil
	case "_text", "_content":
		col := "text"
		if d.Name == "_content" {
			col = "content"
		}
		var ors []frag
		for _, x := range fl.Values {
			ors = append(ors, f("x."+col+` LIKE ? ESCAPE '\'`, "%"+likeEscape(x.String)+"%"))
		}
		return wrap("EXISTS (SELECT 1 FROM search_text x WHERE x.seq = "+v+".seq AND ", or(ors...), ")"), nil
	}
	if d.Kind == searchparam.KindSpecial && d.Name == "near" {
		return p.near(v, fl, drive), nil
	}
	table := tableOf(d.Kind)
	if table == "" {
		return frag{}, fmt.Errorf("search: parameter %s of kind %s has no index", d.Name, d.Kind)
	}
	t := p.next("t")
	scope := and(in(t+".type", fl.Types), f(t+".param = ?", d.Name))
	if fl.Modifier == searchparam.ModMissing {
		exists := join("", f("EXISTS (SELECT 1 FROM "+table+" "+t+" WHERE "+t+".seq = "+v+".seq AND "+t+".param = ?)", d.Name))
		if fl.MissingValue {
			return wrap("NOT ", exists, ""), nil
		}
		return exists, nil
	}
	var ors []frag
	values := fl.Values
	if d.Kind == searchparam.KindToken && (fl.Modifier == searchparam.ModNone || fl.Modifier == searchparam.ModNot) {
		ors, values = codeLists(values, tableCols(t))
	}
	for _, x := range values {
		if d.Kind == searchparam.KindComposite {
			var parts []frag
			for i, cv := range x.Components {
				parts = append(parts, valuePredicate(cv.Kind, searchparam.ModNone, cv, compositeColsOf(t, i)))
			}
			ors = append(ors, and(parts...))
			continue
		}
		mod := fl.Modifier
		if mod == searchparam.ModType {
			mod = searchparam.ModNone
		}
		ors = append(ors, valuePredicate(d.Kind, mod, x, tableCols(t)))
	}
	if fl.Modifier == searchparam.ModType {
		ors = []frag{and(f(t+".target_type = ?", fl.TargetType), or(ors...))}
	}
	if drive {
		return p.driveBy(v, t, join("", f("FROM "+table+" "+t+" WHERE "), and(scope, or(ors...)))), nil
	}
	sub := join("", f("EXISTS (SELECT 1 FROM "+table+" "+t+" WHERE "+t+".seq = "+v+".seq AND "+t+".param = ? AND ", d.Name), or(ors...), f(p.probe(v)+")"))
	if fl.Modifier == searchparam.ModNot {
		// search.html 3.1.1.5.7: :not matches resources with no value
		// equal to the code, including those with no value at all.
		return wrap("NOT ", sub, ""), nil
	}
	return sub, nil
}

// chain: resources whose reference parameter points to a current
// resource of one of the chain's types that matches the chained filter
// (search.html 3.1.1.4.13). The referenced resources are found first
// (their own filter drives), then the references to them.
func (p *planner) chain(v string, fl *searchparam.Filter, drive bool) (frag, error) {
	r, w := p.next("r"), p.next("v")
	inner, err := p.where(w, fl.Chain.Types, []*searchparam.Filter{fl.Chain})
	if err != nil {
		return frag{}, err
	}
	targets := join("", f("("+r+".target_type, "+r+".target_id) IN (SELECT "+w+".type, "+w+".id FROM resource_version "+w+" WHERE "), inner, f(")"))
	if drive {
		return p.driveBy(v, r, join("", f("FROM search_ref "+r+" WHERE "), and(in(r+".type", fl.Types), f(r+".param = ?", fl.Def.Name), targets))), nil
	}
	return join("",
		f("EXISTS (SELECT 1 FROM search_ref "+r+" WHERE "+r+".seq = "+v+".seq AND "+r+".param = ? AND ", fl.Def.Name),
		targets, f(p.probe(v)+")"),
	), nil
}

// probe ends a correlated EXISTS on version alias v. In a statement
// driven by another index (noDrive: the date-sorted walk), the check must
// stay a probe of each candidate the walk reaches: PostgreSQL would
// otherwise flatten the EXISTS into a semi-join that reads every row of
// the filter (a common code's thousands) before the walk starts, and it
// keeps a subquery with an OFFSET as it is written. An EXISTS needs one
// row and OFFSET 0 skips none, so the result is the same; SQLite, which
// wants a LIMIT before an OFFSET, runs the subquery as written in any
// case.
func (p *planner) probe(v string) string {
	if p.noDrive && v == "v" {
		return " LIMIT 1 OFFSET 0"
	}
	return ""
}

// has: resources that a current resource of Has.Type refers to through
// Has.Ref, where that resource matches Has.Filter (search.html
// 3.1.1.4.14). The referring resources are found first, then what they
// refer to.
func (p *planner) has(v string, fl *searchparam.Filter) (frag, error) {
	r, w := p.next("r"), p.next("v")
	inner, err := p.where(w, []string{fl.Has.Type}, []*searchparam.Filter{fl.Has.Filter})
	if err != nil {
		return frag{}, err
	}
	return join("",
		f("("+v+".type, "+v+".id) IN (SELECT "+r+".target_type, "+r+".target_id FROM search_ref "+r+" WHERE "+r+".type = ? AND "+r+".param = ? AND "+r+".seq IN (SELECT "+w+".seq FROM resource_version "+w+" WHERE ", fl.Has.Type, fl.Has.Ref.Name),
		inner, f("))"),
	), nil
}

// sortExpr is the value resource version v sorts by for key k: the
// smallest of its values ascending, the largest descending (search.html
// 3.2.1.6.2 leaves the choice to the server for repeating elements).
func sortExpr(v string, k searchparam.SortKey) frag {
	agg := "min"
	if k.Descending {
		agg = "max"
	}
	col := ""
	switch k.Def.Name {
	case "_id":
		return f(v + ".id")
	case "_lastUpdated":
		return f(v + ".last_updated")
	}
	switch k.Def.Kind {
	case searchparam.KindString:
		col = "norm"
	case searchparam.KindToken:
		col = "code"
	case searchparam.KindDate:
		col = "low"
		if k.Descending {
			col = "high"
		}
	case searchparam.KindNumber, searchparam.KindQuantity:
		col = "value"
	case searchparam.KindReference:
		col = "target_id"
	case searchparam.KindURI:
		col = "uri"
	}
	extra := ""
	if k.Def.Kind == searchparam.KindReference {
		// Presence rows (index.RefRow) and references by url or
		// identifier have no target id to sort by.
		extra = " AND s.target_id <> ''"
	}
	return f("(SELECT "+agg+"(s."+col+") FROM "+tableOf(k.Def.Kind)+" s WHERE s.seq = "+v+".seq AND s.param = ?"+extra+")", k.Def.Name)
}
