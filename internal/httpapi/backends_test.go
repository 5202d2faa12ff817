package httpapi_test

import (
	"context"
	"testing"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
	"github.com/nhs-junction/junction/internal/testenv"
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
		fn(t, withSearch(t, st))
	})
	t.Run("postgres", func(t *testing.T) {
		url := testenv.PostgresURL(t)
		if url == "" {
			t.Skip(testenv.PostgresEnv + " is not set")
		}
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, withSearch(t, st))
	})
}

func withSearch(t testing.TB, st store.Store) store.Store {
	e, err := app.WithSearch(st, "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}
