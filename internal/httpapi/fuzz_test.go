package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/nhs-junction/junction/internal/store/sqlite"
)

// FuzzHandler sends arbitrary bodies, paths and queries through the whole
// stack: whatever arrives, the answer is never a 500 and always carries a
// status the interaction defines.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"PUT", "/fhir/Patient/a", `{"resourceType":"Patient","id":"a"}`},
		{"POST", "/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}}]}`},
		{"PATCH", "/fhir/Patient/a", `[{"op":"add","path":"/active","value":true}]`},
		{"GET", "/fhir/Patient?name=x&_sort=-birthdate&_count=3", ``},
		{"GET", "/fhir/Observation?value-quantity=gt5|http://unitsofmeasure.org|mg&subject:Patient.name=x", ``},
		{"POST", "/fhir/Patient/$validate", `{"resourceType":"Patient","birthDate":"2020-02-30"}`},
		{"PUT", "/fhir/Patient/a", `null`},
		{"POST", "/fhir", `{"resourceType":"Bundle","type":"batch","entry":[{}]}`},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.body)
	}
	st, err := sqlite.Open(context.Background(), f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	srv := newTestServer(f, withSearch(f, st))
	f.Fuzz(func(t *testing.T, method, path, body string) {
		switch method {
		case "GET", "POST", "PUT", "DELETE", "PATCH":
		default:
			method = "POST"
		}
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \r\n\t#") {
			path = "/fhir/" + strings.Map(func(r rune) rune {
				if r <= ' ' || r == '#' || r == '%' || r >= 0x7f {
					return -1
				}
				return r
			}, path)
		}
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/fhir+json")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s %q: %d", method, path, body, resp.StatusCode)
		}
	})
}
