package searchtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// SortDate checks _sort on a date parameter over more matches than
// search.DefaultTotalBound (where the engine may walk the date index
// instead of sorting every match), and broad date ranges without _sort
// (where it may walk the type in seq order), against the order computed here from
// the data: ascending by the earliest start of a resource's values,
// descending by the latest end, ties in the order the resources were
// written, resources without a value last. Goal.target.due repeats, so
// resources carry none, one, several and exactly repeated values
// (which the index may keep once or twice); every
// page is followed to the end, so the pages after the dated resources
// run out are checked too.
func SortDate(t *testing.T, b Backend) {
	ctx := context.Background()
	const n = search.DefaultTotalBound + 400
	type goal struct {
		id     string
		active bool
		days   []time.Time
	}
	rng := rand.New(rand.NewPCG(7, 11))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	goals := make([]goal, n)
	err := b.Engine.Write(ctx, func(tx store.Tx) error {
		for i := range goals {
			g := goal{id: fmt.Sprintf("sd%d", i), active: i%10 != 0}
			var targets []string
			for range min(i%8, 1+i%3) {
				// Few distinct days, so equal keys (ties) are common.
				d := base.AddDate(0, 0, rng.IntN(400))
				g.days = append(g.days, d)
				targets = append(targets, `{"dueDate":"`+d.Format(time.DateOnly)+`"}`)
			}
			if i%7 == 3 && len(g.days) > 0 {
				// An exact duplicate of the first value.
				g.days = append(g.days, g.days[0])
				targets = append(targets, targets[0])
			}
			status := "proposed"
			if g.active {
				status = "active"
			}
			body := fmt.Sprintf(`{"resourceType":"Goal","id":"%s","lifecycleStatus":"%s","description":{"text":"g"},"subject":{"reference":"Patient/p"},"target":[%s]}`,
				g.id, status, strings.Join(targets, ","))
			if _, err := tx.Put(ctx, store.Version{Type: "Goal", ID: g.id, Version: 1, Body: []byte(body)}); err != nil {
				return err
			}
			goals[i] = g
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cutoff, late := base.AddDate(0, 0, 60), base.AddDate(0, 0, 330)
	for _, c := range []struct {
		qs     string
		desc   bool
		match  func(g goal) bool
		sequal bool // no _sort: the order written
	}{
		// A broad range without _sort, which the engine may read by
		// walking the type in seq order.
		{"target-date=ge2020-01-01", false, func(g goal) bool { return len(g.days) > 0 }, true},
		// A narrower one (a few hundred matches), whose total is counted.
		{"target-date=ge" + late.Format(time.DateOnly), false, func(g goal) bool {
			return slices.ContainsFunc(g.days, func(d time.Time) bool { return !d.Before(late) })
		}, true},
		{"lifecycle-status=active&target-date=ge" + cutoff.Format(time.DateOnly), false, func(g goal) bool {
			return g.active && slices.ContainsFunc(g.days, func(d time.Time) bool { return !d.Before(cutoff) })
		}, true},
		{"lifecycle-status=active&_sort=target-date", false, func(g goal) bool { return g.active }, false},
		{"lifecycle-status=active&_sort=-target-date", true, func(g goal) bool { return g.active }, false},
		{"_sort=target-date", false, func(g goal) bool { return true }, false},
		{"lifecycle-status=active,proposed&target-date=ge" + cutoff.Format(time.DateOnly) + "&_sort=-target-date", true, func(g goal) bool {
			return slices.ContainsFunc(g.days, func(d time.Time) bool { return !d.Before(cutoff) })
		}, false},
	} {
		t.Run(c.qs, func(t *testing.T) {
			// want: matching goals in index order (= write order), then
			// stably sorted by key with the dateless ones last.
			var want []string
			type keyed struct {
				id  string
				key time.Time
				has bool
			}
			var ks []keyed
			for _, g := range goals {
				if !c.match(g) {
					continue
				}
				k := keyed{id: g.id, has: len(g.days) > 0}
				if k.has {
					if c.desc {
						k.key = slices.MaxFunc(g.days, time.Time.Compare).AddDate(0, 0, 1)
					} else {
						k.key = slices.MinFunc(g.days, time.Time.Compare)
					}
				}
				ks = append(ks, k)
			}
			slices.SortStableFunc(ks, func(a, b keyed) int {
				switch {
				case c.sequal:
					return 0
				case a.has != b.has:
					if a.has {
						return -1
					}
					return 1
				case c.desc:
					return b.key.Compare(a.key)
				}
				return a.key.Compare(b.key)
			})
			for _, k := range ks {
				want = append(want, k.id)
			}
			if narrow := len(want) <= search.DefaultTotalBound; narrow != strings.HasSuffix(c.qs, late.Format(time.DateOnly)) || len(want) < 200 {
				t.Fatalf("%d matches: the test needs more than %d, or a few hundred for the narrower range", len(want), search.DefaultTotalBound)
			}
			var got []string
			opt := search.Options{}
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatal("paging does not end")
				}
				res := run(t, b, "Goal", c.qs+"&_count=97", opt)
				// The default total: exact up to the bound, left out above.
				if wantTotal := len(want); pages == 0 && res.Total != wantTotal && (wantTotal <= search.DefaultTotalBound || res.Total != -1) {
					t.Errorf("total %d, want %d (or none above %d)", res.Total, wantTotal, search.DefaultTotalBound)
				}
				got = append(got, ids(res.Matches)...)
				if res.Next == nil {
					break
				}
				opt.Cursor = res.Next
			}
			if !slices.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("%d results, want %d; first difference at %d: got %v, want %v", len(got), len(want), i,
					got[i:min(len(got), i+5)], want[i:min(len(want), i+5)])
			}
		})
	}
}
