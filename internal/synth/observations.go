package synth

import (
	"math"
	"time"
)

func (b *rec) quantityObs(enc reference, t time.Time, code concept, cat []concept, q *quantity, perf []reference) string {
	id := b.newID()
	b.add("Observation", id, observation{
		ResourceType: "Observation", ID: id, Status: "final", Category: cat, Code: code,
		Subject: b.subj, Encounter: &enc, EffectiveDateTime: dateTime(t), Performer: perf, ValueQuantity: q,
	})
	return id
}

func (b *rec) bloodPressure(enc reference, t time.Time, v vitals, perf []reference) string {
	id := b.newID()
	b.add("Observation", id, observation{
		ResourceType: "Observation", ID: id, Status: "final", Category: catVitals, Code: codeBP,
		Subject: b.subj, Encounter: &enc, EffectiveDateTime: dateTime(t), Performer: perf,
		Component: []component{
			{Code: codeSystolic, ValueQuantity: qty(float64(v.systolic), "mmHg", "mm[Hg]")},
			{Code: codeDiastolic, ValueQuantity: qty(float64(v.diastolic), "mmHg", "mm[Hg]")},
		},
	})
	return id
}

// vitalSet records one full set of NEWS2 inputs and the NEWS2 score
// derived from them, and returns the total.
func (b *rec) vitalSet(enc reference, t time.Time, v vitals, who *staffMember, o *org) int {
	perf := []reference{*refd("Practitioner", who.practitionerID, who.name), *refd("Organization", o.id, o.name)}
	at := func(min int) time.Time { return t.Add(time.Duration(min) * time.Minute) }
	var ids []reference
	keep := func(id string) { ids = append(ids, reference{Reference: "Observation/" + id}) }

	keep(b.quantityObs(enc, at(0), codeResp, catVitals, qty(float64(v.resp), "breaths/minute", "/min"), perf))
	keep(b.quantityObs(enc, at(1), codeSpO2, catVitals, qty(float64(v.spo2), "%", "%"), perf))
	// Air or oxygen is a code-only observation: the code itself says which
	// (CareConnect-InspiredOxygen, NHS-RULES.md §1.4).
	o2 := codeOnAir
	if v.onOxygen {
		o2 = codeOnOxygen
	}
	id := b.newID()
	b.add("Observation", id, observation{ResourceType: "Observation", ID: id, Status: "final", Category: catVitals,
		Code: o2, Subject: b.subj, Encounter: &enc, EffectiveDateTime: dateTime(at(1)), Performer: perf})
	keep(id)
	keep(b.bloodPressure(enc, at(2), v, perf))
	keep(b.quantityObs(enc, at(3), codePulse, catVitals, qty(float64(v.pulse), "beats/minute", "/min"), perf))
	id = b.newID()
	a := acvpuCodes[v.acvpu]
	b.add("Observation", id, observation{ResourceType: "Observation", ID: id, Status: "final", Category: catSurvey,
		Code: codeACVPU, Subject: b.subj, Encounter: &enc, EffectiveDateTime: dateTime(at(4)), Performer: perf,
		ValueCodeableConcept: cc(sct, a.code, a.display)})
	keep(id)
	keep(b.quantityObs(enc, at(5), codeTemp, catVitals, qty(v.temperature, "Cel", "Cel"), perf))

	s := scoreNEWS2(v)
	score := func(c concept, n int) component {
		return component{Code: c, ValueQuantity: &quantity{Value: float64(n), Unit: "score", System: ucum, Code: "{score}"}}
	}
	id = b.newID()
	b.add("Observation", id, observation{
		ResourceType: "Observation", ID: id, Status: "final", Category: catSurvey, Code: codeNEWS2,
		Subject: b.subj, Encounter: &enc, EffectiveDateTime: dateTime(at(6)), Performer: perf,
		ValueQuantity: &quantity{Value: float64(s.total()), Unit: "score", System: ucum, Code: "{score}"},
		DerivedFrom:   ids,
		Component: []component{
			score(codeSubResp, s.resp), score(codeSubSpO2, s.spo2), score(codeSubAir, s.air),
			score(codeSubSystolic, s.systolic), score(codeSubPulse, s.pulse),
			score(codeSubCons, s.consciousness), score(codeSubTemp, s.temperature),
		},
	})
	return s.total()
}

