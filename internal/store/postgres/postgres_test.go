package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/storetest"
)

// testURL is the database the tests use, e.g.
// postgres://junction:junction@127.0.0.1:5432/junction_test?sslmode=disable.
// Each test works in a schema of its own, dropped when it ends, so runs can
// repeat and overlap.
func testURL(tb testing.TB) string {
	u := os.Getenv("JUNCTION_TEST_POSTGRES")
	if u == "" {
		tb.Skip("JUNCTION_TEST_POSTGRES is not set")
	}
	return u
}

// freshSchema creates an empty schema and returns a URL whose connections
// use it; the schema is dropped when tb ends.
func freshSchema(tb testing.TB, base string) string {
	ctx := context.Background()
	// Lower case: search_path folds unquoted names to lower case.
	name := "junction_test_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatal(err)
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

func TestStore(t *testing.T) {
	base := testURL(t)
	var mu sync.Mutex
	urls := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		u, ok := urls[t]
		if !ok {
			u = freshSchema(t, base)
			urls[t] = u
		}
		mu.Unlock()
		s, err := postgres.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:secret@127.0.0.1:1/x?connect_timeout=1")
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if s := fmt.Sprint(err); strings.Contains(s, "secret") {
		t.Errorf("error shows the password: %s", s)
	}
}

func BenchmarkPut(b *testing.B)         { storetest.BenchPut(b, benchStore(b), false) }
func BenchmarkPutParallel(b *testing.B) { storetest.BenchPut(b, benchStore(b), true) }
func BenchmarkRead(b *testing.B)        { storetest.BenchRead(b, benchStore(b), false) }
func BenchmarkReadParallel(b *testing.B) {
	storetest.BenchRead(b, benchStore(b), true)
}

func benchStore(b *testing.B) store.Store {
	s, err := postgres.Open(context.Background(), freshSchema(b, testURL(b)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func TestDiskBudget(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t, testURL(t))
	s, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckDiskBudget(t, s, func() int64 {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		// Tables with their indexes and TOAST, as they stand after the
		// writes (dead row versions from updates included).
		var n int64
		err = conn.QueryRow(ctx, "SELECT pg_total_relation_size('resource_version') + pg_total_relation_size('resource')").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
}
