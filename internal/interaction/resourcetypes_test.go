package interaction_test

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestAllResourceTypes checks the README's claim of all 146 R4 resource
// types at the HTTP surface: the CapabilityStatement lists exactly the
// concrete types (R4 resource-types minus the abstract Resource and
// DomainResource), and the abstract ones are unknown types (404).
func TestAllResourceTypes(t *testing.T) {
	h, _ := newSQLiteHandler(t)
	status, body := call(t, h, "GET", "/fhir/metadata", "")
	if status != 200 {
		t.Fatalf("metadata: %d %s", status, body)
	}
	var cs struct {
		Rest []struct {
			Resource []struct{ Type string }
		}
	}
	if err := json.Unmarshal([]byte(body), &cs); err != nil || len(cs.Rest) != 1 {
		t.Fatalf("CapabilityStatement (%v): %.300s", err, body)
	}
	var types []string
	for _, r := range cs.Rest[0].Resource {
		types = append(types, r.Type)
	}
	if len(types) != 146 {
		t.Errorf("CapabilityStatement lists %d resource types, want 146", len(types))
	}
	for _, want := range []string{"Patient", "Parameters", "Bundle", "Binary", "VisionPrescription"} {
		if !slices.Contains(types, want) {
			t.Errorf("CapabilityStatement lacks %s", want)
		}
	}
	for _, abstract := range []string{"Resource", "DomainResource"} {
		if slices.Contains(types, abstract) {
			t.Errorf("CapabilityStatement lists the abstract type %s", abstract)
		}
		if status, body := call(t, h, "POST", "/fhir/"+abstract, `{"resourceType":"`+abstract+`"}`); status != 404 {
			t.Errorf("POST /fhir/%s: %d, want 404: %s", abstract, status, body)
		}
	}
}
