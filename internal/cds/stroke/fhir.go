package stroke

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// QuestionnaireURL is the canonical of Junction's stroke recognition
// questionnaire. A QuestionnaireResponse whose questionnaire is this URL
// is read with the linkIds below. No national FHIR Questionnaire or code
// set for ROSIER items was found, so Junction defines both.
const QuestionnaireURL = "https://github.com/nhs-junction/junction/fhir/Questionnaire/stroke-recognition"

// ItemSystem codes the items as Observations: an Observation whose code
// is ItemSystem|<linkId> and whose valueBoolean is the answer.
const ItemSystem = "https://github.com/nhs-junction/junction/fhir/CodeSystem/stroke-recognition"

// LinkIDs maps each item's linkId (and Observation code in ItemSystem)
// to the item. Answers are valueBoolean.
var LinkIDs = map[string]Item{
	"rosier-loss-of-consciousness": LossOfConsciousness,
	"rosier-seizure":               Seizure,
	"rosier-facial-weakness":       FacialWeakness,
	"rosier-arm-weakness":          ArmWeakness,
	"rosier-leg-weakness":          LegWeakness,
	"rosier-speech":                Speech,
	"rosier-visual-field":          VisualField,
	"fast-face":                    FASTFace,
	"fast-arms":                    FASTArms,
	"fast-speech":                  FASTSpeech,
}

// The other linkIds: capillary glucose (valueDecimal, or valueQuantity
// in mmol/L), symptom onset (valueDateTime) and whether that time is
// when the patient was last known well rather than a witnessed onset
// (valueBoolean; wake-up strokes are last known well).
const (
	LinkGlucose       = "capillary-glucose"
	LinkOnset         = "onset"
	LinkLastKnownWell = "onset-is-last-known-well"
)

// GlucoseCodes are LOINC codes of blood glucose in mmol/L accepted from
// an Observation (capillary by meter; blood).
var GlucoseCodes = map[string]bool{"14743-9": true, "15074-8": true}

type answer struct {
	ValueBoolean  *bool           `json:"valueBoolean"`
	ValueDecimal  json.Number     `json:"valueDecimal"`
	ValueDateTime string          `json:"valueDateTime"`
	ValueQuantity *quantityAnswer `json:"valueQuantity"`
}

type quantityAnswer struct {
	Value  json.Number `json:"value"`
	System string      `json:"system"`
	Code   string      `json:"code"`
}

type qrItem struct {
	LinkID string   `json:"linkId"`
	Answer []answer `json:"answer"`
	Item   []qrItem `json:"item"`
}

// Response is a QuestionnaireResponse read as stroke recognition answers.
type Response struct {
	Answers  Answers
	Patient  string    // subject reference
	Authored time.Time // when the answers were recorded
	Status   string
}

// ParseQuestionnaireResponse reads body, a QuestionnaireResponse of
// QuestionnaireURL. Items may be nested in groups. An answer of the wrong
// type is an error naming the linkId, never a guess; an unknown linkId is
// ignored.
func ParseQuestionnaireResponse(body []byte) (Response, error) {
	var qr struct {
		ResourceType  string   `json:"resourceType"`
		Questionnaire string   `json:"questionnaire"`
		Status        string   `json:"status"`
		Authored      string   `json:"authored"`
		Item          []qrItem `json:"item"`
		Subject       *struct {
			Reference string `json:"reference"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(body, &qr); err != nil {
		return Response{}, fmt.Errorf("stroke: not a QuestionnaireResponse: %w", err)
	}
	if qr.ResourceType != "QuestionnaireResponse" || qr.Questionnaire != QuestionnaireURL {
		return Response{}, fmt.Errorf("stroke: not a response to %s", QuestionnaireURL)
	}
	r := Response{Status: qr.Status}
	if qr.Subject != nil {
		r.Patient = qr.Subject.Reference
	}
	if t, err := time.Parse(time.RFC3339Nano, qr.Authored); err == nil {
		r.Authored = t
	}
	var walk func(items []qrItem) error
	walk = func(items []qrItem) error {
		for _, it := range items {
			if err := walk(it.Item); err != nil {
				return err
			}
			if len(it.Answer) == 0 {
				continue
			}
			if len(it.Answer) > 1 {
				return fmt.Errorf("stroke: %s has %d answers; it takes one", it.LinkID, len(it.Answer))
			}
			if err := r.Answers.read(it.LinkID, it.Answer[0]); err != nil {
				return err
			}
		}
		return nil
	}
	return r, walk(qr.Item)
}

func (a *Answers) read(linkID string, v answer) error {
	if item, ok := LinkIDs[linkID]; ok {
		if v.ValueBoolean == nil {
			return fmt.Errorf("stroke: %s needs a valueBoolean answer", linkID)
		}
		a.Set(item, *v.ValueBoolean)
		return nil
	}
	switch linkID {
	case LinkGlucose:
		num := v.ValueDecimal
		if v.ValueQuantity != nil {
			if v.ValueQuantity.System != "http://unitsofmeasure.org" || v.ValueQuantity.Code != "mmol/L" {
				return fmt.Errorf("stroke: %s must be in mmol/L (UCUM mmol/L)", linkID)
			}
			num = v.ValueQuantity.Value
		}
		g, err := strconv.ParseFloat(string(num), 64)
		if err != nil || g < 0 || g > 100 {
			return fmt.Errorf("stroke: %s needs a glucose in mmol/L between 0 and 100", linkID)
		}
		a.GlucoseMmolL, a.HasGlucose = g, true
	case LinkOnset:
		t, err := time.Parse(time.RFC3339Nano, v.ValueDateTime)
		if err != nil {
			return fmt.Errorf("stroke: %s needs a valueDateTime with a time and zone", linkID)
		}
		a.Onset = t
	case LinkLastKnownWell:
		if v.ValueBoolean == nil {
			return fmt.Errorf("stroke: %s needs a valueBoolean answer", linkID)
		}
		a.LastKnownWell = *v.ValueBoolean
	}
	return nil
}

// FromObservations reads answers from Observations (resource JSON) of
// one patient: items coded in ItemSystem with valueBoolean, glucose by
// GlucoseCodes in mmol/L, and the onset as an Observation coded
// ItemSystem|onset with valueDateTime. Of two Observations of one item,
// the later (by effective time) wins. Observations whose status is not
// final, amended or corrected are ignored.
func FromObservations(bodies [][]byte) (Answers, error) {
	var a Answers
	latest := map[string]time.Time{}
	for _, b := range bodies {
		var o struct {
			Status string `json:"status"`
			Code   struct {
				Coding []struct{ System, Code string }
			} `json:"code"`
			EffectiveDateTime string `json:"effectiveDateTime"`
			answer
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return Answers{}, fmt.Errorf("stroke: not an Observation: %w", err)
		}
		if o.Status != "final" && o.Status != "amended" && o.Status != "corrected" {
			continue
		}
		t, _ := time.Parse(time.RFC3339Nano, o.EffectiveDateTime)
		for _, c := range o.Code.Coding {
			link := ""
			switch {
			case c.System == ItemSystem:
				link = c.Code
			case c.System == "http://loinc.org" && GlucoseCodes[c.Code]:
				link = LinkGlucose
			default:
				continue
			}
			if prev, seen := latest[link]; seen && !t.After(prev) {
				continue
			}
			latest[link] = t
			if err := a.read(link, o.answer); err != nil {
				return Answers{}, err
			}
		}
	}
	return a, nil
}
