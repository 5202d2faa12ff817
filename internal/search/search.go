// Package search answers FHIR searches from the index tables that
// WriteRows fills: it plans a parsed query (searchparam.Query) into SQL
// that runs unchanged on SQLite and PostgreSQL, pages through the matches
// at a pinned snapshot, and gathers _include and _revinclude resources in
// a bounded number of statements.
package search

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/storesql"
)

// DB is the read access search needs from a backend.
type DB interface {
	// QueryShared runs query, written in the SQL both backends share
	// (storesql: '?' placeholders, which the implementation rebinds), on
	// the read connections and calls row once per result row with a
	// function that scans it.
	QueryShared(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// Condition is an SQL condition on one resource version, with '?'
// placeholders for Args.
type Condition struct {
	SQL  string
	Args []any
}

// And joins conditions; nil ones are left out, and And of none is nil.
func And(conds ...*Condition) *Condition {
	var out *Condition
	for _, c := range conds {
		switch {
		case c == nil:
		case out == nil:
			cp := *c
			out = &cp
		default:
			out = &Condition{SQL: "(" + out.SQL + ") AND (" + c.SQL + ")", Args: append(append([]any(nil), out.Args...), c.Args...)}
		}
	}
	return out
}

// Restriction is the condition every resource version a search reads must
// satisfy: access control plugs in here. It is called with the alias a
// statement gives the version (columns alias.seq, alias.type, alias.id,
// alias.version, alias.last_updated, alias.body) and the resource types
// the version can have at that point (empty: any type; a condition must
// be correct whatever the type, the list only lets it be shorter), and
// returns the condition on that alias, or nil for none.
//
// The engine MUST apply it to every resource version a statement reads:
// the matches and their count, every hop of a chain
// (subject:Patient.name=...) and of a reverse chain (_has, _list), and
// every _include and _revinclude, :iterate rounds included, in searches
// and in the searches of conditional writes (SearchTx) alike. A version it
// hides is therefore indistinguishable from one that does not exist: it is
// neither matched, counted, included, nor able to make another resource
// match. (The versions read only to decide which version is current are
// the exception: a hidden current version hides its resource, never
// exposes an older one.)
//
// Subqueries inside the condition must use aliases starting with "acl",
// which the planner never uses.
type Restriction func(alias string, types []string) *Condition

// Compartment restricts a search to one compartment (R4
// compartmentdefinition.html): resources whose Params (reference
// parameters of the searched type) refer to Type/ID.
type Compartment struct {
	Type, ID string
	Params   []string
	// ByType, when set, gives the parameters per resource type instead of
	// Params, for a search over several types of one compartment (as
	// Patient/$everything does): each type is in the compartment only
	// through its own parameters.
	ByType map[string][]string
	// indexed is set when the restriction is exactly one Patient's R4
	// compartment (every type's CompartmentDefinition parameters, and the
	// Patient itself), whose membership the index keeps in
	// search_compartment (index.Rows.Compartments): one index range then
	// answers it instead of a disjunction over reference parameters.
	indexed bool
	// only is the one type of a CompartmentFor restriction.
	only string
}

// CompartmentOf returns the restriction to compartment typ/id (every
// compartment of typ when id is "") over every
// resource type that can be in it (including typ itself), with each
// type's own parameters, and the sorted list of those types.
func CompartmentOf(typ, id string) (*Compartment, []string) {
	c := &Compartment{Type: typ, ID: id, ByType: map[string][]string{}, indexed: typ == "Patient" && id != ""}
	var types []string
	for _, rt := range spec.ResourceTypes() {
		params := spec.CompartmentParams(typ, rt)
		if rt == typ {
			params = append([]string{"{def}"}, params...)
		}
		if len(params) > 0 {
			c.ByType[rt] = params
			types = append(types, rt)
		}
	}
	return c, types
}

// CompartmentFor returns the compartment restriction of a search for
// resourceType inside compartment typ/id (GET [base]/typ/id/resourceType),
// from the R4 CompartmentDefinitions. A resource type that cannot be in
// the compartment is a 400 naming both.
func CompartmentFor(typ, id, resourceType string) (*Compartment, error) {
	params := spec.CompartmentParams(typ, resourceType)
	if len(params) == 0 {
		return nil, fhir.Errorf(400, fhir.IssueNotSupported, "%s resources are not in the %s compartment", resourceType, typ)
	}
	if resourceType == typ {
		// The resource that defines a compartment is in it
		// (compartmentdefinition.html), whatever its own parameters say.
		params = append([]string{"{def}"}, params...)
	}
	return &Compartment{Type: typ, ID: id, Params: params, indexed: typ == "Patient" && id != "", only: resourceType}, nil
}

// compartmentCond restricts to the compartment; when drive is set it is
// written to drive the query (see planner.where).
func compartmentCond(p *planner, c *Compartment, drive bool) frag {
	if c.indexed {
		return compartmentIndexed(p, c, drive)
	}
	if c.ByType != nil {
		return compartmentByType(p, c, drive)
	}
	var params []string
	self := false
	for _, p := range c.Params {
		if p == "{def}" {
			self = true
			continue
		}
		params = append(params, p)
	}
	var ors []frag
	if len(params) > 0 {
		refs := and(in("cr.param", params), f("cr.target_type = ? AND cr.target_id = ?", c.Type, c.ID))
		if drive {
			ors = append(ors, p.driveBy("v", "cr", wrap("FROM search_ref cr WHERE ", refs, "")))
		} else {
			ors = append(ors, join("", f("EXISTS (SELECT 1 FROM search_ref cr WHERE cr.seq = v.seq AND "), refs, f(")")))
		}
	}
	if self {
		// "{def}": the compartment's own resource is in it.
		ors = append(ors, f("(v.type = ? AND v.id = ?)", c.Type, c.ID))
	}
	return or(ors...)
}

// compartmentIndexed is compartmentCond for one Patient's compartment,
// read from search_compartment (patient, type, seq). A search of one type
// in the compartment (Patient/{id}/Observation) names its type, so the
// index range is that type's rows alone.
func compartmentIndexed(p *planner, c *Compartment, drive bool) frag {
	cond := f("cc.patient = ?", c.ID)
	if c.only != "" {
		// CompartmentFor: the one type the search is over; its Params are
		// that type's CompartmentDefinition parameters, which is how
		// search_compartment was filled.
		cond = and(cond, f("cc.type = ?", c.only))
	}
	if drive {
		return p.driveBy("v", "cc", wrap("FROM search_compartment cc WHERE ", cond, ""))
	}
	return join("", f("EXISTS (SELECT 1 FROM search_compartment cc WHERE cc.seq = v.seq AND "), cond, f(")"))
}

// compartmentByType is compartmentCond for a compartment whose
// parameters differ by resource type: a reference row counts only when
// the referring type and the parameter belong together.
func compartmentByType(p *planner, c *Compartment, drive bool) frag {
	types := make([]string, 0, len(c.ByType))
	for t := range c.ByType {
		types = append(types, t)
	}
	slices.Sort(types)
	var pairs []frag
	self := false
	for _, t := range types {
		var params []string
		for _, p := range c.ByType[t] {
			if p == "{def}" {
				self = true
				continue
			}
			params = append(params, p)
		}
		if len(params) > 0 {
			pairs = append(pairs, and(f("cr.type = ?", t), in("cr.param", params)))
		}
	}
	target := f("cr.target_type = ? AND cr.target_id = ?", c.Type, c.ID)
	if c.ID == "" {
		// Every compartment of the type (Patient/$everything at type level).
		target = f("cr.target_type = ?", c.Type)
	}
	refs := and(target, or(pairs...))
	var ors []frag
	if drive {
		ors = append(ors, p.driveBy("v", "cr", wrap("FROM search_ref cr WHERE ", refs, "")))
	} else {
		ors = append(ors, join("", f("EXISTS (SELECT 1 FROM search_ref cr WHERE cr.seq = v.seq AND "), refs, f(")")))
	}
	if self && c.ID == "" {
		ors = append(ors, f("v.type = ?", c.Type))
	} else if self {
		ors = append(ors, f("(v.type = ? AND v.id = ?)", c.Type, c.ID))
	}
	return or(ors...)
}

// Options are the inputs of a search besides the query.
type Options struct {
	// Where, when not nil, restricts every resource version the search
	// reads (see Restriction).
	Where Restriction
	// Compartment, when not nil, limits matches to the compartment.
	Compartment *Compartment
	// Cursor continues a search from a next or previous link; nil for the
	// first page.
	Cursor *Cursor

	// expires says cursors stay valid for lifetime after their first
	// page (Engine.Search sets both from PageLifetime).
	expires  bool
	lifetime time.Duration
}

// Result is one page of a search.
type Result struct {
	// Matches are the page's resources, search.mode "match".
	Matches []store.Version
	// Included are _include and _revinclude resources, search.mode
	// "include"; none of them is also in Matches.
	Included []store.Version
	// Total is the number of matches at the snapshot (an estimate with
	// _total=estimate), or -1 when there is none: _total=none, or by
	// default when counting would cost more than the page (see
	// DefaultTotalBound).
	Total int
	// Next and Prev are the cursors of the neighbouring pages, nil when
	// there is none.
	Next, Prev *Cursor
	// Snapshot is the seq the search is pinned to.
	Snapshot int64
}

// Cursor is the position of a page: the snapshot every page reads, and
// either a keyset position (After / Before a seq, for the default order)
// or an offset (with _sort). Total carries the count from the first page,
// which cannot change at a fixed snapshot.
type Cursor struct {
	Snapshot int64 `json:"s"`
	// Created is when the first page was read (Unix microseconds): page
	// links expire a PageLifetime after it.
	Created int64 `json:"c,omitempty"`
	// Open are the transactions in progress at the snapshot (see
	// planner.open); empty on SQLite, which has one writer.
	Open []int64 `json:"x,omitempty"`
	// Total is the first page's total, -1 before it is counted and -2
	// when it was left out (so later pages do not count again).
	Total  int   `json:"t"`
	Offset int   `json:"o,omitempty"`
	After  int64 `json:"a,omitempty"`
	Before int64 `json:"b,omitempty"`
}

// Encode renders c for a page link (the _cursor parameter).
func (c *Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses the _cursor parameter of a page link. A cursor the
// client altered is a 400, never a wider search.
func DecodeCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c Cursor
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	bad := err != nil || c.Snapshot < 0 || c.Created < 0 || c.Offset < 0 || c.After < 0 || c.Before < 0 || c.Total < -2 || len(c.Open) > store.MaxOpen
	for _, x := range c.Open {
		bad = bad || x < 0 || x >= 1<<32
	}
	if bad {
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "search parameter \"_cursor\": not a cursor this server issued")
	}
	return &c, nil
}

// Snapshotter is a DB whose writers may commit out of seq order
// (store/postgres): Snapshot returns the newest seq together with the
// transactions in progress at that moment, whose versions a search
// pinned to it leaves out.
type Snapshotter interface {
	Snapshot(ctx context.Context) (seq int64, open []int64, err error)
}

var errExpired = fhir.Errorf(410, fhir.IssueNotFound, "this page link has expired; repeat the search")

// MaxIncluded bounds the resources _include and _revinclude may add to
// one page; a search that would add more fails with too-costly rather
// than return a partial set as if complete.
const MaxIncluded = 5000

// MaxIterate bounds the rounds of _include:iterate and _revinclude:iterate.
const MaxIterate = 4

// Search runs one page of q.
func Search(ctx context.Context, db DB, q *searchparam.Query, opt Options) (*Result, error) {
	cur := opt.Cursor
	if cur == nil && q.Cursor != "" {
		c, err := DecodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		cur = c
	}
	res := &Result{Total: -1}
	if _, ok := db.(Snapshotter); cur != nil && len(cur.Open) > 0 && !ok {
		// Only a Snapshotter issues open transactions, and only its SQL
		// can name them (xmin): elsewhere a cursor carrying them was
		// altered.
		return nil, fhir.Errorf(400, fhir.IssueInvalid, "search parameter \"_cursor\": not a cursor this server issued")
	}
	if cur != nil && opt.expires && time.Since(time.UnixMicro(cur.Created)) > opt.lifetime {
		return nil, errExpired
	}
	if cur != nil {
		var horizon int64
		if err := db.QueryShared(ctx, "SELECT seq FROM search_horizon WHERE id = 1", nil, func(scan func(...any) error) error { return scan(&horizon) }); err != nil {
			return nil, fmt.Errorf("search: horizon: %w", err)
		}
		if cur.Snapshot < horizon {
			return nil, errExpired
		}
	}
	if cur == nil {
		cur = &Cursor{Total: -1, Created: time.Now().UnixMicro()}
		var err error
		if sn, ok := db.(Snapshotter); ok {
			cur.Snapshot, cur.Open, err = sn.Snapshot(ctx)
		} else {
			err = db.QueryShared(ctx, storesql.MaxSeq, nil, func(scan func(...any) error) error { return scan(&cur.Snapshot) })
		}
		if err != nil {
			return nil, fmt.Errorf("search: snapshot: %w", err)
		}
	}
	res.Snapshot = cur.Snapshot
	// The total is counted without the keyset bound, the page with it.
	countP := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where}
	countAll, err := conditions(countP, q, opt)
	if err != nil {
		return nil, err
	}
	p := &planner{snap: cur.Snapshot, open: cur.Open, restrict: opt.Where}
	if len(q.Sort) == 0 && cur.After > 0 {
		p.after = cur.After
	}
	all, err := conditions(p, q, opt)
	if err != nil {
		return nil, err
	}

	res.Total = cur.Total
	mode := totalMode(q)
	wantTotal := res.Total == -1 && mode != searchparam.TotalNone
	// bounded is the default bounded count once taken (-1 before).
	bounded := -1
	boundedAll := func() (int, error) {
		if rangeDriven(q, opt) {
			return rangeBoundedCount(ctx, db, q, opt, cur, DefaultTotalBound)
		}
		return boundedCount(ctx, db, countAll, DefaultTotalBound)
	}
	count := func() error {
		switch mode {
		case searchparam.TotalAccurate:
			c := join("", f("SELECT count(*) FROM resource_version v WHERE "), countAll)
			if err := db.QueryShared(ctx, c.sql, c.args, func(scan func(...any) error) error { return scan(&res.Total) }); err != nil {
				return fmt.Errorf("search: total: %w", err)
			}
		case searchparam.TotalEstimate:
			n, err := estimate(ctx, db, q, opt, cur, countAll)
			if err != nil {
				return fmt.Errorf("search: total: %w", err)
			}
			res.Total = n
		default:
			n := bounded
			if n < 0 {
				var err error
				if n, err = boundedAll(); err != nil {
					return fmt.Errorf("search: total: %w", err)
				}
			}
			res.Total = n
			if n > DefaultTotalBound {
				res.Total = -2 // omitted; later pages do not count again
			}
		}
		return nil
	}
	if q.Count == 0 || q.Summary == searchparam.SummaryCount {
		if wantTotal {
			if err := count(); err != nil {
				return nil, err
			}
		}
		return res, nil
	}

	page := all
	var order []frag
	keyset := len(q.Sort) == 0
	reverse := false
	if keyset {
		switch {
		case cur.Before > 0:
			page = and(page, f("v.seq < ?", cur.Before))
			order = []frag{f("v.seq DESC")}
			reverse = true
		case cur.After > 0:
			page = and(page, f("v.seq > ?", cur.After))
			order = []frag{f("v.seq")}
		default:
			order = []frag{f("v.seq")}
		}
	} else {
		for _, k := range q.Sort {
			dir := " ASC NULLS LAST"
			if k.Descending {
				dir = " DESC NULLS LAST"
			}
			order = append(order, wrap("", sortExpr("v", k), dir))
		}
		order = append(order, f("v.seq"))
	}
	stmt := join("", f("SELECT "+storesql.VersionColumns+" FROM resource_version v WHERE "), page, f(" ORDER BY "), join(", ", order...),
		f(fmt.Sprintf(" LIMIT %d", q.Count+1)))
	if !keyset && cur.Offset > 0 {
		stmt = join("", stmt, f(fmt.Sprintf(" OFFSET %d", cur.Offset)))
	}
	var matches []store.Version
	// broad reports whether the search has more than DefaultTotalBound
	// matches: known from the first page's total on later pages,
	// otherwise counted up to the bound (which is then the default
	// total too).
	broad := func() (bool, error) {
		switch {
		case cur.Total == -2:
			return true, nil
		case cur.Total >= 0:
			return cur.Total > DefaultTotalBound, nil
		}
		if bounded < 0 {
			n, err := boundedAll()
			if err != nil {
				return false, fmt.Errorf("search: total: %w", err)
			}
			bounded = n
		}
		return bounded > DefaultTotalBound, nil
	}
	walked := false
	switch {
	case !keyset && dateSortable(q, opt):
		// A sort on one date walks the date index when the matches are
		// too many to sort cheaply (see sortedByDate).
		wide, err := broad()
		if err != nil {
			return nil, err
		}
		if wide {
			if matches, walked, err = sortedByDate(ctx, db, q, opt, cur, q.Count+1); err != nil {
				return nil, fmt.Errorf("search: page: %w", err)
			}
		}
	case keyset && !reverse && rangeDriven(q, opt):
		// A broad range walks the type in seq order (see scanned).
		wide, err := broad()
		if err != nil {
			return nil, err
		}
		if wide {
			if matches, err = scanned(ctx, db, q, opt, cur); err != nil {
				return nil, fmt.Errorf("search: page: %w", err)
			}
			walked = true
		}
	}
	switch {
	case walked:
	case keyset && !reverse && p.drv != nil:
		matches, err = windowed(ctx, db, q, opt, cur)
	default:
		matches, err = versions(ctx, db, stmt)
	}
	if err != nil {
		return nil, fmt.Errorf("search: page: %w", err)
	}
	more := len(matches) > q.Count
	if more {
		matches = matches[:q.Count]
	}
	if reverse {
		slices.Reverse(matches)
	}
	res.Matches = matches
	if wantTotal {
		if first := cur.Offset == 0 && cur.After == 0 && cur.Before == 0; first && !more {
			// The whole result is on this page: it is its own count, and
			// the common small search saves a statement.
			res.Total = len(matches)
		} else if err := count(); err != nil {
			return nil, err
		}
	}
	next := func() *Cursor { c := *cur; c.Total = res.Total; c.Offset, c.After, c.Before = 0, 0, 0; return &c }
	defer func() {
		if res.Total < 0 {
			res.Total = -1
		}
	}()
	switch {
	case keyset && len(matches) > 0:
		first, last := matches[0].Seq, matches[len(matches)-1].Seq
		if reverse {
			// Paging backwards: the page after is the one we came from,
			// and "more" means more before this one.
			n := next()
			n.After = last
			res.Next = n
			if more {
				pr := next()
				pr.Before = first
				res.Prev = pr
			}
			break
		}
		if more {
			n := next()
			n.After = last
			res.Next = n
		}
		if cur.After > 0 {
			pr := next()
			pr.Before = first
			res.Prev = pr
		}
	case !keyset:
		if more {
			n := next()
			n.Offset = cur.Offset + q.Count
			res.Next = n
		}
		if cur.Offset > 0 {
			pr := next()
			pr.Offset = max(0, cur.Offset-q.Count)
			res.Prev = pr
		}
	}
	if len(q.Include)+len(q.RevInclude) > 0 && len(matches) > 0 {
		inc, err := includes(ctx, db, p, q, opt, matches)
		if err != nil {
			return nil, err
		}
		res.Included = inc
	}
	return res, nil
}

