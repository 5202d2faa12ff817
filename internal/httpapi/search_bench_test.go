package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/nhs-junction/junction/internal/app"
	"github.com/nhs-junction/junction/internal/config"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/store/sqlite"
)

// BenchmarkSearchHTTP is the cost of one search through the whole HTTP
// handler (parsing, the engine, presentation, the Bundle), one request at
// a time, on the demo population (25 synthetic patients), against a read
// of one resource through the same handler: the ratio is how many reads
// one search costs.
func BenchmarkSearchHTTP(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	engine := withSearch(b, st).(*search.Engine)
	cfg := config.Defaults()
	cfg.Auth = "off"
	node, err := app.Build(ctx, cfg, engine, testLogger())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := app.LoadDemo(ctx, engine, node.Service); err != nil {
		b.Fatal(err)
	}
	h := node.Handler
	get := func(b *testing.B, path string) []byte {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 {
			b.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
		}
		return rec.Body.Bytes()
	}
	// A patient and the code of one of its observations.
	var bundle struct {
		Entry []struct {
			Resource struct {
				ID      string
				Subject struct{ Reference string }
				Code    struct {
					Coding []struct{ System, Code string }
				}
			}
		}
	}
	if err := json.Unmarshal(get(b, "/fhir/Observation?_count=1"), &bundle); err != nil || len(bundle.Entry) == 0 {
		b.Fatalf("no observation: %v", err)
	}
	obs := bundle.Entry[0].Resource
	subject, code := obs.Subject.Reference, obs.Code.Coding[0].System+"|"+obs.Code.Coding[0].Code
	for _, c := range []struct{ name, path string }{
		{"read", "/fhir/Observation/" + obs.ID},
		{"obs_by_code", "/fhir/Observation?subject=" + url.QueryEscape(subject) + "&code=" + url.QueryEscape(code)},
		{"obs_by_subject", "/fhir/Observation?subject=" + url.QueryEscape(subject)},
		{"sorted", "/fhir/Observation?subject=" + url.QueryEscape(subject) + "&_sort=-date"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				get(b, c.path)
			}
		})
	}
}
