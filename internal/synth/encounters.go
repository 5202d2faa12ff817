package synth

import (
	"fmt"
	"time"
)

var (
	classAMB  = coding{System: actCode, Code: "AMB", Display: "ambulatory"}
	classIMP  = coding{System: actCode, Code: "IMP", Display: "inpatient encounter"}
	classEMER = coding{System: actCode, Code: "EMER", Display: "emergency"}

	typeSymptom   = ccv(sct, "185345009", "Encounter for symptom")
	typeFollowUp  = ccv(sct, "390906007", "Follow-up encounter")
	typeCheckUp   = ccv(sct, "185349003", "Encounter for check up")
	typeED        = ccv(sct, "50849002", "Emergency room admission")
	typeAdmission = ccv(sct, "32485007", "Hospital admission")
	typeConsult   = ccv(sct, "11429006", "Consultation")

	primaryPerformer = []concept{ccv("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer")}
)

// encounter emits an Encounter and returns its id.
func (b *rec) encounter(class coding, typ concept, o *org, siteIdx int, who *staffMember, start, end time.Time, reason *concept, basedOn string) string {
	// Nothing in a record ends after the record's window: the Epoch, or
	// the patient's death.
	if end.After(b.end) {
		end = b.end
	}
	id := b.newID()
	e := encounter{
		ResourceType: "Encounter", ID: id, Status: "finished", Class: class,
		Type:    []concept{typ},
		Subject: &b.subj,
		Participant: []encounterParticipant{{Type: primaryPerformer,
			Individual: refd("PractitionerRole", who.roleID, who.name)}},
		Period:          &period{Start: dateTime(start), End: dateTime(end)},
		Location:        []encounterLocation{{Location: *refd("Location", o.sites[siteIdx].id, o.sites[siteIdx].name), Status: "completed"}},
		ServiceProvider: refd("Organization", o.id, o.name),
	}
	if reason != nil {
		e.ReasonCode = []concept{*reason}
	}
	if basedOn != "" {
		e.BasedOn = []reference{*ref("ServiceRequest", basedOn)}
	}
	b.add("Encounter", id, e)
	return id
}

// gpVisit is a surgery appointment: blood pressure for most adults, an
// acute problem for some, chronic disease review with repeat prescribing
// and monitoring bloods for people on the problem list.
func (b *rec) gpVisit(t time.Time) {
	t = officeHours(b.r, t)
	if !t.Before(b.end) {
		return
	}
	who := b.gpStaff()
	typ := typeSymptom
	var acute *term
	switch {
	case len(b.chronic) > 0 && b.r.chance(0.5):
		typ = typeFollowUp
	case b.r.chance(0.15):
		typ = typeCheckUp
	default:
		a := pick(b.r, acuteProblems)
		acute = &a
	}
	var reason *concept
	if acute != nil {
		reason = cc(sct, acute.code, acute.display)
	}
	end := t.Add(time.Duration(10+b.r.intn(3)*5) * time.Minute)
	enc := b.newEncRef(b.encounter(classAMB, typ, b.gp, 0, who, t, end, reason, ""))
	perf := []reference{*refd("Practitioner", who.practitionerID, who.name), *refd("Organization", b.gp.id, b.gp.name)}
	if b.p.age() >= 16 && b.r.chance(0.7) {
		v := drawVitals(b.r, 0)
		b.bloodPressure(enc, t.Add(2*time.Minute), v, perf)
		b.quantityObs(enc, t.Add(3*time.Minute), codePulse, catVitals, qty(float64(v.pulse), "beats/minute", "/min"), perf)
	}
	if b.r.chance(0.15) {
		kg := round1(b.r.normal(78, 15))
		if b.p.age() < 16 {
			kg = round1(3.5 + float64(b.p.age())*3.2 + b.r.normal(0, 2))
		}
		b.quantityObs(enc, t.Add(4*time.Minute), ccv(loinc, "29463-7", "Body weight"), catVitals, qty(max(kg, 2.5), "kg", "kg"), perf)
	}
	if acute != nil {
		id := b.newID()
		b.add("Condition", id, condition{
			ResourceType: "Condition", ID: id,
			ClinicalStatus:     cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"),
			VerificationStatus: cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
			Category:           []concept{ccv("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")},
			Code:               cc(sct, acute.code, acute.display),
			Subject:            b.subj, Encounter: &enc,
			OnsetDateTime:     dateTime(t.Add(-time.Duration(24+b.r.intn(24*7)) * time.Hour)),
			AbatementDateTime: dateTime(t.Add(time.Duration(24*(3+b.r.intn(14))) * time.Hour)),
			RecordedDate:      dateTime(t),
			Recorder:          refd("Practitioner", who.practitionerID, who.name),
		})
		if b.r.chance(0.35) {
			b.prescribe(enc, t, who, medicines[0].term, medicines[0].dose, "acute", id)
		}
	}
	if typ.Coding[0].Code == typeFollowUp.Coding[0].Code {
		for _, c := range b.chronic {
			if c.onset.After(t) {
				continue
			}
			for _, m := range medicines {
				if m.forCode == c.code {
					b.prescribe(enc, t, who, m.term, m.dose, "continuous", c.id)
				}
			}
			switch c.code {
			case "44054006":
				b.labPanel(enc, t, panelHbA1c.term, panelHbA1c.tests, b.gp, 0.8)
			case "709044004", "38341003":
				if b.r.chance(0.5) {
					b.labPanel(enc, t, panelUE.term, panelUE.tests, b.gp, 0.3)
				}
			}
		}
	}
}