// windowed reads a page in the default (seq) order when a filter drives
// the query: a window of the next candidates the driver selects is found
// first, through the driver's own index, and only the versions in that
// window are read and checked; windows widen until the page is full or
// the candidates run out. Reading "every remaining match, sorted, then
// the first _count" instead costs each page in proportion to the matches
// after it, and paging through a large result in proportion to its
// square.
func windowed(ctx context.Context, db DB, q *searchparam.Query, opt Options, cur *Cursor) ([]store.Version, error) {
	need := q.Count + 1
	// The first window is wider than the page: other filters usually
	// reject some candidates, and a driver with few candidates (one
	// patient's observations) is then read in one window, the statement
	// finding the window's end returning nothing.
	window := max(need, 256)
	after := cur.After
	var out []store.Version
	for {
		p := &planner{snap: cur.Snapshot, open: cur.Open, after: after, restrict: opt.Where}
		if _, err := conditions(p, q, opt); err != nil {
			return nil, err
		}
		// The seq of the window's last candidate; none means the window
		// runs to the snapshot and is the last.
		upto := int64(0)
		kth := join("", f("SELECT "+p.drvSeq+" "), *p.drv, f(" AND "+p.drvSeq+" > ? AND "+p.drvSeq+" <= ? ORDER BY "+p.drvSeq+fmt.Sprintf(" LIMIT 1 OFFSET %d", window-1), after, cur.Snapshot))
		if err := db.QueryShared(ctx, kth.sql, kth.args, func(scan func(...any) error) error { return scan(&upto) }); err != nil {
			return nil, err
		}
		last := upto == 0
		if last {
			upto = cur.Snapshot
		}
		p = &planner{snap: cur.Snapshot, open: cur.Open, after: after, upto: upto, restrict: opt.Where}
		cond, err := conditions(p, q, opt)
		if err != nil {
			return nil, err
		}
		// The version bounds keep what the driver does not select (the
		// compartment's own resource) in the window of its seq.
		stmt := join("", f("SELECT "+storesql.VersionColumns+" FROM resource_version v WHERE "), cond,
			f(" AND +v.seq > ? AND +v.seq <= ? ORDER BY v.seq", after, upto), f(fmt.Sprintf(" LIMIT %d", need-len(out))))
		vs, err := versions(ctx, db, stmt)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(out) >= need || last {
			return out, nil
		}
		after = upto
		window = min(window*4, 16*searchparam.MaxCount)
	}
}

