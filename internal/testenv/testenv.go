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

// PostgresURL returns a URL whose connections use a new, empty schema
// (dropped when tb ends), or "" when JUNCTION_TEST_POSTGRES is unset.
func PostgresURL(tb testing.TB) string {
	base := os.Getenv(PostgresEnv)
	if base == "" {
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
		tb.Skipf("%s not available: %v", dir, err)
	}
	return dir
}