func (b *rec) newEncRef(id string) reference { return reference{Reference: "Encounter/" + id} }

func (b *rec) prescribe(enc reference, t time.Time, who *staffMember, med term, dose, course, reasonID string) {
	id := b.newID()
	status := "completed"
	if course == "continuous" && Epoch.Sub(t) < 90*24*time.Hour {
		status = "active"
	}
	courseDisplay := map[string]string{"acute": "Short course (acute) therapy", "continuous": "Continuous long term therapy"}[course]
	b.add("MedicationRequest", id, medicationRequest{
		ResourceType: "MedicationRequest", ID: id, Status: status, Intent: "order",
		MedicationCodeableConcept: cc(dmd, med.code, med.display),
		Subject:                   b.subj, Encounter: &enc,
		AuthoredOn:          dateTime(t.Add(5 * time.Minute)),
		Requester:           refd("Practitioner", who.practitionerID, who.name),
		ReasonReference:     []reference{*ref("Condition", reasonID)},
		CourseOfTherapyType: cc("http://terminology.hl7.org/CodeSystem/medicationrequest-course-of-therapy", course, courseDisplay),
		DosageInstruction:   []dosage{{Text: dose}},
	})
}

// emergency is an emergency department attendance: triage observations
// with a NEWS2 score, bloods and imaging for the sicker, and admission
// for some.
func (b *rec) emergency(t time.Time, sev float64) {
	if !t.Before(b.end) {
		return
	}
	problem := pick(b.r, emergencyProblems)
	who := b.consultant(b.trust, 5)
	end := t.Add(time.Duration(60+b.r.intn(300)) * time.Minute)
	enc := b.newEncRef(b.encounter(classEMER, typeED, b.trust, 1, who, t, end, cc(sct, problem.code, problem.display), ""))
	nurse := b.nurse(b.trust)
	sets := 1 + b.r.intn(3)
	for s := 0; s < sets; s++ {
		b.vitalSet(enc, t.Add(time.Duration(10+s*60)*time.Minute), drawVitals(b.r, sev*(1-0.2*float64(s))), nurse, b.trust)
	}
	if sev > 0.15 || b.r.chance(0.4) {
		b.labPanel(enc, t.Add(30*time.Minute), panelFBC.term, panelFBC.tests, b.trust, sev)
		b.labPanel(enc, t.Add(30*time.Minute), panelUE.term, panelUE.tests, b.trust, sev)
	}
	if b.r.chance(0.4) {
		kind := 0 // chest X-ray
		if problem.code == "230690007" {
			kind = 1 // CT head for suspected stroke
		}
		b.imagingStudy(enc, t.Add(time.Duration(40+b.r.intn(60))*time.Minute), kind, b.trust, "")
	}
	if sev > 0.35 && b.r.chance(0.5) {
		b.admission(end, b.trust, sev, problem.code)
	}
}