// conditions is everything a match must satisfy: the query's filters
// (with the caller's restriction, see planner.where) and the compartment.
func conditions(p *planner, q *searchparam.Query, opt Options) (frag, error) {
	where, err := p.where("v", q.Types, q.Filters)
	if err != nil {
		return frag{}, err
	}
	conds := []frag{where}
	if opt.Compartment != nil {
		conds = append(conds, compartmentCond(p, opt.Compartment, !hasDriver(q.Filters)))
	}
	// The caller's restriction on v is part of where, as on every alias.
	return and(conds...), nil
}

func versions(ctx context.Context, db DB, stmt frag) ([]store.Version, error) {
	var out []store.Version
	err := db.QueryShared(ctx, stmt.sql, stmt.args, func(scan func(...any) error) error {
		var v store.Version
		var lu int64
		if err := scan(&v.Seq, &v.Type, &v.ID, &v.Version, &lu, &v.Deleted, &v.Body); err != nil {
			return err
		}
		v.LastUpdated = storesql.FromMicros(lu)
		out = append(out, v)
		return nil
	})
	return out, err
}

var errTooMany = fhir.Errorf(400, fhir.IssueTooCostly, "_include and _revinclude would add more than %d resources to one page; narrow the search or lower _count", MaxIncluded)

// includes gathers the _include and _revinclude resources of a page: one
// statement per direction per round, the first round from the matches and
// each :iterate round from what the previous round added.
func includes(ctx context.Context, db DB, p *planner, q *searchparam.Query, opt Options, matches []store.Version) ([]store.Version, error) {
	seen := map[int64]bool{}
	for _, m := range matches {
		seen[m.Seq] = true
	}
	var out []store.Version
	from := matches
	for round := 0; round < MaxIterate && len(from) > 0; round++ {
		var added []store.Version
		for _, rev := range []bool{false, true} {
			incs := q.Include
			if rev {
				incs = q.RevInclude
			}
			var use []searchparam.Include
			for _, inc := range incs {
				if round == 0 || inc.Iterate {
					use = append(use, inc)
				}
			}
			if len(use) == 0 {
				continue
			}
			for _, stmt := range []*frag{includeStmt(p, rev, use, from, opt), canonicalStmt(p, rev, use, from, opt)} {
				if stmt == nil {
					continue
				}
				vs, err := versions(ctx, db, *stmt)
				if err != nil {
					return nil, fmt.Errorf("search: include: %w", err)
				}
				for _, v := range vs {
					if !seen[v.Seq] {
						seen[v.Seq] = true
						added = append(added, v)
					}
				}
			}
		}
		slices.SortFunc(added, func(a, b store.Version) int { return cmp.Compare(a.Seq, b.Seq) })
		out = append(out, added...)
		if len(out) > MaxIncluded {
			return nil, errTooMany
		}
		from = added
	}
	return out, nil
}

