package httpapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
)

// historyRequests returns the request (method and url) of each entry of a
// history bundle, newest first.
func historyRequests(t *testing.T, r result) []string {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	var b struct {
		Entry []struct{ Request struct{ Method, URL string } }
	}
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range b.Entry {
		out = append(out, e.Request.Method+" "+e.Request.URL)
	}
	return out
}

// TestHistoryMethod: each history entry names the interaction that wrote
// the version (R4 http.html#history), so a resource created by PUT is
// "PUT Patient/example", not "POST Patient"; one created by POST, alone
// or in a transaction, is "POST Patient".
func TestHistoryMethod(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		if r := do(t, srv, "PUT", "/fhir/Patient/example", `{"resourceType":"Patient","id":"example"}`); r.status != 201 {
			t.Fatalf("PUT: %d %s", r.status, r.body)
		}
		do(t, srv, "PUT", "/fhir/Patient/example", `{"resourceType":"Patient","id":"example","active":true}`)
		do(t, srv, "DELETE", "/fhir/Patient/example", "")
		got := historyRequests(t, do(t, srv, "GET", "/fhir/Patient/example/_history", ""))
		if want := "DELETE Patient/example|PUT Patient/example|PUT Patient/example"; strings.Join(got, "|") != want {
			t.Errorf("history of a PUT-created patient: %v, want %s", got, want)
		}

		r := do(t, srv, "POST", "/fhir/Patient", `{"resourceType":"Patient"}`)
		loc, _ := url.Parse(r.header.Get("Location"))
		id := strings.Split(strings.TrimPrefix(loc.Path, "/fhir/Patient/"), "/")[0]
		if got := historyRequests(t, do(t, srv, "GET", "/fhir/Patient/"+id+"/_history", "")); len(got) != 1 || got[0] != "POST Patient" {
			t.Errorf("history of a POST-created patient: %v", got)
		}

		tx := `{"resourceType":"Bundle","type":"transaction","entry":[
			{"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Organization","name":"Posted"},"request":{"method":"POST","url":"Organization"}},
			{"resource":{"resourceType":"Organization","id":"put-org","name":"Put"},"request":{"method":"PUT","url":"Organization/put-org"}}]}`
		if r := do(t, srv, "POST", "/fhir", tx); r.status != 200 {
			t.Fatalf("transaction: %d %s", r.status, r.body)
		}
		got = historyRequests(t, do(t, srv, "GET", "/fhir/Organization/_history", ""))
		if len(got) != 2 || !strings.Contains(strings.Join(got, "|"), "POST Organization") || !strings.Contains(strings.Join(got, "|"), "PUT Organization/put-org") {
			t.Errorf("history of a transaction's POST and PUT: %v", got)
		}
	})
}

// TestCountCapped: a _count above the most a page holds is lowered to it,
// and the self and next links say the count used; with Prefer:
// handling=lenient an outcome entry says so too.
func TestCountCapped(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		var b strings.Builder
		b.WriteString(`{"resourceType":"Bundle","type":"transaction","entry":[`)
		for i := range 1001 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"resource":{"resourceType":"Basic","code":{"text":"x"}},"request":{"method":"POST","url":"Basic"}}`)
		}
		b.WriteString("]}")
		if r := do(t, srv, "POST", "/fhir", b.String(), "Prefer", "return=minimal"); r.status != 200 {
			t.Fatalf("load: %d %s", r.status, r.body)
		}
		count := func(link string) string {
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			return u.Query().Get("_count")
		}
		s := getSearch(t, do(t, srv, "GET", "/fhir/Basic?_count=1000000", ""))
		if len(s.ids("match")) != 1000 || count(s.link("self")) != "1000" || count(s.link("next")) != "1000" {
			t.Errorf("capped search: %d matches, self %s, next %s", len(s.ids("match")), s.link("self"), s.link("next"))
		}
		if len(s.ids("outcome")) != 0 {
			t.Errorf("strict handling: unexpected outcome %v", s.ids("outcome"))
		}
		r := do(t, srv, "GET", "/fhir/Basic?_count=5000", "", "Prefer", "handling=lenient")
		if s := getSearch(t, r); len(s.ids("outcome")) != 1 || !strings.Contains(string(r.body), "_count=5000 is more than a page holds; pages hold 1000") {
			t.Errorf("lenient handling: no warning: %s", r.body[:min(len(r.body), 400)])
		}
		var h searchset
		r = do(t, srv, "GET", "/fhir/Basic/_history?_count=5000", "")
		if err := json.Unmarshal(r.body, &h); err != nil {
			t.Fatal(err)
		}
		if count(h.link("self")) != "1000" || count(h.link("next")) != "1000" {
			t.Errorf("capped history: self %s, next %s", h.link("self"), h.link("next"))
		}
	})
}
