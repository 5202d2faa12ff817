package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// TestGroupCommitIsolation runs many concurrent writers, some of which
// fail after writing or panic, so that they share commits: the failures
// must leave nothing behind and every success must be kept.
func TestGroupCommitIsolation(t *testing.T) {
	st, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	errBoom := errors.New("boom")
	const n = 60
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					results[i] = fmt.Errorf("panic: %v", p)
				}
			}()
			results[i] = st.Write(ctx, func(tx store.Tx) error {
				for k := 0; k < 2; k++ {
					id := fmt.Sprintf("g%d-%d", i, k)
					if _, err := tx.Put(ctx, store.Version{Type: "Basic", ID: id, Version: 1, LastUpdated: tx.Now(), Body: []byte(`{"resourceType":"Basic","id":"` + id + `"}`)}); err != nil {
						return err
					}
				}
				switch i % 6 {
				case 1:
					return errBoom
				case 2:
					panic("writer panicked")
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		for k := 0; k < 2; k++ {
			_, err := st.Read(ctx, "Basic", fmt.Sprintf("g%d-%d", i, k))
			switch i % 6 {
			case 1:
				if !errors.Is(results[i], errBoom) || !errors.Is(err, store.ErrNotFound) {
					t.Errorf("writer %d: result %v, read %v; want boom and not found", i, results[i], err)
				}
			case 2:
				if results[i] == nil || !errors.Is(err, store.ErrNotFound) {
					t.Errorf("writer %d: result %v, read %v; want panic and not found", i, results[i], err)
				}
			default:
				if results[i] != nil || err != nil {
					t.Errorf("writer %d: result %v, read %v; want both nil", i, results[i], err)
				}
			}
		}
	}
	// Versions written in one commit still get distinct, increasing times.
	page, err := st.History(ctx, store.HistoryQuery{Type: "Basic", Count: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(page.Versions); i++ {
		if !page.Versions[i].LastUpdated.Before(page.Versions[i-1].LastUpdated) && page.Versions[i].LastUpdated != page.Versions[i-1].LastUpdated {
			t.Fatalf("history out of time order at %d", i)
		}
	}
}
