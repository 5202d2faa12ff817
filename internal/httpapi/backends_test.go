package httpapi_test

import (
	"context"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

// forEachBackend runs fn against a fresh SQLite store and, when
// JUNCTION_TEST_POSTGRES is set, a fresh PostgreSQL store.
func forEachBackend(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}
