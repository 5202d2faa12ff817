package feed_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/nhs-junction/junction/internal/access"
	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/feed"
	"github.com/nhs-junction/junction/internal/hl7v2/fhirmap"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/testenv"
)

// env is a feed over a fresh store of one backend.
type env struct {
	name string
	st   *search.Engine
	svc  *interaction.Service
	feed *feed.Feed
}

// backends returns a fresh environment per backend: SQLite always,
// PostgreSQL when JUNCTION_TEST_POSTGRES is set.
func backends(t *testing.T, mapping *fhirmap.Config) []*env {
	t.Helper()
	out := []*env{newEnv(t, "sqlite", config.Config{Data: t.TempDir()}, mapping)}
	if url := testenv.PostgresURL(t); url != "" {
		out = append(out, newEnv(t, "postgres", config.Config{Database: url}, mapping))
	}
	return out
}

func newEnv(t testing.TB, name string, cfg config.Config, mapping *fhirmap.Config) *env {
	t.Helper()
	cfg.Validation = "base"
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := app.NewService(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := feed.New(feed.Options{Service: svc, Store: st, DB: st.DB(), Mapping: mapping})
	if err != nil {
		t.Fatal(err)
	}
	return &env{name: name, st: st, svc: svc, feed: f}
}

// read returns a resource as stored.
func (e *env) read(t *testing.T, typ, id string) []byte {
	t.Helper()
	v, err := e.st.Read(context.Background(), typ, id)
	if err != nil {
		t.Fatalf("read %s/%s: %v", typ, id, err)
	}
	return v.Body
}

// searchIDs runs a FHIR search through the service.
func (e *env) searchIDs(t *testing.T, typ, query string) []byte {
	t.Helper()
	resp, err := e.svc.Do(context.Background(), &interaction.Request{Kind: interaction.SearchType, Type: typ, Query: mustQuery(query), Method: "GET",
		Caller: &access.Caller{Kind: access.Development}})
	if err != nil {
		t.Fatalf("search %s?%s: %v", typ, query, err)
	}
	return resp.Body
}

func mustQuery(q string) url.Values {
	v, err := url.ParseQuery(q)
	if err != nil {
		panic(err)
	}
	return v
}

func newEnvSQLite(t *testing.T) *env {
	return newEnv(t, "sqlite", config.Config{Data: t.TempDir()}, nil)
}
