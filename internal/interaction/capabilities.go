package interaction

import (
	"encoding/json"

	"github.com/nhs-junction/junction/internal/fhir"
)

// buildCapabilities renders the CapabilityStatement from what this Service
// implements, so it cannot claim more than the server does.
func (s *Service) buildCapabilities() []byte {
	type code struct {
		Code string `json:"code"`
	}
	type resource struct {
		Type              string `json:"type"`
		Profile           string `json:"profile"`
		Interaction       []code `json:"interaction"`
		Versioning        string `json:"versioning"`
		ReadHistory       bool   `json:"readHistory"`
		UpdateCreate      bool   `json:"updateCreate"`
		ConditionalCreate bool   `json:"conditionalCreate"`
		ConditionalRead   string `json:"conditionalRead"`
		ConditionalUpdate bool   `json:"conditionalUpdate"`
		ConditionalDelete string `json:"conditionalDelete"`
	}
	type operation struct {
		Name       string `json:"name"`
		Definition string `json:"definition"`
	}
	type rest struct {
		Mode          string      `json:"mode"`
		Documentation string      `json:"documentation"`
		Resource      []resource  `json:"resource"`
		Interaction   []code      `json:"interaction"`
		Operation     []operation `json:"operation,omitempty"`
	}
	type software struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
	}
	cs := struct {
		ResourceType string   `json:"resourceType"`
		Status       string   `json:"status"`
		Date         string   `json:"date"`
		Kind         string   `json:"kind"`
		Software     software `json:"software"`
		FhirVersion  string   `json:"fhirVersion"`
		Format       []string `json:"format"`
		PatchFormat  []string `json:"patchFormat,omitempty"`
		Rest         []rest   `json:"rest"`
	}{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         fhir.FormatInstant(s.opts.Now())[:10],
		Kind:         "instance",
		Software:     software{s.opts.SoftwareName, s.opts.SoftwareVersion},
		FhirVersion:  "4.0.1",
		Format:       []string{"application/fhir+json", "json"},
		PatchFormat:  []string{"application/json-patch+json", "application/fhir+json"},
	}
	r := rest{
		Mode: "server",
		Documentation: "Every R4 resource type is stored as JSON with every version kept. " +
			"XML is not supported (406). Transactions are atomic; batch entries are independent. " +
			"PATCH takes JSON Patch (application/json-patch+json) and FHIRPath Patch (Parameters). " +
			"Search, conditional interactions and conditional references are not implemented yet.",
		Interaction: []code{{"transaction"}, {"batch"}, {"history-system"}},
	}
	for _, t := range s.opts.ResourceTypes {
		r.Resource = append(r.Resource, resource{
			Type:    t,
			Profile: "http://hl7.org/fhir/StructureDefinition/" + t,
			Interaction: []code{
				{"read"}, {"vread"}, {"update"}, {"patch"}, {"delete"}, {"history-instance"}, {"history-type"}, {"create"},
			},
			Versioning:        "versioned",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalRead:   "full-support",
			ConditionalDelete: "not-supported",
		})
	}
	for _, op := range s.operationNames() {
		r.Operation = append(r.Operation, operation{op.Name, op.Definition})
	}
	cs.Rest = []rest{r}
	b, _ := json.Marshal(cs)
	return b
}
