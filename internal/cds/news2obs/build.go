package news2obs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nhs-junction/junction/internal/cds/news2"
)

// RiskSystem codes the NEWS2 clinical risk (RCP 2017 Chart 4) carried in
// the NEWS2 Observation's interpretation: low, low-medium, medium, high
// (news2.Risk.Code). Neither the RCP nor the NHS FHIR guidance codes the
// risk, so Junction defines the system.
const RiskSystem = "https://github.com/nhs-junction/junction/fhir/CodeSystem/news2-clinical-risk"

// DerivedTag marks, in meta.tag, a resource Junction derived.
var DerivedTag = cdsCoding{System: "https://github.com/nhs-junction/junction/fhir/CodeSystem/derived", Code: "news2", Display: "NEWS2 calculated by Junction from the vital signs it is derived from"}

// parameterCodes are the SNOMED CT sub-score concepts, by parameter; the
// SpO2 entry is Scale 1 (Scale 2 is scale2SubScore).
var parameterCodes = [...]cdsCoding{
	news2.RespirationRate: {SNOMED, "1104301000000104", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - respiration rate score"},
	news2.SpO2:            {SNOMED, "1104311000000102", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 1 score"},
	news2.AirOrOxygen:     {SNOMED, "1104331000000105", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - air or oxygen score"},
	news2.SystolicBP:      {SNOMED, "1104341000000101", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - systolic blood pressure score"},
	news2.Pulse:           {SNOMED, "1104351000000103", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - pulse score"},
	news2.Consciousness:   {SNOMED, "1104361000000100", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - consciousness score"},
	news2.Temperature:     {SNOMED, "1104371000000107", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - temperature score"},
}

var scale2SubScore = cdsCoding{SNOMED, "1104321000000108", "Royal College of Physicians NEWS2 (National Early Warning Score 2) - oxygen saturation scale 2 score"}

var totalCode = cdsCoding{SNOMED, CodeNEWS2, "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score"}

type cdsCoding struct {
	System  string `json:"system"`
	Code    string `json:"code"`
	Display string `json:"display,omitempty"`
}

type cc struct {
	Coding []cdsCoding `json:"coding,omitempty"`
	Text   string      `json:"text,omitempty"`
}

type ref struct {
	Reference string `json:"reference"`
}

type scoreQty struct {
	Value  int    `json:"value"`
	Unit   string `json:"unit"`
	System string `json:"system"`
	Code   string `json:"code"`
}

func score(n int) *scoreQty {
	return &scoreQty{Value: n, Unit: "score", System: UCUM, Code: "{score}"}
}

type component struct {
	Code          cc        `json:"code"`
	ValueQuantity *scoreQty `json:"valueQuantity"`
}

type news2Observation struct {
	ResourceType string `json:"resourceType"`
	Meta         struct {
		Tag []cdsCoding `json:"tag"`
	} `json:"meta"`
	Status            string      `json:"status"`
	Category          []cc        `json:"category"`
	Code              cc          `json:"code"`
	Subject           ref         `json:"subject"`
	Encounter         *ref        `json:"encounter,omitempty"`
	EffectiveDateTime string      `json:"effectiveDateTime"`
	ValueQuantity     *scoreQty   `json:"valueQuantity,omitempty"`
	DataAbsentReason  *cc         `json:"dataAbsentReason,omitempty"`
	Interpretation    []cc        `json:"interpretation,omitempty"`
	Note              []note      `json:"note,omitempty"`
	DerivedFrom       []ref       `json:"derivedFrom"`
	Component         []component `json:"component,omitempty"`
}

type note struct {
	Text string `json:"text"`
}

// Outcome is what Build computed for a set: the score, or why there is
// none.
type Outcome struct {
	Result  news2.Result
	Problem string // not empty: the set could not be scored
}

// Build returns the NEWS2 Observation of the complete set s, without id
// or meta version (the caller stamps them), scored on Scale 2 when
// scale2 is not nil. A set that cannot be scored (an input with a
// problem, or an implausible value) gets an Observation with
// dataAbsentReason "error" and a note saying why, so that the missing
// score is visible rather than silently absent.
func Build(s Set, scale2 *Scale2) ([]byte, Outcome, error) {
	if !s.Complete() {
		return nil, Outcome{}, fmt.Errorf("news2obs: the set of %s at %s is incomplete", s.Patient, s.Time)
	}
	o := news2Observation{
		ResourceType:      "Observation",
		Status:            "final",
		Category:          []cc{{Coding: []cdsCoding{{"http://terminology.hl7.org/CodeSystem/observation-category", "survey", "Survey"}}}},
		Code:              cc{Coding: []cdsCoding{totalCode}, Text: "NEWS2 total score"},
		Subject:           ref{s.Patient},
		EffectiveDateTime: s.Time.UTC().Format(time.RFC3339Nano),
	}
	o.Meta.Tag = []cdsCoding{DerivedTag}
	enc := s.Inputs[0].Encounter
	for _, in := range s.Inputs {
		if in.Encounter != enc {
			enc = ""
		}
		if len(o.DerivedFrom) == 0 || o.DerivedFrom[len(o.DerivedFrom)-1].Reference != in.Ref {
			o.DerivedFrom = append(o.DerivedFrom, ref{in.Ref})
		}
	}
	if enc != "" {
		o.Encounter = &ref{enc}
	}
	scale := news2.Scale1
	if scale2 != nil {
		scale = news2.Scale2
		o.Note = append(o.Note, note{fmt.Sprintf("SpO2 scored on Scale 2 (target saturation 88–92%%), as recorded in %s by %s from %s.",
			scale2.Ref, scale2.Author, scale2.Start.UTC().Format(time.RFC3339))})
	}
	v, problem := s.Vitals(scale)
	var out Outcome
	if problem == "" {
		r, err := news2.Score(v)
		if err != nil {
			problem = err.Error()
		} else {
			out.Result = r
		}
	}
	if problem != "" {
		out.Problem = problem
		o.DataAbsentReason = &cc{Coding: []cdsCoding{{"http://terminology.hl7.org/CodeSystem/data-absent-reason", "error", "Error"}},
			Text: "NEWS2 could not be calculated"}
		o.Note = append(o.Note, note{"NEWS2 could not be calculated from this complete set of vital signs: " + problem +
			". Correct the observation; the score is recalculated when it changes."})
	} else {
		r := out.Result
		o.ValueQuantity = score(r.Total)
		o.Interpretation = []cc{{Coding: []cdsCoding{{RiskSystem, r.Risk.Code(), r.Risk.Display()}}, Text: r.Risk.Display()}}
		for _, p := range news2.Parameters {
			code := parameterCodes[p]
			if p == news2.SpO2 && scale == news2.Scale2 {
				code = scale2SubScore
			}
			o.Component = append(o.Component, component{Code: cc{Coding: []cdsCoding{code}}, ValueQuantity: score(r.Scores[p])})
		}
	}
	body, err := json.Marshal(o)
	return body, out, err
}
