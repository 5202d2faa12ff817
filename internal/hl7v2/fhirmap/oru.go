package fhirmap

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/ucum"
)

// order is one OBR with its ORC, OBX and NTE segments (the ORU_R01
// ORDER_OBSERVATION group, HL7 v2.5.1 7.3.1).
type order struct {
	orc, obr *hl7v2.Segment
	occ      int // OBR occurrence
	obx      []obsSeg
}

type obsSeg struct {
	seg   *hl7v2.Segment
	occ   int // OBX occurrence
	notes []string
}

func groups(m *hl7v2.Message) []*order {
	var out []*order
	var orc *hl7v2.Segment
	var cur *order
	obr, obx := 0, 0
	for _, s := range m.Segments {
		switch s.Name {
		case "ORC":
			orc = s
		case "OBR":
			obr++
			cur = &order{orc: orc, obr: s, occ: obr}
			out = append(out, cur)
		case "OBX":
			obx++
			if cur != nil {
				cur.obx = append(cur.obx, obsSeg{seg: s, occ: obx})
			}
		case "NTE":
			if cur != nil && len(cur.obx) > 0 {
				last := &cur.obx[len(cur.obx)-1]
				if t := strings.TrimSpace(s.Field(3).String()); t != "" {
					last.notes = append(last.notes, t)
				}
			}
		}
	}
	return out
}

// orderNumbers returns an order's placer and filler numbers (OBR-2/3,
// else ORC-2/3; EI.1).
func (o *order) orderNumbers() (placer, filler string) {
	placer, filler = comp(o.obr.Field(2).Rep(1), 1), comp(o.obr.Field(3).Rep(1), 1)
	if o.orc != nil {
		if placer == "" {
			placer = comp(o.orc.Field(2).Rep(1), 1)
		}
		if filler == "" {
			filler = comp(o.orc.Field(3).Rep(1), 1)
		}
	}
	return placer, filler
}

func orderKeys(m *hl7v2.Message, f Facility) []Identifier {
	var out []Identifier
	seen := map[string]bool{}
	for _, o := range groups(m) {
		pl, fi := o.orderNumbers()
		for _, v := range []string{pl, fi} {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, Identifier{System: f.OrderSystem, Value: v})
			}
		}
	}
	return out
}

// reportStatus maps OBR-25 (result status, table 0123) to
// DiagnosticReport.status.
func reportStatus(s string) string {
	switch strings.ToUpper(s) {
	case "F":
		return "final"
	case "C":
		return "corrected"
	case "P":
		return "preliminary"
	case "A", "R":
		return "partial"
	case "X":
		return "cancelled"
	case "O", "I", "S":
		return "registered"
	}
	return "unknown"
}

// observationStatus maps OBX-11 (observation result status, table 0085)
// to Observation.status.
func observationStatus(s string) string {
	switch strings.ToUpper(s) {
	case "F", "U":
		return "final"
	case "C":
		return "corrected"
	case "P", "R", "S":
		return "preliminary"
	case "A":
		return "amended"
	case "X":
		return "cancelled"
	case "D", "W":
		return "entered-in-error"
	case "I", "O":
		return "registered"
	}
	return "unknown"
}

// interpretations are the HL7 table 0078 abnormal flags that keep their
// code in v3 ObservationInterpretation (which R4 binds
// Observation.interpretation to).
var interpretations = map[string]string{
	"L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high", "N": "Normal", "A": "Abnormal",
	"AA": "Critical abnormal", "<": "Off scale low", ">": "Off scale high", "U": "Significant change up",
	"D": "Significant change down", "B": "Better", "W": "Worse", "S": "Susceptible", "R": "Resistant",
	"I": "Intermediate", "MS": "moderately susceptible", "VS": "very susceptible", "POS": "Positive",
	"NEG": "Negative", "IND": "Indeterminate", "DET": "Detected", "ND": "Not detected", "E": "Equivocal",
	"EX": "outside threshold", "HU": "Significantly high", "LU": "Significantly low",
}

