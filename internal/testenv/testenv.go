// Package testenv gives tests what they need from their surroundings: a
// fresh PostgreSQL schema when JUNCTION_TEST_POSTGRES is set, and the
// shared reference data beside the repository. Only tests import it.
package testenv

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable holding the test database URL.
const PostgresEnv = "JUNCTION_TEST_POSTGRES"

// InCI reports whether the tests run in continuous integration (CI=true),
// where everything the tests need must be present: a test that would skip
// for want of it fails instead, so a green run never hides a backend or a
// package that was not tested.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips tb because what it needs is missing, or fails it in CI
// (see InCI).
func Unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI=true but "+format, args...)
	}
	tb.Skipf(format, args...)
}

// PostgresURL returns a URL whose connections use a new, empty schema
// (dropped when tb ends), or "" when JUNCTION_TEST_POSTGRES is unset. In
// CI the variable must be set: an unset one fails tb.
func PostgresURL(tb testing.TB) string {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if InCI() {
			tb.Fatalf("CI=true but %s is not set: the PostgreSQL backend would go untested", PostgresEnv)
		}
		return ""
	}
	ctx := context.Background()
	// Lower case: search_path folds unquoted names to lower case.
	name := "jt_" + strings.ToLower(rand.Text()[:16])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+ident); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+ident+" CASCADE"); err != nil {
			tb.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	// pgx sends URL parameters it does not know as session settings.
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// SharedData returns the directory ../shared/data/<sub> beside the
// repository, or skips tb when it is absent.
func SharedData(tb testing.TB, sub string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data", sub)
	if _, err := os.Stat(dir); err != nil {
		Unavailable(tb, "%s not available: %v", dir, err)
	}
	return dir
}
