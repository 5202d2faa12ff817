// Package news2obs computes NEWS2 on write: it reads vital-sign
// Observations as NEWS2 inputs (codes from the NHS NEWS2 FHIR guidance,
// NHS-RULES.md §1.4), finds the complete sets, and stores a NEWS2
// Observation (SNOMED CT 1104051000000101) for each in the transaction of
// the write that completed or changed it. Scoring itself is package
// news2.
package news2obs

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nhs-junction/junction/internal/cds/news2"
	"github.com/nhs-junction/junction/internal/store"
)

// Code systems.
const (
	SNOMED = "http://snomed.info/sct"
	LOINC  = "http://loinc.org"
	UCUM   = "http://unitsofmeasure.org"
)

// CodeNEWS2 is the SNOMED CT concept of the NEWS2 total score.
const CodeNEWS2 = "1104051000000101"

// inputCodes maps each (system|code) that identifies a NEWS2 input
// Observation by its code to the parameter it carries.
var inputCodes = map[string]news2.Parameter{
	LOINC + "|9279-1":            news2.RespirationRate,
	SNOMED + "|86290005":         news2.RespirationRate,
	LOINC + "|59408-5":           news2.SpO2, // NHS NEWS2 guidance
	LOINC + "|2708-6":            news2.SpO2, // FHIR R4 vital signs profile
	SNOMED + "|103228002":        news2.SpO2,
	SNOMED + "|722742002":        news2.AirOrOxygen, // breathing room air
	SNOMED + "|371825009":        news2.AirOrOxygen, // patient on oxygen
	LOINC + "|85354-9":           news2.SystolicBP,  // blood pressure panel: the systolic component
	SNOMED + "|75367002":         news2.SystolicBP,
	LOINC + "|8480-6":            news2.SystolicBP, // systolic on its own
	SNOMED + "|72313002":         news2.SystolicBP,
	LOINC + "|8867-4":            news2.Pulse,
	SNOMED + "|364075005":        news2.Pulse,
	SNOMED + "|78564009":         news2.Pulse, // pulse rate (palpated)
	SNOMED + "|1104441000000107": news2.Consciousness,
	LOINC + "|8310-5":            news2.Temperature,
	SNOMED + "|276885007":        news2.Temperature,
}

// InputCodes returns the codes of every input, as system|code tokens for
// a search.
func InputCodes() []string {
	out := make([]string, 0, len(inputCodes))
	for k := range inputCodes {
		out = append(out, k)
	}
	return out
}

var systolicCodes = map[string]bool{LOINC + "|8480-6": true, SNOMED + "|72313002": true}

// acvpuCodes are the SNOMED CT values of the ACVPU observation.
var acvpuCodes = map[string]news2.Level{
	"248234008": news2.Alert,
	"130987000": news2.NewConfusion,
	"300202002": news2.Voice,
	"450847001": news2.Pain,
	"422768004": news2.Unresponsive,
}

// Units accepted per parameter, as UCUM codes. A value in any other unit
// is not guessed at: the input is recognised but cannot be scored.
var units = map[news2.Parameter][]string{
	news2.RespirationRate: {"/min", "{breaths}/min", "{Breaths}/min", "{breath}/min"},
	news2.SpO2:            {"%"},
	news2.SystolicBP:      {"mm[Hg]"},
	news2.Pulse:           {"/min", "{beats}/min", "{Beats}/min", "{beat}/min"},
	news2.Temperature:     {"Cel", "[degF]"},
}

// Input is one vital-sign Observation read as a NEWS2 input.
type Input struct {
	Param   news2.Parameter
	Ref     string // Observation/id
	Seq     int64  // the stored version's seq: the later of two inputs at one time wins
	Patient string // Patient/id
	// Encounter is the Observation's encounter reference, or "".
	Encounter string
	Time      time.Time // when it was taken (effective[x])

	// The value, by parameter: Whole for rates, SpO2 and pressure; Tenths
	// (of °C) for temperature; OnOxygen; Level.
	Whole    int
	Tenths   int
	OnOxygen bool
	Level    news2.Level
	// Problem, when not empty, says why this recognised input cannot be
	// scored (a unit, a missing or unreadable value). A set whose input
	// has a problem gets a NEWS2 Observation without a value that says
	// so, never a score computed without it.
	Problem string
}

type coding struct {
	System string `json:"system"`
	Code   string `json:"code"`
}

type concept struct {
	Coding []coding `json:"coding"`
}

type quantity struct {
	Value  json.Number `json:"value"`
	Unit   string      `json:"unit"`
	System string      `json:"system"`
	Code   string      `json:"code"`
}

