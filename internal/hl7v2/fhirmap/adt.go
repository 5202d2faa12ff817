package fhirmap

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nhs-junction/junction/internal/hl7v2"
)

// encounterClass maps PV1-2 (patient class, HL7 table 0004, and the words
// NHS feeds send) to v3-ActCode, as the HL7 v2-to-FHIR IS-to-Encounter
// concept map does.
func encounterClass(s string) (string, string) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "E", "EMERGENCY":
		return "EMER", "emergency"
	case "I", "INPATIENT", "B", "NEWBORN":
		return "IMP", "inpatient encounter"
	case "O", "OUTPATIENT", "R", "C":
		return "AMB", "ambulatory"
	case "P", "PREADMIT":
		return "PRENC", "pre-admission"
	}
	return "", ""
}

// buildADT maps an ADT event: the Patient (A28/A31 and every visit
// event), and for visit events the Encounter named by PV1-19.
func (p *Plan) buildADT(ex Existing) (*Result, error) {
	res := &Result{}
	var b bundle
	patRef, err := p.putPatient(&b, res, ex.Patient, ex.Taken)
	if err != nil {
		return nil, err
	}
	pv1 := p.msg.Segment("PV1")
	switch {
	case !adtEvents[p.Event]:
	case pv1 == nil:
		res.Notes = append(res.Notes, "no PV1 segment: no Encounter")
	case p.Visit == nil:
		res.Notes = append(res.Notes, "no visit number (PV1-19): no Encounter")
	default:
		if err := p.putEncounter(&b, res, ex.Encounter, ex.Taken, pv1, patRef); err != nil {
			return nil, err
		}
	}
	res.Bundle, err = b.json()
	return res, err
}

// putEncounter adds the Encounter for PV1 over the stored one.
func (p *Plan) putEncounter(b *bundle, res *Result, found *Found, taken map[string]bool, pv1 *hl7v2.Segment, patRef string) error {
	enc := map[string]any{}
	if found != nil {
		if err := json.Unmarshal(found.Body, &enc); err != nil {
			return errAt("PV1", 1, 19, 1, 1, CodeInternal, "the stored Encounter/%s cannot be read", found.ID)
		}
		delete(enc, "meta")
		delete(enc, "text")
	}
	switch p.Event {
	case "A11", "A12", "A13":
		if found == nil {
			return errAt("PV1", 1, 19, 1, 1, CodeUnknownKey, "ADT^%s cancels an event of visit %q, which is not known", p.Event, p.Visit.Value)
		}
	}
	var id string
	if found != nil {
		id = found.ID
	} else {
		id = newID(taken, "Encounter", stableID("Encounter", p.Visit.System, p.Visit.Value))
		res.Created = append(res.Created, "Encounter/"+id)
	}
	enc["resourceType"] = "Encounter"
	enc["id"] = id
	enc["subject"] = map[string]any{"reference": patRef}
	enc["identifier"] = mergeIdentifier(enc["identifier"], map[string]any{"use": "official", "system": p.Visit.System, "value": p.Visit.Value,
		"type": map[string]any{"coding": []any{map[string]any{"system": V2IdentifierType, "code": "VN"}}}})
	if code, display := encounterClass(comp(pv1.Field(2).Rep(1), 1)); code != "" {
		enc["class"] = map[string]any{"system": ActCodeSystem, "code": code, "display": display}
	} else if _, has := enc["class"]; !has {
		enc["class"] = map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "code": "UNK", "display": "unknown"}
	}
	if p.fac.ODS != "" {
		enc["serviceProvider"] = map[string]any{"type": "Organization", "identifier": map[string]any{"system": ODSSystem, "value": p.fac.ODS}}
	}
	when := ""
	if p.hasWhen {
		when = p.when.dateTime()
	}
	period, _ := enc["period"].(map[string]any)
	if period == nil {
		period = map[string]any{}
	}
	start, okStart, err := fieldTS(pv1, 1, 44)
	if err != nil {
		return err
	}
	end, okEnd, err := fieldTS(pv1, 1, 45)
	if err != nil {
		return err
	}
	if okStart {
		period["start"] = start.dateTime()
	}
	if okEnd {
		period["end"] = end.dateTime()
	}
	if p.Event == "A05" {
		if pv2 := p.msg.Segment("PV2"); pv2 != nil {
			if t, ok, err := fieldTS(pv2, 1, 8); err != nil {
				return err
			} else if ok && !okStart {
				period["start"] = t.dateTime()
			}
		}
	}
	locs, _ := enc["location"].([]any)
	newLoc := location(pv1.Field(3).Rep(1), p.Facility)
	status, _ := enc["status"].(string)
	switch p.Event {
	case "A01", "A04", "A06", "A07":
		status = "in-progress"
		if _, ok := period["start"]; !ok && when != "" {
			period["start"] = when
		}
		locs = moveTo(locs, newLoc, when)
	case "A02":
		status = "in-progress"
		locs = moveTo(locs, newLoc, when)
	case "A03":
		status = "finished"
		if _, ok := period["end"]; !ok && when != "" {
			period["end"] = when
		}
		locs = closeLocations(locs, when)
	case "A05":
		status = "planned"
		if newLoc != nil {
			newLoc["status"] = "planned"
			locs = []any{newLoc}
		}
	case "A08":
		if status == "" {
			status = "in-progress"
			if okEnd {
				status = "finished"
			}
		}
		if status == "in-progress" {
			locs = moveTo(locs, newLoc, when)
		}
	case "A11":
		// Cancel admit/visit: a planned encounter is cancelled; one that
		// had started never happened (R4 EncounterStatus entered-in-error).
		if status == "planned" {
			status = "cancelled"
		} else {
			status = "entered-in-error"
		}
	case "A12":
		// Cancel transfer: back to the location before the last move.
		status = "in-progress"
		locs = undoMove(locs)
	case "A13":
		// Cancel discharge: the encounter is in progress again.
		status = "in-progress"
		delete(period, "end")
		locs = reopenLast(locs)
	}
	if status == "" {
		status = "unknown"
	}
	enc["status"] = status
	if len(period) > 0 {
		enc["period"] = period
	} else {
		delete(enc, "period")
	}
	if len(locs) > 0 {
		enc["location"] = locs
	}
	var parts []any
	for _, pt := range []struct {
		field      int
		code, text string
	}{{7, "ATND", "attender"}, {8, "REF", "referrer"}, {9, "CON", "consultant"}} {
		for _, r := range reps(pv1.Field(pt.field)) {
			ref := xcn(r)
			if ref == nil {
				continue
			}
			ref["type"] = "Practitioner"
			parts = append(parts, map[string]any{
				"type":       []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": pt.code, "display": pt.text}}}},
				"individual": ref,
			})
			break
		}
	}
	if len(parts) > 0 {
		enc["participant"] = parts
	}
	req := entryReq{Method: "PUT", URL: "Encounter/" + id}
	if found != nil {
		req.IfMatch = fmt.Sprintf(`W/"%d"`, found.Version)
	}
	b.add("", enc, req)
	return nil
}

