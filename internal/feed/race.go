package feed

import (
	"context"
	"fmt"
	"strings"

	"github.com/nhs-junction/junction/internal/hl7v2/fhirmap"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// raceError reports that what a message was mapped over changed before
// its transaction committed: a resource it meant to create exists, or
// another patient now carries one of its patient's identifiers. The
// transaction is rolled back and the message looked up, mapped and
// applied again (apply).
type raceError struct{ what string }

func (e *raceError) Error() string { return "feed: concurrent change: " + e.what }

// checkCreated runs inside the applying transaction, after the writes of
// res's Bundle, and makes the plain PUTs of a Build as safe as the
// conditional update they replace (R4 http.html#cond-update), without
// the interaction layer's process-wide conditional lock:
//
//   - every resource res.Created names must be at version 1, so it did not
//     exist before (else taken records the id, when it is not a concurrent
//     creation that the next lookup will find);
//   - no current patient other than res.Patient may carry one of the
//     plan's patient identifiers. The search runs in the transaction
//     (search.Engine.SearchTx), where SQLite has one writer and
//     PostgreSQL takes a transaction lock on the Patient type first, so of
//     two transactions creating one patient the later one sees the
//     earlier one's commit and is retried.
func (f *Feed) checkCreated(ctx context.Context, tx store.Tx, plan *fhirmap.Plan, res *fhirmap.Result, taken map[string]bool) error {
	for _, ref := range res.Created {
		typ, id, _ := strings.Cut(ref, "/")
		v, err := tx.Current(ctx, typ, id)
		if err != nil {
			return fmt.Errorf("feed: read %s: %w", ref, err)
		}
		if v.Version != 1 {
			taken[ref] = true
			return &raceError{ref + " already existed"}
		}
	}
	if res.Patient == "" || len(plan.Patient) == 0 {
		return nil
	}
	var toks []string
	for _, id := range plan.Patient {
		toks = append(toks, id.Token())
	}
	q, err := searchparam.Parse(f.opts.Registry, "Patient", []searchparam.Param{{Name: "identifier", Value: strings.Join(toks, ",")}, {Name: "_count", Value: "20"}},
		searchparam.Options{Now: f.opts.Now()})
	if err != nil {
		return err
	}
	q.Total = searchparam.TotalNone
	found, err := f.opts.Store.SearchTx(ctx, tx, q, search.Options{})
	if err != nil {
		return err
	}
	for _, v := range found.Matches {
		if "Patient/"+v.ID != res.Patient && !replacedBy(v.Body) {
			return &raceError{"Patient/" + v.ID + " carries an identifier of " + res.Patient}
		}
	}
	return nil
}
