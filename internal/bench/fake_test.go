package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeFHIR answers searches, history paging and $everything with small
// Bundles, so the search and $everything scenarios can be tested before
// the server implements them. Paged URLs carry page=N; three pages.
func fakeFHIR(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		var next string
		if r.URL.Query().Get("_count") != "" && page < 2 {
			q := r.URL.Query()
			q.Set("page", strconv.Itoa(page+1))
			next = fmt.Sprintf(`,"link":[{"relation":"next","url":%q}]`, srv.URL+r.URL.Path+"?"+q.Encode())
		}
		switch {
		case r.URL.Path == "/fhir/Patient" && r.URL.Query().Has("_has:Condition:subject:code"):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-supported","diagnostics":"_has is not supported"}]}`)
			return
		case strings.HasPrefix(r.URL.Path, "/fhir/Observation"), strings.HasPrefix(r.URL.Path, "/fhir/Patient"):
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset"%s,"entry":[{"resource":{"resourceType":"Observation","id":"a"}},{"resource":{"resourceType":"Observation","id":"b"}}]}`, next)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSearchAndEverythingScenarios(t *testing.T) {
	srv := fakeFHIR(t)
	b := &bench{
		opts:   Options{Clients: 2, Duration: 100 * time.Millisecond, Log: testWriter{t}},
		want:   map[string]bool{"search": true, "everything": true},
		env:    &env{base: srv.URL + "/fhir"},
		client: newClient(2),
		pop: &population{patients: []patient{
			{id: "p1", family: "Smith", nhs: "9990000018", obsCode: "http://loinc.org|8867-4", obsYear: 2020, condCode: "http://snomed.info/sct|195967001"},
			{id: "p2", family: "Jones"},
		}},
		readP50: 0.5, readP99: 2,
	}
	ctx := context.Background()
	if err := b.search(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.everything(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[string]Result{}
	for _, r := range b.results {
		got[r.Name] = r
	}
	for _, name := range []string{"search.obs_by_code.p50", "search.sorted.p99", "search.stream.resources_per_s", "everything.p50"} {
		r, ok := got[name]
		if !ok || !r.HasBaseline || r.Value <= 0 || r.Baseline <= 0 {
			t.Errorf("%s: %+v, want a measured value with a baseline", name, r)
		}
	}
	if r := got["search.obs_by_code.p50"]; r.Baseline != 0.5 {
		t.Errorf("search baseline = %v, want the read p50 0.5", r.Baseline)
	}
	if r := got["search.has"]; !strings.Contains(r.Skipped, "HTTP 400: _has is not supported") {
		t.Errorf("search.has = %+v, want skipped with the server's reason", r)
	}
}

func TestSearchUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "$everything") {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(http.StatusMethodNotAllowed)
	}))
	defer srv.Close()
	b := &bench{
		opts:   Options{Clients: 1, Duration: time.Millisecond, Log: testWriter{t}},
		env:    &env{base: srv.URL + "/fhir"},
		client: newClient(1),
		pop:    &population{patients: []patient{{id: "p1"}}},
	}
	ctx := context.Background()
	if err := b.search(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.everything(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.results) != 2 || b.results[0].Name != "search" || !strings.HasPrefix(b.results[0].Skipped, "search not available") ||
		b.results[1].Name != "everything" || !strings.HasPrefix(b.results[1].Skipped, "$everything not available") {
		t.Errorf("results = %+v, want search and everything skipped", b.results)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