var (
	interpHigh   = []concept{ccv("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "H", "High")}
	interpLow    = []concept{ccv("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "L", "Low")}
	interpNormal = []concept{ccv("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "N", "Normal")}
	catLabReport = []concept{ccv(diagServiceSection, "LAB", "Laboratory")}
	catRadReport = []concept{ccv(diagServiceSection, "RAD", "Radiology")}
)

// labPanel emits the results of one request and the DiagnosticReport that
// groups them. sev pushes values out of range, as acute illness does.
func (b *rec) labPanel(enc reference, t time.Time, panel term, tests []labTest, o *org, sev float64) {
	issued := t.Add(time.Duration(45+b.r.intn(180)) * time.Minute)
	perf := []reference{*refd("Organization", o.id, o.name)}
	results := make([]reference, 0, len(tests))
	diabetic := false
	for _, c := range b.chronic {
		if c.code == "44054006" {
			diabetic = true
		}
	}
	for _, lt := range tests {
		mid, half := (lt.lo+lt.hi)/2, (lt.hi-lt.lo)/2
		v := b.r.normal(mid, half/2.2)
		if lt.code == hba1c.code && diabetic {
			v = b.r.normal(58, 10)
		}
		if sev > 0.3 && b.r.chance(sev) {
			v += half * (0.5 + b.r.float()) * float64(1-2*b.r.intn(2))
		}
		p := math.Pow(10, float64(lt.decimals))
		v = math.Max(math.Round(v*p)/p, 1/p)
		interp := interpNormal
		if v > lt.hi {
			interp = interpHigh
		} else if v < lt.lo {
			interp = interpLow
		}
		id := b.newID()
		b.add("Observation", id, observation{
			ResourceType: "Observation", ID: id, Status: "final", Category: catLab,
			Code: ccv(loinc, lt.code, lt.display), Subject: b.subj, Encounter: &enc,
			EffectiveDateTime: dateTime(t), Issued: dateTime(issued), Performer: perf,
			ValueQuantity:  qty(v, lt.unit, lt.unit),
			Interpretation: interp,
			ReferenceRange: []referenceRange{{Low: qty(lt.lo, lt.unit, lt.unit), High: qty(lt.hi, lt.unit, lt.unit)}},
		})
		results = append(results, reference{Reference: "Observation/" + id})
	}
	id := b.newID()
	b.add("DiagnosticReport", id, diagnosticReport{
		ResourceType: "DiagnosticReport", ID: id, Status: "final", Category: catLabReport,
		Code: ccv(loinc, panel.code, panel.display), Subject: b.subj, Encounter: &enc,
		EffectiveDateTime: dateTime(t), Issued: dateTime(issued), Performer: perf, Result: results,
	})
}

var imagingConclusions = []string{
	"No acute abnormality.",
	"No acute abnormality. Incidental degenerative change.",
	"Appearances within normal limits for age.",
	"Findings discussed with the referring clinician.",
	"Focal abnormality; correlation with clinical findings advised.",
}

// imagingStudy emits an ImagingStudy with one series and the radiology
// report on it.
func (b *rec) imagingStudy(enc reference, t time.Time, kind int, o *org, basedOn string) {
	im := imaging[kind]
	id := b.newID()
	study := oidFor(b.g.seed, uint64(b.i), b.k)
	series := oidFor(b.g.seed, uint64(b.i), b.k+1<<40)
	n := 1 + b.r.intn(3)
	inst := make([]imagingInstance, n)
	for k := range inst {
		inst[k] = imagingInstance{UID: oidFor(b.g.seed, uint64(b.i), b.k+uint64(k+2)<<40),
			SOPClass: coding{System: "urn:ietf:rfc:3986", Code: "urn:oid:" + im.sopClass, Display: im.sopDisplay}, Number: k + 1}
	}
	mod := coding{System: dicomDCM, Code: im.modality, Display: im.modalityDisplay}
	site := o.sites[len(o.sites)-1]
	res := imagingStudy{
		ResourceType: "ImagingStudy", ID: id,
		Identifier: []identifier{{System: "urn:dicom:uid", Value: "urn:oid:" + study}},
		Status:     "available", Modality: []coding{mod}, Subject: b.subj, Encounter: &enc,
		Started: dateTime(t), NumberOfSeries: 1, NumberOfInstances: n,
		ProcedureCode: []concept{ccv(sct, im.procedure.code, im.procedure.display)},
		Location:      refd("Location", site.id, site.name),
		Series: []imagingSeries{{UID: series, Number: 1, Modality: mod, Description: im.procedure.display,
			NumberOfInstances: n, BodySite: &coding{System: sct, Code: im.bodySite.code, Display: im.bodySite.display},
			Started: dateTime(t), Instance: inst}},
	}
	if basedOn != "" {
		res.BasedOn = []reference{*ref("ServiceRequest", basedOn)}
	}
	b.add("ImagingStudy", id, res)
	rid := b.newID()
	rad := b.consultant(o, -1)
	dr := diagnosticReport{
		ResourceType: "DiagnosticReport", ID: rid, Status: "final", Category: catRadReport,
		Code: ccv(loinc, "18748-4", "Diagnostic imaging study"), Subject: b.subj, Encounter: &enc,
		EffectiveDateTime: dateTime(t), Issued: dateTime(t.Add(time.Duration(1+b.r.intn(48)) * time.Hour)),
		Performer:    []reference{*refd("Practitioner", rad.practitionerID, rad.name), *refd("Organization", o.id, o.name)},
		ImagingStudy: []reference{*ref("ImagingStudy", id)},
		Conclusion:   pick(b.r, imagingConclusions),
	}
	if basedOn != "" {
		dr.BasedOn = []reference{*ref("ServiceRequest", basedOn)}
	}
	b.add("DiagnosticReport", rid, dr)
}