func includeStmt(p *planner, rev bool, incs []searchparam.Include, from []store.Version, opt Options) *frag {
	var which []frag
	for _, inc := range incs {
		var c []frag
		if inc.Source != "*" {
			c = append(c, f("r.type = ?", inc.Source))
		}
		if inc.Param != nil {
			c = append(c, f("r.param = ?", inc.Param.Name))
		}
		if inc.Target != "" {
			c = append(c, f("r.target_type = ?", inc.Target))
		}
		which = append(which, and(c...))
	}
	var cond frag
	if !rev {
		// Resources the page's references point to.
		seqs := make([]frag, len(from))
		for i, v := range from {
			seqs[i] = f("?", v.Seq)
		}
		// Driven from the page's reference rows (found by seq) into the
		// versions by their (type, id) key, not from every version with a
		// correlated lookup: the cost follows the page, not the store.
		cond = join("", f("(v.type, v.id) IN (SELECT r.target_type, r.target_id FROM search_ref r WHERE r.seq IN ("),
			join(", ", seqs...), f(") AND "), or(which...), f(")"))
	} else {
		// Resources whose references point to the page's resources.
		var pairs []frag
		for _, v := range from {
			pairs = append(pairs, f("(r.target_id = ? AND r.target_type = ?)", v.ID, v.Type))
		}
		cond = join("", f("v.seq IN (SELECT r.seq FROM search_ref r WHERE "), or(pairs...), f(" AND "), or(which...), f(")"))
	}
	return includeSelect(p, cond, opt)
}

