package searchtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store"
)

// testTotals checks the _total modes (search.html 3.1.1.6) on a result
// larger than search.DefaultTotalBound: by default the total is given
// when counting is cheap and left out otherwise, while the pages stay
// exact; accurate counts; estimate is near the count; none gives none.
func testTotals(t *testing.T, b Backend) {
	ctx := context.Background()
	const n = search.DefaultTotalBound + 300
	err := b.Engine.Write(ctx, func(tx store.Tx) error {
		for i := range n {
			status := "final"
			if i%4 == 0 {
				status = "amended"
			}
			body := fmt.Sprintf(`{"resourceType":"Observation","id":"tt%d","status":"%s","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},"valueQuantity":{"value":%d}}`, i, status, i)
			if _, err := tx.Put(ctx, store.Version{Type: "Observation", ID: fmt.Sprintf("tt%d", i), Version: 1, Body: []byte(body)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	amended := (n + 3) / 4
	for _, c := range []struct {
		qs         string
		want       int // -1: no total
		estimateOf int // >0: an estimate of this count, within 15%
	}{
		{"code=718-7&_count=10", -1, 0},
		{"code=718-7&value-quantity=lt20&_count=10", 20, 0},
		{"code=718-7&_count=10&_total=accurate", n, 0},
		{"code=718-7&_count=10&_total=none", -1, 0},
		{"code=718-7&_count=10&_total=estimate", 0, n},
		{"code=718-7&status=amended&_count=10&_total=estimate", 0, amended},
		{"status=final&_count=10&_total=estimate", 0, n - amended},
		{"code=718-7&_summary=count", n, 0},
		{"_count=10&_total=estimate", 0, n},
		{"_count=10", -1, 0},
	} {
		t.Run(c.qs, func(t *testing.T) {
			res := run(t, b, "Observation", c.qs, search.Options{})
			if c.estimateOf > 0 {
				if d := res.Total - c.estimateOf; d*100 > 15*c.estimateOf || -d*100 > 15*c.estimateOf {
					t.Errorf("estimate %d, count %d", res.Total, c.estimateOf)
				}
				return
			}
			if res.Total != c.want {
				t.Errorf("total %d, want %d", res.Total, c.want)
			}
		})
	}
	// Without a total the pages are still exact: every match once.
	q := parse(t, "Observation", "code=718-7&_count=400")
	seen := map[string]bool{}
	opt := search.Options{}
	for page := 0; page < 10; page++ {
		res, err := b.Engine.Search(ctx, q, opt)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != -1 {
			t.Errorf("page %d: total %d", page, res.Total)
		}
		for _, id := range ids(res.Matches) {
			if seen[id] {
				t.Fatalf("%s twice", id)
			}
			seen[id] = true
		}
		if res.Next == nil {
			break
		}
		opt.Cursor = res.Next
	}
	if len(seen) != n {
		t.Errorf("paged %d matches, want %d", len(seen), n)
	}
}
