package httpapi_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

func TestConditionalInteractions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		nhs := "https://fhir.nhs.uk/Id/nhs-number"
		pat := func(nn, family string) string {
			return `{"resourceType":"Patient","identifier":[{"system":"` + nhs + `","value":"` + nn + `"}],"name":[{"family":"` + family + `"}]}`
		}
		total := func(query string) int {
			s := getSearch(t, do(t, srv, "GET", "/fhir/Patient?"+query+"&_total=accurate", ""))
			return *s.Total
		}
		ine := []string{"If-None-Exist", "identifier=" + nhs + "|9434765919"}
		runSteps(t, srv, []step{
			{name: "conditional create new", method: "POST", path: "/fhir/Patient", body: pat("9434765919", "Ash"), headers: ine, status: 201},
			{name: "conditional create existing", method: "POST", path: "/fhir/Patient", body: pat("9434765919", "Ash"), headers: ine, status: 200, contains: []string{`"family":"Ash"`}},
			{name: "conditional create typed criteria", method: "POST", path: "/fhir/Patient", body: pat("9434765919", "Ash"), headers: []string{"If-None-Exist", "Patient?identifier=" + nhs + "|9434765919"}, status: 200},
			{name: "conditional create bad criteria", method: "POST", path: "/fhir/Patient", body: pat("9434765919", "Ash"), headers: []string{"If-None-Exist", "nonsense=1"}, status: 400},
			{name: "seed twin a", method: "PUT", path: "/fhir/Patient/twin-a", body: `{"resourceType":"Patient","id":"twin-a","name":[{"family":"Twin"}]}`, status: 201},
			{name: "seed twin b", method: "PUT", path: "/fhir/Patient/twin-b", body: `{"resourceType":"Patient","id":"twin-b","name":[{"family":"Twin"}]}`, status: 201},
			{name: "conditional create ambiguous", method: "POST", path: "/fhir/Patient", body: pat("9990000018", "Twin"), headers: []string{"If-None-Exist", "family=twin"}, status: 412},
			{name: "conditional update creates", method: "PUT", path: "/fhir/Patient?identifier=" + nhs + "|9990000018", body: pat("9990000018", "Birch"), status: 201},
			{name: "conditional update updates", method: "PUT", path: "/fhir/Patient?identifier=" + nhs + "|9990000018", body: pat("9990000018", "Beech"), status: 200, wantHeader: map[string]string{"ETag": `W/"2"`}},
			{name: "conditional update ambiguous", method: "PUT", path: "/fhir/Patient?family=twin", body: `{"resourceType":"Patient"}`, status: 412},
			{name: "conditional update wrong id", method: "PUT", path: "/fhir/Patient?_id=twin-a", body: `{"resourceType":"Patient","id":"twin-b"}`, status: 400},
			{name: "conditional patch", method: "PATCH", path: "/fhir/Patient?_id=twin-a", body: `[{"op":"add","path":"/active","value":true}]`, headers: []string{"Content-Type", "application/json-patch+json"}, status: 200, contains: []string{`"active":true`}},
			{name: "conditional patch no match", method: "PATCH", path: "/fhir/Patient?_id=nobody", body: `[]`, headers: []string{"Content-Type", "application/json-patch+json"}, status: 404},
			{name: "conditional delete none", method: "DELETE", path: "/fhir/Patient?family=nobody", status: 204},
			{name: "conditional delete multiple", method: "DELETE", path: "/fhir/Patient?family=twin", status: 204},
			{name: "twins gone", method: "GET", path: "/fhir/Patient/twin-b", status: 410},
			{name: "conditional delete without criteria", method: "DELETE", path: "/fhir/Patient", status: 400},
		})
		if n := total("identifier=" + nhs + "|9434765919"); n != 1 {
			t.Fatalf("conditional creates made %d patients", n)
		}

		// Concurrent conditional creates with the same criteria create one.
		var wg sync.WaitGroup
		statuses := make([]int, 8)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r := do(t, srv, "POST", "/fhir/Patient", pat("9990000026", "Race"), "If-None-Exist", "identifier="+nhs+"|9990000026")
				statuses[i] = r.status
			}(i)
		}
		wg.Wait()
		created := 0
		for _, s := range statuses {
			if s == 201 {
				created++
			} else if s != 200 {
				t.Errorf("concurrent conditional create: %d", s)
			}
		}
		if n := total("identifier=" + nhs + "|9990000026"); created != 1 || n != 1 {
			t.Fatalf("concurrent conditional creates: %d created, %d stored", created, n)
		}

		// Transactions: conditional references and ifNoneExist.
		tx := func(ref, ifNoneExist string) string {
			return fmt.Sprintf(`{"resourceType":"Bundle","type":"transaction","entry":[
			  {"fullUrl":"urn:uuid:2b1c0b1e-7a0c-4a44-9d0c-2f8d1e1e0001","resource":%s,"request":{"method":"POST","url":"Patient","ifNoneExist":%q}},
			  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":%q},
			    "performer":[{"reference":"urn:uuid:2b1c0b1e-7a0c-4a44-9d0c-2f8d1e1e0001"}]},"request":{"method":"POST","url":"Observation"}}]}`,
				pat("9990000034", "Cond"), ifNoneExist, ref)
		}
		r := do(t, srv, "POST", "/fhir", tx("Patient?identifier="+nhs+"|9434765919", "identifier="+nhs+"|9990000034"))
		if r.status != 200 {
			t.Fatalf("transaction with conditional reference: %d %s", r.status, r.body)
		}
		out := postBundle(t, r)
		if out.Entry[0].Response.Status != "201 Created" {
			t.Fatalf("first ifNoneExist: %s", out.Entry[0].Response.Status)
		}
		r = do(t, srv, "POST", "/fhir", tx("Patient?identifier="+nhs+"|9434765919", "identifier="+nhs+"|9990000034"))
		out = postBundle(t, r)
		if r.status != 200 || out.Entry[0].Response.Status != "200 OK" {
			t.Fatalf("second ifNoneExist: %d %s", r.status, r.body)
		}
		if !strings.Contains(string(out.Entry[1].Resource), `"reference":"Patient/`) || strings.Contains(string(out.Entry[1].Resource), "?") || strings.Contains(string(out.Entry[1].Resource), "urn:uuid") {
			t.Errorf("references not resolved: %s", out.Entry[1].Resource)
		}
		if n := total("identifier=" + nhs + "|9990000034"); n != 1 {
			t.Errorf("ifNoneExist in transactions made %d patients", n)
		}
		for _, ref := range []string{"Patient?identifier=" + nhs + "|9990000042", "Patient?family=race,cond"} {
			if r := do(t, srv, "POST", "/fhir", tx(ref, "")); r.status != 412 {
				t.Errorf("conditional reference %s: %d %s", ref, r.status, r.body)
			}
		}
	})
}