// includeSelect is the statement reading the current versions that cond
// selects, for _include and _revinclude.
func includeSelect(p *planner, cond frag, opt Options) *frag {
	parts := []frag{p.current("v"), cond, p.restriction("v", nil)}
	stmt := join("", f("SELECT "+storesql.VersionColumns+" FROM resource_version v WHERE "), and(parts...),
		// No ORDER BY: sorting would tempt the planner to walk every
		// version in seq order instead of looking up the few referenced;
		// the caller orders what comes back.
		f(fmt.Sprintf(" LIMIT %d", MaxIncluded+1)))
	return &stmt
}

// canonicalTypes are the resource types with a url search parameter:
// the targets of canonical references (R4 references.html 2.3.0.3).
var canonicalTypes = sync.OnceValue(func() []string {
	var out []string
	reg := searchparam.R4()
	for _, t := range spec.ResourceTypes() {
		if d, ok := reg.Lookup(t, "url"); ok && d.Kind == searchparam.KindURI {
			out = append(out, t)
		}
	}
	return out
})

// canonicalTargets are the types a canonical reference of inc may
// resolve to.
func canonicalTargets(inc searchparam.Include) []string {
	all := canonicalTypes()
	switch {
	case inc.Target != "":
		if slices.Contains(all, inc.Target) {
			return []string{inc.Target}
		}
		return nil
	case inc.Param == nil:
		return all
	}
	var out []string
	for _, t := range inc.Param.Targets {
		if slices.Contains(all, t) {
			out = append(out, t)
		}
	}
	return out
}

