package interaction

import (
	"encoding/json"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// buildCapabilities renders the CapabilityStatement from what this Service
// implements, so it cannot claim more than the server does.
func (s *Service) buildCapabilities() []byte {
	type code struct {
		Code string `json:"code"`
	}
	type searchParam struct {
		Name          string `json:"name"`
		Definition    string `json:"definition,omitempty"`
		Type          string `json:"type"`
		Documentation string `json:"documentation,omitempty"`
	}
	type resource struct {
		Type              string        `json:"type"`
		Profile           string        `json:"profile"`
		Interaction       []code        `json:"interaction"`
		Versioning        string        `json:"versioning"`
		ReadHistory       bool          `json:"readHistory"`
		UpdateCreate      bool          `json:"updateCreate"`
		ConditionalCreate bool          `json:"conditionalCreate"`
		ConditionalRead   string        `json:"conditionalRead"`
		ConditionalUpdate bool          `json:"conditionalUpdate"`
		ConditionalDelete string        `json:"conditionalDelete"`
		SearchInclude     []string      `json:"searchInclude,omitempty"`
		SearchRevInclude  []string      `json:"searchRevInclude,omitempty"`
		SearchParam       []searchParam `json:"searchParam,omitempty"`
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
		// Security is the authorisation server's SMART on FHIR
		// description (oauth-uris), when one is configured.
		Security json.RawMessage `json:"security,omitempty"`
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
		Mode:     "server",
		Security: s.security,
		Documentation: "Every R4 resource type is stored as JSON with every version kept. " +
			"XML is not supported (406). Transactions are atomic; batch entries are independent; conditional references resolve to exactly one match or fail. " +
			"PATCH takes JSON Patch (application/json-patch+json) and FHIRPath Patch (Parameters). " +
			"Search: _count defaults to 20 and is at most 1000 (a larger _count is lowered, and the links say so); search and history paging links are pinned to the moment of the first page; " +
			"search page links expire an hour after the first page (410: repeat the search). " +
			"_total: without it, Bundle.total is given when the result fits on the first page or has at most 1000 matches, and is otherwise left out, so no page waits on counting; " +
			"_total=accurate counts exactly; _total=estimate is exact up to 1000 matches and otherwise the driving filter's candidates times the share of the first 1000 that match; _total=none gives none. " +
			":missing follows the element: a contained, display-only or identifier-only reference is present. " +
			"an unknown parameter, modifier or malformed value is a 400 unless Prefer: handling=lenient. " +
			"Token :in, :not-in, :above and :below work with the code systems and value sets the server holds (the R4 core package and stored ones); " +
			"SNOMED CT, LOINC and dm+d are not loaded: core value sets over them are answered from the expansion R4 published (hl7.fhir.r4.expansions) when it is complete; " +
			"other value sets and modifiers that need them answer 400/422. " +
			"Code system definitions are served as the R4 package publishes them: a few codes there carry placeholder definitions " +
			"(verificationresult-status, verificationresult-need, and SubstancePolymer and SubstanceReferenceInformation in resource-types), which $lookup returns unchanged. " +
			"_contained, _filter and _query are not supported (400).",
		Interaction: []code{{"transaction"}, {"batch"}, {"history-system"}},
	}
	searching := s.opts.Search.Engine != nil
	if searching {
		r.Interaction = append(r.Interaction, code{"search-system"})
	}
	for _, t := range s.opts.ResourceTypes {
		interactions := []code{{"read"}, {"vread"}, {"update"}, {"patch"}, {"delete"}, {"history-instance"}, {"history-type"}, {"create"}}
		var params []searchParam
		var revs []string
		if searching {
			interactions = append(interactions, code{"search-type"})
			for _, d := range s.opts.Search.Registry.Params(t) {
				// The registry's description says how this server answers
				// where the specification leaves it open (near).
				sp := searchParam{Name: d.Name, Definition: d.URL, Type: string(d.Kind), Documentation: d.Description}
				if def, ok := spec.SearchParam(t, d.Name); ok && sp.Documentation == "" {
					sp.Documentation = def.Description
				}
				params = append(params, sp)
			}
		}
		res := resource{
			Type:              t,
			Profile:           "http://hl7.org/fhir/StructureDefinition/" + t,
			Interaction:       interactions,
			Versioning:        "versioned",
			ReadHistory:       true,
			UpdateCreate:      true,
			ConditionalRead:   "full-support",
			ConditionalDelete: "not-supported",
			SearchParam:       params,
			SearchRevInclude:  revs,
		}
		if searching {
			res.ConditionalCreate, res.ConditionalUpdate, res.ConditionalDelete = true, true, "multiple"
			res.SearchInclude = []string{"*"}
			res.SearchRevInclude = []string{"*"}
		}
		r.Resource = append(r.Resource, res)
	}
	for _, op := range s.operationNames() {
		r.Operation = append(r.Operation, operation{op.Name, op.Definition})
	}
	cs.Rest = []rest{r}
	b, _ := json.Marshal(cs)
	return b
}

// SetSecurity puts the authorisation server's description (the R4
// CapabilityStatement.rest.security element: SMART on FHIR, with the
// oauth-uris extension) into the CapabilityStatement. Call it before the
// Service serves requests.
func (s *Service) SetSecurity(raw []byte) {
	s.security = raw
	s.capabilities = s.buildCapabilities()
}
