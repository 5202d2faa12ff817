package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store"
	"github.com/nhs-junction/junction/internal/testenv"
)

type txResponse struct {
	ResourceType string
	Type         string
	Entry        []struct {
		FullURL  string
		Resource json.RawMessage
		Response struct {
			Status, Location, Etag, LastModified string
			Outcome                              json.RawMessage
		}
	}
}

func postBundle(t *testing.T, r result) txResponse {
	t.Helper()
	var out txResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return out
}

func systemVersions(t *testing.T, st store.Store) int {
	page, err := st.History(t.Context(), store.HistoryQuery{Count: 1, WithTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	// The AuditEvents every request leaves (README, Tamper-evident
	// audit log) are not the data a test writes.
	audits, err := st.History(t.Context(), store.HistoryQuery{Type: "AuditEvent", Count: 1, WithTotal: true})
	if err != nil {
		t.Fatal(err)
	}
	return page.Total - audits.Total
}

func TestTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 8<<20)
		do(t, srv, "PUT", "/fhir/Patient/old", `{"resourceType":"Patient","id":"old"}`)
		tx := `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"fullUrl":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a","resource":{"resourceType":"Patient","name":[{"family":"Jones"}]},"request":{"method":"POST","url":"Patient"}},
		  {"fullUrl":"urn:uuid:88f151c0-a954-468a-88bd-5ae15c08e059","resource":{"resourceType":"Observation","status":"final","code":{"text":"pulse"},
		    "subject":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
		    "extension":[{"url":"http://example.org/x","valueReference":{"reference":"urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"}}]},
		   "request":{"method":"POST","url":"Observation"}},
		  {"fullUrl":"http://example.org/fhir/Practitioner/pr1","resource":{"resourceType":"Practitioner","id":"pr1"},"request":{"method":"PUT","url":"Practitioner/pr1"}},
		  {"request":{"method":"GET","url":"Practitioner/pr1"}},
		  {"request":{"method":"DELETE","url":"Patient/old"}}
		]}`
		r := do(t, srv, "POST", "/fhir", tx)
		if r.status != 200 {
			t.Fatalf("transaction: %d %s", r.status, r.body)
		}
		out := postBundle(t, r)
		if out.Type != "transaction-response" || len(out.Entry) != 5 {
			t.Fatalf("response: %s", r.body)
		}
		for i, want := range []string{"201 Created", "201 Created", "201 Created", "200 OK", "204 No Content"} {
			if out.Entry[i].Response.Status != want {
				t.Errorf("entry %d status %q, want %q", i, out.Entry[i].Response.Status, want)
			}
		}
		patLoc := out.Entry[0].Response.Location
		if !strings.HasPrefix(patLoc, "Patient/") || out.Entry[0].Response.Etag != `W/"1"` {
			t.Fatalf("patient entry: %+v", out.Entry[0].Response)
		}
		patRef := strings.Join(strings.Split(patLoc, "/")[:2], "/")
		obs := do(t, srv, "GET", "/fhir/"+strings.Split(out.Entry[1].Response.Location, "/_history")[0], "")
		if strings.Count(string(obs.body), `"reference":"`+patRef+`"`) != 2 {
			t.Errorf("references not rewritten to %s: %s", patRef, obs.body)
		}
		if g := do(t, srv, "GET", "/fhir/Patient/old", ""); g.status != 410 {
			t.Errorf("deleted in transaction: %d", g.status)
		}
	})
}

func TestTransactionAtomicAndErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 8<<20)
		do(t, srv, "PUT", "/fhir/Patient/keep", `{"resourceType":"Patient","id":"keep"}`)
		before := systemVersions(t, st)
		cases := []struct {
			name, body string
			status     int
			expr       string
		}{
			{"invalid entry leaves nothing", `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
			  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"bogus":1},"request":{"method":"POST","url":"Observation"}}]}`, 400, "Bundle.entry[1].resource.bogus"},
			{"stale if-match fails all", `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
			  {"resource":{"resourceType":"Patient","id":"keep","active":true},"request":{"method":"PUT","url":"Patient/keep","ifMatch":"W/\"9\""}}]}`, 412, "Bundle.entry[1]"},
			{"same resource twice", `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}},
			  {"resource":{"resourceType":"Patient","id":"a"},"request":{"method":"PUT","url":"Patient/a"}}]}`, 400, "Bundle.entry[1]"},
			{"dangling urn:uuid", `{"resourceType":"Bundle","type":"transaction","entry":[
			  {"resource":{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:0b7e6b4c-2c55-4d6f-9c5a-1d2c3b4a5e6f"}},"request":{"method":"POST","url":"Observation"}}]}`, 400, "Bundle.entry[0]"},
			{"no request", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"}}]}`, 400, "Bundle.entry[0].request"},
			{"unknown type in url", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Nope"}}]}`, 404, "Bundle.entry[0]"},
			{"not a batch", `{"resourceType":"Bundle","type":"collection"}`, 400, "Bundle.type"},
			{"not a bundle", `{"resourceType":"Patient"}`, 400, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := do(t, srv, "POST", "/fhir", c.body)
				if r.status != c.status {
					t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
				}
				if c.expr != "" && !strings.Contains(string(r.body), `"`+c.expr) {
					t.Errorf("outcome does not point at %s: %s", c.expr, r.body)
				}
				if after := systemVersions(t, st); after != before {
					t.Errorf("failed transaction left %d versions behind", after-before)
				}
			})
		}
	})
}

func TestBatchIndependence(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 8<<20)
		r := do(t, srv, "POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[
		  {"resource":{"resourceType":"Patient","id":"b1"},"request":{"method":"PUT","url":"Patient/b1"}},
		  {"resource":{"resourceType":"Patient","id":"b2","birthDate":"not-a-date"},"request":{"method":"PUT","url":"Patient/b2"}},
		  {"request":{"method":"GET","url":"Patient/missing"}},
		  {"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`)
		if r.status != 200 {
			t.Fatalf("batch: %d %s", r.status, r.body)
		}
		out := postBundle(t, r)
		if out.Type != "batch-response" {
			t.Fatal(out.Type)
		}
		for i, want := range []string{"201", "400", "404", "201"} {
			if !strings.HasPrefix(out.Entry[i].Response.Status, want) {
				t.Errorf("entry %d: %q, want %s", i, out.Entry[i].Response.Status, want)
			}
		}
		if !strings.Contains(string(out.Entry[1].Response.Outcome), "Patient.birthDate") {
			t.Errorf("entry 1 outcome: %s", out.Entry[1].Response.Outcome)
		}
		if g := do(t, srv, "GET", "/fhir/Patient/b1", ""); g.status != 200 {
			t.Errorf("b1 not stored despite b2 failing: %d", g.status)
		}
	})
}

var refRe = regexp.MustCompile(`"reference":"([A-Za-z]+)/([A-Za-z0-9\-.]+)"`)

// TestSyntheaTransactions posts every Synthea bundle as a transaction and
// checks every reference of every created resource resolves.
func TestSyntheaTransactions(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := testenv.SharedData(t, "synthea-r4")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("no Synthea bundles")
	}
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 64<<20)
		entries := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			r := do(t, srv, "POST", "/fhir", string(b))
			if r.status != 200 {
				t.Fatalf("%s: %d %.500s", filepath.Base(f), r.status, r.body)
			}
			out := postBundle(t, r)
			for i, e := range out.Entry {
				if e.Response.Status != "201 Created" {
					t.Fatalf("%s entry %d: %s", filepath.Base(f), i, e.Response.Status)
				}
				for _, m := range refRe.FindAllSubmatch(e.Resource, -1) {
					if g := do(t, srv, "GET", fmt.Sprintf("/fhir/%s/%s", m[1], m[2]), ""); g.status != 200 {
						t.Fatalf("%s entry %d: reference %s/%s does not resolve: %d", filepath.Base(f), i, m[1], m[2], g.status)
					}
				}
				if strings.Contains(string(e.Resource), `"reference":"urn:uuid:`) {
					t.Fatalf("%s entry %d kept a urn:uuid reference", filepath.Base(f), i)
				}
			}
			entries += len(out.Entry)
		}
		t.Logf("%d bundles, %d entries created", len(files), entries)
	})
}