// buildResult maps an ORU^R01: per OBR a DiagnosticReport, per OBX an
// Observation, for a patient already known.
func (p *Plan) buildResult(ex Existing) (*Result, error) {
	if ex.Patient == nil {
		return nil, errAt("PID", 1, 3, 1, 1, CodeUnknownKey, "no patient is known by %s: results are only recorded for a known patient (send the ADT first)", describe(p.Patient))
	}
	res := &Result{}
	patRef := map[string]any{"reference": "Patient/" + ex.Patient.ID}
	var encRef map[string]any
	if ex.Encounter != nil {
		encRef = map[string]any{"reference": "Encounter/" + ex.Encounter.ID}
	} else if p.Visit != nil {
		res.Notes = append(res.Notes, "visit "+p.Visit.Value+" (PV1-19) is not known: results are not linked to an encounter")
	}
	var b bundle
	orderSystem := p.fac.OrderSystem
	if orderSystem == "" {
		orderSystem = LocalSystem(p.Facility, "order")
	}
	for gi, o := range groups(p.msg) {
		placer, filler := o.orderNumbers()
		key := filler
		if key == "" {
			key = placer
		}
		if key == "" {
			key = fmt.Sprintf("%s#%d", p.controlID, gi+1)
		}
		// Two OBR of one order (King's sends the same filler number on
		// several) are told apart by the test they report.
		testCode := comp(o.obr.Field(4).Rep(1), 1)
		repID := stableID("DiagnosticReport", p.Facility, key, testCode)
		rep := map[string]any{"resourceType": "DiagnosticReport", "id": repID, "subject": patRef}
		var idents []any
		if filler != "" {
			idents = append(idents, map[string]any{"system": orderSystem, "value": filler, "type": typeCode("FILL")})
		}
		if placer != "" {
			idents = append(idents, map[string]any{"system": orderSystem, "value": placer, "type": typeCode("PLAC")})
		}
		if len(idents) > 0 {
			rep["identifier"] = idents
		}
		var basedOn []any
		for _, v := range []string{placer, filler} {
			if id, ok := ex.Orders[v]; ok && v != "" {
				basedOn = append(basedOn, map[string]any{"reference": "ServiceRequest/" + id})
				break
			}
		}
		if basedOn != nil {
			rep["basedOn"] = basedOn
		}
		if encRef != nil {
			rep["encounter"] = encRef
		}
		code := codeable(o.obr.Field(4).Rep(1), p.fac, p.Facility)
		if code == nil {
			return nil, errAt("OBR", o.occ, 4, 1, 1, CodeRequiredMissing, "OBR-4 (universal service identifier) is empty")
		}
		rep["code"] = code
		rep["status"] = reportStatus(comp(o.obr.Field(25).Rep(1), 1))
		if sect := comp(o.obr.Field(24).Rep(1), 1); sect != "" {
			rep["category"] = []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": sect}}}}
		}
		eff, okEff, err := fieldTS(o.obr, o.occ, 7)
		if err != nil {
			return nil, err
		}
		if okEff {
			rep["effectiveDateTime"] = eff.dateTime()
		}
		if t, ok, err := fieldTS(o.obr, o.occ, 22); err != nil {
			return nil, err
		} else if ok {
			if in, ok := t.instant(); ok {
				rep["issued"] = in
			}
		}
		var results, forms []any
		seen := map[string]int{}
		for _, x := range o.obx {
			obsKey := comp(x.seg.Field(3).Rep(1), 1) + "\x00" + comp(x.seg.Field(4).Rep(1), 1)
			seen[obsKey]++
			obsID := stableID("Observation", repID, obsKey, strconv.Itoa(seen[obsKey]))
			obs, form, err := p.observation(x, obsID, patRef, encRef, basedOn)
			if err != nil {
				return nil, err
			}
			if form != nil {
				forms = append(forms, form)
				continue
			}
			if !okEff {
				if e, ok := obs["effectiveDateTime"]; ok {
					rep["effectiveDateTime"] = e
				}
			}
			results = append(results, map[string]any{"reference": "Observation/" + obsID})
			b.add("", obs, entryReq{Method: "PUT", URL: "Observation/" + obsID})
		}
		if len(results) > 0 {
			rep["result"] = results
		}
		if len(forms) > 0 {
			rep["presentedForm"] = forms
		}
		b.add("", rep, entryReq{Method: "PUT", URL: "DiagnosticReport/" + repID})
	}
	var err error
	res.Bundle, err = b.json()
	return res, err
}

