package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/store/storetest"
	"github.com/nhs-junction/junction/internal/testenv"
)

// freshSchema returns a URL of the test database
// (JUNCTION_TEST_POSTGRES) whose connections use a new empty schema,
// dropped when tb ends; it skips tb when the variable is unset.
func freshSchema(tb testing.TB) string {
	u := testenv.PostgresURL(tb)
	if u == "" {
		tb.Skip(testenv.PostgresEnv + " is not set")
	}
	return u
}

func TestStore(t *testing.T) {
	if testenv.PostgresURL(t) == "" {
		t.Skip(testenv.PostgresEnv + " is not set")
	}
	var mu sync.Mutex
	urls := map[*testing.T]string{}
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		u, ok := urls[t]
		if !ok {
			u = freshSchema(t)
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
	s, err := postgres.Open(context.Background(), freshSchema(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func TestDiskBudget(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
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