// admission is an inpatient stay. Observations follow the NEWS2 minimum
// monitoring frequency for the last score (RCP Chart 4): 12-hourly at 0,
// 4-hourly at 1-4 and hourly at 5 or more, so the sickest stays produce the
// long series that test paging and charting. Severity decays through the
// stay.
func (b *rec) admission(t time.Time, o *org, sev float64, problemCode string) {
	if !t.Before(b.end) {
		return
	}
	days := 1 + b.r.intn(4)
	if sev > 0.5 {
		days += b.r.intn(10)
	}
	end := t.Add(time.Duration(days*24+b.r.intn(12)) * time.Hour)
	if end.After(b.end) {
		end = b.end
	}
	problem := pick(b.r, emergencyProblems)
	for _, p := range emergencyProblems {
		if p.code == problemCode {
			problem = p
		}
	}
	spec := 5
	if problem.code == "22298006" || problem.code == "29857009" {
		spec = 6
	}
	who := b.consultant(o, spec)
	encID := b.encounter(classIMP, typeAdmission, o, min(2, len(o.sites)-1), who, t, end, cc(sct, problem.code, problem.display), "")
	enc := b.newEncRef(encID)
	condID := b.newID()
	b.add("Condition", condID, condition{
		ResourceType: "Condition", ID: condID,
		ClinicalStatus:     cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved"),
		VerificationStatus: cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
		Category:           []concept{ccv("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")},
		Code:               cc(sct, problem.code, problem.display),
		Subject:            b.subj, Encounter: &enc,
		OnsetDateTime:     dateTime(t.Add(-time.Duration(1+b.r.intn(48)) * time.Hour)),
		AbatementDateTime: dateTime(end),
		RecordedDate:      dateTime(t.Add(time.Hour)),
		Recorder:          refd("Practitioner", who.practitionerID, who.name),
	})
	nurse := b.nurse(o)
	total := end.Sub(t)
	for at := t.Add(30 * time.Minute); at.Before(end); {
		frac := float64(at.Sub(t)) / float64(total)
		v := drawVitals(b.r, sev*(1-frac)*1.1-0.05)
		score := b.vitalSet(enc, at, v, nurse, o)
		switch {
		case score >= 5:
			at = at.Add(time.Hour)
		case score >= 1:
			at = at.Add(4 * time.Hour)
		default:
			at = at.Add(12 * time.Hour)
		}
	}
	for d := 0; d < days; d++ {
		if d < 3 || d%2 == 0 {
			at := t.Add(time.Duration(d*24+6) * time.Hour)
			if at.After(end) {
				break
			}
			s := sev * (1 - float64(d)/float64(days))
			b.labPanel(enc, at, panelFBC.term, panelFBC.tests, o, s)
			b.labPanel(enc, at, panelUE.term, panelUE.tests, o, s)
		}
	}
	if b.r.chance(0.5) {
		b.imagingStudy(enc, t.Add(time.Duration(2+b.r.intn(24))*time.Hour), b.r.intn(len(imaging)), o, "")
	}
	if b.r.chance(0.3) {
		pr := procedures[b.r.intn(len(procedures))]
		b.procedure(enc, t.Add(time.Duration(12+b.r.intn(24))*time.Hour), pr, o, who, condID, "")
	}
}

func (b *rec) procedure(enc reference, t time.Time, pr term, o *org, who *staffMember, reasonID, basedOn string) {
	id := b.newID()
	res := procedure{
		ResourceType: "Procedure", ID: id, Status: "completed",
		Code: cc(sct, pr.code, pr.display), Subject: b.subj, Encounter: &enc,
		PerformedPeriod: &period{Start: dateTime(t), End: dateTime(t.Add(time.Duration(30+b.r.intn(150)) * time.Minute))},
		Performer: []procedurePerformer{{Actor: *refd("Practitioner", who.practitionerID, who.name),
			OnBehalfOf: refd("Organization", o.id, o.name)}},
		Location: refd("Location", o.sites[0].id, o.sites[0].name),
	}
	if reasonID != "" {
		res.ReasonReference = []reference{*ref("Condition", reasonID)}
	}
	if basedOn != "" {
		res.BasedOn = []reference{*ref("ServiceRequest", basedOn)}
	}
	b.add("Procedure", id, res)
}