func typeCode(c string) map[string]any {
	return map[string]any{"coding": []any{map[string]any{"system": V2IdentifierType, "code": c}}}
}

func describe(ids []Identifier) string {
	var parts []string
	for _, id := range ids {
		if id.System == NHSNumberSystem {
			parts = append(parts, "NHS number "+id.Value)
		} else {
			parts = append(parts, id.Value)
		}
	}
	return strings.Join(parts, " or ")
}

// observation maps one OBX. An ED value (an encapsulated document, such
// as a genomics report PDF) is returned as an Attachment for the report's
// presentedForm instead: R4 Observation.value[x] has no Attachment.
func (p *Plan) observation(x obsSeg, id string, patRef, encRef map[string]any, basedOn []any) (map[string]any, map[string]any, error) {
	s, occ := x.seg, x.occ
	vt := strings.ToUpper(comp(s.Field(2).Rep(1), 1))
	obs := map[string]any{"resourceType": "Observation", "id": id, "subject": patRef}
	code := codeable(s.Field(3).Rep(1), p.fac, p.Facility)
	if code == nil {
		return nil, nil, errAt("OBX", occ, 3, 1, 1, CodeRequiredMissing, "OBX-3 (observation identifier) is empty")
	}
	obs["code"] = code
	obs["status"] = observationStatus(comp(s.Field(11).Rep(1), 1))
	if encRef != nil {
		obs["encounter"] = encRef
	}
	if basedOn != nil {
		obs["basedOn"] = basedOn
	}
	if t, ok, err := fieldTS(s, occ, 14); err != nil {
		return nil, nil, err
	} else if ok {
		obs["effectiveDateTime"] = t.dateTime()
	}
	unitRep := s.Field(6).Rep(1)
	val := s.Field(5)
	if !val.IsEmpty() && !val.IsNull() {
		switch vt {
		case "NM":
			raw := strings.TrimSpace(val.Rep(1).String())
			num, ok := decimal(raw)
			if !ok {
				return nil, nil, errAt("OBX", occ, 5, 1, 1, CodeDataType, "OBX-2 says NM but OBX-5 %q is not a number", clip(raw))
			}
			obs["valueQuantity"] = quantity(num, unitRep)
		case "ST", "TX", "FT", "ID", "IS", "TN":
			var lines []string
			for _, r := range val.Reps() {
				lines = append(lines, strings.TrimRight(r.Component(1).String(), " "))
			}
			if t := strings.Join(lines, "\n"); strings.TrimSpace(t) != "" {
				obs["valueString"] = t
			}
		case "CE", "CWE", "CNE", "CF":
			if cc := codeable(val.Rep(1), p.fac, p.Facility); cc != nil {
				obs["valueCodeableConcept"] = cc
			}
		case "SN":
			k, v, err := structuredNumeric(val.Rep(1), unitRep)
			if err != nil {
				return nil, nil, errAt("OBX", occ, 5, 1, 0, CodeDataType, "%v", err)
			}
			obs[k] = v
		case "DT", "TS", "DTM":
			t, ok := parseTS(comp(val.Rep(1), 1))
			if !ok {
				return nil, nil, errAt("OBX", occ, 5, 1, 1, CodeDataType, "OBX-2 says %s but OBX-5 %q is not an HL7 date/time", vt, clip(comp(val.Rep(1), 1)))
			}
			obs["valueDateTime"] = t.dateTime()
		case "TM":
			obs["valueString"] = comp(val.Rep(1), 1)
		case "ED":
			r := val.Rep(1)
			typ, sub, enc, data := comp(r, 2), comp(r, 3), strings.ToUpper(comp(r, 4)), r.Component(5).String()
			if enc == "BASE64" || enc == "B64" {
				if _, err := base64.StdEncoding.DecodeString(data); err != nil {
					return nil, nil, errAt("OBX", occ, 5, 1, 5, CodeDataType, "OBX-5 (ED) data is not valid base64")
				}
				ct := "application/octet-stream"
				switch {
				case strings.EqualFold(sub, "PDF"):
					ct = "application/pdf"
				case typ != "" && sub != "":
					ct = strings.ToLower(typ + "/" + sub)
				}
				form := map[string]any{"contentType": ct, "data": data}
				if t := comp(s.Field(3).Rep(1), 2); t != "" {
					form["title"] = t
				}
				return nil, form, nil
			}
			obs["valueString"] = data
		case "":
			return nil, nil, errAt("OBX", occ, 2, 1, 1, CodeRequiredMissing, "OBX-2 (value type) is empty but OBX-5 has a value")
		default:
			return nil, nil, errAt("OBX", occ, 2, 1, 1, CodeTableValue, "value type %q (table 0125) is not mapped (mapped: NM, ST, TX, FT, CE, CWE, SN, DT, TS, ED)", clip(vt))
		}
	}
	if rr := referenceRange(comp(s.Field(7).Rep(1), 1), unitRep); rr != nil {
		obs["referenceRange"] = []any{rr}
	}
	var interp []any
	for _, r := range reps(s.Field(8)) {
		c := strings.ToUpper(comp(r, 1))
		if c == "" {
			continue
		}
		if d, ok := interpretations[c]; ok {
			interp = append(interp, map[string]any{"coding": []any{map[string]any{"system": InterpretationSys, "code": c, "display": d}}})
		} else {
			interp = append(interp, map[string]any{"text": comp(r, 1)})
		}
	}
	if interp != nil {
		obs["interpretation"] = interp
	}
	if len(x.notes) > 0 {
		var notes []any
		for _, n := range x.notes {
			notes = append(notes, map[string]any{"text": n})
		}
		obs["note"] = notes
	}
	return obs, nil, nil
}

