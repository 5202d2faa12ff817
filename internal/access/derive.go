package access

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/fhir/spec"
)

// Code systems and identifiers the access rules read.
const (
	// ConfidentialitySystem is v3-Confidentiality, the meta.security codes
	// U, L, M, N, R and V (NHS-RULES.md 5.4).
	ConfidentialitySystem = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
	// PurposeSystem is v3-ActReason, the purposes of use.
	PurposeSystem = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	// ODSSystem identifies organisations by ODS code (NHS-RULES.md 5.1).
	ODSSystem = "https://fhir.nhs.uk/Id/ods-organization-code"
	// ConsentScopeSystem is the R4 consentscope code system.
	ConsentScopeSystem = "http://terminology.hl7.org/CodeSystem/consentscope"
	// NDOPPolicy, as a Consent.policy.uri, records a National Data
	// Opt-out (NHS-RULES.md 6).
	NDOPPolicy = "https://digital.nhs.uk/services/national-data-opt-out"
	// Type1OptOut is the SNOMED CT code of the GP practice Type 1 opt-out
	// (827241000000103, NHS-RULES.md 6); as a Consent.category it is
	// applied like the National Data Opt-out.
	Type1OptOut = "827241000000103"
	snomed      = "http://snomed.info/sct"
)

// CareRow is one care relationship a resource records: the organisation
// (by resource id or ODS code; exactly one is set) cares for Patient.
type CareRow struct {
	Patient string
	OrgID   string
	OrgODS  string
}

// ConsentRow is one row of a patient's privacy consent (see ConsentRows).
type ConsentRow struct {
	Patient string
	// Clause groups a deny with the permits that are its exceptions.
	Clause int
	// Kind is "deny", "permit" or "optout".
	Kind string
	// ActorType is "" (anyone), "Organization", "Practitioner" or "*"
	// (every staff caller: an actor the rules cannot match exactly).
	ActorType, ActorID, ActorODS string
	// Purpose, when set, limits the row to that purpose of use.
	Purpose string
	// Start and End bound when the row applies, in microseconds since
	// the epoch; 0 is open.
	Start, End int64
}

