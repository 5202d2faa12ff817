package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// score reads the NEWS2 Observation's total, risk code and sub-scores
// (component code -> value).
func score(t *testing.T, o map[string]any) (total int, risk string, subs map[string]int) {
	t.Helper()
	vq, _ := o["valueQuantity"].(map[string]any)
	if vq == nil {
		js, _ := json.Marshal(o)
		t.Fatalf("NEWS2 Observation without valueQuantity: %s", js)
	}
	total = int(vq["value"].(float64))
	interp := o["interpretation"].([]any)[0].(map[string]any)["coding"].([]any)[0].(map[string]any)
	risk = interp["code"].(string)
	subs = map[string]int{}
	for _, c := range o["component"].([]any) {
		cm := c.(map[string]any)
		code := cm["code"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"].(string)
		subs[code] = int(cm["valueQuantity"].(map[string]any)["value"].(float64))
	}
	return total, risk, subs
}

func putPatient(s *cdsServer, id string) {
	s.t.Helper()
	s.must(201, "PUT", "/fhir/Patient/"+id, map[string]any{"resourceType": "Patient", "id": id, "name": []any{map[string]any{"family": "Test"}}})
}

// TestNEWS2OnWrite: a complete set posted as a transaction produces, in
// the same transaction, one NEWS2 Observation with the total and risk of
// RCP 2017 Charts 1 and 4, at the edges of every risk band and of the
// rounding rule.
func TestNEWS2OnWrite(t *testing.T) {
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		set   func(*vitals)
		total int
		risk  string
	}{
		{"all normal", func(v *vitals) {}, 0, "low"},
		{"total 4 without a red score", func(v *vitals) { v.resp, v.pulse, v.temp = "21", "91", "38.1" }, 4, "low"},
		{"red score alone: new confusion", func(v *vitals) { v.acvpu = confusion }, 3, "low-medium"},
		{"red score with total 4", func(v *vitals) { v.systolic, v.pulse = "90", "91" }, 4, "low-medium"},
		{"total 5: urgent", func(v *vitals) { v.spo2, v.oxygen, v.pulse = "95", true, "111" }, 5, "medium"},
		{"total 6", func(v *vitals) { v.spo2, v.oxygen, v.pulse, v.temp = "95", true, "111", "38.1" }, 6, "medium"},
		{"total 7: emergency", func(v *vitals) { v.resp, v.spo2, v.oxygen, v.pulse = "25", "94", true, "91" }, 7, "high"},
		{"temperature 36.05 rounds up to 36.1", func(v *vitals) { v.temp = "36.05" }, 0, "low"},
		{"temperature 36.04 rounds down to 36.0", func(v *vitals) { v.temp = "36.04" }, 1, "low"},
		{"respiration 20.5 rounds up to 21", func(v *vitals) { v.resp = "20.5" }, 2, "low"},
		{"temperature 98.6 °F is 37.0 °C", func(v *vitals) { v.temp, v.tempUnit = "98.6", "[degF]" }, 0, "low"},
		{"maximum 20", func(v *vitals) {
			v.resp, v.spo2, v.oxygen, v.systolic, v.pulse, v.acvpu, v.temp = "30", "85", true, "85", "140", "422768004", "34.0"
		}, 20, "high"},
	}
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			s := newCDSServer(t, cfg)
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					pt := fmt.Sprintf("edge%d", i)
					putPatient(s, pt)
					v := normalVitals(pt, at)
					c.set(&v)
					s.transaction(v, pt)
					got := s.news2Of(pt)
					if len(got) != 1 {
						t.Fatalf("%d NEWS2 Observations, want 1", len(got))
					}
					total, risk, subs := score(t, got[0])
					if total != c.total || risk != c.risk {
						t.Fatalf("total %d risk %s, want %d %s (sub-scores %v)", total, risk, c.total, c.risk, subs)
					}
					sum := 0
					for _, n := range subs {
						sum += n
					}
					if len(subs) != 7 || sum != total {
						t.Errorf("%d sub-scores summing to %d, want 7 summing to %d", len(subs), sum, total)
					}
					o := got[0]
					if o["effectiveDateTime"] != at.Add(6*time.Minute).Format(time.RFC3339) {
						t.Errorf("effective %v, want the latest input's time %s", o["effectiveDateTime"], at.Add(6*time.Minute).Format(time.RFC3339))
					}
					if o["subject"].(map[string]any)["reference"] != "Patient/"+pt || o["status"] != "final" {
						t.Errorf("subject %v status %v", o["subject"], o["status"])
					}
					var from []string
					for _, r := range o["derivedFrom"].([]any) {
						from = append(from, r.(map[string]any)["reference"].(string))
					}
					var want []string
					for _, n := range inputNames {
						want = append(want, "Observation/"+pt+"-"+n)
					}
					if strings.Join(from, " ") != strings.Join(want, " ") {
						t.Errorf("derivedFrom %v, want %v", from, want)
					}
				})
			}
			t.Run("the derived Observation is valid R4", func(t *testing.T) {
				o := s.news2Of("edge6")[0]
				out := s.must(200, "POST", "/fhir/Observation/$validate", o)
				for _, is := range out["issue"].([]any) {
					if sev := is.(map[string]any)["severity"]; sev == "error" || sev == "fatal" {
						js, _ := json.Marshal(out)
						t.Fatalf("$validate: %s", js)
					}
				}
			})
		})
	}
}