// decimal checks a number as HL7 NM allows (optional sign, digits,
// optional point) and returns it as a JSON number.
func decimal(s string) (jsonNumber, bool) {
	if !nmPattern.MatchString(s) {
		return "", false
	}
	s = strings.TrimPrefix(s, "+")
	if strings.HasPrefix(s, ".") {
		s = "0" + s
	} else if strings.HasPrefix(s, "-.") {
		s = "-0" + s[1:]
	}
	s = strings.TrimSuffix(s, ".")
	return jsonNumber(s), true
}

var nmPattern = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)$`)

// jsonNumber is a number kept as the sender wrote it (precision matters
// in results: 0.10 is not 0.1).
type jsonNumber string

// MarshalJSON writes the number as is.
func (n jsonNumber) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// unitAliases are units NHS laboratories send that are not UCUM as
// written, with their UCUM code.
var unitAliases = map[string]string{
	"x10*9/L": "10*9/L", "x10*12/L": "10*12/L", "x10^9/L": "10*9/L", "x10^12/L": "10*12/L",
	"10^9/L": "10*9/L", "10^12/L": "10*12/L", "PERCENT": "%", "UMOLL": "umol/L", "MMOLL": "mmol/L",
	"mmol/mol": "mmol/mol", "mL/min/1.73m2": "mL/min/{1.73_m2}", "IU/L": "[IU]/L", "iu/L": "[IU]/L",
	"mU/L": "m[IU]/L", "mIU/L": "m[IU]/L", "sec": "s", "secs": "s",
}

// quantity builds a Quantity from a number and OBX-6 (CE: identifier^
// text^coding system). The unit is UCUM coded when OBX-6 says UCUM or the
// unit (or a known laboratory alias of it) is a valid UCUM expression.
func quantity(num jsonNumber, unit hl7v2.Rep) map[string]any {
	q := map[string]any{"value": num}
	u, text, sys := comp(unit, 1), comp(unit, 2), strings.ToUpper(comp(unit, 3))
	if u == "" {
		return q
	}
	q["unit"] = u
	if text != "" && sys != "UCUM" {
		q["unit"] = text
	}
	code := u
	if a, ok := unitAliases[u]; ok {
		code = a
	}
	if _, _, ok := ucum.Parse(code); ok {
		q["system"], q["code"] = UCUMSystem, code
	}
	return q
}

// structuredNumeric maps an SN value (HL7 v2.5.1 2.A.73: comparator^
// num1^separator/suffix^num2) to valueQuantity (with comparator),
// valueRange (num1-num2) or valueRatio (num1:num2 or num1/num2).
func structuredNumeric(r hl7v2.Rep, unit hl7v2.Rep) (string, any, error) {
	cmp, n1, sep, n2 := comp(r, 1), comp(r, 2), comp(r, 3), comp(r, 4)
	v1, ok := decimal(n1)
	if !ok {
		return "", nil, fmt.Errorf("SN value: %q is not a number", clip(n1))
	}
	switch sep {
	case "":
		q := quantity(v1, unit)
		switch cmp {
		case "", "=":
		case "<", ">", "<=", ">=":
			q["comparator"] = cmp
		default:
			return "", nil, fmt.Errorf("SN comparator %q is not one of < > <= >= =", clip(cmp))
		}
		return "valueQuantity", q, nil
	case "-":
		v2, ok := decimal(n2)
		if !ok || cmp != "" {
			return "", nil, fmt.Errorf("SN range %s-%s is not two numbers", clip(n1), clip(n2))
		}
		return "valueRange", map[string]any{"low": quantity(v1, unit), "high": quantity(v2, unit)}, nil
	case ":", "/":
		v2, ok := decimal(n2)
		if !ok || cmp != "" {
			return "", nil, fmt.Errorf("SN ratio %s%s%s is not two numbers", clip(n1), sep, clip(n2))
		}
		return "valueRatio", map[string]any{"numerator": map[string]any{"value": v1}, "denominator": map[string]any{"value": v2}}, nil
	}
	return "", nil, fmt.Errorf("SN separator %q is not one of - : /", clip(sep))
}

var (
	rangeBoth = regexp.MustCompile(`^\[?\s*([+-]?\d*\.?\d+)\s*(?:-|_|to)\s*([+-]?\d*\.?\d+)\s*\]?$`)
	rangeOne  = regexp.MustCompile(`^\[?\s*(<=?|>=?)\s*([+-]?\d*\.?\d+)\s*\]?$`)
)

// referenceRange reads OBX-7 as laboratories write it ("3.5-5.0",
// "[ 150 - 450 ]", "< 3.0", "70_105"); anything else is kept as text.
func referenceRange(s string, unit hl7v2.Rep) map[string]any {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	simple := func(v string) map[string]any {
		n, _ := decimal(v)
		q := quantity(n, unit)
		return q
	}
	if m := rangeBoth.FindStringSubmatch(s); m != nil {
		return map[string]any{"low": simple(m[1]), "high": simple(m[2]), "text": s}
	}
	if m := rangeOne.FindStringSubmatch(s); m != nil {
		if strings.HasPrefix(m[1], "<") {
			return map[string]any{"high": simple(m[2]), "text": s}
		}
		return map[string]any{"low": simple(m[2]), "text": s}
	}
	return map[string]any{"text": s}
}
