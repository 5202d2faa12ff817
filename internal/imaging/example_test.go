package imaging_test

import (
	"fmt"
	"time"

	"github.com/nhs-junction/junction/internal/imaging"
)

// Rank puts scored studies first by score, then the studies whose
// triage failed or is pending, each by waiting time.
func ExampleRank() {
	at := func(h int) time.Time { return time.Date(2026, 12, 1, h, 0, 0, 0, time.UTC) }
	items := []imaging.Item{
		{ID: "ct-head-failed", Status: imaging.StatusUnavailable, Waiting: at(8)},
		{ID: "cxr-routine", Status: imaging.StatusScored, Score: 0.05, Waiting: at(7)},
		{ID: "ct-head-bleed", Status: imaging.StatusScored, Score: 0.97, Waiting: at(10)},
	}
	imaging.Rank(items)
	for _, it := range items {
		fmt.Println(it.ID, it.Status)
	}
	// Output:
	// ct-head-bleed scored
	// cxr-routine scored
	// ct-head-failed unavailable
}
