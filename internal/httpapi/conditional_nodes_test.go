package httpapi_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/store/postgres"
	"github.com/nhs-junction/junction/internal/testenv"
)

// TestConditionalCreateAcrossServers races conditional creates through
// two servers sharing one PostgreSQL database, each with its own store
// and service (so no in-process lock is shared): one Patient is created.
func TestConditionalCreateAcrossServers(t *testing.T) {
	url := testenv.PostgresURL(t)
	if url == "" {
		t.Skip(testenv.PostgresEnv + " is not set")
	}
	var servers []*httptest.Server
	for range 2 {
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		servers = append(servers, newTestServer(t, withSearch(t, st)))
	}
	nhs := "https://fhir.nhs.uk/Id/nhs-number"
	body := `{"resourceType":"Patient","identifier":[{"system":"` + nhs + `","value":"9990000042"}],"name":[{"family":"Race"}]}`
	for round := range 5 {
		var wg sync.WaitGroup
		statuses := make([]int, 12)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := do(t, servers[i%2], "POST", "/fhir/Patient", body, "If-None-Exist", "identifier="+nhs+"|9990000042")
				statuses[i] = r.status
			}()
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			switch s {
			case 201:
				created++
			case 200:
			default:
				t.Errorf("round %d: status %d", round, s)
			}
		}
		if round == 0 && created != 1 || round > 0 && created != 0 {
			t.Errorf("round %d: %d created", round, created)
		}
	}
	r := do(t, servers[0], "GET", "/fhir/Patient?identifier="+nhs+"|9990000042&_summary=count", "")
	if total := *getSearch(t, r).Total; total != 1 {
		t.Fatalf("%d patients stored, want 1", total)
	}
}