type reference struct {
	Reference  string `json:"reference"`
	Identifier *struct {
		System string `json:"system"`
		Value  string `json:"value"`
	} `json:"identifier"`
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type concept struct {
	Coding []coding `json:"coding"`
}

// target returns the type and id of a relative literal reference
// ("Type/id" or "Type/id/_history/n"), or "" for any other. Absolute
// references are not resolved: a relationship or consent that cannot be
// matched exactly grants nothing (a missing relationship hides data; a
// consent actor that cannot be matched is handled by ConsentRows).
func (r *reference) target() (typ, id string) {
	if r == nil {
		return "", ""
	}
	parts := strings.Split(r.Reference, "/")
	if len(parts) != 2 && !(len(parts) == 4 && parts[2] == "_history") {
		return "", ""
	}
	if !spec.IsResourceType(parts[0]) || parts[1] == "" {
		return "", ""
	}
	return parts[0], parts[1]
}

func (r *reference) patient() string {
	if t, id := r.target(); t == "Patient" {
		return id
	}
	return ""
}

// org returns the organisation a reference names: its id, or its ODS
// code for a logical reference by identifier.
func (r *reference) org() (id, ods string, ok bool) {
	if r == nil {
		return "", "", false
	}
	if t, i := r.target(); t == "Organization" {
		return i, "", true
	}
	if r.Reference == "" && r.Identifier != nil && r.Identifier.System == ODSSystem && r.Identifier.Value != "" {
		return "", r.Identifier.Value, true
	}
	return "", "", false
}

// activeEncounter are the Encounter statuses of care in progress or
// booked (R4 encounter-status): the patient is under the provider's care.
var activeEncounter = []string{"planned", "arrived", "triaged", "in-progress", "onleave"}

// CareTypes are the resource types CareRows reads.
var CareTypes = []string{"Encounter", "EpisodeOfCare", "CareTeam", "ServiceRequest", "Patient"}

// CareRows returns the legitimate relationships (NHS-RULES.md 5.3) that a
// resource records, from its JSON body:
//   - Encounter with status planned, arrived, triaged, in-progress or
//     onleave: subject cared for by serviceProvider;
//   - EpisodeOfCare with status active: patient by managingOrganization;
//   - CareTeam with status active: subject by managingOrganization and
//     by every participant member or onBehalfOf that is an Organization;
//   - ServiceRequest with status active (an open referral): subject by
//     every performer that is an Organization;
//   - Patient (GP registration): the Patient by generalPractitioner
//     organisations and managingOrganization.
//
// Only relative references (Patient/1, Organization/2) and organisation
// references by ODS identifier count. Any other type, or a body that is
// not valid JSON, records none.
func CareRows(typ string, body []byte) []CareRow {
	var r struct {
		ID                   string          `json:"id"`
		Status               string          `json:"status"`
		Subject              *reference      `json:"subject"`
		Patient              *reference      `json:"patient"`
		ServiceProvider      *reference      `json:"serviceProvider"`
		ManagingOrganization json.RawMessage `json:"managingOrganization"`
		GeneralPractitioner  []reference     `json:"generalPractitioner"`
		Performer            []reference     `json:"performer"`
		Participant          []struct {
			Member     *reference `json:"member"`
			OnBehalfOf *reference `json:"onBehalfOf"`
		} `json:"participant"`
	}
	if !slices.Contains(CareTypes, typ) || json.Unmarshal(body, &r) != nil {
		return nil
	}
	// managingOrganization is one Reference on EpisodeOfCare and Patient,
	// a list on CareTeam.
	var managing []reference
	if len(r.ManagingOrganization) > 0 {
		var one reference
		if json.Unmarshal(r.ManagingOrganization, &one) == nil {
			managing = []reference{one}
		} else {
			_ = json.Unmarshal(r.ManagingOrganization, &managing)
		}
	}
	var patient string
	var orgs []*reference
	switch typ {
	case "Encounter":
		if slices.Contains(activeEncounter, r.Status) {
			patient, orgs = r.Subject.patient(), []*reference{r.ServiceProvider}
		}
	case "EpisodeOfCare":
		if r.Status == "active" {
			patient = r.Patient.patient()
			for i := range managing {
				orgs = append(orgs, &managing[i])
			}
		}
	case "CareTeam":
		if r.Status == "active" {
			patient = r.Subject.patient()
			for i := range managing {
				orgs = append(orgs, &managing[i])
			}
			for _, p := range r.Participant {
				orgs = append(orgs, p.Member, p.OnBehalfOf)
			}
		}
	case "ServiceRequest":
		if r.Status == "active" {
			patient = r.Subject.patient()
			for i := range r.Performer {
				orgs = append(orgs, &r.Performer[i])
			}
		}
	case "Patient":
		patient = r.ID
		for i := range managing {
			orgs = append(orgs, &managing[i])
		}
		for i := range r.GeneralPractitioner {
			orgs = append(orgs, &r.GeneralPractitioner[i])
		}
	}
	if patient == "" {
		return nil
	}
	var out []CareRow
	for _, o := range orgs {
		if id, ods, ok := o.org(); ok && !slices.Contains(out, CareRow{patient, id, ods}) {
			out = append(out, CareRow{patient, id, ods})
		}
	}
	return out
}

// OrgODS returns the ODS codes an Organization resource carries as
// identifiers (system https://fhir.nhs.uk/Id/ods-organization-code).
func OrgODS(body []byte) []string {
	var r struct {
		Identifier []struct {
			System string `json:"system"`
			Value  string `json:"value"`
		} `json:"identifier"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nil
	}
	var out []string
	for _, id := range r.Identifier {
		if id.System == ODSSystem && id.Value != "" && !slices.Contains(out, id.Value) {
			out = append(out, id.Value)
		}
	}
	return out
}

// Labels returns the v3-Confidentiality codes R and V that a resource
// carries in meta.security: the labels the access rules act on.
func Labels(body []byte) []string {
	var r struct {
		Meta struct {
			Security []coding `json:"security"`
		} `json:"meta"`
	}
	if json.Unmarshal(body, &r) != nil {
		return nil
	}
	var out []string
	for _, c := range r.Meta.Security {
		if c.System == ConfidentialitySystem && (c.Code == "R" || c.Code == "V") && !slices.Contains(out, c.Code) {
			out = append(out, c.Code)
		}
	}
	slices.Sort(out)
	return out
}

func micros(s string, end bool) int64 {
	if s == "" {
		return 0
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if end {
			// A partial date ends at the end of the period it names
			// (R4 datatypes.html, Period).
			switch layout {
			case "2006-01-02":
				t = t.AddDate(0, 0, 1)
			case "2006-01":
				t = t.AddDate(0, 1, 0)
			case "2006":
				t = t.AddDate(1, 0, 0)
			}
		}
		return t.UnixMicro()
	}
	return -1
}
