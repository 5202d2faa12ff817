package search_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/fhirpkg"
	"github.com/nhs-junction/junction/internal/index"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/search/searchtest"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

var indexer = index.New(searchparam.R4(), "")

func openSQLite(t testing.TB) searchtest.Backend {
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := search.Open(st, indexer)
	if err != nil {
		t.Fatal(err)
	}
	return searchtest.Backend{Engine: e}
}

func TestSQLite(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) searchtest.Backend { return openSQLite(t) })
}

// TestSortDateWindow runs the date sort checks with a window of the date
// index so small that some pages are found within it and others fall
// back to the general statement.
func TestSortDateWindow(t *testing.T) {
	defer search.SetSortWindow(64, 2)()
	t.Run("sqlite", func(t *testing.T) { searchtest.SortDate(t, openSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { searchtest.SortDate(t, openPostgres(t)) })
}

func syntheaFiles(t *testing.T) []string {
	files, _ := filepath.Glob("/work/shared/data/synthea-r4/*.json")
	if len(files) == 0 {
		files, _ = filepath.Glob("../../../shared/data/synthea-r4/*.json")
	}
	if len(files) == 0 {
		t.Skip("no Synthea data")
	}
	if len(files) > 3 {
		files = files[:3]
	}
	return files
}

func TestSQLiteSynthea(t *testing.T) {
	searchtest.RunSynthea(t, openSQLite(t), syntheaFiles(t))
}

// BenchmarkSQLite runs the search benchmarks on a fresh SQLite store, or
// on the store in $JUNCTION_BENCH_DIR when set, which keeps the loaded
// population between runs (a million resources take minutes to load).
func BenchmarkSQLite(b *testing.B) {
	dir := os.Getenv("JUNCTION_BENCH_DIR")
	if dir == "" {
		searchtest.Bench(b, openSQLite)
		return
	}
	searchtest.Bench(b, func(tb testing.TB) searchtest.Backend {
		st, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		e, err := search.Open(st, indexer)
		if err != nil {
			tb.Fatal(err)
		}
		return searchtest.Backend{Engine: e}
	})
}

func TestPostgres(t *testing.T) {
	searchtest.Run(t, func(t *testing.T) searchtest.Backend { return openPostgres(t) })
}

func BenchmarkPostgres(b *testing.B) {
	searchtest.Bench(b, openPostgres)
}

func TestPostgresSynthea(t *testing.T) {
	searchtest.RunSynthea(t, openPostgres(t), syntheaFiles(t))
}

func openPostgres(t testing.TB) searchtest.Backend {
	base := os.Getenv("JUNCTION_TEST_POSTGRES")
	if base == "" {
		t.Skip("JUNCTION_TEST_POSTGRES is not set")
	}
	st, err := postgres.Open(context.Background(), freshSchema(t, base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := search.Open(st, indexer)
	if err != nil {
		t.Fatal(err)
	}
	return searchtest.Backend{Engine: e}
}

func freshSchema(t testing.TB, base string) string {
	ctx := context.Background()
	name := "junction_search_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE")
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	q.Set("search_path", name)
	pu.RawQuery = q.Encode()
	return pu.String()
}

func examplesDir(t *testing.T) string {
	if testing.Short() {
		t.Skip("needs the examples package")
	}
	dir, err := fhirpkg.Dir()
	if err != nil {
		t.Skipf("examples package unavailable: %v", err)
	}
	return dir
}

func TestSQLiteMissingExamples(t *testing.T) {
	searchtest.RunMissingExamples(t, openSQLite(t), examplesDir(t))
}

func TestPostgresMissingExamples(t *testing.T) {
	searchtest.RunMissingExamples(t, openPostgres(t), examplesDir(t))
}