// TestNEWS2Recompute: changing an input recomputes the score (a new
// version of the same Observation); moving an input to the right patient
// takes the score away from the wrong one; deleting an input removes the
// score; an incomplete set or one spread over more than 15 minutes gets
// none; a unit error gets an Observation that says the score could not
// be calculated; a client cannot overwrite a derived score.
func TestNEWS2Recompute(t *testing.T) {
	at := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for name, cfg := range testConfigs(t) {
		t.Run(name, func(t *testing.T) {
			s := newCDSServer(t, cfg)
			for _, p := range []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"} {
				putPatient(s, p)
			}
			s.transaction(normalVitals("r1", at), "r1")
			first := s.news2Of("r1")
			if len(first) != 1 {
				t.Fatalf("%d NEWS2, want 1", len(first))
			}
			id := first[0]["id"].(string)

			t.Run("update an input", func(t *testing.T) {
				pulse := normalVitals("r1", at).observations()["pulse"]
				pulse["id"] = "r1-pulse"
				pulse["valueQuantity"].(map[string]any)["value"] = 131
				s.must(200, "PUT", "/fhir/Observation/r1-pulse", pulse)
				got := s.news2Of("r1")
				if len(got) != 1 || got[0]["id"] != id {
					t.Fatalf("after the update: %d NEWS2 (want the same one, %s)", len(got), id)
				}
				if total, risk, _ := score(t, got[0]); total != 3 || risk != "low-medium" {
					t.Fatalf("after pulse 131: total %d risk %s, want 3 low-medium", total, risk)
				}
				if v := got[0]["meta"].(map[string]any)["versionId"]; v != "2" {
					t.Errorf("versionId %v, want 2", v)
				}
			})
			t.Run("move an input to another patient", func(t *testing.T) {
				temp := normalVitals("r1", at).observations()["temp"]
				temp["id"] = "r1-temp"
				temp["subject"] = map[string]string{"reference": "Patient/r2"}
				s.must(200, "PUT", "/fhir/Observation/r1-temp", temp)
				if got := s.news2Of("r1"); len(got) != 0 {
					t.Fatalf("the wrong patient keeps %d NEWS2", len(got))
				}
				s.must(410, "GET", "/fhir/Observation/"+id, nil)
				// Put it back: the same score returns.
				temp["subject"] = map[string]string{"reference": "Patient/r1"}
				s.must(200, "PUT", "/fhir/Observation/r1-temp", temp)
				if got := s.news2Of("r1"); len(got) != 1 || got[0]["id"] != id {
					t.Fatalf("after moving it back: %d NEWS2", len(got))
				}
			})
			t.Run("delete an input", func(t *testing.T) {
				s.must(204, "DELETE", "/fhir/Observation/r1-acvpu", nil)
				if got := s.news2Of("r1"); len(got) != 0 {
					t.Fatalf("%d NEWS2 after deleting an input", len(got))
				}
			})
			t.Run("incomplete set", func(t *testing.T) {
				v := normalVitals("r3", at)
				v.skip = "o2"
				s.transaction(v, "r3")
				if got := s.news2Of("r3"); len(got) != 0 {
					t.Fatalf("%d NEWS2 from six parameters", len(got))
				}
				// The seventh, written on its own later, completes it.
				o2 := normalVitals("r3", at).observations()["o2"]
				s.must(201, "POST", "/fhir/Observation", o2)
				if got := s.news2Of("r3"); len(got) != 1 {
					t.Fatalf("%d NEWS2 after the last input, want 1", len(got))
				}
			})
			t.Run("more than 15 minutes apart", func(t *testing.T) {
				v := normalVitals("r4", at)
				v.spread = 2*time.Minute + 31*time.Second // 6 gaps: 15 min 6 s
				s.transaction(v, "r4")
				if got := s.news2Of("r4"); len(got) != 0 {
					t.Fatalf("%d NEWS2 from inputs 15 min 6 s apart", len(got))
				}
				v = normalVitals("r7", at)
				v.spread = 2*time.Minute + 30*time.Second // exactly 15 minutes
				s.transaction(v, "r7")
				if got := s.news2Of("r7"); len(got) != 1 {
					t.Fatalf("%d NEWS2 from inputs exactly 15 minutes apart, want 1", len(got))
				}
			})
			t.Run("unit error", func(t *testing.T) {
				v := normalVitals("r5", at)
				v.temp = "98.6" // Fahrenheit recorded as Celsius
				s.transaction(v, "r5")
				got := s.news2Of("r5")
				if len(got) != 1 {
					t.Fatalf("%d NEWS2, want 1 saying it could not be calculated", len(got))
				}
				if got[0]["valueQuantity"] != nil || got[0]["dataAbsentReason"] == nil || !strings.Contains(fmt.Sprint(got[0]["note"]), "temperature") {
					js, _ := json.Marshal(got[0])
					t.Fatalf("want no value, a dataAbsentReason and a note naming the temperature: %s", js)
				}
			})
			t.Run("scale 2 only with a recorded decision", func(t *testing.T) {
				flag := map[string]any{"resourceType": "Flag", "status": "active",
					"code":    map[string]any{"coding": []any{map[string]string{"system": "https://github.com/nhs-junction/junction/fhir/CodeSystem/news2", "code": "spo2-scale-2"}}},
					"subject": map[string]string{"reference": "Patient/r6"},
					"period":  map[string]string{"start": at.Add(-24 * time.Hour).Format(time.RFC3339)}}
				// No author: not a recorded decision, so Scale 1.
				s.must(201, "POST", "/fhir/Flag", flag)
				v := normalVitals("r6", at)
				v.spo2 = "90" // Scale 1: 3; Scale 2 on air: 0
				s.transaction(v, "r6a")
				if total, _, subs := score(t, s.news2Of("r6")[0]); total != 3 || subs["1104311000000102"] != 3 {
					t.Fatalf("without an author: total %d, sub-scores %v; want Scale 1 scoring 3", total, subs)
				}
				flag["author"] = map[string]string{"reference": "Practitioner/resp-consultant"}
				s.must(201, "POST", "/fhir/Flag", flag)
				v.at = at.Add(2 * time.Hour)
				s.transaction(v, "r6b")
				var latest map[string]any
				for _, o := range s.news2Of("r6") {
					if o["effectiveDateTime"] == v.at.Add(6*time.Minute).Format(time.RFC3339) {
						latest = o
					}
				}
				if latest == nil {
					t.Fatal("no NEWS2 for the second set")
				}
				total, _, subs := score(t, latest)
				if total != 0 || subs["1104321000000108"] != 0 || len(subs) != 7 {
					t.Fatalf("with the decision: total %d, sub-scores %v; want Scale 2 (1104321000000108) scoring 0", total, subs)
				}
				if _, has := subs["1104311000000102"]; has {
					t.Error("both SpO2 scales are present")
				}
			})
			t.Run("a client cannot overwrite a derived score", func(t *testing.T) {
				s.transaction(normalVitals("r2", at.Add(5*time.Hour)), "r2")
				o := s.news2Of("r2")[0]
				o["valueQuantity"].(map[string]any)["value"] = 0
				s.must(409, "PUT", "/fhir/Observation/"+o["id"].(string), o)
				s.must(409, "DELETE", "/fhir/Observation/"+o["id"].(string), nil)
			})
		})
	}
}