// mergeIdentifier puts id into a stored identifier list, replacing one of
// the same system.
func mergeIdentifier(old any, id map[string]any) []any {
	list, _ := old.([]any)
	out := []any{id}
	for _, x := range list {
		if o, ok := x.(map[string]any); ok && o["system"] == id["system"] {
			continue
		}
		out = append(out, x)
	}
	return out
}

// location maps a PL (point of care^room^bed^facility^status^type^
// building^floor^description) to an Encounter.location entry referring to
// the Location by identifier and display.
func location(r hl7v2.Rep, facility string) map[string]any {
	var parts []string
	for _, i := range []int{1, 2, 3} {
		parts = append(parts, comp(r, i))
	}
	if strings.Join(parts, "") == "" {
		return nil
	}
	display := strings.Join(nonEmpty(parts...), ", ")
	if d := comp(r, 9); d != "" {
		display = d
	}
	return map[string]any{
		"location": map[string]any{
			"identifier": map[string]any{"system": LocalSystem(facility, "location"), "value": strings.TrimRight(strings.Join(parts, "^"), "^")},
			"display":    display,
		},
		"status": "active",
	}
}

func sameLocation(a, b any) bool {
	ma, _ := a.(map[string]any)
	mb, _ := b.(map[string]any)
	la, _ := ma["location"].(map[string]any)
	lb, _ := mb["location"].(map[string]any)
	ia, _ := la["identifier"].(map[string]any)
	ib, _ := lb["identifier"].(map[string]any)
	return ia != nil && ib != nil && ia["value"] == ib["value"]
}

// moveTo makes loc the active location: a different active one becomes
// completed at when, as Encounter.location keeps the history of moves.
func moveTo(locs []any, loc map[string]any, when string) []any {
	if loc == nil {
		return locs
	}
	for _, x := range locs {
		if o, _ := x.(map[string]any); o["status"] == "active" && sameLocation(o, loc) {
			return locs
		}
	}
	locs = closeLocations(locs, when)
	if when != "" {
		loc["period"] = map[string]any{"start": when}
	}
	return append(locs, loc)
}

func closeLocations(locs []any, when string) []any {
	for _, x := range locs {
		o, _ := x.(map[string]any)
		if o["status"] == "active" || o["status"] == "planned" {
			o["status"] = "completed"
			if when != "" {
				per, _ := o["period"].(map[string]any)
				if per == nil {
					per = map[string]any{}
				}
				per["end"] = when
				o["period"] = per
			}
		}
	}
	return locs
}

// undoMove removes the active location and reopens the one before it.
func undoMove(locs []any) []any {
	for i := len(locs) - 1; i >= 0; i-- {
		if o, _ := locs[i].(map[string]any); o["status"] == "active" {
			locs = append(locs[:i:i], locs[i+1:]...)
			break
		}
	}
	return reopenLast(locs)
}

// reopenLast makes the last location active again (no end).
func reopenLast(locs []any) []any {
	if len(locs) == 0 {
		return locs
	}
	o, _ := locs[len(locs)-1].(map[string]any)
	o["status"] = "active"
	if per, ok := o["period"].(map[string]any); ok {
		delete(per, "end")
	}
	return locs
}
