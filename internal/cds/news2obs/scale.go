package news2obs

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/store"
)

// Scale2System and Scale2Code code the recorded clinical decision that a
// patient's SpO2 is scored on NEWS2 Scale 2 (a prescribed target
// saturation of 88–92%, RCP 2017 Chart 1; NHS-RULES.md §1.2). Neither the
// RCP nor the NHS NEWS2 FHIR guidance gives a code for this decision, so
// Junction defines one.
const (
	Scale2System = "https://github.com/nhs-junction/junction/fhir/CodeSystem/news2"
	Scale2Code   = "spo2-scale-2"
)

// Scale2 is the decision to use Scale 2 as a FHIR Flag: status active,
// code Scale2System|Scale2Code, subject the patient, author the
// prescribing clinician (a Practitioner or PractitionerRole reference),
// and period.start when the decision took effect (period.end when it
// stopped). The decision is never inferred from a diagnosis such as COPD
// or hypercapnic respiratory failure: only this Flag, written by a
// clinician, selects Scale 2.
type Scale2 struct {
	Ref    string // Flag/id
	Author string
	Start  time.Time
	End    time.Time // zero when open
}

type flag struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	Code         concept `json:"code"`
	Subject      *struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Author *struct {
		Reference string `json:"reference"`
	} `json:"author"`
	Period *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"period"`
}

// ParseScale2 reads v as a Scale 2 decision for patient (Patient/id). A
// Flag without an author that is a Practitioner or PractitionerRole, or
// without a period.start with a time, is not one: the decision must name
// who made it and when, and a Flag that does not is ignored (the patient
// is scored on Scale 1, which over-alerts rather than under-alerts).
func ParseScale2(v store.Version, patient string) (Scale2, bool) {
	if v.Type != "Flag" || v.Deleted {
		return Scale2{}, false
	}
	var f flag
	if json.Unmarshal(v.Body, &f) != nil || f.Status != "active" || f.Subject == nil || f.Subject.Reference != patient {
		return Scale2{}, false
	}
	coded := false
	for _, c := range f.Code.Coding {
		coded = coded || (c.System == Scale2System && c.Code == Scale2Code)
	}
	if !coded || f.Author == nil || f.Period == nil {
		return Scale2{}, false
	}
	if !strings.HasPrefix(f.Author.Reference, "Practitioner/") && !strings.HasPrefix(f.Author.Reference, "PractitionerRole/") {
		return Scale2{}, false
	}
	start, err := time.Parse(time.RFC3339Nano, f.Period.Start)
	if err != nil {
		return Scale2{}, false
	}
	s := Scale2{Ref: "Flag/" + v.ID, Author: f.Author.Reference, Start: start}
	if f.Period.End != "" {
		if s.End, err = time.Parse(time.RFC3339Nano, f.Period.End); err != nil {
			return Scale2{}, false
		}
	}
	return s, true
}

// At reports whether the decision applies to observations taken at t.
func (s Scale2) At(t time.Time) bool {
	return !t.Before(s.Start) && (s.End.IsZero() || t.Before(s.End))
}