// canonicalStmt is the statement for the canonical references of incs
// ("url" or "url|version"): they resolve to the resources whose url is
// the reference's url and, when the reference names a version, whose
// version is that version. A canonical without a version includes every
// stored version of the resource. It is nil when no include can name a
// canonical resource.
func canonicalStmt(p *planner, rev bool, incs []searchparam.Include, from []store.Version, opt Options) *frag {
	var which []frag
	for _, inc := range incs {
		types := canonicalTargets(inc)
		if len(types) == 0 {
			continue
		}
		var c []frag
		if inc.Source != "*" {
			c = append(c, f("r.type = ?", inc.Source))
		}
		if inc.Param != nil {
			c = append(c, f("r.param = ?", inc.Param.Name))
		}
		if !rev {
			c = append(c, in("u.type", types))
			which = append(which, and(c...))
			continue
		}
		// Resources of the page that this include's references can name.
		var pairs []frag
		for _, v := range from {
			if !slices.Contains(types, v.Type) {
				continue
			}
			var head struct{ URL, Version string }
			if json.Unmarshal(v.Body, &head) != nil || head.URL == "" {
				continue
			}
			pairs = append(pairs, f("(r.url = ? AND (r.version = '' OR r.version = ?))", head.URL, head.Version))
		}
		if len(pairs) > 0 {
			which = append(which, and(append(c, or(pairs...))...))
		}
	}
	if len(which) == 0 {
		return nil
	}
	if rev {
		return includeSelect(p, join("", f("v.seq IN (SELECT r.seq FROM search_ref r WHERE r.url <> '' AND "), or(which...), f(")")), opt)
	}
	seqs := make([]frag, len(from))
	for i, v := range from {
		seqs[i] = f("?", v.Seq)
	}
	return includeSelect(p, join("", f("v.seq IN (SELECT u.seq FROM search_ref r JOIN search_uri u ON u.param = 'url' AND u.uri = r.url WHERE r.seq IN ("),
		join(", ", seqs...), f(") AND r.url <> '' AND "), or(which...),
		f(" AND (r.version = '' OR EXISTS (SELECT 1 FROM search_token tv WHERE tv.seq = u.seq AND tv.param = 'version' AND tv.code = r.version)))")), opt)
}