// TestSyntheaConditionalTwice posts a Synthea bundle twice with
// ifNoneExist on every entry that has an identifier: the second post
// creates nothing new, and its references point at the first post's
// resources.
func TestSyntheaConditionalTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := testenv.SharedData(t, "synthea-r4")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Skip("no Synthea bundles")
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	conditional := 0
	for _, e := range bundle["entry"].([]any) {
		entry := e.(map[string]any)
		res := entry["resource"].(map[string]any)
		ids, _ := res["identifier"].([]any)
		if len(ids) == 0 {
			continue
		}
		id := ids[0].(map[string]any)
		sys, _ := id["system"].(string)
		val, _ := id["value"].(string)
		if sys == "" || val == "" {
			continue
		}
		entry["request"].(map[string]any)["ifNoneExist"] = "identifier=" + url.QueryEscape(sys+"|"+val)
		conditional++
	}
	body, _ := json.Marshal(bundle)
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newServer(t, st, 64<<20)
		first := do(t, srv, "POST", "/fhir", string(body))
		if first.status != 200 {
			t.Fatalf("first post: %d %.300s", first.status, first.body)
		}
		before := systemVersions(t, st)
		second := do(t, srv, "POST", "/fhir", string(body))
		if second.status != 200 {
			t.Fatalf("second post: %d %.300s", second.status, second.body)
		}
		out := postBundle(t, second)
		unchanged := 0
		for _, e := range out.Entry {
			if e.Response.Status == "200 OK" {
				unchanged++
			}
		}
		if unchanged != conditional {
			t.Errorf("second post: %d entries matched existing resources, want %d", unchanged, conditional)
		}
		if after := systemVersions(t, st); after-before != len(out.Entry)-conditional {
			t.Errorf("second post wrote %d versions, want %d (only the entries without identifiers)", after-before, len(out.Entry)-conditional)
		}
	})
}

// TestTransactionOrder: whatever their order in the Bundle, entries run
// DELETE, POST, PUT/PATCH, then GET (R4 http.html#trules), and the
// response keeps the request's order.
func TestTransactionOrder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st store.Store) {
		srv := newTestServer(t, st)
		do(t, srv, "PUT", "/fhir/Patient/ord", `{"resourceType":"Patient","id":"ord"}`)
		do(t, srv, "PUT", "/fhir/Patient/gone", `{"resourceType":"Patient","id":"gone"}`)
		r := do(t, srv, "POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[
		  {"request":{"method":"GET","url":"Patient/ord"}},
		  {"request":{"method":"GET","url":"Patient?_id=gone"}},
		  {"resource":{"resourceType":"Patient","id":"ord","active":true},"request":{"method":"PUT","url":"Patient/ord"}},
		  {"resource":{"resourceType":"Patient","active":false},"request":{"method":"POST","url":"Patient"}},
		  {"request":{"method":"DELETE","url":"Patient/gone"}}]}`)
		if r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		out := postBundle(t, r)
		for i, want := range []string{"200 OK", "200 OK", "200 OK", "201 Created", "204 No Content"} {
			if out.Entry[i].Response.Status != want {
				t.Errorf("entry %d: %s, want %s", i, out.Entry[i].Response.Status, want)
			}
		}
		if !strings.Contains(string(out.Entry[0].Resource), `"versionId":"2"`) || !strings.Contains(string(out.Entry[0].Resource), `"active":true`) {
			t.Errorf("GET ran before the PUT: %s", out.Entry[0].Resource)
		}
		if strings.Contains(string(out.Entry[1].Resource), `"id":"gone"`) {
			t.Errorf("search ran before the DELETE: %s", out.Entry[1].Resource)
		}
	})
}