// referral is a GP referral to consultant-led care. The ServiceRequest's
// authoredOn is the date the provider received the referral, which starts
// the RTT clock (NHS-RULES.md §3.2); occurrenceDateTime is the first
// appointment. Referrals received in the last months are still waiting:
// they are active, with no appointment yet, so the population has an
// open waiting list.
func (b *rec) referral(t time.Time) {
	t = officeHours(b.r, t)
	if !t.Before(b.end) {
		return
	}
	gpWho := b.gpStaff()
	visit := b.newEncRef(b.encounter(classAMB, typeSymptom, b.gp, 0, gpWho, t, t.Add(15*time.Minute), nil, ""))
	received := t.Add(time.Duration(24*(1+b.r.intn(5))) * time.Hour)
	o, spec := b.trust, b.r.intn(len(specialties))
	if b.r.chance(0.25) {
		o = b.centre
		spec = centreNames[0].specialty
		for k, c := range b.g.centres {
			if c.id == o.id {
				spec = centreNames[k].specialty
			}
		}
	}
	priority := "routine"
	if b.r.chance(0.2) {
		priority = "urgent"
	}
	waitDays := 14 + b.r.intn(30*7)
	if priority == "urgent" {
		waitDays = 3 + b.r.intn(11)
	}
	first := officeHours(b.r, received.AddDate(0, 0, waitDays))
	id := b.newID()
	sr := serviceRequest{
		ResourceType: "ServiceRequest", ID: id, Status: "completed", Intent: "order",
		Category:      []concept{ccv(sct, "3457005", "Patient referral")},
		Priority:      priority,
		Code:          &concept{Coding: []coding{{System: sct, Code: "3457005", Display: "Patient referral"}}, Text: "Referral to " + specialties[spec].name},
		Subject:       b.subj,
		Encounter:     &visit,
		AuthoredOn:    dateTime(received),
		Requester:     refd("PractitionerRole", gpWho.roleID, gpWho.name),
		PerformerType: &concept{Text: specialties[spec].name + " (treatment function " + specialties[spec].code + ")"},
		Performer:     []reference{*refd("Organization", o.id, o.name)},
	}
	if len(b.chronic) > 0 {
		sr.ReasonReference = []reference{*ref("Condition", b.chronic[b.r.intn(len(b.chronic))].id)}
	}
	if !first.Before(b.end) {
		sr.Status = "active"
		if b.p.deceased {
			sr.Status = "revoked"
		}
		b.add("ServiceRequest", id, sr)
		return
	}
	sr.OccurrenceDateTime = dateTime(first)
	b.add("ServiceRequest", id, sr)
	who := b.consultant(o, spec)
	opd := b.newEncRef(b.encounter(classAMB, typeConsult, o, 0, who, first, first.Add(20*time.Minute), nil, id))
	if b.r.chance(0.3) {
		b.imagingStudy(opd, first.Add(time.Hour), b.r.intn(len(imaging)), o, id)
	}
	// Some pathways end in definitive treatment, the usual RTT clock stop.
	if b.r.chance(0.4) {
		at := officeHours(b.r, first.AddDate(0, 0, 14+b.r.intn(120)))
		if at.Before(b.end) {
			day := b.newEncRef(b.encounter(classAMB, typeFollowUp, o, 0, who, at, at.Add(4*time.Hour), nil, id))
			b.procedure(day, at.Add(time.Hour), procedures[b.r.intn(len(procedures))], o, who, "", id)
		}
	}
}

func (b *rec) immunise(t time.Time, v int) {
	t = officeHours(b.r, t)
	if !t.Before(b.end) {
		return
	}
	id := b.newID()
	nurse := b.nurse(b.gp)
	b.add("Immunization", id, immunization{
		ResourceType: "Immunization", ID: id, Status: "completed",
		VaccineCode:        ccv(cvx, vaccines[v].code, vaccines[v].display),
		Patient:            b.subj,
		OccurrenceDateTime: dateTime(t),
		Recorded:           dateTime(t.Add(10 * time.Minute)),
		PrimarySource:      true,
		Location:           refd("Location", b.gp.sites[0].id, b.gp.sites[0].name),
		LotNumber:          fmt.Sprintf("%c%c%04d", 'A'+b.r.intn(26), 'A'+b.r.intn(26), b.r.intn(10000)),
		Performer:          []immunizationPerformer{{Actor: *refd("Practitioner", nurse.practitionerID, nurse.name)}},
	})
}
