package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nhs-junction/junction/internal/config"
)

// cdsServer is the composed server with authorisation off, over one
// backend, for the clinical services' end-to-end tests.
type cdsServer struct {
	t    *testing.T
	base string // http://host
}

func newCDSServer(t *testing.T, cfg config.Config) *cdsServer {
	t.Helper()
	ctx := context.Background()
	cfg.Auth = "off"
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	node, err := Build(ctx, cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(node.Handler)
	t.Cleanup(srv.Close)
	return &cdsServer{t: t, base: srv.URL}
}

// do sends a request with a JSON body (nil for none) and returns the
// status and the decoded JSON response (nil when there is none).
func (s *cdsServer) do(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				s.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		ct := "application/fhir+json"
		if strings.HasPrefix(path, "/cds-services") {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			s.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out
}

// must is do that fails the test unless the status is want.
func (s *cdsServer) must(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	code, out := s.do(method, path, body)
	if code != want {
		js, _ := json.Marshal(out)
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, js)
	}
	return out
}

// searchAll returns the resources a search matches.
func (s *cdsServer) searchAll(path string) []map[string]any {
	s.t.Helper()
	b := s.must(200, "GET", path, nil)
	var out []map[string]any
	entries, _ := b["entry"].([]any)
	for _, e := range entries {
		em := e.(map[string]any)
		if sm, _ := em["search"].(map[string]any); sm != nil && sm["mode"] == "outcome" {
			continue
		}
		out = append(out, em["resource"].(map[string]any))
	}
	return out
}

// vitals is one set of bedside observations; temp is the decimal text
// as recorded.
type vitals struct {
	resp, spo2      string
	oxygen          bool
	systolic, pulse string
	acvpu           string // SNOMED CT ACVPU value
	temp, tempUnit  string
	at              time.Time
	spread          time.Duration // between consecutive inputs
	skip            string        // leave this input out
	subject         string
}

const (
	alert     = "248234008"
	confusion = "130987000"
)

func normalVitals(patient string, at time.Time) vitals {
	return vitals{resp: "16", spo2: "97", systolic: "120", pulse: "70", acvpu: alert, temp: "37.0", tempUnit: "Cel",
		at: at, spread: time.Minute, subject: "Patient/" + patient}
}

func quantityObs(subject string, at time.Time, codes [][2]string, value, unit string) map[string]any {
	var coding []map[string]string
	for _, c := range codes {
		coding = append(coding, map[string]string{"system": c[0], "code": c[1]})
	}
	return map[string]any{
		"resourceType": "Observation", "status": "final",
		"category":          []any{map[string]any{"coding": []any{map[string]string{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}}},
		"code":              map[string]any{"coding": coding},
		"subject":           map[string]string{"reference": subject},
		"effectiveDateTime": at.UTC().Format(time.RFC3339),
		"valueQuantity":     map[string]any{"value": json.Number(value), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
	}
}

// observations returns the set's seven inputs as Observations keyed by
// a name, taken spread apart in chart order.
func (v vitals) observations() map[string]map[string]any {
	t := func(i int) time.Time { return v.at.Add(time.Duration(i) * v.spread) }
	out := map[string]map[string]any{
		"resp":  quantityObs(v.subject, t(0), [][2]string{{"http://loinc.org", "9279-1"}, {"http://snomed.info/sct", "86290005"}}, v.resp, "/min"),
		"spo2":  quantityObs(v.subject, t(1), [][2]string{{"http://loinc.org", "59408-5"}, {"http://loinc.org", "2708-6"}}, v.spo2, "%"),
		"pulse": quantityObs(v.subject, t(4), [][2]string{{"http://loinc.org", "8867-4"}}, v.pulse, "/min"),
		"temp":  quantityObs(v.subject, t(6), [][2]string{{"http://loinc.org", "8310-5"}}, v.temp, v.tempUnit),
	}
	o2 := map[string]any{"resourceType": "Observation", "status": "final",
		"code":    map[string]any{"coding": []any{map[string]string{"system": "http://snomed.info/sct", "code": "722742002", "display": "Breathing room air"}}},
		"subject": map[string]string{"reference": v.subject}, "effectiveDateTime": t(2).UTC().Format(time.RFC3339)}
	if v.oxygen {
		o2["code"] = map[string]any{"coding": []any{map[string]string{"system": "http://snomed.info/sct", "code": "371825009", "display": "Patient on oxygen"}}}
	}
	out["o2"] = o2
	bp := quantityObs(v.subject, t(3), [][2]string{{"http://loinc.org", "85354-9"}}, "0", "mm[Hg]")
	delete(bp, "valueQuantity")
	bp["component"] = []any{
		map[string]any{"code": map[string]any{"coding": []any{map[string]string{"system": "http://loinc.org", "code": "8480-6"}}},
			"valueQuantity": map[string]any{"value": json.Number(v.systolic), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
		map[string]any{"code": map[string]any{"coding": []any{map[string]string{"system": "http://loinc.org", "code": "8462-4"}}},
			"valueQuantity": map[string]any{"value": 70, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
	}
	out["bp"] = bp
	out["acvpu"] = map[string]any{"resourceType": "Observation", "status": "final",
		"code":                 map[string]any{"coding": []any{map[string]string{"system": "http://snomed.info/sct", "code": "1104441000000107"}}},
		"subject":              map[string]string{"reference": v.subject},
		"effectiveDateTime":    t(5).UTC().Format(time.RFC3339),
		"valueCodeableConcept": map[string]any{"coding": []any{map[string]string{"system": "http://snomed.info/sct", "code": v.acvpu}}}}
	delete(out, v.skip)
	return out
}

// inputNames are the set's inputs in chart order.
var inputNames = []string{"resp", "spo2", "o2", "bp", "pulse", "acvpu", "temp"}

// transaction posts the set as a transaction Bundle, each input with
// PUT to Observation/<prefix>-<name> so the test can change it later,
// and returns the response.
func (s *cdsServer) transaction(v vitals, prefix string) map[string]any {
	s.t.Helper()
	var entries []any
	obs := v.observations()
	for _, name := range inputNames {
		o, ok := obs[name]
		if !ok {
			continue
		}
		id := prefix + "-" + name
		o["id"] = id
		entries = append(entries, map[string]any{"resource": o, "request": map[string]string{"method": "PUT", "url": "Observation/" + id}})
	}
	return s.must(200, "POST", "/fhir", map[string]any{"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

// news2Of returns the NEWS2 Observations of a patient.
func (s *cdsServer) news2Of(patient string) []map[string]any {
	s.t.Helper()
	return s.searchAll(fmt.Sprintf("/fhir/Observation?subject=Patient/%s&code=http://snomed.info/sct|1104051000000101", patient))
}