type observation struct {
	ResourceType string  `json:"resourceType"`
	ID           string  `json:"id"`
	Status       string  `json:"status"`
	Code         concept `json:"code"`
	Subject      *struct {
		Reference string `json:"reference"`
	} `json:"subject"`
	Encounter *struct {
		Reference string `json:"reference"`
	} `json:"encounter"`
	EffectiveDateTime string `json:"effectiveDateTime"`
	EffectiveInstant  string `json:"effectiveInstant"`
	EffectivePeriod   *struct {
		Start string `json:"start"`
		End   string `json:"end"`
	} `json:"effectivePeriod"`
	ValueQuantity        *quantity `json:"valueQuantity"`
	ValueCodeableConcept *concept  `json:"valueCodeableConcept"`
	Component            []struct {
		Code          concept   `json:"code"`
		ValueQuantity *quantity `json:"valueQuantity"`
	} `json:"component"`
}

// usableStatus are the Observation statuses whose value stands: a
// preliminary, cancelled or entered-in-error result is not an input.
var usableStatus = map[string]bool{"final": true, "amended": true, "corrected": true}

// ParseInput reads v as a NEWS2 input. ok is false when v is not one: not
// a current Observation, no input code, a status other than final,
// amended or corrected, a subject that is not a relative Patient
// reference, or no effective time to the second (a date alone cannot
// place it within 15 minutes of the others).
func ParseInput(v store.Version) (in Input, ok bool) {
	if v.Type != "Observation" || v.Deleted {
		return Input{}, false
	}
	var o observation
	if err := json.Unmarshal(v.Body, &o); err != nil {
		return Input{}, false
	}
	param, found := -1, false
	var code string
	for _, c := range o.Code.Coding {
		if p, k := inputCodes[c.System+"|"+c.Code]; k {
			if found && news2.Parameter(param) != p {
				return Input{}, false // codes for two parameters: ambiguous, not guessed at
			}
			param, found, code = int(p), true, c.Code
		}
	}
	if !found || !usableStatus[o.Status] || o.Subject == nil {
		return Input{}, false
	}
	pt := o.Subject.Reference
	if id, isPt := strings.CutPrefix(pt, "Patient/"); !isPt || id == "" || strings.Contains(id, "/") {
		return Input{}, false
	}
	t, ok := effective(&o)
	if !ok {
		return Input{}, false
	}
	in = Input{Param: news2.Parameter(param), Ref: "Observation/" + v.ID, Seq: v.Seq, Patient: pt, Time: t}
	if o.Encounter != nil {
		in.Encounter = o.Encounter.Reference
	}
	in.Problem = readValue(&in, &o, code)
	return in, true
}

// effective is when the observation was taken: effectiveDateTime or
// effectiveInstant, or the end (else the start) of effectivePeriod; only
// to the second or finer, with a time zone, as FHIR requires of a time.
func effective(o *observation) (time.Time, bool) {
	s := o.EffectiveDateTime
	if s == "" {
		s = o.EffectiveInstant
	}
	if s == "" && o.EffectivePeriod != nil {
		s = o.EffectivePeriod.End
		if s == "" {
			s = o.EffectivePeriod.Start
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// readValue fills in's value from o and returns the problem, if any.
func readValue(in *Input, o *observation, code string) string {
	switch in.Param {
	case news2.AirOrOxygen:
		// A code-only observation: the code says which
		// (CareConnect-InspiredOxygen-1, NHS-RULES.md §1.4).
		in.OnOxygen = code == "371825009"
		return ""
	case news2.Consciousness:
		if o.ValueCodeableConcept != nil {
			for _, c := range o.ValueCodeableConcept.Coding {
				if l, ok := acvpuCodes[c.Code]; ok && c.System == SNOMED {
					in.Level = l
					return ""
				}
			}
		}
		return "the ACVPU observation has no ACVPU value (SNOMED CT 248234008, 130987000, 300202002, 450847001 or 422768004)"
	}
	q := o.ValueQuantity
	if in.Param == news2.SystolicBP && !systolicCodes[systemCode(o.Code)] {
		q = nil
		for _, c := range o.Component {
			if systolicCodes[systemCode(c.Code)] {
				q = c.ValueQuantity
			}
		}
		if q == nil {
			return "the blood pressure has no systolic component (LOINC 8480-6) with a value"
		}
	}
	if q == nil || q.Value == "" {
		return fmt.Sprintf("the %s has no value", in.Param)
	}
	if q.System != UCUM || !contains(units[in.Param], q.Code) {
		return fmt.Sprintf("the %s is in %q, not a UCUM unit NEWS2 accepts (%s)", in.Param, q.Unit+" "+q.Code, strings.Join(units[in.Param], ", "))
	}
	var err error
	switch {
	case in.Param == news2.Temperature && q.Code == "[degF]":
		in.Tenths, err = news2.FahrenheitToTenths(q.Value.String())
	case in.Param == news2.Temperature:
		in.Tenths, err = news2.RoundTenths(q.Value.String())
	default:
		in.Whole, err = news2.RoundWhole(q.Value.String())
	}
	if err != nil {
		return fmt.Sprintf("the %s value %s cannot be read", in.Param, q.Value)
	}
	return ""
}

// systemCode returns the first input or systolic code of c as system|code.
func systemCode(c concept) string {
	for _, x := range c.Coding {
		k := x.System + "|" + x.Code
		if systolicCodes[k] {
			return k
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
